"""Operator member administration over real HTTP: suspend, reinstate, credit limit, key rotation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from web3 import Web3

from chain.node.client import contract
from scripts.runtime import Ledger
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
        for name, roles, extra in [
            ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
            ("supplier", ["supplier"], {}),
            ("supplier2", ["supplier"], {}),
            ("bank", ["financier"], {}),
        ]:
            body = ok(
                op.post(
                    "/v1/members", json=with_mint_ceiling(roles, {"roles": roles, "kyc_hash": random_hash(), **extra})
                ),
                201,
            )
            admitted[name] = Party(api, body["member"], body["api_key"])
        bank = admitted["bank"]
        for name in ("supplier", "supplier2"):
            mint = {"member_id": admitted[name].id, "amount": "1000.00", "reference": f"seed-{name}"}
            ok(bank.client.post("/v1/cash/mint", json=mint), 201)
    yield admitted
    for party in admitted.values():
        party.client.close()


def test_only_the_operator_administers(parties: dict[str, Party]) -> None:
    supplier, supplier2 = parties["supplier"], parties["supplier2"]
    for path, payload in [
        ("suspend", None),
        ("reinstate", None),
        ("clear-default-block", None),
        ("rotate-key", None),
        ("credit-limit", {"credit_limit": "1.00"}),
    ]:
        problem(supplier.client.post(f"/v1/members/{supplier2.id}/{path}", json=payload), 403, "forbidden")
    assert ok(supplier.client.get(f"/v1/members/{supplier2.id}"))["status"] == "active"


def test_unknown_member_is_404(operator: httpx.Client) -> None:
    for path in ("suspend", "reinstate", "clear-default-block", "rotate-key"):
        problem(operator.post(f"/v1/members/999999/{path}"), 404, "not-found")
    problem(operator.post("/v1/members/999999/credit-limit", json={"credit_limit": "1.00"}), 404, "not-found")


def test_suspend_blocks_transfers_until_reinstated(parties: dict[str, Party], operator: httpx.Client) -> None:
    supplier, supplier2 = parties["supplier"], parties["supplier2"]
    assert ok(operator.post(f"/v1/members/{supplier2.id}/suspend"))["status"] == "suspended"
    before = (supplier.balance(), supplier2.balance())
    response = supplier.client.post("/v1/cash/transfers", json={"to": supplier2.id, "amount": "10.00"})
    body = problem(response, 403, "member-not-active")
    assert body["contractError"]["error"] == "MemberNotActive"
    assert (supplier.balance(), supplier2.balance()) == before
    # suspending twice is refused, not a silent success, as reinstating twice is (below): 409 both
    problem(operator.post(f"/v1/members/{supplier2.id}/suspend"), 409, "member-already-suspended")

    assert ok(operator.post(f"/v1/members/{supplier2.id}/reinstate"))["status"] == "active"
    ok(supplier.client.post("/v1/cash/transfers", json={"to": supplier2.id, "amount": "10.00"}))
    assert supplier2.balance() == "1010.00"
    problem(operator.post(f"/v1/members/{supplier2.id}/reinstate"), 409, "member-not-suspended")


def test_credit_limit(parties: dict[str, Party], operator: httpx.Client) -> None:
    core = parties["core"]
    body = ok(operator.post(f"/v1/members/{core.id}/credit-limit", json={"credit_limit": "2500000.50"}))
    assert body["credit_limit"] == "2500000.50"
    assert ok(core.client.get("/v1/members/me"))["credit_limit"] == "2500000.50"
    for bad in ["-1.00", "1.001", 3, "x"]:
        response = operator.post(f"/v1/members/{core.id}/credit-limit", json={"credit_limit": bad})
        problem(response, 422, "validation-error")
    assert ok(core.client.get("/v1/members/me"))["credit_limit"] == "2500000.50"


def test_clear_default_block_without_a_block_is_refused(parties: dict[str, Party], operator: httpx.Client) -> None:
    body = problem(operator.post(f"/v1/members/{parties['core'].id}/clear-default-block"), 409, "not-blocked")
    assert body["contractError"]["error"] == "NotBlocked"


def test_rotate_key_keeps_notes_cash_and_api_key(
    parties: dict[str, Party], operator: httpx.Client, ledger: Ledger
) -> None:
    core, supplier, supplier2 = parties["core"], parties["supplier"], parties["supplier2"]
    maturity = (date.today() + timedelta(days=90)).isoformat()
    issued = core.client.post(
        "/v1/receivables",
        json={"creditor_id": supplier.id, "face_value": "5000.00", "maturity": maturity, "invoice_hash": random_hash()},
    )
    note_id = ok(issued, 201)["first_note_id"]
    notes_before = ok(supplier.client.get("/v1/notes"))
    assert [n["id"] for n in notes_before["items"]] == [note_id]
    cash_before = supplier.balance()
    old = ok(supplier.client.get("/v1/members/me"))["account"]

    body = ok(operator.post(f"/v1/members/{supplier.id}/rotate-key"))
    new = body["member"]["account"]
    assert new.lower() != old.lower()
    assert body["old_account"].lower() == old.lower()
    assert body["recovered_cash"] == cash_before

    registry = contract(ledger.w3, ledger.deployment, ledger.artifacts, "MemberRegistry")
    assert registry.functions.accountOf(supplier.id).call() == Web3.to_checksum_address(new)
    cash = contract(ledger.w3, ledger.deployment, ledger.artifacts, "CashToken")
    assert cash.functions.balanceOf(Web3.to_checksum_address(old)).call() == 0

    # the same API key still works, and sees the same notes and cash
    me = ok(supplier.client.get("/v1/members/me"))
    assert me["account"] == new
    assert ok(supplier.client.get("/v1/notes")) == notes_before
    assert supplier.balance() == cash_before
    # history spans the rotation (the mint to the old account is still listed)
    moves = ok(supplier.client.get("/v1/cash/moves"))["items"]
    assert ("mint", "in", "1000.00") in [(m["kind"], m["direction"], m["amount"]) for m in moves]

    # and the member signs with its new key: a cash transfer and a note split go through
    ok(supplier.client.post("/v1/cash/transfers", json={"to": supplier2.id, "amount": "1.00"}))
    split = supplier.client.post(f"/v1/notes/{note_id}/split", json={"to": supplier2.id, "value": "100.00"})
    assert ok(split, 201)["note"]["value"] == "4900.00"


def test_rotate_key_emits_a_transfer_per_note_and_order(
    parties: dict[str, Party], operator: httpx.Client, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ERC-721: a key rotation changes the owner of every note and order of the member, so it emits their
    Transfer events (in batches, here of 2); a generic indexer that reads only Transfer events agrees with
    ownerOf for every token afterwards."""
    import api.services.members as members_service

    monkeypatch.setattr(members_service, "ROTATION_BATCH", 2)
    core, supplier2 = parties["core"], parties["supplier2"]
    maturity = (date.today() + timedelta(days=90)).isoformat()
    for _ in range(3):  # three notes (a split to oneself is refused: self-transfer)
        issued = core.client.post(
            "/v1/receivables",
            json={
                "creditor_id": supplier2.id,
                "face_value": "3000.00",
                "maturity": maturity,
                "invoice_hash": random_hash(),
            },
        )
        ok(issued, 201)
    due = (date.today() + timedelta(days=30)).isoformat()
    proposal = {"buyer_id": core.id, "amount": "500.00", "document_hash": random_hash(), "due_date": due}
    order_id = ok(supplier2.client.post("/v1/orders", json=proposal), 201)["id"]
    old = ok(supplier2.client.get("/v1/members/me"))["account"]
    notes_held = len(ok(supplier2.client.get("/v1/notes"))["items"])
    assert notes_held >= 3

    body = ok(operator.post(f"/v1/members/{supplier2.id}/rotate-key"))
    new = Web3.to_checksum_address(body["member"]["account"])

    registry = contract(ledger.w3, ledger.deployment, ledger.artifacts, "MemberRegistry")
    assert registry.functions.rotationOf(supplier2.id).call()[1:] == [Web3.to_checksum_address(old), False]
    topic = Web3.keccak(text="Transfer(address,address,uint256)")
    for name, count_fn in (("ReceivableNotes", "noteCount"), ("OrderBook", "orderCount")):
        token = contract(ledger.w3, ledger.deployment, ledger.artifacts, name)
        owners: dict[int, str] = {}  # a generic indexer: the owner is the `to` of a token's last Transfer
        for log in ledger.w3.eth.get_logs({"address": token.address, "topics": [topic], "fromBlock": 0}):
            owners[int.from_bytes(log["topics"][3], "big")] = Web3.to_checksum_address(log["topics"][2][-20:])
        held = 0
        for token_id in range(1, getattr(token.functions, count_fn)().call() + 1):
            try:
                owner = token.functions.ownerOf(token_id).call()
            except Exception:  # burned note: its last Transfer went to address zero
                assert owners[token_id] == "0x" + "00" * 20
                continue
            assert owners[token_id] == owner, f"{name} {token_id}"
            held += owner == new
        assert held == (notes_held if name == "ReceivableNotes" else 1)
    assert ok(supplier2.client.get(f"/v1/orders/{order_id}"))["holder_id"] == supplier2.id
