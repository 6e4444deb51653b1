"""The audit log (api/audit/): auditors and the operator read it and have the server verify its chain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.audit import AuditEntry, AuditLog, entry_dict, utc_iso, verify_database
from api.deps import CurrentPrincipal, DbSession, Principal
from api.problems import catalogued
from api.schemas.core import Page
from api.services.common import paginate, sees_everything
from api.strict import IsoDateTime

router = APIRouter(prefix="/v1/audit", tags=["audit"])


class AuditEntryOut(BaseModel):
    seq: int
    at: str = Field(description="UTC, ISO 8601 with microseconds, e.g. 2026-11-27T13:28:51.123456Z")
    request_id: str
    member_id: int | None = Field(description="the API key's member (0: the operator); null without a known key")
    api_key_id: int | None
    method: str
    path: str
    action: str | None = Field(description="the route's name; null when no route matched")
    idempotency_key: str | None
    status: int
    result: str = Field(description="ok | rejected (4xx) | error (5xx)")
    problem_type: str | None
    tx_hashes: list[str] = Field(description="transactions the request signed and sent")
    prev_hash: str
    hash: str = Field(description="SHA-256 of the canonical JSON of the other fields (docs/audit.md)")


class AuditVerificationOut(BaseModel):
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None
    reason: str | None = Field(
        description="edited | deleted | reordered | truncated | anchor-unreadable; null when intact"
    )
    detail: str


def _auditor(principal: Principal) -> None:
    if not sees_everything(principal):
        raise catalogued(403, "forbidden", "forbidden.audit-log-auditors")


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise catalogued(422, "validation-error", "validation-error.since-until-need")
    return utc_iso(moment)


@router.get("", summary="Audit log entries (auditors and the operator), oldest first, with filters")
def list_audit(
    session: DbSession,
    principal: CurrentPrincipal,
    member_id: Annotated[int | None, Query(ge=0, description="0: the operator")] = None,
    action: Annotated[str | None, Query(max_length=128, description="route name, e.g. accept_order")] = None,
    result: Annotated[str | None, Query(pattern="^(ok|rejected|error)$")] = None,
    since: Annotated[IsoDateTime | None, Query(description="entries at or after this time (with a time zone)")] = None,
    until: Annotated[IsoDateTime | None, Query(description="entries before this time (with a time zone)")] = None,
    cursor: Annotated[int, Query(ge=0, description="seq of the last entry seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[AuditEntryOut]:
    _auditor(principal)
    query = select(AuditEntry)
    if member_id is not None:
        query = query.where(AuditEntry.member_id == member_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if result is not None:
        query = query.where(AuditEntry.result == result)
    if since is not None:
        query = query.where(AuditEntry.at >= _iso(since))
    if until is not None:
        query = query.where(AuditEntry.at < _iso(until))
    page = paginate(session, query, AuditEntry.seq, cursor, limit)
    items = [AuditEntryOut(**entry_dict(e)) for e in page.rows]
    return Page[AuditEntryOut](items=items, next_cursor=page.next_cursor)


@router.get("/verify", summary="Verify the whole audit chain and its anchored head on the server")
def verify_audit(request: Request, principal: CurrentPrincipal) -> AuditVerificationOut:
    _auditor(principal)
    audit: AuditLog = request.app.state.audit
    try:
        verification = verify_database(audit.engine, audit.anchor_path)
    except ValueError as exc:  # the anchor file is unreadable: that is a finding, not a server error
        return AuditVerificationOut(
            ok=False,
            entries=0,
            head_seq=0,
            head_hash="",
            first_bad_seq=None,
            reason="anchor-unreadable",
            detail=str(exc),
        )
    return AuditVerificationOut(**verification.as_dict())
