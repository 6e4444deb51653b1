"""Regulator alerts raised by the indexer's rules (chain/readmodel/alerts.py): auditors and the operator only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select

from api.deps import CurrentPrincipal, DbSession
from api.problems import catalogued
from api.schemas.core import Page
from api.services.common import as_utc, paginate, sees_everything
from api.services.visibility import display_names
from chain.readmodel.alerts import RULES, SEVERITIES
from chain.readmodel.store import Alert, AlertMember

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])


class AlertOut(BaseModel):
    id: int
    rule: str
    severity: str
    members: list[int]
    member_names: list[str | None] = Field(
        default_factory=list, description="display names beside `members`, in the same order (null: no profile)"
    )
    evidence: list[str]
    block: int
    created: AwareDatetime = Field(description="when the indexer raised it, UTC")


def alert_out(alert: Alert, names: dict[int, str] | None = None) -> AlertOut:
    """An alert as auditors and the operator see it (every identity): `names` from `display_names`."""
    known = names or {}
    return AlertOut(
        id=alert.id,
        rule=alert.rule,
        severity=alert.severity,
        members=list(alert.members),
        member_names=[known.get(m) for m in alert.members],
        evidence=list(alert.evidence),
        block=alert.block_number,
        created=as_utc(alert.created),
    )


@router.get("", summary="Alerts (auditors and the operator), with filters")
def list_alerts(
    session: DbSession,
    principal: CurrentPrincipal,
    rule: Annotated[str | None, Query(pattern="^(" + "|".join(RULES) + ")$")] = None,
    severity: Annotated[str | None, Query(pattern="^(" + "|".join(SEVERITIES) + ")$")] = None,
    member_id: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[AlertOut]:
    if not sees_everything(principal):
        raise catalogued(403, "forbidden", "forbidden.alerts-are-auditors")
    query = select(Alert)
    if rule is not None:
        query = query.where(Alert.rule == rule)
    if severity is not None:
        query = query.where(Alert.severity == severity)
    if member_id is not None:
        query = query.where(Alert.id.in_(select(AlertMember.alert_id).where(AlertMember.member_id == member_id)))
    page = paginate(session, query, Alert.id, cursor, limit)
    shown = page.rows
    names = display_names(session, [m for a in shown for m in a.members])  # the caller sees every member
    items = [alert_out(a, names) for a in shown]
    return Page[AlertOut](items=items, next_cursor=page.next_cursor)
