"""Settlement: the obligor funds a receivable; at maturity its notes are paid (or, after default, claimed)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eth_account.signers.local import LocalAccount
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.custody import Custody
from api.deps import CurrentPrincipal, CustodyDep, DbSession, Ledger, Principal, Writes, acting_account
from api.hexes import prefixed
from api.problems import catalogued
from api.services.notes import visible_note
from api.routes.receivables import visible_receivable
from api.schemas.cash import FundIn, FundingOut, NoteBatchIn, SettlementResultOut
from api.services.common import iso_time
from api.writes import WriteContext
from chain.node.contracts import ContractCall, Settlement
from chain.readmodel.store import Funding, Note, Receivable

router = APIRouter(prefix="/v1/settlement", tags=["settlement"])


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


def _funding_now(request: Request, ctx: WriteContext, slot_id: int) -> FundingOut:
    ctx.settle_reads()
    with Session(request.app.state.engine) as session:
        receivable = session.get(Receivable, slot_id)
        if receivable is None:
            raise catalogued(503, "indexer-lagging", "indexer-lagging.receivable-indexed-yet", {"slot_id": slot_id})
        return funding_out(session, receivable, request.app.state.settings.currency)


def _keeper(custody: Custody, session: Session, principal: Principal) -> LocalAccount:
    """Anyone may pay out: a member signs with its own key, the operator with the operator key."""
    return custody.operator() if principal.is_operator else acting_account(custody, session, principal)


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


def _raw(slot_id: int, body: NoteBatchIn | None) -> bytes:
    return f"{slot_id}:".encode() + (body.model_dump_json().encode() if body else b"{}")


@router.get("/receivables/{slot_id}", summary="Funding and settlement state of a receivable")
def get_funding(slot_id: int, session: DbSession, principal: CurrentPrincipal, request: Request) -> FundingOut:
    receivable = visible_receivable(session, principal, slot_id)
    return funding_out(session, receivable, request.app.state.settings.currency)


@router.post("/receivables/{slot_id}/fund", response_model=FundingOut, summary="Obligor pays towards a receivable")
def fund(
    slot_id: int,
    body: FundIn,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    receivable = _receivable(session, slot_id)
    if receivable.obligor_id != principal.member_id:
        raise catalogued(403, "not-obligor", "not-obligor.only-obligor-fund", {"slot_id": slot_id})
    account = acting_account(custody, session, principal)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, ledger.settlement.fund(slot_id, body.amount))
        return 200, _funding_now(request, ctx, slot_id).model_dump(mode="json")

    raw = f"{slot_id}:".encode() + body.model_dump_json().encode()
    return writes.run(request, principal.member_id, raw, ledger, workflow)


def _batch_action(function: Callable[[Settlement, int, Sequence[int]], ContractCall], path: str, summary: str) -> None:
    @router.post(f"/receivables/{{slot_id}}/{path}", response_model=SettlementResultOut, summary=summary)
    def action(
        slot_id: int,
        request: Request,
        session: DbSession,
        principal: CurrentPrincipal,
        ledger: Ledger,
        writes: Writes,
        custody: CustodyDep,
        body: NoteBatchIn | None = None,
    ) -> JSONResponse:
        _receivable(session, slot_id)
        if body is not None and body.note_ids is not None:
            _check_notes(session, slot_id, body.note_ids)
        account = _keeper(custody, session, principal)
        engine = request.app.state.engine
        batch: int = request.app.state.settings.settlement_batch  # notes per transaction (SCF_SETTLEMENT_BATCH)

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
                receipt = ctx.transact(account, function(ledger.settlement, slot_id, note_ids[start : start + batch]))
                hashes.append(prefixed(receipt["transactionHash"]))
            funding = _funding_now(request, ctx, slot_id)
            out = SettlementResultOut(receivable=funding, note_ids=note_ids, tx_hashes=hashes)
            return 200, out.model_dump(mode="json")

        return writes.run(request, principal.member_id, _raw(slot_id, body), ledger, workflow)

    action.__name__ = f"{path.replace('-', '_')}_receivable"  # the audit log's `action`


_batch_action(Settlement.settle, "settle", "Pay out the notes of a matured, fully funded receivable (any member)")
_batch_action(Settlement.claim_defaulted, "claim-default", "Pay a defaulted receivable's funds pro rata to its notes")


@router.post(
    "/receivables/{slot_id}/mark-default",
    response_model=FundingOut,
    summary="Mark an underfunded receivable defaulted after maturity and the grace period (any member)",
)
def mark_default(
    slot_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    _receivable(session, slot_id)
    account = _keeper(custody, session, principal)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, ledger.settlement.mark_default(slot_id))
        return 200, _funding_now(request, ctx, slot_id).model_dump(mode="json")

    return writes.run(request, principal.member_id, _raw(slot_id, None), ledger, workflow)


@router.post("/notes/{note_id}/redeem", response_model=SettlementResultOut, summary="The holder redeems its note")
def redeem(
    note_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    note = visible_note(session, principal, note_id)
    if note.holder_id != principal.member_id:
        raise catalogued(403, "not-note-holder", "not-note-holder.note-held-another", {"note_id": note_id})
    retry = writes.started(request, principal.member_id, f"redeem:{note_id}".encode())  # it may have burned it
    if not note.live and not retry:  # redeemed (burned) or merged away: the contract answers an unknown token (404)
        raise catalogued(409, "note-not-live", "note-not-live.note-was-already", {"note_id": note_id})
    if note.slot_id is None or not note.receivable_known:
        raise catalogued(409, "note-not-live", "note-not-live.note-belongs-no", {"note_id": note_id})
    slot_id = note.slot_id
    account = acting_account(custody, session, principal)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        receipt = ctx.transact(account, ledger.settlement.redeem(note_id))
        funding = _funding_now(request, ctx, slot_id)
        hashes = [prefixed(receipt["transactionHash"])]
        out = SettlementResultOut(receivable=funding, note_ids=[note_id], tx_hashes=hashes)
        return 200, out.model_dump(mode="json")

    return writes.run(request, principal.member_id, f"redeem:{note_id}".encode(), ledger, workflow)
