"""API key routes: list a member's keys, issue another (shown once), revoke one.

The rules and answers are in api/services/api_keys.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import CurrentPrincipal, DbSession, OffChainWrite
from api.schemas.api_keys import ApiKeyOut, IssueApiKeyIn, IssuedApiKeyOut
from api.schemas.core import Page
from api.services import api_keys

router = APIRouter(prefix="/v1/members", tags=["api keys"])


@router.get("/{member_id}/api-keys", summary="A member's API keys (hints only), active and revoked")
def list_api_keys(member_id: int, session: DbSession, principal: CurrentPrincipal) -> Page[ApiKeyOut]:
    """Every key the member ever had, oldest first, in one page (`next_cursor` is always null)."""
    return Page[ApiKeyOut](items=api_keys.keys_of(session, principal, member_id), next_cursor=None)


@router.post(
    "/{member_id}/api-keys",
    status_code=201,
    response_model=IssuedApiKeyOut,
    summary="Issue another API key to a member (the operator, or the member itself); the key is shown once",
)
def issue_api_key(member_id: int, body: IssueApiKeyIn, w: OffChainWrite) -> JSONResponse:
    return api_keys.issue_api_key(w, member_id, body)


@router.post(
    "/{member_id}/api-keys/{key_id}/revoke",
    response_model=ApiKeyOut,
    summary="Revoke one of a member's API keys (the operator, or the member itself); refused from the next request on",
)
def revoke_api_key(member_id: int, key_id: int, request: Request, principal: CurrentPrincipal) -> ApiKeyOut:
    return api_keys.revoke_api_key(request.app.state.engine, principal, member_id, key_id)
