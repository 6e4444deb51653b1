"""Cash over real HTTP against a real anvil: deposits, transfers, withdrawals, history, refusals."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ServerThread, ok, problem, random_hash, with_mint_ceiling


class Party:
    def __init__(self, api: ServerThread, member: dict[str, Any], key: str) -> None:
        self.id: int = member["id"]
        self.client = httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {key}"})

    def balance(self) -> str:
        return str(ok(self.client.get("/v1/cash/balance"))["balance"])


@pytest.fixture(scope="module")
def parties(api: ServerThread, operator_key: str) -> Iterator[dict[str, Party]]:
    admitted: dict[str, Party] = {}
    with httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {operator_key}"}) as op:
        for name, roles in [
            ("bank", ["financier"]),
            ("supplier", ["supplier"]),
            ("supplier2", ["supplier"]),
            ("auditor", ["auditor"]),
        ]:
            body = ok(
                op.post("/v1/members", json=with_mint_ceiling(roles, {"roles": roles, "kyc_hash": random_hash()})), 201
            )
            admitted[name] = Party(api, body["member"], body["api_key"])
    yield admitted
    for party in admitted.values():
        party.client.close()


@pytest.fixture(scope="module")
def funded(parties: dict[str, Party]) -> dict[str, Party]:
    """The bank has minted 100,000.00 to the supplier."""
    bank, supplier = parties["bank"], parties["supplier"]
    body = ok(
        bank.client.post("/v1/cash/mint", json={"member_id": supplier.id, "amount": "100000.00", "reference": "DEP-1"}),
        201,
    )
    assert body["balance"]["member_id"] == supplier.id
    assert body["balance"]["balance"] == "100000.00"
    assert body["tx_hash"].startswith("0x") or len(body["tx_hash"]) == 64
    return parties


def test_mint_reads_back_exactly(funded: dict[str, Party]) -> None:
    supplier = funded["supplier"]
    balance = ok(supplier.client.get("/v1/cash/balance"))
    assert balance["member_id"] == supplier.id
    assert balance["balance"] == "100000.00"
    assert balance["currency"]


def test_transfer_between_suppliers_and_history(funded: dict[str, Party]) -> None:
    supplier, supplier2 = funded["supplier"], funded["supplier2"]
    before = supplier.balance()
    body = ok(supplier.client.post("/v1/cash/transfers", json={"to": supplier2.id, "amount": "1234.56"}))
    assert body["balance"]["member_id"] == supplier.id
    assert _decimal(body["balance"]["balance"]) == _decimal(before) - 123456
    assert supplier2.balance() == "1234.56"

    moves = ok(supplier2.client.get("/v1/cash/moves"))["items"]
    assert [(m["kind"], m["direction"], m["amount"]) for m in moves] == [("transfer", "in", "1234.56")]
    assert moves[0]["counterparty_id"] == supplier.id
    mine = ok(supplier.client.get("/v1/cash/moves"))["items"]
    assert ("mint", "in", "100000.00") in [(m["kind"], m["direction"], m["amount"]) for m in mine]
    assert ("transfer", "out", "1234.56") in [(m["kind"], m["direction"], m["amount"]) for m in mine]
    # pagination
    page = ok(supplier.client.get("/v1/cash/moves", params={"limit": 1}))
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = ok(supplier.client.get("/v1/cash/moves", params={"cursor": page["next_cursor"]}))
    assert [m["id"] for m in page["items"] + rest["items"]] == [m["id"] for m in mine]


def _decimal(text: str) -> int:
    whole, frac = text.split(".")
    return int(whole) * 100 + int(frac)


def test_supplier_cannot_mint(funded: dict[str, Party]) -> None:
    supplier, supplier2 = funded["supplier"], funded["supplier2"]
    before = supplier2.balance()
    response = supplier.client.post(
        "/v1/cash/mint", json={"member_id": supplier2.id, "amount": "10.00", "reference": "nope"}
    )
    body = problem(response, 403, "missing-role")
    assert body["contractError"]["error"] == "MissingRole"
    assert supplier2.balance() == before


def test_transfer_above_balance_is_refused(funded: dict[str, Party]) -> None:
    supplier, supplier2 = funded["supplier"], funded["supplier2"]
    before = (supplier.balance(), supplier2.balance())
    response = supplier.client.post("/v1/cash/transfers", json={"to": supplier2.id, "amount": "99999999.00"})
    body = problem(response, 422, "erc20-insufficient-balance")
    assert body["contractError"]["error"] == "ERC20InsufficientBalance"
    assert (supplier.balance(), supplier2.balance()) == before


@pytest.mark.parametrize("amount", ["0", "0.00", "-1.00", "1.234", 5, "1e3", "abc"])
def test_bad_amounts_are_422_and_change_nothing(funded: dict[str, Party], amount: object) -> None:
    supplier, supplier2, bank = funded["supplier"], funded["supplier2"], funded["bank"]
    before = (supplier.balance(), supplier2.balance())
    problem(
        supplier.client.post("/v1/cash/transfers", json={"to": supplier2.id, "amount": amount}), 422, "validation-error"
    )
    mint = {"member_id": supplier2.id, "amount": amount, "reference": "x"}
    problem(bank.client.post("/v1/cash/mint", json=mint), 422, "validation-error")
    problem(bank.client.post("/v1/cash/burn", json={"amount": amount, "reference": "x"}), 422, "validation-error")
    assert (supplier.balance(), supplier2.balance()) == before


def test_unknown_recipient_is_404(funded: dict[str, Party]) -> None:
    supplier, bank = funded["supplier"], funded["bank"]
    before = supplier.balance()
    problem(supplier.client.post("/v1/cash/transfers", json={"to": 999999, "amount": "1.00"}), 404, "not-found")
    mint = {"member_id": 999999, "amount": "1.00", "reference": "x"}
    problem(bank.client.post("/v1/cash/mint", json=mint), 404, "not-found")
    problem(
        supplier.client.post("/v1/cash/transfers", json={"to": supplier.id, "amount": "1.00"}), 422, "self-transfer"
    )
    assert supplier.balance() == before


def test_bank_burns_its_own_cash(funded: dict[str, Party]) -> None:
    bank, supplier = funded["bank"], funded["supplier"]
    ok(supplier.client.post("/v1/cash/transfers", json={"to": bank.id, "amount": "500.00"}))
    before = _decimal(bank.balance())
    body = ok(bank.client.post("/v1/cash/burn", json={"amount": "200.00", "reference": "WD-1"}))
    assert _decimal(body["balance"]["balance"]) == before - 20000
    assert ("burn", "out", "200.00") in [
        (m["kind"], m["direction"], m["amount"]) for m in ok(bank.client.get("/v1/cash/moves"))["items"]
    ]
    # burning more than it holds: the contract refuses, nothing changes
    response = bank.client.post("/v1/cash/burn", json={"amount": "99999999.00", "reference": "WD-2"})
    problem(response, 422, "erc20-insufficient-balance")
    assert _decimal(bank.balance()) == before - 20000


def test_balance_visibility(funded: dict[str, Party], operator: httpx.Client) -> None:
    supplier, supplier2, auditor = funded["supplier"], funded["supplier2"], funded["auditor"]
    problem(supplier2.client.get("/v1/cash/balance", params={"member_id": supplier.id}), 403, "forbidden")
    seen = ok(auditor.client.get("/v1/cash/balance", params={"member_id": supplier.id}))
    assert seen["balance"] == supplier.balance()
    assert ok(operator.get("/v1/cash/balance", params={"member_id": supplier.id}))["balance"] == supplier.balance()
    problem(operator.get("/v1/cash/balance"), 422, "validation-error")


def test_idempotent_transfer(funded: dict[str, Party]) -> None:
    supplier, supplier2 = funded["supplier"], funded["supplier2"]
    before = _decimal(supplier2.balance())
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    payload = {"to": supplier2.id, "amount": "1.00"}
    first = ok(supplier.client.post("/v1/cash/transfers", json=payload, headers=headers))
    again = supplier.client.post("/v1/cash/transfers", json=payload, headers=headers)
    assert again.status_code == 200 and again.json() == first
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert _decimal(supplier2.balance()) == before + 100


def test_mint_ceiling_s5(api: ServerThread, parties: dict[str, Party], operator: httpx.Client) -> None:
    """S-5: a new financier cannot mint until the operator sets its ceiling; a mint above it is a decoded problem
    that changes nothing; the operator sets it, the financier and the operator read it, others may not."""
    supplier, supplier2 = parties["supplier"], parties["supplier2"]
    body = ok(operator.post("/v1/members", json={"roles": ["financier"], "kyc_hash": random_hash()}), 201)
    bank = Party(api, body["member"], body["api_key"])
    path = f"/v1/cash/mint-ceilings/{bank.id}"
    try:
        read = ok(bank.client.get(path))
        assert (read["ceiling"], read["outstanding"], read["available"]) == ("0.00", "0.00", "0.00")
        before = supplier2.balance()
        mint = {"member_id": supplier2.id, "amount": "0.01", "reference": "no-ceiling"}
        refused = problem(bank.client.post("/v1/cash/mint", json=mint), 409, "mint-ceiling-exceeded")
        assert refused["contractError"]["error"] == "MintCeilingExceeded"
        assert refused["contractError"]["args"] == {
            "financierId": bank.id,
            "ceiling": 0,
            "outstanding": 0,
            "amount": 1,
        }
        assert supplier2.balance() == before

        # only the operator sets it, only for a financier
        problem(bank.client.post(path, json={"ceiling": "100.00"}), 403)
        problem(
            operator.post(f"/v1/cash/mint-ceilings/{supplier.id}", json={"ceiling": "1.00"}), 422, "not-a-financier"
        )
        problem(operator.post("/v1/cash/mint-ceilings/999999", json={"ceiling": "1.00"}), 404)
        problem(operator.post(path, json={"ceiling": "-1.00"}), 422, "validation-error")
        set_ = ok(operator.post(path, json={"ceiling": "100.00"}))
        assert (set_["member_id"], set_["ceiling"], set_["available"]) == (bank.id, "100.00", "100.00")

        ok(bank.client.post("/v1/cash/mint", json={**mint, "amount": "60.00", "reference": "first"}), 201)
        read = ok(bank.client.get(path))
        assert (read["ceiling"], read["outstanding"], read["available"]) == ("100.00", "60.00", "40.00")
        assert ok(operator.get(path)) == read
        problem(supplier.client.get(path), 403)

        before = supplier2.balance()
        over = {**mint, "amount": "40.01", "reference": "over"}
        refused = problem(bank.client.post("/v1/cash/mint", json=over), 409, "mint-ceiling-exceeded")
        assert refused["contractError"]["args"]["outstanding"] == 6000
        assert refused["contractError"]["args"]["ceiling"] == 10000
        assert supplier2.balance() == before
        assert ok(bank.client.get(path))["outstanding"] == "60.00"

        # lowering it below what is outstanding stops mints; admission can set it in the same write
        ok(operator.post(path, json={"ceiling": "50.00"}))
        problem(bank.client.post("/v1/cash/mint", json={**mint, "reference": "lowered"}), 409, "mint-ceiling-exceeded")
        body = ok(
            operator.post(
                "/v1/members", json={"roles": ["financier"], "kyc_hash": random_hash(), "mint_ceiling": "7.50"}
            ),
            201,
        )
        assert ok(operator.get(f"/v1/cash/mint-ceilings/{body['member']['id']}"))["ceiling"] == "7.50"
        supplier_with_ceiling = {"roles": ["supplier"], "kyc_hash": random_hash(), "mint_ceiling": "1.00"}
        problem(operator.post("/v1/members", json=supplier_with_ceiling), 422, "validation-error")
    finally:
        bank.client.close()
