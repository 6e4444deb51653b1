"""Holdings by obligor and maturity bucket, and the sharing grants that open them to a financier.

A private chain of its own: the test moves the clock so that one receivable is overdue.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from chain.readmodel.indexer import Indexer
from chain.readmodel.store import make_engine
from tests.conftest import Party, PrivateWorld, Roster, admitted, ok, private_world, problem, random_hash

DAY = 86_400


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateWorld]:
    with private_world(Path(tmp_path_factory.mktemp("holdings"))) as world:
        yield world


@pytest.fixture(scope="module")
def parties(world: PrivateWorld) -> Iterator[dict[str, Party]]:
    roster: Roster = [
        ("core1", ["core_enterprise"], {"credit_limit": "1000000.00"}),
        ("core2", ["core_enterprise"], {"credit_limit": "1000000.00"}),
        ("supplier", ["supplier"], {}),
        ("bank", ["financier"], {}),
        ("bank2", ["financier"], {}),
        ("outsider", ["supplier"], {}),
        ("auditor", ["auditor"], {}),
    ]
    with admitted(world.server.url, world.operator_key, roster) as parties:
        yield parties


def _chain_day(world: PrivateWorld) -> date:
    timestamp = int(world.ledger.w3.eth.get_block("latest")["timestamp"])
    return datetime.fromtimestamp(timestamp, tz=UTC).date()


def _issue(obligor: Party, creditor: Party, value: str, maturity: date) -> int:
    body = {
        "creditor_id": creditor.id,
        "face_value": value,
        "maturity": maturity.isoformat(),
        "invoice_hash": random_hash(),
    }
    note_id: int = ok(obligor.client.post("/v1/receivables", json=body), 201)["first_note_id"]
    return note_id


@pytest.fixture(scope="module")
def book(world: PrivateWorld, parties: dict[str, Party]) -> dict[str, int]:
    """The supplier's notes: maturities chosen so that, 7 days later, each falls in another bucket."""
    core1, core2, supplier, bank, outsider = (parties[n] for n in ("core1", "core2", "supplier", "bank", "outsider"))
    today = _chain_day(world)
    notes = {
        "a": _issue(core1, supplier, "1000.00", today + timedelta(days=10)),  # 0-30 after the warp
        "b": _issue(core1, supplier, "2000.00", today + timedelta(days=45)),  # 31-60, pledged
        "c": _issue(core1, supplier, "3000.00", today + timedelta(days=200)),  # >180
        "d": _issue(core1, supplier, "500.00", today + timedelta(days=5)),  # overdue after the warp
        "e": _issue(core2, supplier, "4000.00", today + timedelta(days=75)),  # 61-90
        "f": _issue(core2, supplier, "700.00", today + timedelta(days=120)),  # 91-180
    }
    ok(supplier.client.post(f"/v1/notes/{notes['b']}/lock", json={"lienholder_id": bank.id}))
    ok(supplier.client.post(f"/v1/notes/{notes['a']}/split", json={"to": outsider.id, "value": "300.00"}), 201)
    w3 = world.ledger.w3
    w3.provider.make_request("evm_increaseTime", [7 * DAY])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    return notes


def test_holdings_by_obligor_and_bucket(parties: dict[str, Party], book: dict[str, int]) -> None:
    supplier, core1, core2, bank = (parties[n] for n in ("supplier", "core1", "core2", "bank"))
    body = ok(supplier.client.get(f"/v1/verify/holdings/{supplier.id}"))
    assert body["member_id"] == supplier.id and body["source"] == "read-model"
    assert body["indexed_block"] >= body["chain_block"] - 1
    groups = [(g["obligor_id"], g["bucket"], g["count"], g["total"], g["pledged_total"]) for g in body["groups"]]
    assert groups == [
        (core1.id, "overdue", 1, "500.00", "0.00"),
        (core1.id, "0-30", 1, "700.00", "0.00"),
        (core1.id, "31-60", 1, "2000.00", "2000.00"),
        (core1.id, ">180", 1, "3000.00", "0.00"),
        (core2.id, "61-90", 1, "4000.00", "0.00"),
        (core2.id, "91-180", 1, "700.00", "0.00"),
    ]
    assert body["totals"] == {
        "count": 6,
        "total": "10900.00",
        "pledged_count": 1,
        "pledged_total": "2000.00",
        "free_total": "8900.00",
    }
    assert body["pledged"] == [{"lienholder_id": bank.id, "count": 1, "total": "2000.00"}]
    assert [b["bucket"] for b in body["buckets"]] == ["overdue", "0-30", "31-60", "61-90", "91-180", ">180"]
    assert body["check"] is None

    # the outsider holds the 300.00 split off note a: its own holdings show exactly that
    mine = ok(parties["outsider"].client.get(f"/v1/verify/holdings/{parties['outsider'].id}"))
    assert mine["totals"]["total"] == "300.00" and mine["groups"][0]["bucket"] == "0-30"


