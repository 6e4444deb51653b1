"""Dynamic credit: a supplier's financing capacity from its history in the read model (docs/credit.md).

    base     = share x confirmed volume (face value it was issued as original creditor, last N days)
    score    = 1 + on_time x bonus - late x late_penalty - defaults x default_penalty, clamped to [0, max]
    capacity = max(0, base x score - exposure), and 0 while a default is younger than the lookback

Everything is integer arithmetic in minor units and basis points (10 000 = 1), rounded down, and measured in
chain time: "now" is the timestamp of the read model's checkpoint block.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web3 import Web3

from api.amounts import format_amount
from api.services.chaintime import block_times, first_block_at_or_after, indexed_head
from chain.readmodel.store import EventRecord, Loan, Note, Offer, Purchase, Receivable

BPS = 10_000
DAY = 86_400


@dataclass(frozen=True)
class CreditPolicy:
    """The formula's parameters (SCF_CREDIT_* settings)."""

    volume_share_bps: int = 5_000
    volume_days: int = 365
    on_time_bonus_bps: int = 500
    late_penalty_bps: int = 1_500
    default_penalty_bps: int = 5_000
    max_score_bps: int = 15_000
    default_lookback_days: int = 180


@dataclass(frozen=True)
class CreditAssessment:
    member_id: int
    as_of_block: int
    as_of: int  # timestamp of as_of_block
    confirmed_volume: int
    on_time_loans: int
    on_time_recourse_sales: int
    late_loans: int
    foreclosed_loans: int
    recourse_claims: int
    obligor_defaults: int
    last_default_block: int | None
    recent_default: bool
    loan_exposure: int
    recourse_exposure: int
    score_bps: int
    base: int
    capacity: int
    policy: CreditPolicy

    @property
    def on_time(self) -> int:
        return self.on_time_loans + self.on_time_recourse_sales

    @property
    def late(self) -> int:
        return self.late_loans

    @property
    def defaults(self) -> int:
        return self.foreclosed_loans + self.recourse_claims + self.obligor_defaults

    @property
    def exposure(self) -> int:
        return self.loan_exposure + self.recourse_exposure

    def formula(self) -> str:
        p = self.policy
        score = (
            f"score {_ratio(self.score_bps)} = 1 + {self.on_time} on-time x {_ratio(p.on_time_bonus_bps)}"
            f" - {self.late} late x {_ratio(p.late_penalty_bps)} - {self.defaults} defaults x "
            f"{_ratio(p.default_penalty_bps)}, clamped to [0, {_ratio(p.max_score_bps)}]"
        )
        text = (
            f"capacity = max(0, {_percent(p.volume_share_bps)} x confirmed volume "
            f"{format_amount(self.confirmed_volume)} ({p.volume_days} days) x {score} - exposure "
            f"{format_amount(self.exposure)})"
        )
        if self.recent_default:
            return (
                f"{text}; a default at block {self.last_default_block} is within the last "
                f"{p.default_lookback_days} days, so capacity = 0.00"
            )
        filled = f"max(0, {format_amount(self.base)} x {_ratio(self.score_bps)} - {format_amount(self.exposure)})"
        return f"{text} = {filled} = {format_amount(self.capacity)}"


def _ratio(bps: int) -> str:
    return f"{bps // BPS}.{bps % BPS:04d}"


def _percent(bps: int) -> str:
    return f"{bps // 100}.{bps % 100:02d}%"


def _loans(session: Session, member_id: int, status: str) -> list[Loan]:
    return list(session.scalars(select(Loan).where(Loan.borrower_id == member_id, Loan.status == status)))


def _recourse_sales(session: Session, member_id: int) -> list[tuple[Purchase, str]]:
    """Purchases with recourse where the member sold, with the status of the bought note's receivable."""
    query = (
        select(Purchase, Receivable.status)
        .join(Offer, Offer.id == Purchase.offer_id)
        .join(Note, Note.id == Purchase.note_id)
        .join(Receivable, Receivable.id == Note.slot_id)
        .where(Purchase.seller_id == member_id, Offer.recourse.is_(True))
    )
    return [(purchase, str(status)) for purchase, status in session.execute(query).all()]


