"""A member's API keys: list them, issue another (shown once), revoke one.

The operator manages every member's keys; a member manages its own (rotate: issue a new key, move the client to
it, revoke the old one). Keys are stored only as their SHA-256 with a short hint (`api/tables.py`), and a revoked
key is refused from the next request on (authentication reads the key's row on every request).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.deps import CurrentPrincipal, DbSession, OffChainWrite, Principal
from api.problems import catalogued
from api.schemas.core import Page
from api.services.common import as_utc
from api.strict import Text
from api.tables import OPERATOR, ApiKey, hash_api_key, new_api_key
from api.writes import WriteContext
from chain.readmodel.store import Member

router = APIRouter(prefix="/v1/members", tags=["api keys"])


class ApiKeyOut(BaseModel):
    id: int
    member_id: int
    hint: str = Field(description="the key's first characters, to tell keys apart; the key itself is never stored")
    label: str
    created_at: datetime
    revoked_at: datetime | None
    active: bool


class IssueApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Text = Field("", max_length=64, description="what the key is for, e.g. `erp-connector`")


class IssuedApiKeyOut(BaseModel):
    key: ApiKeyOut
    api_key: str = Field(description="the new API key; shown only in this response (and its idempotent replay)")


def _out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        member_id=key.member_id,
        hint=key.hint,
        label=key.label,
        created_at=as_utc(key.created_at),
        revoked_at=as_utc(key.revoked_at),
        active=key.revoked_at is None,
    )


def _managed_member(session: Session, principal: Principal, member_id: int, *, issuing: bool = False) -> None:
    """The operator manages any member's keys, a member its own; 404 for a member the ledger does not know."""
    if not principal.is_operator and principal.member_id != member_id:
        raise catalogued(403, "forbidden", "forbidden.api-keys-member", {"member_id": member_id})
    status = session.scalar(select(Member.status).where(Member.id == member_id))
    if status is None or member_id == OPERATOR:
        raise catalogued(404, "not-found", "not-found.no-member", {"member_id": member_id})
    if issuing and not principal.is_operator and status != "active":
        params = {"member_id": member_id, "status_term": status}
        raise catalogued(403, "member-not-active", "member-not-active.operator-issues-key", params)


@router.get("/{member_id}/api-keys", summary="A member's API keys (hints only), active and revoked")
def list_api_keys(member_id: int, session: DbSession, principal: CurrentPrincipal) -> Page[ApiKeyOut]:
    """Every key the member ever had, oldest first, in one page (`next_cursor` is always null)."""
    _managed_member(session, principal, member_id)
    keys = session.scalars(select(ApiKey).where(ApiKey.member_id == member_id).order_by(ApiKey.id))
    return Page[ApiKeyOut](items=[_out(k) for k in keys], next_cursor=None)


@router.post(
    "/{member_id}/api-keys",
    status_code=201,
    response_model=IssuedApiKeyOut,
    summary="Issue another API key to a member (the operator, or the member itself); the key is shown once",
)
def issue_api_key(member_id: int, body: IssueApiKeyIn, w: OffChainWrite) -> JSONResponse:
    _managed_member(w.session, w.principal, member_id, issuing=True)
    engine = w.engine

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        # the key is kept (sealed) in the idempotency record before its row exists, so a retry after a crash
        # stores the same key once instead of issuing a second one
        key: str = ctx.once("api_key", new_api_key, secret=True)
        digest = hash_api_key(key)
        with Session(engine) as s:
            try:
                with s.begin():
                    s.add(ApiKey(member_id=member_id, key_hash=digest, hint=key[:8], label=body.label))
            except IntegrityError:
                pass  # stored by an earlier attempt of this request
            row = s.scalars(select(ApiKey).where(ApiKey.key_hash == digest)).one()
            return 201, IssuedApiKeyOut(key=_out(row), api_key=key).model_dump(mode="json")

    return w.run(body, workflow)


@router.post(
    "/{member_id}/api-keys/{key_id}/revoke",
    response_model=ApiKeyOut,
    summary="Revoke one of a member's API keys (the operator, or the member itself); refused from the next request on",
)
def revoke_api_key(member_id: int, key_id: int, request: Request, principal: CurrentPrincipal) -> ApiKeyOut:
    engine = request.app.state.engine
    with Session(engine) as s, s.begin():
        _managed_member(s, principal, member_id)
        key = s.get(ApiKey, key_id)
        if key is None or key.member_id != member_id:
            raise catalogued(404, "not-found", "not-found.member-has-no", {"member_id": member_id, "key_id": key_id})
        if key.revoked_at is None:
            if not principal.is_operator:
                active = s.scalar(
                    select(func.count())
                    .select_from(ApiKey)
                    .where(ApiKey.member_id == member_id, ApiKey.revoked_at.is_(None))
                )
                if active == 1:
                    raise catalogued(409, "last-api-key", "last-api-key.issue-another")
            s.execute(update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=datetime.now(UTC)))
            s.refresh(key)
        return _out(key)