def test_holdings_check_against_chain(parties: dict[str, Party], book: dict[str, int]) -> None:
    supplier = parties["supplier"]
    body = ok(parties["auditor"].client.get(f"/v1/verify/holdings/{supplier.id}", params={"check": "chain"}))
    assert body["check"]["checked"] == 6
    assert body["check"]["mismatches"] == []
    assert body["check"]["block"]["number"] == body["indexed_block"]


def test_holdings_bad_requests(parties: dict[str, Party], book: dict[str, int]) -> None:
    supplier = parties["supplier"]
    problem(supplier.client.get("/v1/verify/holdings/987654"), 404, "not-found")
    problem(supplier.client.get(f"/v1/verify/holdings/{2**70}"), 404, "not-found")
    problem(
        supplier.client.get(f"/v1/verify/holdings/{supplier.id}", params={"block": "99999999"}), 404, "unknown-block"
    )
    problem(
        supplier.client.get(f"/v1/verify/holdings/{supplier.id}", params={"block": "soon"}), 422, "validation-error"
    )
    problem(supplier.client.get(f"/v1/verify/holdings/{supplier.id}", params={"check": "yes"}), 422, "validation-error")


def test_sharing_grant_opens_holdings_and_revoking_closes_them(
    world: PrivateWorld, parties: dict[str, Party], book: dict[str, int]
) -> None:
    supplier, bank, bank2, outsider = (parties[n] for n in ("supplier", "bank", "bank2", "outsider"))
    path = f"/v1/verify/holdings/{supplier.id}"

    refused = problem(bank.client.get(path), 403, "forbidden")
    assert "10900" not in str(refused) and "groups" not in refused
    problem(outsider.client.get(path), 403, "forbidden")

    headers = {"Idempotency-Key": "share-bank-1"}
    grant = ok(supplier.client.post("/v1/members/me/shares", json={"financier_id": bank.id}, headers=headers), 201)
    assert (grant["member_id"], grant["financier_id"], grant["active"]) == (supplier.id, bank.id, True)
    replay = supplier.client.post("/v1/members/me/shares", json={"financier_id": bank.id}, headers=headers)
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == grant

    assert ok(bank.client.get(path))["totals"]["total"] == "10900.00"
    problem(bank2.client.get(path), 403, "forbidden")  # a financier without a grant
    received = ok(bank.client.get("/v1/members/me/shares"))
    assert [(g["member_id"], g["active"]) for g in received["received"]] == [(supplier.id, True)]
    assert received["granted"] == []

    # grants are service data: a rebuild of the read model from the event log keeps them
    engine = make_engine(world.settings.effective_database_url)
    try:
        ledger = world.ledger
        Indexer(engine, ledger.w3, ledger.deployment, ledger.artifacts).rebuild()
    finally:
        engine.dispose()
    assert ok(bank.client.get(path))["totals"]["total"] == "10900.00"

    revoked = ok(supplier.client.post(f"/v1/members/me/shares/{bank.id}/revoke"))
    assert revoked["active"] is False and revoked["revoked_at"] is not None
    refused = problem(bank.client.get(path), 403, "forbidden")
    assert "10900" not in str(refused)
    listed = ok(supplier.client.get("/v1/members/me/shares"))
    assert [(g["financier_id"], g["active"]) for g in listed["granted"]] == [(bank.id, False)]

    # granting again renews it; an expiry in the past is refused
    ok(supplier.client.post("/v1/members/me/shares", json={"financier_id": bank.id, "expires_at": "2999-01-01"}), 201)
    assert ok(bank.client.get(path))["member_id"] == supplier.id
    ok(supplier.client.post(f"/v1/members/me/shares/{bank.id}/revoke"))
    problem(bank.client.get(path), 403, "forbidden")


