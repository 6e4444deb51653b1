"""Evidence export: everything the read model holds about one member within a span of chain time.

Rows are flat (one level of scalar fields, lists only in alerts) so that each section is also a CSV table.
The span is [from 00:00:00, to 23:59:59] UTC, turned into a block range by the blocks' timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from web3 import Web3

from api.amounts import format_amount
from api.hexes import prefixed
from api.services.chaintime import block_times, first_block_at_or_after, indexed_head
from api.services.common import iso_time
from api.services.visibility import Views, display_names
from chain.readmodel.store import (
    Alert,
    AlertMember,
    EventRecord,
    Loan,
    Note,
    Offer,
    Order,
    Purchase,
    Receivable,
    ValueMove,
)

ORDER_EVENTS = (
    "OrderProposed",
    "OrderConfirmed",
    "OrderDelivered",
    "OrderAccepted",
    "OrderCancelled",
    "OrderPledged",
    "OrderReleased",
)
FINANCING_EVENTS = {
    "OfferMade": ("offer", "offerId"),
    "OfferCancelled": ("offer", "offerId"),
    "OfferAccepted": ("purchase", "purchaseId"),
    "RecourseClaimed": ("purchase", "purchaseId"),
    "RecoursePaid": ("purchase", "purchaseId"),
    "LoanOpened": ("loan", "loanId"),
    "LoanRepaid": ("loan", "loanId"),
    "LoanForeclosed": ("loan", "loanId"),
}
SECTIONS = ("orders", "notes", "transfers", "financings", "alerts")
#: a row's member id field -> the display name field added beside it
NAMED_FIELDS = {
    "supplier_id": "supplier_name",
    "buyer_id": "buyer_name",
    "holder_id": "holder_name",
    "lienholder_id": "lienholder_name",
    "obligor_id": "obligor_name",
    "from_member_id": "from_member_name",
    "to_member_id": "to_member_name",
    "financier_id": "financier_name",
    "client_id": "client_name",
}


@dataclass(frozen=True)
class BlockRange:
    first: int
    last: int  # first > last: no block in the span
    start: datetime  # the span in time, for alerts over off-chain records (block 0)
    end: datetime


def block_range(session: Session, w3: Web3, start: date, end: date) -> tuple[BlockRange, int]:
    """The indexed blocks whose time falls in [start 00:00:00, end 23:59:59] UTC, and the indexed head."""
    head = indexed_head(session) or 0
    start_at = datetime.combine(start, time(0, 0), tzinfo=UTC)
    end_at = datetime.combine(end, time(23, 59, 59), tzinfo=UTC)
    first = first_block_at_or_after(w3, int(start_at.timestamp()), head)
    last = first_block_at_or_after(w3, int(end_at.timestamp()) + 1, head) - 1
    return BlockRange(first, last, start_at, end_at), head


def _events(session: Session, blocks: BlockRange, contract: str, names: tuple[str, ...]) -> list[EventRecord]:
    query = (
        select(EventRecord)
        .where(EventRecord.contract == contract, EventRecord.name.in_(names))
        .where(EventRecord.block_number >= blocks.first, EventRecord.block_number <= blocks.last)
        .order_by(EventRecord.block_number, EventRecord.log_index)
    )
    return list(session.scalars(query))


def _orders(session: Session, member_id: int, blocks: BlockRange) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for record in _events(session, blocks, "OrderBook", ORDER_EVENTS):
        order = session.get(Order, int(record.args["orderId"]))
        if order is None:
            continue
        parties = {order.supplier_id, order.buyer_id, order.holder_id, int(record.args.get("lienholderId", 0))}
        if member_id not in parties:
            continue
        rows.append(
            {
                "order_id": order.id,
                "event": record.name,
                "supplier_id": order.supplier_id,
                "buyer_id": order.buyer_id,
                "amount": format_amount(order.amount),
                "due_date": iso_time(order.due_date),
                "status": order.status,
                "receivable_id": order.slot_id,
                "block_number": record.block_number,
                "tx_hash": prefixed(record.tx_hash),
            }
        )
    return rows


def _transfers(session: Session, member_id: int, blocks: BlockRange) -> list[dict[str, Any]]:
    query = (
        select(ValueMove)
        .where(or_(ValueMove.from_member_id == member_id, ValueMove.to_member_id == member_id))
        .where(ValueMove.block_number >= blocks.first, ValueMove.block_number <= blocks.last)
        .order_by(ValueMove.block_number, ValueMove.event_id, ValueMove.id)
    )
    return [
        {
            "kind": move.kind,
            "from_note_id": move.from_note_id or None,
            "to_note_id": move.to_note_id or None,
            "from_member_id": move.from_member_id or None,
            "to_member_id": move.to_member_id or None,
            "value": format_amount(move.value),
            "block_number": move.block_number,
            "tx_hash": prefixed(move.tx_hash),
        }
        for move in session.scalars(query)
    ]


def _notes(
    session: Session, member_id: int, blocks: BlockRange, transfers: list[dict[str, Any]], views: Views
) -> list[dict[str, Any]]:
    """The member's notes and the notes its transfers touched, as they are now: a note it sent value to may have
    moved on since, so its holder goes through the caller's visibility (api/services/visibility.py)."""
    ids = {t[k] for t in transfers for k in ("from_note_id", "to_note_id") if t[k]}
    created = select(Note.id).where(
        Note.holder_id == member_id, Note.created_block >= blocks.first, Note.created_block <= blocks.last
    )
    ids |= {int(i) for i in session.scalars(created)}
    rows: list[dict[str, Any]] = []
    for note in session.scalars(select(Note).where(Note.id.in_(sorted(ids))).order_by(Note.id)):
        receivable = session.get(Receivable, note.slot_id) if note.slot_id else None
        vis = views.slot(note.slot_id)
        rows.append(
            {
                "note_id": note.id,
                "receivable_id": note.slot_id,
                "holder_id": vis.ref(note.holder_id),
                "value": format_amount(note.value),
                "live": note.live,
                "lienholder_id": vis.optional(note.lienholder_id),
                "parent_id": note.parent_id or None,
                "obligor_id": receivable.obligor_id if receivable else None,
                "maturity": iso_time(receivable.maturity) if receivable else None,
                "block_number": note.created_block,
                "tx_hash": prefixed(note.created_tx),
            }
        )
    return rows


