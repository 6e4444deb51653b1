"""Regulator alerts raised by the indexer's rules (chain/alerts.py): auditors and the operator only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select

from api.deps import CurrentPrincipal, DbSession
from api.problems import catalogued
from api.schemas import Page
from api.services.common import as_utc, sees_everything
from chain.alerts import RULES, SEVERITIES
from chain.store import Alert, AlertMember

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])


class AlertOut(BaseModel):
    id: int
    rule: str
    severity: str
    members: list[int]
    evidence: list[str]
    block: int
    created: AwareDatetime = Field(description="when the indexer raised it, UTC")


def alert_out(alert: Alert) -> AlertOut:
    return AlertOut(
        id=alert.id,
        rule=alert.rule,
        severity=alert.severity,
        members=list(alert.members),
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
    query = select(Alert).where(Alert.id > cursor)
    if rule is not None:
        query = query.where(Alert.rule == rule)
    if severity is not None:
        query = query.where(Alert.severity == severity)
    if member_id is not None:
        query = query.where(Alert.id.in_(select(AlertMember.alert_id).where(AlertMember.member_id == member_id)))
    rows = list(session.scalars(query.order_by(Alert.id).limit(limit + 1)))
    more = len(rows) > limit
    items = [alert_out(a) for a in rows[:limit]]
    return Page[AlertOut](items=items, next_cursor=str(items[-1].id) if more else None)