def test_sharing_grant_refusals(parties: dict[str, Party]) -> None:
    supplier, bank, outsider = (parties[n] for n in ("supplier", "bank", "outsider"))
    shares = "/v1/members/me/shares"
    problem(supplier.client.post(shares, json={"financier_id": 987654}), 404, "not-found")
    problem(supplier.client.post(shares, json={"financier_id": outsider.id}), 422, "invalid-share-target")
    problem(bank.client.post(shares, json={"financier_id": bank.id}), 422, "invalid-share-target")
    past = {"financier_id": bank.id, "expires_at": "2001-01-01"}
    problem(supplier.client.post(shares, json=past), 422, "validation-error")
    problem(supplier.client.post(shares, json={"financier_id": "x"}), 422, "validation-error")
    problem(outsider.client.post(f"{shares}/{bank.id}/revoke"), 404, "not-found")
    problem(outsider.client.post(f"{shares}/{2**70}/revoke"), 404, "not-found")
    problem(supplier.client.post(shares, json={"financier_id": 2**70}), 422, "validation-error")
    assert ok(outsider.client.get(shares)) == {"granted": [], "received": []}


def test_operator_has_no_shares_but_reads_any_holdings(world: PrivateWorld, parties: dict[str, Party]) -> None:
    headers = {"Authorization": f"Bearer {world.operator_key}"}
    with httpx.Client(base_url=world.server.url, timeout=60, headers=headers) as op:
        problem(op.get("/v1/members/me/shares"), 403, "forbidden")
        problem(op.post("/v1/members/me/shares", json={"financier_id": parties["bank"].id}), 403, "forbidden")
        assert ok(op.get(f"/v1/verify/holdings/{parties['supplier'].id}"))["member_id"] == parties["supplier"].id


def test_redeemed_note_leaves_holdings_and_the_tree_stays_balanced(
    parties: dict[str, Party], book: dict[str, int]
) -> None:
    """Runs last: the overdue note d is funded and redeemed, which burns it."""
    core1, supplier, bank = (parties[n] for n in ("core1", "supplier", "bank"))
    slot_id = ok(supplier.client.get(f"/v1/notes/{book['d']}"))["receivable_id"]
    mint = {"member_id": core1.id, "amount": "500.00", "reference": "core1-deposit"}
    ok(bank.client.post("/v1/cash/mint", json=mint), 201)
    ok(core1.client.post(f"/v1/settlement/receivables/{slot_id}/fund", json={"amount": "500.00"}))
    redeemed = ok(supplier.client.post(f"/v1/settlement/notes/{book['d']}/redeem"))

    tree = ok(supplier.client.get(f"/v1/receivables/{slot_id}/tree"))
    assert [e["kind"] for e in tree["edges"]] == ["issue", "redeem"]
    redeem = tree["edges"][1]
    assert (redeem["from_note_id"], redeem["to_note_id"], redeem["value"]) == (book["d"], None, "500.00")
    assert redeem["tx_hash"].removeprefix("0x") == redeemed["tx_hashes"][0].removeprefix("0x")
    assert [n["live"] for n in tree["nodes"]] == [False]
    assert (tree["redeemed"], tree["outstanding"], tree["balanced"]) == ("500.00", "0.00", True)

    body = ok(supplier.client.get(f"/v1/verify/holdings/{supplier.id}"))
    assert "overdue" not in [g["bucket"] for g in body["groups"]]
    assert (body["totals"]["count"], body["totals"]["total"]) == (5, "10400.00")


def test_holdings_share_a_recent_head_but_never_name_one_below_the_indexed_block(
    parties: dict[str, Party], book: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs after the others (it splits a note). `latest` is the head this process read at most HEAD_MAX_AGE ago
    (here an hour, so the head read first is kept): once the indexer is past it (a split indexed since), the
    answer reads the head again, and `chain_block` is never below `indexed_block`."""
    from api.services import verify

    monkeypatch.setattr(verify, "HEAD_MAX_AGE", 3600.0)
    outsider, supplier = parties["outsider"], parties["supplier"]
    path = f"/v1/verify/holdings/{outsider.id}"
    before = ok(outsider.client.get(path))
    assert before["chain_block"] >= before["indexed_block"]
    ok(supplier.client.post(f"/v1/notes/{book['c']}/split", json={"to": outsider.id, "value": "100.00"}), 201)
    after = ok(outsider.client.get(path))
    assert after["totals"]["count"] == before["totals"]["count"] + 1  # the split is in the read model
    assert after["indexed_block"] > before["chain_block"]  # mined after the head kept, indexed before the answer
    assert after["chain_block"] >= after["indexed_block"]  # the head was read again, not the one kept
