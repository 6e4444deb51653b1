"""Receivables (slots): who sees a receivable, how it is answered, and the workflow by which its obligor
issues it."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from api.deps import Principal, WriteDeps
from api.problems import catalogued
from api.schemas.core import IssueReceivableIn, ReceivableOut
from api.services.common import (
    event_args,
    hex32,
    iso_time,
    maturity_seconds,
    maturity_within,
    member_or_404,
    sees_everything,
)
from api.services.visibility import display_names
from api.writes import WriteContext
from chain.readmodel.store import Note, Receivable


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


def receivables_query(
    principal: Principal,
    role: str,
    obligor_id: int | None,
    creditor_id: int | None,
    status: str | None,
    maturity_from: date | None,
    maturity_to: date | None,
) -> Select[Receivable]:
    """Receivables the caller owes, was issued or holds a note of (`role`: which of these; the operator and
    auditors see every receivable with `any`), with the filters."""
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
    return query


def issue_receivable(w: WriteDeps, body: IssueReceivableIn) -> JSONResponse:
    """The obligor confirms a receivable it owes (201, the receivable)."""
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
