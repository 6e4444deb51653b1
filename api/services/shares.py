"""Sharing grants: a member lets a financier read its holdings (`GET /v1/verify/holdings/{member_id}`); the
rules, answers and workflows.

Grants are service data (`sharing_grants`), not chain state: nothing is signed, and a read-model rebuild
keeps them. The POSTs go through the write pipeline for its `Idempotency-Key` handling (no transaction
is sent, so a replay returns the stored answer and a retry simply runs again).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.deps import Principal, WriteDeps
from api.problems import catalogued
from api.schemas.provenance import GrantShareIn, ShareOut, SharesOut
from api.services.common import as_utc, member_or_404
from api.tables import SharingGrant, now
from api.writes import WriteContext
from chain.node.roles import Roles


def grant_active(grant: SharingGrant, at: datetime | None = None) -> bool:
    moment = at or now()
    expires = as_utc(grant.expires_at)
    return grant.revoked_at is None and (expires is None or expires > moment)


def has_active_grant(session: Session, member_id: int, financier_id: int) -> bool:
    grant = session.get(SharingGrant, (member_id, financier_id))
    return grant is not None and grant_active(grant)


def share_out(grant: SharingGrant) -> ShareOut:
    def iso(value: datetime | None) -> str | None:
        stamp = as_utc(value)
        return stamp.isoformat() if stamp is not None else None

    return ShareOut(
        member_id=grant.member_id,
        financier_id=grant.financier_id,
        granted_at=iso(grant.granted_at) or "",
        expires_at=iso(grant.expires_at),
        revoked_at=iso(grant.revoked_at),
        active=grant_active(grant),
    )


def member_of(principal: Principal) -> int:
    if principal.is_operator:
        raise catalogued(403, "forbidden", "forbidden.operator-holds-no")
    return principal.member_id


def _expiry(value: date | datetime | None) -> datetime | None:
    if value is None:
        return None
    expiry = as_utc(value) if isinstance(value, datetime) else datetime.combine(value, time(23, 59, 59), tzinfo=UTC)
    if expiry <= now():
        raise catalogued(422, "validation-error", "validation-error.expires-at-must")
    return expiry.astimezone(UTC)


def shares_of(session: Session, principal: Principal) -> SharesOut:
    """The grants the calling member gave, and those given to it."""
    me = member_of(principal)
    grants = session.scalars(
        select(SharingGrant)
        .where(or_(SharingGrant.member_id == me, SharingGrant.financier_id == me))
        .order_by(SharingGrant.member_id, SharingGrant.financier_id)
    )
    granted: list[ShareOut] = []
    received: list[ShareOut] = []
    for grant in grants:
        (granted if grant.member_id == me else received).append(share_out(grant))
    return SharesOut(granted=granted, received=received)


def grant_share(w: WriteDeps, body: GrantShareIn) -> JSONResponse:
    """A member lets a financier read its holdings (201, the grant)."""
    me = member_of(w.principal)
    financier = member_or_404(w.session, body.financier_id, "financier")
    if financier.id == me:
        raise catalogued(422, "invalid-share-target", "invalid-share-target.member-cannot-share")
    if not financier.roles & Roles.FINANCIER:
        params = {"member_id": financier.id}
        raise catalogued(422, "invalid-share-target", "invalid-share-target.not-financier", params)
    expires_at = _expiry(body.expires_at)
    engine = w.engine

    def workflow(_ctx: WriteContext) -> tuple[int, Any]:
        with Session(engine) as s, s.begin():
            grant = s.get(SharingGrant, (me, financier.id))
            if grant is None:
                grant = SharingGrant(member_id=me, financier_id=financier.id)
                s.add(grant)
            grant.granted_at = now()
            grant.expires_at = expires_at
            grant.revoked_at = None
            s.flush()
            return 201, share_out(grant).model_dump(mode="json")

    return w.run("share:" + body.model_dump_json(), workflow)


def revoke_share(w: WriteDeps, financier_id: int) -> JSONResponse:
    """A member revokes a financier's access to its holdings."""
    me = member_of(w.principal)
    if not 1 <= financier_id < 2**32 or w.session.get(SharingGrant, (me, financier_id)) is None:
        raise catalogued(404, "not-found", "not-found.no-sharing-grant", {"financier_id": financier_id})
    engine = w.engine

    def workflow(_ctx: WriteContext) -> tuple[int, Any]:
        with Session(engine) as s, s.begin():
            grant = s.get(SharingGrant, (me, financier_id))
            if grant is None:
                raise catalogued(404, "not-found", "not-found.no-sharing-grant", {"financier_id": financier_id})
            if grant.revoked_at is None:
                grant.revoked_at = now()
            s.flush()
            return 200, share_out(grant).model_dump(mode="json")

    return w.run(f"revoke:{financier_id}", workflow)
