"""Fraud replays over real HTTP on an anvil of their own: each attempt is refused or raises a regulator alert.

Every refusal is checked to the exact problem type, and the state it would have changed (note holders and
values read from the chain, cash balances, order liens) is read again to show that nothing moved. The
structuring thresholds are the issue's own numbers: 50 splits of 9,999.00 under a 10,000.00 threshold.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from chain.node.client import contract
from chain.node.contracts import OrderBook, ReceivableNotes
from tests.conftest import PrivateWorld, ok, private_world, problem, random_hash, with_mint_ceiling

DAY = 86_400
STRUCTURING_SPLITS = 50


class Party:
    def __init__(self, url: str, member: dict[str, Any], key: str) -> None:
        self.id: int = member["id"]
        self.client = httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {key}"})

    def balance(self) -> str:
        return str(ok(self.client.get("/v1/cash/balance"))["balance"])


@dataclass
class Fraud:
    world: PrivateWorld
    op: httpx.Client
    group: int

    def admit(self, roles: list[str], *, group: int = 0, credit_limit: str = "0.00") -> Party:
        body = {"roles": roles, "kyc_hash": random_hash(), "group_id": group, "credit_limit": credit_limit}
        admitted = ok(self.op.post("/v1/members", json=with_mint_ceiling(roles, body)), 201)
        return Party(self.world.server.url, admitted["member"], admitted["api_key"])

    def advance(self, seconds: int) -> None:
        w3 = self.world.ledger.w3
        w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def today(self) -> date:
        stamp = int(self.world.ledger.w3.eth.get_block("latest")["timestamp"])
        return datetime.fromtimestamp(stamp, tz=UTC).date()

    @property
    def notes(self) -> ReceivableNotes:
        ledger = self.world.ledger
        return ReceivableNotes(contract(ledger.w3, ledger.deployment, ledger.artifacts, "ReceivableNotes"))

    @property
    def orders(self) -> OrderBook:
        ledger = self.world.ledger
        return OrderBook(contract(ledger.w3, ledger.deployment, ledger.artifacts, "OrderBook"))

    def chain_note(self, note_id: int) -> tuple[int, int, int]:
        """(holder id, value, lienholder id) read straight from the chain."""
        note = self.notes.note(note_id)
        return note.holder_id, note.value, note.lienholder_id


@pytest.fixture(scope="module")
def fraud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fraud]:
    with ExitStack() as stack:
        with pytest.MonkeyPatch.context() as env:  # read once, when the world's Settings are made
            env.setenv("SCF_ALERT_STRUCTURING_THRESHOLD", "10000.00")
            env.setenv("SCF_ALERT_STRUCTURING_COUNT", str(STRUCTURING_SPLITS))
            env.setenv("SCF_ALERT_STRUCTURING_WINDOW", "1000")
            world = stack.enter_context(private_world(tmp_path_factory.mktemp("scf-fraud")))
        op = stack.enter_context(
            httpx.Client(
                base_url=world.server.url, timeout=120, headers={"Authorization": f"Bearer {world.operator_key}"}
            )
        )
        yield Fraud(world, op, group=700_000 + uuid.uuid4().int % 100_000)


@pytest.fixture(scope="module")
def cast(fraud: Fraud) -> dict[str, Party]:
    parties = {
        "core": fraud.admit(["core_enterprise"], credit_limit="10000000.00"),
        "supplier": fraud.admit(["supplier"]),
        "tier2": fraud.admit(["supplier"]),
        "bank": fraud.admit(["financier"]),
        "bank2": fraud.admit(["financier"]),
        "auditor": fraud.admit(["auditor"]),
    }
    for bank in ("bank", "bank2"):
        mint = {"member_id": parties[bank].id, "amount": "1000000.00", "reference": f"own-{uuid.uuid4().hex}"}
        ok(parties[bank].client.post("/v1/cash/mint", json=mint), 201)
    return parties


def _receivable(fraud: Fraud, core: Party, creditor: Party, face: str, days: int = 90, **extra: Any) -> dict[str, Any]:
    maturity = (fraud.today() + timedelta(days=days)).isoformat()
    body = {"creditor_id": creditor.id, "face_value": face, "maturity": maturity, "invoice_hash": random_hash()}
    return ok(core.client.post("/v1/receivables", json={**body, **extra}), 201)


def _order(fraud: Fraud, supplier: Party, core: Party, amount: str) -> int:
    due = (fraud.today() + timedelta(days=60)).isoformat()
    body = {"buyer_id": core.id, "amount": amount, "document_hash": random_hash(), "due_date": due}
    order_id = int(ok(supplier.client.post("/v1/orders", json=body), 201)["id"])
    ok(core.client.post(f"/v1/orders/{order_id}/confirm"))
    return order_id


def _offer(fraud: Fraud, bank: Party, note_id: int, value: str, **extra: Any) -> dict[str, Any]:
    expires = (fraud.today() + timedelta(days=5)).isoformat()
    body = {"note_id": note_id, "value": value, "rate_bps": 500, "recourse": False, "expires_at": expires}
    return ok(bank.client.post("/v1/financing/offers", json={**body, **extra}), 201)


def _alerts(auditor: Party, rule: str, member_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(auditor.client.get("/v1/alerts", params={"rule": rule, "member_id": member_id}))[
        "items"
    ]
    return items


def test_an_invoice_tokenised_twice_is_refused(fraud: Fraud, cast: dict[str, Party]) -> None:
    core, supplier, tier2 = cast["core"], cast["supplier"], cast["tier2"]
    invoice = random_hash()
    first = _receivable(fraud, core, supplier, "5000.00", invoice_hash=invoice)
    slots_before = fraud.notes.slot_count()
    notes_before = fraud.notes.note_count()

    again = _receivable_attempt(fraud, core, tier2, invoice)
    body = problem(again, 409, "invoice-already-tokenised")
    assert body["contractError"]["error"] == "InvoiceAlreadyTokenised"
    assert body["contractError"]["args"]["slotId"] == first["id"]

    # the same invoice through the order route: refused too, the order stays delivered
    order_id = _order(fraud, supplier, core, "5000.00")
    ok(supplier.client.post(f"/v1/orders/{order_id}/deliver"))
    maturity = (fraud.today() + timedelta(days=90)).isoformat()
    accept = {"face_value": "5000.00", "maturity": maturity, "invoice_hash": invoice}
    problem(core.client.post(f"/v1/orders/{order_id}/accept", json=accept), 409, "invoice-already-tokenised")

    assert fraud.notes.slot_count() == slots_before
    assert fraud.notes.note_count() == notes_before
    assert ok(core.client.get(f"/v1/orders/{order_id}"))["status"] == "delivered"
    verified = ok(fraud.op.get("/v1/verify/invoice", params={"hash": invoice}))
    assert verified["tokenised"] is True and verified["slot_id"] == first["id"]
    assert verified["creditor_id"] == supplier.id
    assert ok(tier2.client.get("/v1/notes"))["items"] == []


def _receivable_attempt(fraud: Fraud, core: Party, creditor: Party, invoice: str) -> httpx.Response:
    maturity = (fraud.today() + timedelta(days=90)).isoformat()
    body = {"creditor_id": creditor.id, "face_value": "5000.00", "maturity": maturity, "invoice_hash": invoice}
    return core.client.post("/v1/receivables", json=body)


def test_an_order_pledged_twice_is_refused(fraud: Fraud, cast: dict[str, Party]) -> None:
    core, supplier, bank, bank2 = cast["core"], cast["supplier"], cast["bank"], cast["bank2"]
    order_id = _order(fraud, supplier, core, "20000.00")
    assert (
        ok(supplier.client.post(f"/v1/orders/{order_id}/pledge", json={"financier_id": bank.id}))["lienholder_id"]
        == bank.id
    )

    body = problem(
        supplier.client.post(f"/v1/orders/{order_id}/pledge", json={"financier_id": bank2.id}),
        409,
        "order-already-pledged",
    )
    assert body["contractError"]["args"]["lienholderId"] == bank.id
    assert ok(supplier.client.get(f"/v1/orders/{order_id}"))["lienholder_id"] == bank.id
    assert fraud.orders.order(order_id).lienholder_id == bank.id

    # the second bank cannot lend against it either, and no cash moves
    before = (supplier.balance(), bank2.balance())
    due = (fraud.today() + timedelta(days=30)).isoformat()
    loan = {"order_id": order_id, "principal": "1000.00", "rate_bps": 500, "due_date": due}
    problem(bank2.client.post("/v1/financing/loans", json=loan), None)
    assert (supplier.balance(), bank2.balance()) == before


def test_a_note_sold_twice_is_refused(fraud: Fraud, cast: dict[str, Party]) -> None:
    core, supplier, bank, bank2 = cast["core"], cast["supplier"], cast["bank"], cast["bank2"]
    note_id = _receivable(fraud, core, supplier, "3000.00")["first_note_id"]
    first = _offer(fraud, bank, note_id, "3000.00")
    second = _offer(fraud, bank2, note_id, "3000.00")
    ok(supplier.client.post(f"/v1/financing/offers/{first['id']}/accept"))
    sold = fraud.chain_note(note_id)
    assert sold == (bank.id, 300_000, 0)
    balances = (supplier.balance(), bank.balance(), bank2.balance())

    # the seller no longer holds the note: the second buyer's offer is not the seller's to accept any more
    problem(supplier.client.post(f"/v1/financing/offers/{second['id']}/accept"), 404, "not-found")
    assert fraud.chain_note(note_id) == sold
    assert ok(bank.client.get(f"/v1/notes/{note_id}"))["holder_id"] == bank.id
    assert (supplier.balance(), bank.balance(), bank2.balance()) == balances
    assert ok(bank2.client.get(f"/v1/financing/offers/{second['id']}"))["status"] == "open"

    # the same value sold twice out of one note: 2,000.00 of 3,000.00 to each bank; the second sale is refused
    note_id = _receivable(fraud, core, supplier, "3000.00")["first_note_id"]
    first = _offer(fraud, bank, note_id, "2000.00")
    second = _offer(fraud, bank2, note_id, "2000.00")
    ok(supplier.client.post(f"/v1/financing/offers/{first['id']}/accept"))
    rest = fraud.chain_note(note_id)
    assert rest == (supplier.id, 100_000, 0)
    notes_before = fraud.notes.note_count()
    balances = (supplier.balance(), bank.balance(), bank2.balance())
    body = problem(supplier.client.post(f"/v1/financing/offers/{second['id']}/accept"), 422, "insufficient-value")
    assert "1000.00" in body["detail"] or body.get("contractError", {}).get("error") == "InsufficientValue", body
    assert fraud.chain_note(note_id) == rest
    assert fraud.notes.note_count() == notes_before
    assert (supplier.balance(), bank.balance(), bank2.balance()) == balances
    assert ok(bank2.client.get(f"/v1/financing/offers/{second['id']}"))["status"] == "open"


def test_a_loop_of_transfers_among_related_parties_raises_alerts(fraud: Fraud, cast: dict[str, Party]) -> None:
    core, auditor = cast["core"], cast["auditor"]
    a, b, c = (fraud.admit(["supplier"], group=fraud.group) for _ in range(3))
    related_bank = fraud.admit(["financier"], group=fraud.group)
    note_id = _receivable(fraud, core, a, "4000.00")["first_note_id"]
    for sender, receiver in ((a, b), (b, c), (c, a)):
        moved = ok(sender.client.post(f"/v1/notes/{note_id}/transfer", json={"to": receiver.id}))
        assert moved["holder_id"] == receiver.id

    [circular] = _alerts(auditor, "circular_trade", a.id)
    assert circular["severity"] == "high"
    assert circular["members"] == sorted([a.id, b.id, c.id])
    assert len(circular["evidence"]) == 3

    # the loop's last holder sells to a bank of the same group: a related-party alert
    ok(
        related_bank.client.post(
            "/v1/cash/mint", json={"member_id": related_bank.id, "amount": "5000.00", "reference": "rp"}
        ),
        201,
    )
    offer = _offer(fraud, related_bank, note_id, "4000.00")
    ok(a.client.post(f"/v1/financing/offers/{offer['id']}/accept"))
    [related] = _alerts(auditor, "related_party", a.id)
    assert related["members"] == [a.id, related_bank.id]
    problem(a.client.get("/v1/alerts"), 403, "forbidden")


def test_fifty_splits_just_under_the_threshold_raise_a_structuring_alert(fraud: Fraud, cast: dict[str, Party]) -> None:
    core, auditor = cast["core"], cast["auditor"]
    smurf, mule = fraud.admit(["supplier"]), fraud.admit(["supplier"])
    note_id = _receivable(fraud, core, smurf, "510000.00")["first_note_id"]  # S-3: its notes hold >= 1,020.00
    for n in range(STRUCTURING_SPLITS):
        if n == STRUCTURING_SPLITS - 1:
            assert _alerts(auditor, "structuring", smurf.id) == []  # 49 are not enough
        ok(smurf.client.post(f"/v1/notes/{note_id}/split", json={"to": mule.id, "value": "9999.00"}), 201)

    [alert] = _alerts(auditor, "structuring", smurf.id)
    assert alert["members"] == [smurf.id, mule.id]
    assert len(alert["evidence"]) == STRUCTURING_SPLITS
    assert ok(smurf.client.get(f"/v1/notes/{note_id}"))["value"] == "10050.00"  # 510,000.00 - 50 x 9,999.00
    held = ok(mule.client.get("/v1/notes", params={"limit": 500}))["items"]
    assert len(held) == STRUCTURING_SPLITS and {n["value"] for n in held} == {"9999.00"}

    # the alert is part of the smurf's evidence bundle, with the 50 split transactions
    day = fraud.today().isoformat()
    bundle = ok(auditor.client.get(f"/v1/export/members/{smurf.id}", params={"from": day, "to": day}))
    assert [a["rule"] for a in bundle["alerts"]] == ["structuring"]
    splits = [t for t in bundle["transfers"] if t["to_member_id"] == mule.id]
    assert len(splits) == STRUCTURING_SPLITS and {t["value"] for t in splits} == {"9999.00"}
    assert set(bundle["alerts"][0]["evidence"]) == {t["tx_hash"] for t in splits}


def test_financing_after_settlement_is_refused(fraud: Fraud, cast: dict[str, Party]) -> None:
    core, supplier, bank = cast["core"], cast["supplier"], cast["bank"]
    mint = {"member_id": core.id, "amount": "100000.00", "reference": f"dep-{uuid.uuid4().hex}"}
    ok(bank.client.post("/v1/cash/mint", json=mint), 201)
    # a receivable from an order, settled at maturity
    order_id = _order(fraud, supplier, core, "8000.00")
    ok(supplier.client.post(f"/v1/orders/{order_id}/deliver"))
    maturity = (fraud.today() + timedelta(days=1)).isoformat()
    accept = {"face_value": "8000.00", "maturity": maturity, "invoice_hash": random_hash()}
    slot_id = ok(core.client.post(f"/v1/orders/{order_id}/accept", json=accept))["receivable_id"]
    note_id = ok(supplier.client.get(f"/v1/receivables/{slot_id}"))["first_note_id"]
    ok(core.client.post(f"/v1/settlement/receivables/{slot_id}/fund", json={"amount": "8000.00"}))
    fraud.advance(3 * DAY)
    ok(bank.client.post(f"/v1/settlement/receivables/{slot_id}/settle", json={}))
    assert ok(supplier.client.get(f"/v1/notes/{note_id}"))["live"] is False
    balances = (supplier.balance(), bank.balance())

    # factoring the settled note
    expires = (fraud.today() + timedelta(days=5)).isoformat()
    offer = {"note_id": note_id, "value": "8000.00", "rate_bps": 500, "recourse": False, "expires_at": expires}
    refused = problem(bank.client.post("/v1/financing/offers", json=offer), None)
    assert refused["type"].rsplit("/", 1)[-1] in {"note-not-live", "unknown-note"}, refused
    # pledging the settled order and lending against it
    pledge = problem(supplier.client.post(f"/v1/orders/{order_id}/pledge", json={"financier_id": bank.id}), 409)
    assert pledge["type"].endswith("/invalid-order-state")
    due = (fraud.today() + timedelta(days=30)).isoformat()
    loan = {"order_id": order_id, "principal": "1000.00", "rate_bps": 500, "due_date": due}
    problem(bank.client.post("/v1/financing/loans", json=loan), None)

    assert (supplier.balance(), bank.balance()) == balances
    assert ok(supplier.client.get(f"/v1/orders/{order_id}"))["lienholder_id"] is None
    assert ok(bank.client.get("/v1/financing/offers", params={"note_id": note_id}))["items"] == []