def _event_blocks(session: Session, contract: str, name: str, key: str, ids: list[int]) -> list[int]:
    if not ids:
        return []
    query = select(EventRecord.block_number, EventRecord.args).where(
        EventRecord.contract == contract, EventRecord.name == name
    )
    wanted = set(ids)
    return [int(block) for block, args in session.execute(query).all() if int(args[key]) in wanted]


def assess(session: Session, w3: Web3, member_id: int, policy: CreditPolicy) -> CreditAssessment:
    head = indexed_head(session) or 0
    now = block_times(session, w3, [head])[head] if head else 0

    volume_from = first_block_at_or_after(w3, now - policy.volume_days * DAY, head)
    volume = (
        session.scalar(
            select(func.coalesce(func.sum(Receivable.face_value), 0)).where(
                Receivable.creditor_id == member_id, Receivable.issued_block >= volume_from
            )
        )
        or 0
    )

    repaid = _loans(session, member_id, "repaid")
    repaid_at = block_times(session, w3, [loan.updated_block for loan in repaid])  # repay is a loan's last update
    late_loans = sum(1 for loan in repaid if repaid_at[loan.updated_block] > loan.due_date)
    foreclosed = _loans(session, member_id, "foreclosed")
    active = _loans(session, member_id, "active")

    sales = _recourse_sales(session, member_id)
    on_time_sales = sum(1 for p, status in sales if p.recourse_status == "none" and status == "settled")
    claimed = [p for p, _ in sales if p.recourse_status in ("claimed", "paid")]
    open_sales = [p for p, status in sales if p.recourse_status == "none" and status != "settled"]
    recourse_exposure = sum(p.value for p in open_sales) + sum(
        p.recourse_amount for p in claimed if p.recourse_status == "claimed"
    )

    obligor_defaulted = list(
        session.scalars(
            select(Receivable.id).where(Receivable.obligor_id == member_id, Receivable.status == "defaulted")
        )
    )
    default_blocks = [loan.updated_block for loan in foreclosed]
    default_blocks += _event_blocks(session, "Financing", "RecourseClaimed", "purchaseId", [p.id for p in claimed])
    default_blocks += _event_blocks(
        session, "Settlement", "SlotDefaulted", "slotId", [int(s) for s in obligor_defaulted]
    )
    last_default = max(default_blocks) if default_blocks else None
    lookback_from = first_block_at_or_after(w3, now - policy.default_lookback_days * DAY, head)
    recent_default = last_default is not None and last_default >= lookback_from

    on_time = len(repaid) - late_loans + on_time_sales
    defaults = len(foreclosed) + len(claimed) + len(obligor_defaulted)
    raw_score = (
        BPS
        + on_time * policy.on_time_bonus_bps
        - late_loans * policy.late_penalty_bps
        - defaults * policy.default_penalty_bps
    )
    score = min(max(raw_score, 0), policy.max_score_bps)
    base = int(volume) * policy.volume_share_bps // BPS
    loan_exposure = sum(loan.principal for loan in active)
    exposure = loan_exposure + recourse_exposure
    capacity = 0 if recent_default else max(0, base * score // BPS - exposure)
    return CreditAssessment(
        member_id=member_id,
        as_of_block=head,
        as_of=now,
        confirmed_volume=int(volume),
        on_time_loans=len(repaid) - late_loans,
        on_time_recourse_sales=on_time_sales,
        late_loans=late_loans,
        foreclosed_loans=len(foreclosed),
        recourse_claims=len(claimed),
        obligor_defaults=len(obligor_defaulted),
        last_default_block=last_default,
        recent_default=recent_default,
        loan_exposure=loan_exposure,
        recourse_exposure=recourse_exposure,
        score_bps=score,
        base=base,
        capacity=capacity,
        policy=policy,
    )
