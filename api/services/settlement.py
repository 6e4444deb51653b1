"""Settlement: the rules and answers of funding a receivable by its obligor, and of paying its notes at maturity
(or, after default, pro rata)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eth_account.signers.local import LocalAccount
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import WriteDeps
from api.hexes import prefixed
from api.problems import catalogued
from api.schemas.cash import FundIn, FundingOut, NoteBatchIn, SettlementResultOut
from api.services.common import iso_time
from api.services.notes import visible_note
from api.writes import WriteContext
from chain.node.contracts import ContractCall, Settlement
from chain.readmodel.store import Funding, Note, Receivable

BatchCall = Callable[[Settlement, int, Sequence[int]], ContractCall]


def funding_out(session: Session, receivable: Receivable, currency: str) -> FundingOut:
    funding = session.get(Funding, receivable.id)
    funded = funding.funded if funding else 0
    live = session.scalar(select(func.count(Note.id)).where(Note.slot_id == receivable.id, Note.live.is_(True)))
    if funded == 0:
        funding_status = "unfunded"
    elif funded < receivable.face_value:
        funding_status = "partially_funded"
    else:
        funding_status = "fully_funded"
    return FundingOut(
        receivable_id=receivable.id,
        obligor_id=receivable.obligor_id,
        face_value=receivable.face_value,
        funded=funded,
        paid=funding.paid if funding else 0,
        unfunded=receivable.face_value - funded,
        unpaid_at_default=funding.unpaid_at_default if funding else 0,
        currency=currency,
        maturity=iso_time(receivable.maturity),
        status=receivable.status,
        funding_status=funding_status,
        live_notes=int(live or 0),
    )


def _funding_now(w: WriteDeps, ctx: WriteContext, slot_id: int) -> FundingOut:
    """The receivable's funding once the indexer has the write's block."""

    def build(session: Session, receivable: Receivable) -> FundingOut:
        return funding_out(session, receivable, w.currency)

    return ctx.indexed(Receivable, slot_id, "receivable-indexed-yet", {"slot_id": slot_id}, build)


def _keeper(w: WriteDeps) -> LocalAccount:
    """Anyone may pay out: a member signs with its own key, the operator with the operator key."""
    return w.custody.operator() if w.principal.is_operator else w.account()


def _receivable(session: Session, slot_id: int) -> Receivable:
    receivable = session.get(Receivable, slot_id)
    if receivable is None:
        raise catalogued(404, "not-found", "not-found.no-receivable", {"slot_id": slot_id})
    return receivable


def _live_note_ids(engine: Any, slot_id: int) -> list[int]:
    with Session(engine) as session:
        query = select(Note.id).where(Note.slot_id == slot_id, Note.live.is_(True)).order_by(Note.id)
        return [int(i) for i in session.scalars(query)]


def _check_notes(session: Session, slot_id: int, note_ids: list[int]) -> None:
    if len(set(note_ids)) != len(note_ids):
        raise catalogued(422, "validation-error", "validation-error.note-ids-duplicate")
    found = {int(n.id): n for n in session.scalars(select(Note).where(Note.id.in_(note_ids)))}
    for note_id in note_ids:
        note = found.get(note_id)
        if note is None:
            raise catalogued(404, "not-found", "not-found.no-note", {"note_id": note_id})
        if note.slot_id != slot_id:
            params = {"note_id": note_id, "slot_id": slot_id}
            raise catalogued(422, "slot-mismatch", "slot-mismatch.not-of-receivable", params)


def _raw(slot_id: int, body: BaseModel | None) -> bytes:
    return f"{slot_id}:".encode() + (body.model_dump_json().encode() if body else b"{}")


def fund(w: WriteDeps, slot_id: int, body: FundIn) -> JSONResponse:
    """The obligor pays towards its receivable."""
    receivable = _receivable(w.session, slot_id)
    if receivable.obligor_id != w.principal.member_id:
        raise catalogued(403, "not-obligor", "not-obligor.only-obligor-fund", {"slot_id": slot_id})
    account = w.account()

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, w.ledger.settlement.fund(slot_id, body.amount))
        return 200, _funding_now(w, ctx, slot_id).model_dump(mode="json")

    return w.run(_raw(slot_id, body), workflow)


def pay_notes(w: WriteDeps, slot_id: int, body: NoteBatchIn | None, function: BatchCall) -> JSONResponse:
    """Pays out the receivable's notes (`body.note_ids`, or every live one), in batches of
    `SCF_SETTLEMENT_BATCH` notes a transaction: settlement at maturity, or a defaulted receivable's claim."""
    _receivable(w.session, slot_id)
    if body is not None and body.note_ids is not None:
        _check_notes(w.session, slot_id, body.note_ids)
    account = _keeper(w)
    engine = w.engine
    batch = w.settings.settlement_batch

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        def pick() -> list[int]:
            if body is not None and body.note_ids is not None:
                return list(body.note_ids)
            return _live_note_ids(engine, slot_id)

        note_ids: list[int] = ctx.once("note_ids", pick)
        if not note_ids:
            raise catalogued(409, "no-live-notes", "no-live-notes.receivable-has-no", {"slot_id": slot_id})
        hashes = []
        for start in range(0, len(note_ids), batch):
            receipt = ctx.transact(account, function(w.ledger.settlement, slot_id, note_ids[start : start + batch]))
            hashes.append(prefixed(receipt["transactionHash"]))
        funding = _funding_now(w, ctx, slot_id)
        out = SettlementResultOut(receivable=funding, note_ids=note_ids, tx_hashes=hashes)
        return 200, out.model_dump(mode="json")

    return w.run(_raw(slot_id, body), workflow)


def mark_default(w: WriteDeps, slot_id: int) -> JSONResponse:
    """Anyone marks an underfunded receivable defaulted after maturity and the grace period."""
    _receivable(w.session, slot_id)
    account = _keeper(w)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, w.ledger.settlement.mark_default(slot_id))
        return 200, _funding_now(w, ctx, slot_id).model_dump(mode="json")

    return w.run(_raw(slot_id, None), workflow)


def redeem(w: WriteDeps, note_id: int) -> JSONResponse:
    """The holder redeems its note (paid from its receivable's funds)."""
    note = visible_note(w.session, w.principal, note_id)
    if note.holder_id != w.principal.member_id:
        raise catalogued(403, "not-note-holder", "not-note-holder.note-held-another", {"note_id": note_id})
    retry = w.started(f"redeem:{note_id}")  # it may have burned it
    if not note.live and not retry:  # redeemed (burned) or merged away: the contract answers an unknown token (404)
        raise catalogued(409, "note-not-live", "note-not-live.note-was-already", {"note_id": note_id})
    if note.slot_id is None or not note.receivable_known:
        raise catalogued(409, "note-not-live", "note-not-live.note-belongs-no", {"note_id": note_id})
    slot_id = note.slot_id
    account = w.account()

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        receipt = ctx.transact(account, w.ledger.settlement.redeem(note_id))
        funding = _funding_now(w, ctx, slot_id)
        hashes = [prefixed(receipt["transactionHash"])]
        out = SettlementResultOut(receivable=funding, note_ids=[note_id], tx_hashes=hashes)
        return 200, out.model_dump(mode="json")

    return w.run(f"redeem:{note_id}", workflow)
