"""Receivable routes (slots): an obligor confirms a payable it owes; everyone involved reads it.

The rules and answers are in api/services/receivables.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.deps import CurrentPrincipal, DbSession, Write
from api.schemas.core import IssueReceivableIn, Page, ReceivableOut
from api.services import receivables
from api.services.common import paginate
from api.services.receivables import receivable_out, visible_receivable
from api.services.visibility import display_names
from api.strict import IsoDate
from chain.readmodel.store import Receivable

router = APIRouter(prefix="/v1/receivables", tags=["receivables"])


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
    query = receivables.receivables_query(principal, role, obligor_id, creditor_id, status, maturity_from, maturity_to)
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
    return receivables.issue_receivable(w, body)
