"""Sharing grant routes: a member lets a financier read its holdings (`GET /v1/verify/holdings/{member_id}`).

The rules and answers are in api/services/shares.py."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import CurrentPrincipal, DbSession, Write
from api.schemas.provenance import GrantShareIn, ShareOut, SharesOut
from api.services import shares

router = APIRouter(prefix="/v1/members/me/shares", tags=["members"])


@router.post("", status_code=201, response_model=ShareOut, summary="Let a financier read my holdings")
def grant_share(body: GrantShareIn, w: Write) -> JSONResponse:
    return shares.grant_share(w, body)


@router.get("", summary="Sharing grants I gave, and grants given to me")
def list_shares(session: DbSession, principal: CurrentPrincipal) -> SharesOut:
    return shares.shares_of(session, principal)


@router.post("/{financier_id}/revoke", response_model=ShareOut, summary="Revoke a financier's access to my holdings")
def revoke_share(financier_id: int, w: Write) -> JSONResponse:
    return shares.revoke_share(w, financier_id)
