"""A note's provenance and a receivable's note tree as answered: who may see them, the answers built from the
read model's event log (`api.services.provenance`), block times the read model lacks from the node
(`chain.node.reader`)."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from api.deps import Principal
from api.hexes import prefixed
from api.problems import Problem, catalogued
from api.schemas.provenance import (
    ChainStepOut,
    OrderHistoryOut,
    ProvenanceEventOut,
    ProvenanceOut,
    ReceivableIssueOut,
    ReceivableTreeOut,
    TreeEdgeOut,
    TreeNodeOut,
)
from api.services.common import iso_time, sees_everything
from api.services.provenance import indexed_block, lineage, movements, order_steps, past_holders
from api.services.visibility import for_receivable
from chain.node.errors import ScfError
from chain.node.reader import ChainReader, ChainReadError
from chain.node.roles import Roles
from chain.readmodel.store import IndexedBlock, Note, Order, Receivable, ValueMove

MAX_ID = 2**63 - 1  # what the read model stores; a larger id cannot exist


def _privileged(principal: Principal) -> bool:
    """Who sees any note's history, as for /v1/verify: auditors, the operator and financiers."""
    return sees_everything(principal) or principal.has_role(Roles.FINANCIER)


def _forbidden(what: str, ident: object) -> Problem:
    return catalogued(403, "forbidden", "forbidden.object-yours-see", {"what_term": what, "ident": ident})


def block_times(session: Session, reader: ChainReader, numbers: Iterable[int]) -> dict[int, int]:
    """Timestamps of blocks: stored ones from the read model, the rest from the node in one batch (none if it is
    down)."""
    wanted = set(numbers)
    times = {
        int(n): int(t or 0)
        for n, t in session.execute(
            select(IndexedBlock.number, IndexedBlock.timestamp).where(
                IndexedBlock.number.in_(wanted), IndexedBlock.timestamp.is_not(None)
            )
        )
    }
    missing = wanted - times.keys()
    if missing:
        # times are a convenience; the block numbers and hashes are the evidence
        with suppress(ScfError, ChainReadError, OSError, ValueError):
            times.update({number: header.timestamp for number, header in reader.headers(missing).items()})
    return times


def _at(times: dict[int, int], number: int) -> str | None:
    return iso_time(times[number]) if number in times else None


def note_provenance(
    session: Session, principal: Principal, secret: bytes, reader: ChainReader, currency: str, note_id: int
) -> ProvenanceOut:
    """The note's full history: its order, its issue, and every movement of the note and its ancestors."""
    note = session.get(Note, note_id) if 1 <= note_id <= MAX_ID else None
    if note is None or note.slot_id is None:
        raise catalogued(404, "not-found", "not-found.no-note", {"note_id": note_id})
    receivable = session.get(Receivable, note.slot_id)
    if receivable is None:
        raise catalogued(404, "not-found", "not-found.no-receivable-note", {"note_id": note_id})
    chain = lineage(session, note)
    ids = {n.id for n in chain}
    events = movements(session, sorted(ids), receivable.issued_block, {n.id: n.holder_id for n in chain})
    allowed = {note.holder_id, note.lienholder_id, receivable.obligor_id, receivable.creditor_id}
    allowed |= {n.holder_id for n in chain} | past_holders(events, ids)
    if not _privileged(principal) and principal.member_id not in allowed - {0}:
        raise _forbidden("note", note_id)

    order = session.get(Order, receivable.order_id) if receivable.order_id else None
    steps = order_steps(session, order) if order is not None else []
    vis = for_receivable(session, principal, secret, receivable)
    times = block_times(session, reader, [e.block_number for e in events] + [s.block_number for s in steps])
    return ProvenanceOut(
        note_id=note.id,
        slot_id=receivable.id,
        lineage=[n.id for n in chain],
        order=None
        if order is None
        else OrderHistoryOut(
            order_id=order.id,
            supplier_id=vis.ref(order.supplier_id),
            buyer_id=order.buyer_id,
            amount=order.amount,
            status=order.status,
            steps=[
                ChainStepOut(
                    step=s.step,
                    tx_hash=s.tx_hash,
                    block_number=s.block_number,
                    block_hash=s.block_hash,
                    log_index=s.log_index,
                    at=_at(times, s.block_number),
                    member_id=vis.optional(s.member_id),
                )
                for s in steps
            ],
        ),
        receivable=ReceivableIssueOut(
            slot_id=receivable.id,
            obligor_id=receivable.obligor_id,
            creditor_id=vis.ref(receivable.creditor_id),
            face_value=receivable.face_value,
            maturity=iso_time(receivable.maturity),
            invoice_hash=receivable.invoice_hash,
            status=receivable.status,
            first_note_id=receivable.first_note_id,
            issued_tx=prefixed(receivable.issued_tx),
            issued_block=receivable.issued_block,
            obligor_name=vis.name_of(receivable.obligor_id),
            creditor_name=vis.name_of(receivable.creditor_id),
        ),
        events=[
            ProvenanceEventOut(
                kind=e.kind,
                block_number=e.block_number,
                block_hash=e.block_hash,
                tx_hash=e.tx_hash,
                log_index=e.log_index,
                at=_at(times, e.block_number),
                note_id=e.touches(ids) or note.id,
                from_note_id=e.from_note_id,
                to_note_id=e.to_note_id,
                from_member_id=vis.optional(e.from_member_id),
                to_member_id=vis.optional(e.to_member_id),
                value=e.value,
                purchase_id=e.purchase_id,
                from_member_name=vis.name_of(e.from_member_id),
                to_member_name=vis.name_of(e.to_member_id),
            )
            for e in events
        ],
        currency=currency,
        indexed_block=indexed_block(session),
    )


