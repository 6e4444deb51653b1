"""Request and response bodies of the financing endpoints (factoring offers, purchases, order loans)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from api.amounts import AmountOut, PositiveAmount
from api.hexes import TxHash
from api.schemas import MAX_ID, MemberRef
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
