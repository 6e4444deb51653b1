"""Dynamic credit: a member's financing capacity from its on-chain history (docs/credit.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.amounts import AmountOut
from api.deps import CurrentPrincipal, DbSession, Ledger, Principal
from api.problems import catalogued
from api.services.common import iso_time, member_or_404, sees_everything
from api.services.credit import CreditAssessment, assess
from api.services.visibility import display_names
from api.settings import Settings
from chain.node.roles import Roles

router = APIRouter(prefix="/v1/members", tags=["credit"])

MAX_MEMBER_ID = 2**32 - 1  # member ids are uint32 on chain


class CreditComponentsOut(BaseModel):
    confirmed_volume_365d: AmountOut = Field(
        description="face value of receivables issued to the member as original creditor in the volume window"
    )
    volume_window_days: int
    base: AmountOut = Field(description="the volume share of the confirmed volume")
    on_time_repayments: int = Field(description="loans repaid by their due date + recourse sales settled unclaimed")
    on_time_loans: int
    on_time_recourse_sales: int
    late_repayments: int = Field(description="loans repaid after their due date")
    defaults: int = Field(description="foreclosed loans + recourse claims + receivables it owed that defaulted")
    foreclosed_loans: int
    recourse_claims: int
    obligor_defaults: int
    last_default_block: int | None
    recent_default: bool = Field(description="a default within the lookback: capacity is zero")
    exposure: AmountOut = Field(description="open loan principal + open recourse on notes it sold")
    loan_exposure: AmountOut
    recourse_exposure: AmountOut
    score: str = Field(description="the score as a decimal, 1.0000 = neutral")
    score_bps: int


class CreditOut(BaseModel):
    member_id: int
    member_name: str | None = Field(None, description="the member's display name (null: no profile)")
    capacity: AmountOut
    currency: str
    as_of_block: int = Field(description="the read model's block the assessment is computed at")
    as_of: str = Field(description="that block's time (ISO 8601, UTC)")
    components: CreditComponentsOut
    formula: str = Field(description="the formula with this member's numbers filled in")


def _may_see_credit(principal: Principal, member_id: int) -> bool:
    return principal.member_id == member_id or sees_everything(principal) or principal.has_role(Roles.FINANCIER)


def credit_out(assessment: CreditAssessment, currency: str, name: str | None = None) -> CreditOut:
    a = assessment
    return CreditOut(
        member_id=a.member_id,
        member_name=name,
        capacity=a.capacity,
        currency=currency,
        as_of_block=a.as_of_block,
        as_of=iso_time(a.as_of),
        components=CreditComponentsOut(
            confirmed_volume_365d=a.confirmed_volume,
            volume_window_days=a.policy.volume_days,
            base=a.base,
            on_time_repayments=a.on_time,
            on_time_loans=a.on_time_loans,
            on_time_recourse_sales=a.on_time_recourse_sales,
            late_repayments=a.late,
            defaults=a.defaults,
            foreclosed_loans=a.foreclosed_loans,
            recourse_claims=a.recourse_claims,
            obligor_defaults=a.obligor_defaults,
            last_default_block=a.last_default_block,
            recent_default=a.recent_default,
            exposure=a.exposure,
            loan_exposure=a.loan_exposure,
            recourse_exposure=a.recourse_exposure,
            score=f"{a.score_bps // 10_000}.{a.score_bps % 10_000:04d}",
            score_bps=a.score_bps,
        ),
        formula=a.formula(),
    )


@router.get(
    "/{member_id}/credit",
    summary="A member's financing capacity from its on-chain history (the member, financiers, auditors, operator)",
    responses={403: {"description": "not the member, a financier, an auditor or the operator"}, 404: {}},
)
def member_credit(
    member_id: int, request: Request, session: DbSession, principal: CurrentPrincipal, ledger: Ledger
) -> CreditOut:
    if not _may_see_credit(principal, member_id):
        raise catalogued(403, "forbidden", "forbidden.credit-visible-member")
    if not 1 <= member_id <= MAX_MEMBER_ID:
        raise catalogued(404, "not-found", "not-found.no-member-id", {"member_id": member_id})
    member_or_404(session, member_id)
    settings: Settings = request.app.state.settings
    assessment = assess(session, ledger.w3, member_id, settings.credit_policy())
    return credit_out(assessment, settings.currency, display_names(session, [member_id]).get(member_id))
