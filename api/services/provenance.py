"""Note provenance and receivable trees from the read model's event log.

Every value movement of a note is a `value_moves` row (mint, split/merge `move`, burn, whole-note
`transfer`) pointing at its event; locks are `NoteLocked` / `NoteReleased` events. A movement is
classified by the other events of its transaction: a `move` into a note created by a `NoteSplit` of
the same transaction is a split (otherwise a merge), and a split or transfer whose note is the
`boughtNoteId` of an `OfferAccepted` in the same transaction is a sale.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from api.hexes import prefixed
from chain.readmodel.indexer import CHECKPOINT
from chain.readmodel.store import Checkpoint, EventRecord, Note, Order, ValueMove

_CHUNK = 500
_ORDER_STEPS = {
    "OrderProposed": "proposed",
    "OrderConfirmed": "confirmed",
    "OrderDelivered": "delivered",
    "OrderAccepted": "accepted",
    "OrderPledged": "pledged",
    "OrderReleased": "released",
    "OrderCancelled": "cancelled",
}


@dataclass
class Movement:
    """One step of a note's history, in the shape both provenance and trees report."""

    kind: str
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    from_note_id: int | None
    to_note_id: int | None
    from_member_id: int | None
    to_member_id: int | None
    value: int | None
    purchase_id: int | None = None

    @property
    def position(self) -> tuple[int, int]:
        return self.block_number, self.log_index

    def touches(self, note_ids: set[int]) -> int | None:
        """The note of `note_ids` this movement touches (the receiving one first), if any."""
        for note_id in (self.to_note_id, self.from_note_id):
            if note_id is not None and note_id in note_ids:
                return note_id
        return None


@dataclass
class OrderStep:
    step: str
    tx_hash: str
    block_number: int
    block_hash: str
    log_index: int
    member_id: int | None


def indexed_block(session: Session) -> int:
    number = session.scalar(select(Checkpoint.block_number).where(Checkpoint.name == CHECKPOINT))
    return int(number) if number is not None else 0


def lineage(session: Session, note: Note) -> list[Note]:
    """The note's parent chain from the slot's first note down to the note itself."""
    chain = [note]
    seen = {note.id}
    current = note
    while current.parent_id:
        parent = session.get(Note, current.parent_id)
        if parent is None or parent.id in seen:  # a gap or a cycle would be an indexer bug; stop, do not loop
            break
        chain.append(parent)
        seen.add(parent.id)
        current = parent
    chain.reverse()
    return chain


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _tx_events(session: Session, tx_hashes: Iterable[str], names: tuple[str, ...]) -> list[EventRecord]:
    hashes = sorted(set(tx_hashes))
    found: list[EventRecord] = []
    for chunk in _chunks(hashes):
        found.extend(
            session.scalars(select(EventRecord).where(EventRecord.tx_hash.in_(chunk), EventRecord.name.in_(names)))
        )
    return found


def movements(
    session: Session, note_ids: Select[Any] | Sequence[int], since_block: int, holders: dict[int, int]
) -> list[Movement]:
    """Every movement touching `note_ids` (a list or a `select(Note.id)`), in block and log order.

    `holders` maps note id -> current holder: the fallback when the replay has not seen a note's holder yet.
    """
    moved = or_(ValueMove.from_note_id.in_(note_ids), ValueMove.to_note_id.in_(note_ids))
    rows = session.execute(
        select(ValueMove, EventRecord.block_hash, EventRecord.log_index)
        .join(EventRecord, EventRecord.id == ValueMove.event_id)
        .where(moved)
    ).all()
    note_arg: ColumnElement[Any] = EventRecord.args["noteId"].as_integer()
    liens = list(
        session.scalars(
            select(EventRecord).where(
                EventRecord.contract == "ReceivableNotes",
                EventRecord.name.in_(("NoteLocked", "NoteReleased")),
                EventRecord.block_number >= since_block,
                note_arg.in_(note_ids),
            )
        )
    )
    context = _tx_events(session, (row[0].tx_hash for row in rows), ("NoteSplit", "OfferAccepted"))
    split_into = {(e.tx_hash, int(e.args["noteId"])) for e in context if e.name == "NoteSplit"}
    bought = {
        (e.tx_hash, int(e.args["boughtNoteId"])): int(e.args["purchaseId"])
        for e in context
        if e.name == "OfferAccepted"
    }

    result: list[Movement] = []
    for move, block_hash, log_index in rows:
        result.append(_classify(move, block_hash, log_index, split_into, bought))
    for record in liens:
        result.append(_lien(record))
    result.sort(key=lambda m: m.position)
    _name_holders(result, holders)
    return result


