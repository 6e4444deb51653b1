"""Receivables (slots): an obligor confirms a payable it owes; everyone involved reads it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import CurrentPrincipal, DbSession, Principal, Write
from api.problems import catalogued
from api.schemas.core import IssueReceivableIn, Page, ReceivableOut
from api.services.common import (
    event_args,
    hex32,
    iso_time,
    maturity_seconds,
    maturity_within,
    member_or_404,
    paginate,
    sees_everything,
)
from api.services.visibility import display_names
from api.strict import IsoDate
from api.writes import WriteContext
from chain.readmodel.store import Note, Receivable

router = APIRouter(prefix="/v1/receivables", tags=["receivables"])


def receivable_out(receivable: Receivable, currency: str, names: dict[int, str] | None = None) -> ReceivableOut:
    """A receivable for one of its parties (both its obligor and its creditor are on the face of it), with the
    `names` of members with a profile (`display_names`)."""
    known = names or {}
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
        obligor_name=known.get(receivable.obligor_id),
        creditor_name=known.get(receivable.creditor_id),
    )


def visible_receivable(session: Session, principal: Principal, slot_id: int) -> Receivable:
    receivable = session.get(Receivable, slot_id)
    if receivable is None:
        raise catalogued(404, "not-found", "not-found.no-receivable", {"slot_id": slot_id})
    if sees_everything(principal) or principal.member_id in (receivable.obligor_id, receivable.creditor_id):
        return receivable
    holds = session.scalar(
        select(Note.id).where(Note.slot_id == slot_id, Note.holder_id == principal.member_id).limit(1)
    )
    if holds is None:
        raise catalogued(403, "forbidden", "forbidden.receivable-yours-see", {"slot_id": slot_id})
    return receivable


@router.get("", summary="Receivables I owe, am the original creditor of, or hold notes of (auditors: all)")
def list_receivables(
    session: DbSession,
    principal: CurrentPrincipal,
    request: Request,
    role: Annotated[
        str,
        Query(
            pattern="^(any|obligor|creditor|holder)$",
            description="which of mine: obligor (what I owe: my payables), creditor (issued to me), holder (I hold "
            "one of its notes), any (default). The operator and auditors see every receivable with `any`",
        ),
    ] = "any",
    obligor_id: Annotated[int | None, Query(ge=1)] = None,
    creditor_id: Annotated[int | None, Query(ge=1)] = None,
    status: Annotated[str | None, Query(pattern="^(active|settled|defaulted)$")] = None,
    maturity_from: Annotated[IsoDate | None, Query(description="ISO date, inclusive")] = None,
    maturity_to: Annotated[IsoDate | None, Query(description="ISO date, inclusive")] = None,
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[ReceivableOut]:
    """From the read model, in id order (pages by `cursor`). Whatever the filters, a member sees only receivables
    it owes, was issued or holds a note of, as with `GET /v1/receivables/{id}`."""
    query = select(Receivable)
    me = principal.member_id
    holds = select(Note.id).where(Note.slot_id == Receivable.id, Note.holder_id == me).exists()
    mine = {"obligor": Receivable.obligor_id == me, "creditor": Receivable.creditor_id == me, "holder": holds}
    if role != "any":
        query = query.where(mine[role])
    elif not sees_everything(principal):
        query = query.where(mine["obligor"] | mine["creditor"] | mine["holder"])
    if obligor_id is not None:
        query = query.where(Receivable.obligor_id == obligor_id)
    if creditor_id is not None:
        query = query.where(Receivable.creditor_id == creditor_id)
    if status is not None:
        query = query.where(Receivable.status == status)
    query = query.where(*maturity_within(Receivable.maturity, maturity_from, maturity_to))
    page = paginate(session, query, Receivable.id, cursor, limit)
    currency = request.app.state.settings.currency
    rows_shown = page.rows
    names = display_names(session, [m for r in rows_shown for m in (r.obligor_id, r.creditor_id)])
    items = [receivable_out(r, currency, names) for r in rows_shown]
    return Page[ReceivableOut](items=items, next_cursor=page.next_cursor)


@router.get("/{slot_id}", summary="One receivable (obligor, original creditor, note holders, auditors)")
def get_receivable(slot_id: int, session: DbSession, principal: CurrentPrincipal, request: Request) -> ReceivableOut:
    receivable = visible_receivable(session, principal, slot_id)
    names = display_names(session, [receivable.obligor_id, receivable.creditor_id])
    return receivable_out(receivable, request.app.state.settings.currency, names)


@router.post("", status_code=201, response_model=ReceivableOut, summary="Obligor confirms a receivable it owes")
def issue_receivable(body: IssueReceivableIn, w: Write) -> JSONResponse:
    account = w.account()
    creditor = member_or_404(w.session, body.creditor_id, "creditor")
    ledger = w.ledger
    cash = ledger.deployment.address("CashToken")

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        call = ledger.notes.issue(
            creditor.account, body.face_value, cash, maturity_seconds(body.maturity), hex32(body.invoice_hash)
        )
        receipt = ctx.transact(account, call)
        slot_id = int(event_args(ledger, receipt, "ReceivableNotes", "ReceivableIssued")["slotId"])

        def build(s: Session, receivable: Receivable) -> tuple[int, Any]:
            names = display_names(s, [receivable.obligor_id, receivable.creditor_id])
            return 201, receivable_out(receivable, w.currency, names).model_dump(mode="json")

        return ctx.indexed(Receivable, slot_id, "receivable-indexed-yet", {"slot_id": slot_id}, build)

    return w.run(body, workflow)
