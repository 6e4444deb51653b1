"""Receivables (slots): an obligor confirms a payable it owes; everyone involved reads it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import CurrentPrincipal, CustodyDep, DbSession, Ledger, Principal, Writes
from api.problems import Problem
from api.schemas import IssueReceivableIn, ReceivableOut
from api.services.common import (
    acting_account,
    end_of_day_utc,
    event_args,
    hex32,
    iso_time,
    member_or_404,
    sees_everything,
)
from api.writes import WriteContext
from chain.store import Note, Receivable

router = APIRouter(prefix="/v1/receivables", tags=["receivables"])


def receivable_out(receivable: Receivable, currency: str) -> ReceivableOut:
    return ReceivableOut(
        id=receivable.id,
        obligor_id=receivable.obligor_id,
        creditor_id=receivable.creditor_id,
        face_value=receivable.face_value,
        currency=currency,
        maturity=iso_time(receivable.maturity),
        invoice_hash=receivable.invoice_hash,
        order_id=receivable.order_id,
        status=receivable.status,
        first_note_id=receivable.first_note_id,
        issued_tx=receivable.issued_tx,
    )


def visible_receivable(session: Session, principal: Principal, slot_id: int) -> Receivable:
    receivable = session.get(Receivable, slot_id)
    if receivable is None:
        raise Problem(404, "not-found", "Not found", f"no receivable {slot_id}")
    if sees_everything(principal) or principal.member_id in (receivable.obligor_id, receivable.creditor_id):
        return receivable
    holds = session.scalar(
        select(Note.id).where(Note.slot_id == slot_id, Note.holder_id == principal.member_id).limit(1)
    )
    if holds is None:
        raise Problem(403, "forbidden", "Forbidden", f"receivable {slot_id} is not yours to see")
    return receivable


@router.get("/{slot_id}", summary="One receivable (obligor, original creditor, note holders, auditors)")
def get_receivable(slot_id: int, session: DbSession, principal: CurrentPrincipal, request: Request) -> ReceivableOut:
    return receivable_out(visible_receivable(session, principal, slot_id), request.app.state.settings.currency)


@router.post("", status_code=201, response_model=ReceivableOut, summary="Obligor confirms a receivable it owes")
def issue_receivable(
    body: IssueReceivableIn,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    account = acting_account(custody, session, principal)
    creditor = member_or_404(session, body.creditor_id, "creditor")
    cash = ledger.deployment.address("CashToken")
    engine = request.app.state.engine
    currency = request.app.state.settings.currency

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        call = ledger.notes.issue(
            creditor.account, body.face_value, cash, end_of_day_utc(body.maturity), hex32(body.invoice_hash)
        )
        receipt = ctx.transact(account, call)
        slot_id = int(event_args(ledger, receipt, "ReceivableNotes", "ReceivableIssued")["slotId"])
        ctx.settle_reads()
        with Session(engine) as s:
            receivable = s.get(Receivable, slot_id)
            if receivable is None:
                raise Problem(503, "indexer-lagging", "Read model lagging", f"receivable {slot_id} is not indexed yet")
            return 201, receivable_out(receivable, currency).model_dump(mode="json")

    return writes.run(request, principal.member_id, body.model_dump_json().encode(), ledger, workflow)
