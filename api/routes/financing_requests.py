"""Financing request routes: a supplier asks banks for factoring offers on a note; the banks asked answer with offers.

The rules and answers are in api/services/financing_requests.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.deps import CurrentPrincipal, DbSession, Write
from api.schemas.core import Page
from api.schemas.financing import FinancingRequestIn, FinancingRequestOut, OfferOut, RequestOfferIn
from api.services import financing_requests
from api.services.common import paginate
from api.services.financing_requests import STATUSES
from api.services.visibility import Views, request_secret
from api.tables import FinancingRequest

router = APIRouter(prefix="/v1/financing/requests", tags=["financing"])


@router.post("", status_code=201, response_model=FinancingRequestOut, summary="Ask banks for offers on a note I hold")
def create_request(body: FinancingRequestIn, w: Write) -> JSONResponse:
    return financing_requests.create_request(w, body)


@router.get("", summary="Financing requests I made, or that ask me (a bank); all for auditors and the operator")
def list_requests(
    session: DbSession,
    principal: CurrentPrincipal,
    request: Request,
    status: Annotated[str | None, Query(pattern=STATUSES)] = None,
    note_id: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[FinancingRequestOut]:
    query = financing_requests.requests_query(principal, status, note_id)
    page = paginate(session, query, FinancingRequest.id, cursor, limit)
    views = Views(session, principal, request_secret(request))
    items = [
        financing_requests.request_out(
            session, request, principal, r, financing_requests.banks_of(session, r.id), views
        )
        for r in page.rows
    ]
    return Page[FinancingRequestOut](items=items, next_cursor=page.next_cursor)


@router.get("/{request_id}", summary="One financing request, with the offers made in answer")
def get_request(
    request_id: int, session: DbSession, principal: CurrentPrincipal, request: Request
) -> FinancingRequestOut:
    req, banks = financing_requests.visible_request(session, principal, request_id)
    return financing_requests.request_out(
        session, request, principal, req, banks, Views(session, principal, request_secret(request))
    )


@router.post("/{request_id}/withdraw", response_model=FinancingRequestOut, summary="The requester withdraws it")
def withdraw_request(request_id: int, w: Write) -> JSONResponse:
    return financing_requests.withdraw_request(w, request_id)


@router.post(
    "/{request_id}/offers",
    status_code=201,
    response_model=OfferOut,
    summary="An asked bank answers with a factoring offer on the request's note",
)
def answer_request(request_id: int, body: RequestOfferIn, w: Write) -> JSONResponse:
    return financing_requests.answer_request(w, request_id, body)