def _financing_row(session: Session, kind: str, ident: int, views: Views) -> dict[str, Any] | None:
    """Current state of an offer, purchase or loan, with `parties` (not exported) for the filter. An open offer's
    client is the note's current holder, which the offering financier sees only under the visibility rule."""
    if kind == "offer":
        offer = session.get(Offer, ident)
        if offer is None:
            return None
        note = session.get(Note, offer.note_id)
        purchase = session.get(Purchase, offer.purchase_id) if offer.purchase_id else None
        client = purchase.seller_id if purchase else (note.holder_id if note else 0)
        return {
            "parties": {offer.financier_id, client},
            "financier_id": offer.financier_id,
            "client_id": views.slot(note.slot_id if note else None).optional(client),
            "note_id": offer.note_id,
            "order_id": None,
            "value": format_amount(offer.value),
            "price": format_amount(purchase.price) if purchase else None,
            "rate_bps": offer.rate_bps,
            "recourse": offer.recourse,
            "status": offer.status,
        }
    if kind == "purchase":
        bought = session.get(Purchase, ident)
        if bought is None:
            return None
        offer = session.get(Offer, bought.offer_id)
        return {
            "parties": {bought.financier_id, bought.seller_id},
            "financier_id": bought.financier_id,
            "client_id": bought.seller_id,
            "note_id": bought.note_id,
            "order_id": None,
            "value": format_amount(bought.value),
            "price": format_amount(bought.price),
            "rate_bps": offer.rate_bps if offer else None,
            "recourse": offer.recourse if offer else None,
            "status": f"recourse-{bought.recourse_status}",
        }
    loan = session.get(Loan, ident)
    if loan is None:
        return None
    return {
        "parties": {loan.financier_id, loan.borrower_id},
        "financier_id": loan.financier_id,
        "client_id": loan.borrower_id,
        "note_id": loan.taken_note_id,
        "order_id": loan.order_id,
        "value": format_amount(loan.principal),
        "price": None,
        "rate_bps": loan.rate_bps,
        "recourse": None,
        "status": loan.status,
    }