def _classify(
    move: ValueMove,
    block_hash: str,
    log_index: int,
    split_into: set[tuple[str, int]],
    bought: dict[tuple[str, int], int],
) -> Movement:
    from_note = move.from_note_id or None
    to_note = move.to_note_id or None
    purchase_id: int | None = None
    if move.kind == "mint":
        kind = "issue"
    elif move.kind == "burn":
        kind = "redeem"
    elif move.kind == "transfer":
        kind = "transfer"
        purchase_id = bought.get((move.tx_hash, move.to_note_id))
    else:  # "move": value from one note into another
        kind = "split" if (move.tx_hash, move.to_note_id) in split_into else "merge"
        if kind == "split":
            purchase_id = bought.get((move.tx_hash, move.to_note_id))
    if purchase_id is not None:
        kind = "sale"
    return Movement(
        kind=kind,
        block_number=move.block_number,
        block_hash=prefixed(block_hash),
        tx_hash=prefixed(move.tx_hash),
        log_index=log_index,
        from_note_id=from_note,
        to_note_id=to_note,
        from_member_id=move.from_member_id or None,
        to_member_id=move.to_member_id or None,
        value=move.value,
        purchase_id=purchase_id,
    )


def _lien(record: EventRecord) -> Movement:
    note_id = int(record.args["noteId"])
    lienholder = int(record.args["lienholderId"])
    locked = record.name == "NoteLocked"
    return Movement(
        kind="pledge" if locked else "release",
        block_number=record.block_number,
        block_hash=prefixed(record.block_hash),
        tx_hash=prefixed(record.tx_hash),
        log_index=record.log_index,
        from_note_id=note_id,
        to_note_id=note_id,
        from_member_id=None if locked else lienholder,
        to_member_id=lienholder if locked else None,
        value=None,
    )


def _name_holders(ordered: list[Movement], current: dict[int, int]) -> None:
    """Fills in the holder (and the note's value) at each pledge and release by replaying the movements."""
    holder: dict[int, int] = {}
    value: dict[int, int] = {}
    for m in ordered:
        if m.kind in ("pledge", "release"):
            note_id = m.from_note_id or 0
            who = holder.get(note_id, current.get(note_id, 0)) or None
            if m.kind == "pledge":
                m.from_member_id = who
            else:
                m.to_member_id = who
            m.value = value.get(note_id)
            continue
        if m.to_note_id is not None and m.to_member_id is not None and m.kind != "merge":
            holder[m.to_note_id] = m.to_member_id  # issue, split, transfer, sale: the receiver holds it now
        if m.value is not None and m.from_note_id != m.to_note_id:  # whole-note transfers move no value
            if m.from_note_id is not None:
                value[m.from_note_id] = value.get(m.from_note_id, 0) - m.value
            if m.to_note_id is not None:
                value[m.to_note_id] = value.get(m.to_note_id, 0) + m.value


def order_steps(session: Session, order: Order) -> list[OrderStep]:
    """The order's OrderBook events, oldest first (found from its proposal transaction onwards)."""
    proposed = session.scalar(
        select(EventRecord).where(EventRecord.tx_hash == order.proposed_tx, EventRecord.name == "OrderProposed")
    )
    since = proposed.block_number if proposed is not None else 0
    order_arg: ColumnElement[Any] = EventRecord.args["orderId"].as_integer()
    records = session.scalars(
        select(EventRecord)
        .where(
            EventRecord.contract == "OrderBook",
            EventRecord.name.in_(tuple(_ORDER_STEPS)),
            EventRecord.block_number >= since,
            order_arg == order.id,
        )
        .order_by(EventRecord.block_number, EventRecord.log_index)
    )
    steps: list[OrderStep] = []
    for record in records:
        member = record.args.get("lienholderId", record.args.get("byMemberId"))
        steps.append(
            OrderStep(
                step=_ORDER_STEPS[record.name],
                tx_hash=prefixed(record.tx_hash),
                block_number=record.block_number,
                block_hash=prefixed(record.block_hash),
                log_index=record.log_index,
                member_id=int(member) if member else None,
            )
        )
    return steps


def past_holders(events: Iterable[Movement], lineage_ids: set[int]) -> set[int]:
    """Members that held a note of the lineage at some point (receivers and senders of its value)."""
    holders: set[int] = set()
    for m in events:
        if m.kind in ("pledge", "release"):
            who = m.from_member_id if m.kind == "pledge" else m.to_member_id
            if who:
                holders.add(who)
            continue
        if m.to_note_id in lineage_ids and m.to_member_id:
            holders.add(m.to_member_id)
        if m.from_note_id in lineage_ids and m.from_member_id:
            holders.add(m.from_member_id)
    return holders
