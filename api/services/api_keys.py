"""A member's API keys: who manages them, how a key is answered, and the workflows that issue (shown once) and
revoke one.

The operator manages every member's keys; a member manages its own (rotate: issue a new key, move the client to
it, revoke the old one). Keys are stored only as their SHA-256 with a short hint (`api/tables.py`), and a revoked
key is refused from the next request on (authentication reads the key's row on every request).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.deps import OffChainWriteDeps, Principal
from api.problems import catalogued
from api.schemas.api_keys import ApiKeyOut, IssueApiKeyIn, IssuedApiKeyOut
from api.services.common import as_utc
from api.tables import OPERATOR, ApiKey, hash_api_key, new_api_key
from api.writes import WriteContext
from chain.readmodel.store import Member


def key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        member_id=key.member_id,
        hint=key.hint,
        label=key.label,
        created_at=as_utc(key.created_at),
        revoked_at=as_utc(key.revoked_at),
        active=key.revoked_at is None,
    )


def managed_member(session: Session, principal: Principal, member_id: int, *, issuing: bool = False) -> None:
    """The operator manages any member's keys, a member its own; 404 for a member the ledger does not know."""
    if not principal.is_operator and principal.member_id != member_id:
        raise catalogued(403, "forbidden", "forbidden.api-keys-member", {"member_id": member_id})
    status = session.scalar(select(Member.status).where(Member.id == member_id))
    if status is None or member_id == OPERATOR:
        raise catalogued(404, "not-found", "not-found.no-member", {"member_id": member_id})
    if issuing and not principal.is_operator and status != "active":
        params = {"member_id": member_id, "status_term": status}
        raise catalogued(403, "member-not-active", "member-not-active.operator-issues-key", params)


def keys_of(session: Session, principal: Principal, member_id: int) -> list[ApiKeyOut]:
    """Every key the member ever had, oldest first, in one page (`next_cursor` is always null)."""
    managed_member(session, principal, member_id)
    keys = session.scalars(select(ApiKey).where(ApiKey.member_id == member_id).order_by(ApiKey.id))
    return [key_out(k) for k in keys]


def issue_api_key(w: OffChainWriteDeps, member_id: int, body: IssueApiKeyIn) -> JSONResponse:
    """Another API key for a member (the operator, or the member itself); the key is shown once (201)."""
    managed_member(w.session, w.principal, member_id, issuing=True)
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
            return 201, IssuedApiKeyOut(key=key_out(row), api_key=key).model_dump(mode="json")

    return w.run(body, workflow)


def revoke_api_key(engine: Engine, principal: Principal, member_id: int, key_id: int) -> ApiKeyOut:
    """Revokes one of a member's API keys (the operator, or the member itself; a member keeps its last one)."""
    with Session(engine) as s, s.begin():
        managed_member(s, principal, member_id)
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
        return key_out(key)
