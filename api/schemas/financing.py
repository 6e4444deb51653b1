"""Request and response bodies of the financing endpoints (factoring offers, purchases, order loans)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from api.amounts import AmountOut, PositiveAmount
from api.hexes import TxHash
from api.schemas.core import MAX_ID, MemberRef
from api.strict import IsoDate, IsoDateOrDateTime

MAX_RATE_BPS = 10_000


class MakeOfferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note_id: StrictInt = Field(ge=1, le=MAX_ID, description="the note the financier offers to buy value of")
    value: PositiveAmount = Field(description="value of the note to buy (at most the note's value)")
    rate_bps: StrictInt = Field(ge=0, le=MAX_RATE_BPS, description="yearly discount rate in basis points")
    recourse: StrictBool = Field(False, description="the seller must pay back the value if the receivable defaults")
    expires_at: IsoDateOrDateTime = Field(
        description="ISO 8601 datetime (UTC when no offset is given), or a date: the offer expires at its end, UTC"
    )


class OfferOut(BaseModel):
    id: int
    note_id: int
    financier_id: int
    holder_id: MemberRef | None = Field(
        description="current holder of the note; a pseudonym where it is not yours to see (an open offer does not "
        "reveal the holder to the financier that made it)"
    )
    value: AmountOut
    currency: str
    rate_bps: int
    recourse: bool
    expires_at: str
    status: str = Field(description="open, accepted or cancelled")
    purchase_id: int | None
    price: AmountOut | None = Field(None, description="what the holder would receive if it accepted now (open only)")
    created_tx: TxHash
    financier_name: str | None = Field(None, description="the financier's display name")
    holder_name: str | None = Field(None, description="the holder's display name (null where its id is hidden)")
    request_id: int | None = Field(None, description="the financing request this offer answers, if any")


class PurchaseOut(BaseModel):
    id: int
    offer_id: int
    note_id: int = Field(description="the note the financier received")
    value: AmountOut
    price: AmountOut
    currency: str
    seller_id: int
    financier_id: int
    recourse: bool
    recourse_status: str = Field(description="none, claimed or paid")
    recourse_amount: AmountOut
    tx_hash: TxHash
    seller_name: str | None = Field(None, description="the seller's display name")
    financier_name: str | None = Field(None, description="the financier's display name")


class OpenLoanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: StrictInt = Field(ge=1, le=MAX_ID, description="an order pledged to the calling financier")
    principal: PositiveAmount = Field(description="at most the advance rate (90%) of the order amount")
    rate_bps: StrictInt = Field(ge=0, le=MAX_RATE_BPS, description="yearly interest rate in basis points")
    due_date: IsoDate = Field(description="ISO 8601 date; the loan is due at the end of that day, UTC")


class LoanOut(BaseModel):
    id: int
    order_id: int
    financier_id: int
    borrower_id: int
    principal: AmountOut
    currency: str
    rate_bps: int
    due_date: str
    status: str = Field(description="active, repaid or foreclosed")
    interest_paid: AmountOut
    foreclosed_value: AmountOut
    taken_note_id: int | None
    amount_owed: AmountOut | None = Field(None, description="what the borrower would repay now (active only)")
    opened_tx: TxHash


MAX_REQUEST_BANKS = 20


class FinancingRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note_id: StrictInt = Field(ge=1, le=MAX_ID, description="a live, unpledged note the caller holds")
    value: PositiveAmount = Field(description="value of the note to finance: all of it, or part (a split on sale)")
    financier_ids: list[StrictInt] = Field(
        min_length=1,
        max_length=MAX_REQUEST_BANKS,
        description="the banks asked (active financiers, each once): only they see the request and may answer",
    )
    target_rate_bps: StrictInt | None = Field(
        None, ge=0, le=MAX_RATE_BPS, description="the yearly discount rate the supplier hopes for (a hint to banks)"
    )
    recourse: StrictBool | None = Field(
        None, description="true: with recourse is acceptable; false: without recourse wanted; null: either"
    )
    expires_at: IsoDateOrDateTime = Field(
        description="ISO 8601 datetime (UTC when no offset is given), or a date (its end, UTC); in the future and "
        "not after the receivable's maturity"
    )


class RequestOfferIn(BaseModel):
    """An asked bank's answer to a financing request: a factoring offer on the request's note."""

    model_config = ConfigDict(extra="forbid")

    value: PositiveAmount | None = Field(
        None, description="value to buy, at most the value requested (default: the value requested)"
    )
    rate_bps: StrictInt = Field(ge=0, le=MAX_RATE_BPS, description="yearly discount rate in basis points")
    recourse: StrictBool = Field(False, description="the seller must pay back the value if the receivable defaults")
    expires_at: IsoDateOrDateTime = Field(
        description="ISO 8601 datetime (UTC when no offset is given), or a date: the offer expires at its end, UTC"
    )


class FinancingRequestOut(BaseModel):
    id: int
    status: str = Field(description="open, offered (an asked bank answered), accepted, withdrawn or expired")
    note_id: int
    receivable_id: int | None
    requester_id: MemberRef = Field(
        description="the note's holder that asked; a pseudonym where the visibility rules do not show it to you"
    )
    requester_name: str | None = Field(None, description="its display name (null where its id is hidden)")
    value: AmountOut = Field(description="value of the note the requester asks to finance")
    currency: str
    note_value: AmountOut = Field(description="the note's value now (read model)")
    note_live: bool
    face_value: AmountOut | None = Field(description="the receivable's face value")
    obligor_id: int | None = Field(description="who pays the receivable at maturity (always named)")
    obligor_name: str | None = None
    maturity: str | None = Field(description="the receivable's maturity")
    target_rate_bps: int | None
    recourse: bool | None
    expires_at: str
    created_at: str
    withdrawn_at: str | None
    financier_ids: list[int] = Field(
        description="the banks asked; a bank sees only itself here (not which other banks were asked)"
    )
    offers: list[OfferOut] = Field(description="offers made in answer (the requester sees all; a bank, its own)")
    accepted_offer_id: int | None
