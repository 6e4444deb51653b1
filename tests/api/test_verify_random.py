"""Verification equals the chain after random operations: ~60 seeded splits, transfers, merges, locks,
releases and sales through the API, then every note read three ways (GET /v1/verify/notes, a direct chain read
through chain.node.contracts, GET /v1/notes) and every member's holdings compared with the chain."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from chain.node.client import contract
from chain.node.contracts import ReceivableNotes
from chain.node.revert import ContractRevertError
from scripts.runtime import Ledger
from tests.conftest import Party, Roster, ServerThread, admitted, ok, problem, random_hash

SEED = 20_261_127
OPERATIONS = 60


def cents(text: str) -> int:
    whole, frac = text.split(".")
    return int(whole) * 100 + int(frac)


def amount(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


@pytest.fixture(scope="module")
def cast(api: ServerThread, operator_key: str) -> Iterator[dict[str, Party]]:
    roster: Roster = [
        ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
        ("s1", ["supplier"], {}),
        ("s2", ["supplier"], {}),
        ("s3", ["supplier"], {}),
        ("bank1", ["financier"], {}),
        ("bank2", ["financier"], {}),
        ("auditor", ["auditor"], {}),
    ]
    with admitted(api.url, operator_key, roster) as parties:
        for bank in ("bank1", "bank2"):
            mint = {"member_id": parties[bank].id, "amount": "500000.00", "reference": uuid.uuid4().hex}
            ok(parties[bank].client.post("/v1/cash/mint", json=mint), 201)
        yield parties


class Scenario:
    """Drives random operations from the read model's view (as the auditor sees it) with a fixed seed."""

    def __init__(self, cast: dict[str, Party], ledger: Ledger) -> None:
        self.cast = cast
        self.rng = random.Random(SEED)
        self.suppliers = [cast["s1"], cast["s2"], cast["s3"]]
        self.banks = [cast["bank1"], cast["bank2"]]
        self.by_id = {p.id: p for p in cast.values()}
        self.notes = ReceivableNotes(contract(ledger.w3, ledger.deployment, ledger.artifacts, "ReceivableNotes"))
        self.note_ids: set[int] = set()
        self.slots: list[int] = []
        self.minimum: dict[int, int] = {}  # S-3: a receivable's least note value, max(1.00, face / 500)
        self.done: dict[str, int] = defaultdict(int)

    def live(self) -> list[dict[str, Any]]:
        params = {"obligor_id": self.cast["core"].id, "limit": 500}
        items: list[dict[str, Any]] = ok(self.cast["auditor"].client.get("/v1/notes", params=params))["items"]
        return [n for n in items if n["receivable_id"] in self.slots]

    def issue(self, creditor: Party, face: str) -> None:
        maturity = (date.today() + timedelta(days=120)).isoformat()
        body = {"creditor_id": creditor.id, "face_value": face, "maturity": maturity, "invoice_hash": random_hash()}
        receivable = ok(self.cast["core"].client.post("/v1/receivables", json=body), 201)
        self.slots.append(receivable["id"])
        self.minimum[receivable["id"]] = max(100, -(-cents(face) // 500))
        self.note_ids.add(receivable["first_note_id"])

    def step(self) -> None:
        notes = self.live()
        free = [n for n in notes if n["lienholder_id"] is None and n["holder_id"] in {s.id for s in self.suppliers}]
        locked = [n for n in notes if n["lienholder_id"] is not None]
        choices = ["split", "transfer", "merge", "lock", "sale", "over-split"] + ["release"] * bool(locked)
        kind = self.rng.choice(choices)
        if kind == "release":
            note = self.rng.choice(locked)
            ok(self.by_id[note["lienholder_id"]].client.post(f"/v1/notes/{note['id']}/release"))
        else:
            # split, sale and merge (which splits when there is nothing to merge into) need a note of at least twice
            # its receivable's minimum (S-3); the others take any free note
            splittable = [n for n in free if cents(n["value"]) >= 2 * self.minimum[n["receivable_id"]]]
            pool = splittable if kind in ("split", "sale", "merge") else free
            if not pool:
                return
            note = self.rng.choice(pool)
            getattr(self, kind.replace("-", "_"))(note, notes)
        self.done[kind] += 1

    def _other_supplier(self, holder_id: int) -> Party:
        return self.rng.choice([s for s in self.suppliers if s.id != holder_id])

    def split(self, note: dict[str, Any], _notes: list[dict[str, Any]]) -> None:
        value = cents(note["value"])
        to = self._other_supplier(note["holder_id"])
        least = self.minimum[note["receivable_id"]]
        body = {"to": to.id, "value": amount(self.rng.randint(least, value - least))}
        result = ok(self.by_id[note["holder_id"]].client.post(f"/v1/notes/{note['id']}/split", json=body), 201)
        assert result["new_note"]["holder_id"] == to.id
        self.note_ids.add(result["new_note"]["id"])

    def transfer(self, note: dict[str, Any], _notes: list[dict[str, Any]]) -> None:
        to = self._other_supplier(note["holder_id"])
        moved = ok(self.by_id[note["holder_id"]].client.post(f"/v1/notes/{note['id']}/transfer", json={"to": to.id}))
        assert moved["holder_id"] == to.id

    def merge(self, note: dict[str, Any], notes: list[dict[str, Any]]) -> None:
        targets = [
            n
            for n in notes
            if n["receivable_id"] == note["receivable_id"] and n["id"] != note["id"] and n["lienholder_id"] is None
        ]
        if not targets:
            return self.split(note, notes)
        into = self.rng.choice(targets)
        value = cents(note["value"])
        moved = self.rng.randint(1, value)
        if 0 < value - moved < self.minimum[note["receivable_id"]]:
            moved = value  # S-3: what stays is 0 (the note is burned) or at least the minimum
        body = {"into": into["id"], "value": amount(moved)}
        ok(self.by_id[note["holder_id"]].client.post(f"/v1/notes/{note['id']}/merge", json=body))

    def lock(self, note: dict[str, Any], _notes: list[dict[str, Any]]) -> None:
        bank = self.rng.choice(self.banks)
        body = {"lienholder_id": bank.id}
        assert (
            ok(self.by_id[note["holder_id"]].client.post(f"/v1/notes/{note['id']}/lock", json=body))["lienholder_id"]
            == bank.id
        )

    def sale(self, note: dict[str, Any], _notes: list[dict[str, Any]]) -> None:
        bank = self.rng.choice(self.banks)
        value = cents(note["value"])
        least = self.minimum[note["receivable_id"]]
        part = value if self.rng.random() < 0.3 else self.rng.randint(least, value - least)
        expires = (date.today() + timedelta(days=5)).isoformat()
        offer = {"note_id": note["id"], "value": amount(part), "rate_bps": 600, "expires_at": expires}
        offer_id = ok(bank.client.post("/v1/financing/offers", json=offer), 201)["id"]
        purchase = ok(self.by_id[note["holder_id"]].client.post(f"/v1/financing/offers/{offer_id}/accept"))
        assert cents(purchase["value"]) == part
        self.note_ids.add(purchase["note_id"])

    def over_split(self, note: dict[str, Any], _notes: list[dict[str, Any]]) -> None:
        """The failing path: asking for more than the note holds is refused and changes nothing."""
        before = self.notes.note(note["id"])
        count = self.notes.note_count()
        body = {"to": self._other_supplier(note["holder_id"]).id, "value": amount(cents(note["value"]) + 1)}
        problem(
            self.by_id[note["holder_id"]].client.post(f"/v1/notes/{note['id']}/split", json=body),
            422,
            "insufficient-value",
        )
        assert self.notes.note(note["id"]) == before
        assert self.notes.note_count() == count


def test_verification_equals_the_chain_after_random_operations(
    cast: dict[str, Party], ledger: Ledger, operator: httpx.Client
) -> None:
    scenario = Scenario(cast, ledger)
    for creditor, face in zip(scenario.suppliers, ("10000.00", "25000.00", "7500.00"), strict=True):
        scenario.issue(creditor, face)
    for _ in range(OPERATIONS):
        scenario.step()
    assert sum(scenario.done.values()) >= OPERATIONS * 9 // 10, scenario.done
    assert {"split", "transfer", "merge", "lock", "sale", "over-split"} <= set(scenario.done), scenario.done

    auditor = cast["auditor"].client
    chain_holdings: dict[int, dict[int, int]] = defaultdict(dict)
    per_slot: dict[int, int] = defaultdict(int)
    for note_id in sorted(scenario.note_ids):
        try:
            on_chain = scenario.notes.note(note_id)
        except ContractRevertError as exc:  # burned: unknown on chain, not live in the read model
            assert exc.error == "UnknownNote"
            problem(auditor.get(f"/v1/verify/notes/{note_id}"), 404, "not-found")
            assert ok(auditor.get(f"/v1/notes/{note_id}"))["live"] is False
            continue
        verified = ok(auditor.get(f"/v1/verify/notes/{note_id}"))
        read_model = ok(auditor.get(f"/v1/notes/{note_id}"))
        assert verified["holder"]["member_id"] == on_chain.holder_id == read_model["holder_id"], note_id
        assert cents(verified["value"]) == on_chain.value == cents(read_model["value"]), note_id
        assert verified["receivable"]["slot_id"] == on_chain.slot_id == read_model["receivable_id"], note_id
        assert (verified["lienholder_id"] or 0) == on_chain.lienholder_id == (read_model["lienholder_id"] or 0)
        assert read_model["live"] is True
        chain_holdings[on_chain.holder_id][note_id] = on_chain.value
        per_slot[on_chain.slot_id] += on_chain.value

    # value is conserved per receivable, and the chain's own note count agrees with the ids we saw
    faces = {slot: scenario.notes.receivable(slot).face_value for slot in scenario.slots}
    assert dict(per_slot) == faces
    assert scenario.notes.note_count() >= max(scenario.note_ids)

    # each member's note list (its own key) equals its holdings on chain, note by note and in total
    for party in cast.values():
        if party is cast["auditor"] or party is cast["core"]:
            continue
        listed = ok(party.client.get("/v1/notes", params={"obligor_id": cast["core"].id, "limit": 500}))["items"]
        mine = {n["id"]: cents(n["value"]) for n in listed if n["holder_id"] == party.id}
        assert mine == chain_holdings.get(party.id, {}), party.id
        assert sum(mine.values()) == sum(chain_holdings.get(party.id, {}).values())
        holdings = ok(auditor.get(f"/v1/verify/holdings/{party.id}"))  # a fresh member: only this core's notes
        assert cents(holdings["totals"]["total"]) == sum(chain_holdings.get(party.id, {}).values()), party.id