def _sees_receivable(session: Session, principal: Principal, receivable: Receivable) -> bool:
    if _privileged(principal) or principal.member_id in (receivable.obligor_id, receivable.creditor_id):
        return True
    me = principal.member_id
    slot_notes = select(Note.id).where(Note.slot_id == receivable.id)
    holds_now = exists().where(Note.slot_id == receivable.id, Note.holder_id == me)
    held = exists().where(
        or_(ValueMove.to_note_id.in_(slot_notes), ValueMove.from_note_id.in_(slot_notes)),
        or_(ValueMove.to_member_id == me, ValueMove.from_member_id == me),
    )
    return bool(session.scalar(select(holds_now | held)))


def receivable_tree(
    session: Session, principal: Principal, secret: bytes, currency: str, slot_id: int
) -> ReceivableTreeOut:
    """Every note of the receivable and every value movement between them."""
    receivable = session.get(Receivable, slot_id) if 1 <= slot_id <= MAX_ID else None
    if receivable is None:
        raise catalogued(404, "not-found", "not-found.no-receivable", {"slot_id": slot_id})
    if not _sees_receivable(session, principal, receivable):
        raise _forbidden("receivable", slot_id)
    notes = list(session.scalars(select(Note).where(Note.slot_id == slot_id).order_by(Note.id)))
    slot_notes = select(Note.id).where(Note.slot_id == slot_id)
    events = movements(session, slot_notes, receivable.issued_block, {n.id: n.holder_id for n in notes})
    vis = for_receivable(session, principal, secret, receivable, moves=events)
    redeemed = sum(e.value or 0 for e in events if e.kind == "redeem")
    outstanding = sum(n.value for n in notes if n.live)
    return ReceivableTreeOut(
        slot_id=slot_id,
        root_note_id=receivable.first_note_id,
        face_value=receivable.face_value,
        redeemed=redeemed,
        outstanding=outstanding,
        balanced=outstanding == receivable.face_value - redeemed,
        currency=currency,
        nodes=[
            TreeNodeOut(
                note_id=n.id,
                parent_id=n.parent_id or None,
                holder_id=vis.ref(n.holder_id),
                value=n.value,
                live=n.live,
                lienholder_id=vis.optional(n.lienholder_id),
                created_tx=prefixed(n.created_tx),
                created_block=n.created_block,
                holder_name=vis.name_of(n.holder_id),
                lienholder_name=vis.name_of(n.lienholder_id),
            )
            for n in notes
        ],
        edges=[
            TreeEdgeOut(
                kind=e.kind,
                from_note_id=e.from_note_id,
                to_note_id=e.to_note_id,
                value=e.value,
                from_member_id=vis.optional(e.from_member_id),
                to_member_id=vis.optional(e.to_member_id),
                tx_hash=e.tx_hash,
                block_number=e.block_number,
                log_index=e.log_index,
                from_member_name=vis.name_of(e.from_member_id),
                to_member_name=vis.name_of(e.to_member_id),
            )
            for e in events
        ],
        indexed_block=indexed_block(session),
    )
