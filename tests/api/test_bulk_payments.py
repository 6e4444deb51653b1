"""Bulk payment (`POST /v1/notes/{id}/payments`) over real HTTP against a real anvil: a tier-1 supplier pays 30
tier-2 suppliers out of one note in one transaction; one bad payment refuses the whole batch and the problem names
it; idempotent replay; read-your-writes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from chain.node.client import contract
from chain.node.contracts import ReceivableNotes
from scripts.runtime import Ledger
from tests.conftest import Party, Roster, ServerThread, admitted, ok, problem, random_hash

TIER2 = 30


@pytest.fixture(scope="module")
def parties(api: ServerThread, operator_key: str) -> Iterator[dict[str, Party]]:
    roster: Roster = [
        ("core", ["core_enterprise"], {"credit_limit": "10000000.00"}),
        ("tier1", ["supplier"], {}),
        ("auditor", ["auditor"], {}),
        *[(f"tier2-{i}", ["supplier"], {}) for i in range(TIER2)],
    ]
    with admitted(api.url, operator_key, roster) as parties:
        yield parties


@pytest.fixture(scope="module")
def notes(ledger: Ledger) -> ReceivableNotes:
    return ReceivableNotes(contract(ledger.w3, ledger.deployment, ledger.artifacts, "ReceivableNotes"))


def _tier2(parties: dict[str, Party]) -> list[Party]:
    return [parties[f"tier2-{i}"] for i in range(TIER2)]


def _issue(parties: dict[str, Party], face: str = "100000.00") -> int:
    body = {
        "creditor_id": parties["tier1"].id,
        "face_value": face,
        "maturity": (date.today() + timedelta(days=90)).isoformat(),
        "invoice_hash": random_hash(),
    }
    note_id: int = ok(parties["core"].client.post("/v1/receivables", json=body), 201)["first_note_id"]
    return note_id


def _pay(tier1: Party, note_id: int, payments: list[dict[str, Any]], key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return tier1.client.post(f"/v1/notes/{note_id}/payments", json={"payments": payments}, headers=headers)


def _unchanged(parties: dict[str, Party], notes: ReceivableNotes, note_id: int, count: int, value: str) -> None:
    """Nothing happened: no note minted on chain, the source note as it was in the read model and on chain."""
    assert notes.note_count() == count
    assert ok(parties["tier1"].client.get(f"/v1/notes/{note_id}"))["value"] == value
    assert notes.note(note_id).value == int(value.replace(".", ""))


def test_thirty_recipients_in_one_transaction_read_your_writes_and_replay(
    parties: dict[str, Party], notes: ReceivableNotes
) -> None:
    tier1, tier2 = parties["tier1"], _tier2(parties)
    note_id = _issue(parties)
    payments = [{"to": p.id, "value": f"{1000 + i}.00"} for i, p in enumerate(tier2)]
    key = f"bulk-{uuid.uuid4()}"
    before = notes.note_count()
    response = _pay(tier1, note_id, payments, key)
    body = ok(response, 201)
    paid = sum(1000 + i for i in range(TIER2))
    assert body["note"]["id"] == note_id
    assert body["note"]["value"] == f"{100000 - paid}.00"
    assert [n["holder_id"] for n in body["new_notes"]] == [p.id for p in tier2]
    assert [n["value"] for n in body["new_notes"]] == [p["value"] for p in payments]
    assert {n["parent_id"] for n in body["new_notes"]} == {note_id}
    assert [n["id"] for n in body["new_notes"]] == list(range(before + 1, before + 1 + TIER2))
    assert len({n["created_tx"] for n in body["new_notes"]}) == 1  # one transaction
    assert notes.note_count() == before + TIER2
    # read-your-writes: every recipient sees its new note as soon as the answer came
    for party, new in zip(tier2, body["new_notes"], strict=True):
        mine = ok(party.client.get("/v1/notes"))["items"]
        assert new["id"] in [n["id"] for n in mine]
        assert ok(party.client.get(f"/v1/notes/{new['id']}"))["value"] == new["value"]
    # the read model's provenance classifies each new note's creation as a split of the paid note
    new_id = body["new_notes"][5]["id"]
    moves = ok(tier2[5].client.get(f"/v1/notes/{new_id}/provenance"))["events"]
    into = [(e["kind"], e["from_note_id"], e["value"]) for e in moves if e["to_note_id"] == new_id]
    assert into == [("split", note_id, "1005.00")]
    # idempotent: the same key and body replay the answer and send nothing
    again = _pay(tier1, note_id, payments, key)
    assert again.status_code == 201, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == body
    assert notes.note_count() == before + TIER2


def test_paying_out_the_whole_note_burns_it_and_a_replay_still_answers(
    parties: dict[str, Party], notes: ReceivableNotes
) -> None:
    tier1, tier2 = parties["tier1"], _tier2(parties)
    note_id = _issue(parties, "3000.00")
    payments = [{"to": tier2[i].id, "value": "1000.00"} for i in range(3)]
    key = f"bulk-{uuid.uuid4()}"
    body = ok(_pay(tier1, note_id, payments, key), 201)
    assert body["note"]["live"] is False
    assert [n["value"] for n in body["new_notes"]] == ["1000.00"] * 3
    again = _pay(tier1, note_id, payments, key)  # the caller no longer holds the note: still the first answer
    assert again.status_code == 201, again.text
    assert again.json() == body


def test_a_recipient_without_a_holding_role_refuses_the_batch_and_is_named(
    parties: dict[str, Party], notes: ReceivableNotes
) -> None:
    tier1, tier2 = parties["tier1"], _tier2(parties)
    note_id = _issue(parties)
    payments = [{"to": p.id, "value": "1000.00"} for p in tier2]
    payments[7] = {"to": parties["auditor"].id, "value": "1000.00"}
    count = notes.note_count()
    body = problem(_pay(tier1, note_id, payments, f"bulk-{uuid.uuid4()}"), 403, "missing-role")
    assert body["payment"] == {"index": 7, "to": parties["auditor"].id}
    assert "payments[7]" in body["detail"] and str(parties["auditor"].id) in body["detail"]
    assert body["contractError"]["error"] == "MissingRole"
    _unchanged(parties, notes, note_id, count, "100000.00")
    receivable = ok(tier1.client.get(f"/v1/notes/{note_id}"))["receivable_id"]
    for party in tier2:  # none of the 29 good payments was made
        assert all(n["receivable_id"] != receivable for n in ok(party.client.get("/v1/notes"))["items"])


def test_a_payment_below_the_minimum_refuses_the_batch_and_is_named(
    parties: dict[str, Party], notes: ReceivableNotes
) -> None:
    tier1, tier2 = parties["tier1"], _tier2(parties)
    note_id = _issue(parties)  # minimum note value: 100,000.00 / 500 live notes = 200.00
    payments = [{"to": p.id, "value": "1000.00"} for p in tier2]
    payments[12]["value"] = "199.99"
    count = notes.note_count()
    body = problem(_pay(tier1, note_id, payments), 422, "payment-below-minimum")
    assert body["payment"] == {"index": 12, "to": tier2[12].id}
    assert "payments[12]" in body["detail"]
    assert body["contractError"]["args"] == {"index": 12, "value": 19999, "minimum": 20000}
    _unchanged(parties, notes, note_id, count, "100000.00")


def test_refusals_before_the_chain_name_the_payment(parties: dict[str, Party], notes: ReceivableNotes) -> None:
    tier1, tier2 = parties["tier1"], _tier2(parties)
    note_id = _issue(parties)
    count = notes.note_count()
    unknown = [{"to": tier2[0].id, "value": "1000.00"}, {"to": 2**40, "value": "1000.00"}]
    body = problem(_pay(tier1, note_id, unknown), 404, "not-found")
    assert body["payment"] == {"index": 1}
    assert "payments[1]" in body["detail"]
    to_self = [{"to": tier2[0].id, "value": "1000.00"}, {"to": tier1.id, "value": "1000.00"}]
    body = problem(_pay(tier1, note_id, to_self), 422, "self-transfer")
    assert body["payment"] == {"index": 1}
    too_much = [{"to": p.id, "value": "5000.00"} for p in tier2[:21]]  # 105,000.00 of 100,000.00
    problem(_pay(tier1, note_id, too_much), 422, "insufficient-value")
    _unchanged(parties, notes, note_id, count, "100000.00")


def test_more_than_a_hundred_payments_or_none_are_422(parties: dict[str, Party], notes: ReceivableNotes) -> None:
    tier1, tier2 = parties["tier1"], _tier2(parties)
    note_id = _issue(parties)
    count = notes.note_count()
    many = [{"to": tier2[i % TIER2].id, "value": "1.00"} for i in range(101)]
    problem(_pay(tier1, note_id, many), 422, "validation-error")
    problem(_pay(tier1, note_id, []), 422, "validation-error")
    _unchanged(parties, notes, note_id, count, "100000.00")


def test_only_the_holder_pays_from_a_note(parties: dict[str, Party], notes: ReceivableNotes) -> None:
    tier2 = _tier2(parties)
    note_id = _issue(parties)
    count = notes.note_count()
    problem(_pay(tier2[0], note_id, [{"to": tier2[1].id, "value": "1000.00"}]), 403, "forbidden")
    _unchanged(parties, notes, note_id, count, "100000.00")
