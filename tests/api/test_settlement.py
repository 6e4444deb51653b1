"""Settlement over real HTTP against a real anvil: funding, refusals and (on a chain of its own) maturity."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from chain.devnet.devchain import DevChain
from chain.node.rpc import rpc_call
from tests.conftest import ServerThread, ok, private_world, problem, random_hash, with_mint_ceiling


class Party:
    def __init__(self, url: str, member: dict[str, Any], key: str) -> None:
        self.id: int = member["id"]
        self.client = httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {key}"})

    def balance(self) -> str:
        return str(ok(self.client.get("/v1/cash/balance"))["balance"])


def _admit_all(url: str, operator_key: str) -> dict[str, Party]:
    admitted: dict[str, Party] = {}
    with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {operator_key}"}) as op:
        for name, roles, extra in [
            ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
            ("supplier", ["supplier"], {}),
            ("supplier2", ["supplier"], {}),
            ("bank", ["financier"], {}),
            ("auditor", ["auditor"], {}),
        ]:
            body = ok(
                op.post(
                    "/v1/members", json=with_mint_ceiling(roles, {"roles": roles, "kyc_hash": random_hash(), **extra})
                ),
                201,
            )
            admitted[name] = Party(url, body["member"], body["api_key"])
    mint = {"member_id": admitted["core"].id, "amount": "100000.00", "reference": "core-deposit"}
    ok(admitted["bank"].client.post("/v1/cash/mint", json=mint), 201)
    return admitted


def _issue(core: Party, creditor: Party, face_value: str, maturity: date) -> dict[str, Any]:
    body = {
        "creditor_id": creditor.id,
        "face_value": face_value,
        "maturity": maturity.isoformat(),
        "invoice_hash": random_hash(),
    }
    return ok(core.client.post("/v1/receivables", json=body), 201)


def _cents(text: str) -> int:
    whole, frac = text.split(".")
    return int(whole) * 100 + int(frac)


# ------------------------------------------------------------------- on the session chain (no time travel)


@pytest.fixture(scope="module")
def parties(api: ServerThread, operator_key: str) -> Iterator[dict[str, Party]]:
    admitted = _admit_all(api.url, operator_key)
    yield admitted
    for party in admitted.values():
        party.client.close()


@pytest.fixture(scope="module")
def slot(parties: dict[str, Party]) -> dict[str, Any]:
    return _issue(parties["core"], parties["supplier"], "10000.00", date.today() + timedelta(days=30))


def test_fund_partially_and_read_back(parties: dict[str, Party], slot: dict[str, Any]) -> None:
    core, supplier = parties["core"], parties["supplier"]
    slot_id = slot["id"]
    before = _cents(core.balance())
    body = ok(core.client.post(f"/v1/settlement/receivables/{slot_id}/fund", json={"amount": "4000.00"}))
    assert body["funded"] == "4000.00"
    assert body["unfunded"] == "6000.00"
    assert body["face_value"] == "10000.00"
    assert body["funding_status"] == "partially_funded"
    assert body["status"] == "active"
    assert body["live_notes"] == 1
    assert _cents(core.balance()) == before - 400000
    # the creditor (holder of its note), auditors and the operator see it
    assert ok(supplier.client.get(f"/v1/settlement/receivables/{slot_id}"))["funded"] == "4000.00"
    assert ok(parties["auditor"].client.get(f"/v1/settlement/receivables/{slot_id}"))["paid"] == "0.00"


def test_outsiders_cannot_see_or_fund(parties: dict[str, Party], slot: dict[str, Any], operator: httpx.Client) -> None:
    supplier2, supplier = parties["supplier2"], parties["supplier"]
    slot_id = slot["id"]
    problem(supplier2.client.get(f"/v1/settlement/receivables/{slot_id}"), 403, "forbidden")
    funded = ok(operator.get(f"/v1/settlement/receivables/{slot_id}"))["funded"]
    before = supplier.balance()
    response = supplier.client.post(f"/v1/settlement/receivables/{slot_id}/fund", json={"amount": "1.00"})
    problem(response, 403, "not-obligor")
    problem(operator.post(f"/v1/settlement/receivables/{slot_id}/fund", json={"amount": "1.00"}), 403, "not-obligor")
    assert ok(operator.get(f"/v1/settlement/receivables/{slot_id}"))["funded"] == funded
    assert supplier.balance() == before


def test_overfunding_is_refused(parties: dict[str, Party], slot: dict[str, Any]) -> None:
    core = parties["core"]
    slot_id = slot["id"]
    state = ok(core.client.get(f"/v1/settlement/receivables/{slot_id}"))
    before = core.balance()
    too_much = _cents(state["unfunded"]) + 1
    amount = f"{too_much // 100}.{too_much % 100:02d}"
    response = core.client.post(f"/v1/settlement/receivables/{slot_id}/fund", json={"amount": amount})
    body = problem(response, None, "overfunded")
    assert body["contractError"]["error"] == "Overfunded"
    assert ok(core.client.get(f"/v1/settlement/receivables/{slot_id}")) == state
    assert core.balance() == before


def test_settle_and_redeem_before_maturity_are_refused(parties: dict[str, Party], slot: dict[str, Any]) -> None:
    core, supplier = parties["core"], parties["supplier"]
    slot_id = slot["id"]
    state = ok(core.client.get(f"/v1/settlement/receivables/{slot_id}"))
    body = problem(supplier.client.post(f"/v1/settlement/receivables/{slot_id}/settle"), None, "not-matured")
    assert body["contractError"]["error"] == "NotMatured"
    payload = {"note_ids": [slot["first_note_id"]]}
    problem(core.client.post(f"/v1/settlement/receivables/{slot_id}/settle", json=payload), None, "not-matured")
    problem(supplier.client.post(f"/v1/settlement/notes/{slot['first_note_id']}/redeem"), None, "not-matured")
    # not the holder: refused before any transaction
    problem(core.client.post(f"/v1/settlement/notes/{slot['first_note_id']}/redeem"), 403, "not-note-holder")
    body = problem(
        core.client.post(f"/v1/settlement/receivables/{slot_id}/mark-default"), None, "grace-period-not-over"
    )
    assert body["contractError"]["error"] == "GracePeriodNotOver"
    problem(core.client.post(f"/v1/settlement/receivables/{slot_id}/claim-default"), None, "slot-not-defaulted")
    assert ok(core.client.get(f"/v1/settlement/receivables/{slot_id}")) == state
    notes = ok(supplier.client.get("/v1/notes"))["items"]
    assert [n["id"] for n in notes if n["receivable_id"] == slot_id] == [slot["first_note_id"]]


@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00", "1.001", 12, "1e2", ""])
def test_bad_fund_amounts_are_422(parties: dict[str, Party], slot: dict[str, Any], amount: object) -> None:
    core = parties["core"]
    slot_id = slot["id"]
    state = ok(core.client.get(f"/v1/settlement/receivables/{slot_id}"))
    response = core.client.post(f"/v1/settlement/receivables/{slot_id}/fund", json={"amount": amount})
    problem(response, 422, "validation-error")
    assert ok(core.client.get(f"/v1/settlement/receivables/{slot_id}")) == state


def test_unknown_ids_and_bad_batches(parties: dict[str, Party], slot: dict[str, Any]) -> None:
    core, supplier = parties["core"], parties["supplier"]
    slot_id = slot["id"]
    problem(core.client.get("/v1/settlement/receivables/999999"), 404, "not-found")
    problem(core.client.post("/v1/settlement/receivables/999999/fund", json={"amount": "1.00"}), 404, "not-found")
    problem(core.client.post("/v1/settlement/receivables/999999/settle"), 404, "not-found")
    problem(core.client.post("/v1/settlement/receivables/999999/mark-default"), 404, "not-found")
    problem(supplier.client.post("/v1/settlement/notes/999999/redeem"), 404, "not-found")
    settle = f"/v1/settlement/receivables/{slot_id}/settle"
    problem(core.client.post(settle, json={"note_ids": [999999]}), 404, "not-found")
    problem(core.client.post(settle, json={"note_ids": []}), 422, "validation-error")
    note = slot["first_note_id"]
    problem(core.client.post(settle, json={"note_ids": [note, note]}), 422, "validation-error")
    other = _issue(core, supplier, "100.00", date.today() + timedelta(days=30))
    problem(core.client.post(settle, json={"note_ids": [other["first_note_id"]]}), 422, "slot-mismatch")


# ------------------------------------------------------- on a chain of its own, whose clock the test moves


@pytest.fixture(scope="module")
def timechain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevChain, ServerThread, str]]:
    with private_world(tmp_path_factory.mktemp("scf-settlement")) as world:
        yield world.chain, world.server, world.operator_key


def _advance(chain: DevChain, seconds: int) -> None:
    rpc_call(chain.url, "evm_increaseTime", [seconds])
    rpc_call(chain.url, "evm_mine")


def test_full_settlement_redeem_and_default_at_maturity(
    timechain: tuple[DevChain, ServerThread, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    chain, server, operator_key = timechain
    monkeypatch.setattr(server.settings, "settlement_batch", 1)  # the app's own settings: one note per transaction
    p = _admit_all(server.url, operator_key)
    core, supplier, supplier2, auditor = p["core"], p["supplier"], p["supplier2"], p["auditor"]
    tomorrow = date.today() + timedelta(days=1)

    # A: fully funded, two notes, settled by a keeper in one call (default: all live notes)
    a = _issue(core, supplier, "10000.00", tomorrow)
    ok(
        supplier.client.post(f"/v1/notes/{a['first_note_id']}/split", json={"to": supplier2.id, "value": "3000.00"}),
        201,
    )
    # B: fully funded, redeemed by its holder
    b = _issue(core, supplier2, "500.00", tomorrow)
    # C: underfunded: defaults, holders claim pro rata
    c = _issue(core, supplier, "5000.00", tomorrow)
    ok(
        supplier.client.post(f"/v1/notes/{c['first_note_id']}/split", json={"to": supplier2.id, "value": "1000.00"}),
        201,
    )
    for slot_id, amount in [(a["id"], "10000.00"), (b["id"], "500.00"), (c["id"], "2000.00")]:
        ok(core.client.post(f"/v1/settlement/receivables/{slot_id}/fund", json={"amount": amount}))
    assert ok(core.client.get(f"/v1/settlement/receivables/{a['id']}"))["funding_status"] == "fully_funded"
    s1, s2 = _cents(supplier.balance()), _cents(supplier2.balance())

    problem(auditor.client.post(f"/v1/settlement/receivables/{a['id']}/settle"), None, "not-matured")
    _advance(chain, 2 * 86_400)

    # settle A: anyone (here the auditor as keeper) pays every live note
    body = ok(auditor.client.post(f"/v1/settlement/receivables/{a['id']}/settle"))
    assert len(body["note_ids"]) == 2
    assert len(set(body["tx_hashes"])) == 2  # batched
    assert body["receivable"]["status"] == "settled"
    assert body["receivable"]["paid"] == "10000.00"
    assert body["receivable"]["live_notes"] == 0
    assert _cents(supplier.balance()) == s1 + 700000
    assert _cents(supplier2.balance()) == s2 + 300000
    problem(auditor.client.post(f"/v1/settlement/receivables/{a['id']}/settle"), 409, "no-live-notes")

    # redeem B by its holder
    body = ok(supplier2.client.post(f"/v1/settlement/notes/{b['first_note_id']}/redeem"))
    assert body["receivable"]["status"] == "settled"
    assert _cents(supplier2.balance()) == s2 + 300000 + 50000
    moves = ok(supplier2.client.get("/v1/cash/moves"))["items"]
    assert [m["amount"] for m in moves if m["direction"] == "in"][-2:] == ["3000.00", "500.00"]

    # C is underfunded: settling is refused, and a default needs the grace period
    problem(core.client.post(f"/v1/settlement/receivables/{c['id']}/settle"), None, "not-fully-funded")
    problem(core.client.post(f"/v1/settlement/receivables/{c['id']}/mark-default"), None, "grace-period-not-over")
    _advance(chain, 8 * 86_400)
    body = ok(supplier.client.post(f"/v1/settlement/receivables/{c['id']}/mark-default"))
    assert body["status"] == "defaulted"
    assert body["unpaid_at_default"] == "3000.00"
    core_member = ok(core.client.get("/v1/members/me"))
    assert core_member["default_count"] == 1
    s1, s2 = _cents(supplier.balance()), _cents(supplier2.balance())
    claim = f"/v1/settlement/receivables/{c['id']}/claim-default"
    body = ok(supplier2.client.post(claim, json={"note_ids": [c["first_note_id"]]}))
    assert body["note_ids"] == [c["first_note_id"]]
    assert body["receivable"]["paid"] == "1600.00"
    assert _cents(supplier.balance()) == s1 + 160000  # 4,000 of 5,000 face: 80% of the 2,000 funded
    body = ok(supplier.client.post(claim))  # the rest: every live note
    assert len(body["note_ids"]) == 1
    assert body["receivable"]["paid"] == "2000.00"
    assert body["receivable"]["live_notes"] == 0
    assert _cents(supplier2.balance()) == s2 + 40000
    # settled receivables no longer count towards the obligor's outstanding
    assert core_member["outstanding"] == "0.00"

    for party in p.values():
        party.client.close()