def _financings(session: Session, member_id: int, blocks: BlockRange, views: Views) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for record in _events(session, blocks, "Financing", tuple(FINANCING_EVENTS)):
        kind, key = FINANCING_EVENTS[record.name]
        ident = int(record.args[key])
        state = _financing_row(session, kind, ident, views)
        if state is None or member_id not in state.pop("parties"):
            continue
        rows.append(
            {"kind": kind, "id": ident, "event": record.name, **state}
            | {"block_number": record.block_number, "tx_hash": prefixed(record.tx_hash)}
        )
    return rows


def _alerts(session: Session, member_id: int, blocks: BlockRange, views: Views) -> list[dict[str, Any]]:
    """Alerts naming the member. Other members an alert names are shown to the member itself only under the
    visibility rule with no receivable context (itself and its grantors); auditors and the operator see all."""
    query = (
        select(Alert)
        .where(Alert.id.in_(select(AlertMember.alert_id).where(AlertMember.member_id == member_id)))
        .where(
            or_(
                and_(Alert.block_number >= blocks.first, Alert.block_number <= blocks.last),
                and_(Alert.block_number == 0, Alert.created >= blocks.start, Alert.created <= blocks.end),
            )
        )
        .order_by(Alert.id)
    )
    return [
        {
            "id": alert.id,
            "rule": alert.rule,
            "severity": alert.severity,
            "members": views.member().refs(alert.members),
            "evidence": [prefixed(h) if len(h) in (64, 66) else h for h in alert.evidence],
            "block_number": alert.block_number,
            "created": alert.created.isoformat(),
        }
        for alert in session.scalars(query)
    ]


def export_sections(
    session: Session, w3: Web3, member_id: int, blocks: BlockRange, views: Views
) -> dict[str, list[dict[str, Any]]]:
    """The five sections, as the caller (`views`) may see them; every row with a block number also gets `at`, that
    block's time. Orders and transfers name only the member's own counterparties, which the rule shows."""
    if blocks.first > blocks.last:
        empty: dict[str, list[dict[str, Any]]] = {name: [] for name in SECTIONS}
        return with_names(session, empty | {"alerts": _alerts(session, member_id, blocks, views)})
    transfers = _transfers(session, member_id, blocks)
    sections = {
        "orders": _orders(session, member_id, blocks),
        "notes": _notes(session, member_id, blocks, transfers, views),
        "transfers": transfers,
        "financings": _financings(session, member_id, blocks, views),
        "alerts": _alerts(session, member_id, blocks, views),
    }
    numbers = {row["block_number"] for name in ("orders", "notes", "transfers", "financings") for row in sections[name]}
    times = block_times(session, w3, numbers)
    for name in ("orders", "notes", "transfers", "financings"):
        for row in sections[name]:
            row["at"] = iso_time(times[row["block_number"]])
    return with_names(session, sections)


def with_names(session: Session, sections: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Adds a display name beside every member id the rows show as it is (`holder_name` beside `holder_id`, and
    `member_names` beside an alert's `members`). A pseudonym (a member the caller may not see, already hidden by
    `Visibility.ref`) gets no name, nor does a member without a profile."""

    def shown(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value > 0

    ids = {row[f] for rows in sections.values() for row in rows for f in NAMED_FIELDS if shown(row.get(f))}
    ids |= {m for row in sections.get("alerts", []) for m in row["members"] if shown(m)}
    names = display_names(session, ids)
    for rows in sections.values():
        for row in rows:
            for id_field, name_field in NAMED_FIELDS.items():
                if id_field in row:
                    value = row[id_field]
                    row[name_field] = names.get(value) if shown(value) else None
            if "members" in row:
                row["member_names"] = [names.get(m) if shown(m) else None for m in row["members"]]
    return sections
