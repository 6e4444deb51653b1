"""Response bodies of provenance, receivable trees, holdings, sharing grants and order verification."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from api.amounts import AmountOut
from api.hexes import TxHash
from api.schemas.core import MemberRef
from api.schemas.verify import ChainPoint, ReceivableFinancingOut, ReceivableTermsOut
from api.strict import IsoDateOrDateTime

MovementKind = Literal["issue", "split", "merge", "transfer", "pledge", "release", "sale", "redeem"]


# ------------------------------------------------------------------------------------------- provenance
class ChainStepOut(BaseModel):
    step: str = Field(description="proposed, confirmed, delivered, accepted, pledged, released or cancelled")
    tx_hash: TxHash
    block_number: int
    block_hash: TxHash
    log_index: int
    at: str | None = Field(description="block time, ISO (UTC)")
    member_id: MemberRef | None = Field(None, description="pledged/released: the lienholder; cancelled: who cancelled")


class OrderHistoryOut(BaseModel):
    order_id: int
    supplier_id: MemberRef
    buyer_id: int
    amount: AmountOut
    status: str
    steps: list[ChainStepOut]


class ReceivableIssueOut(BaseModel):
    slot_id: int
    obligor_id: int
    creditor_id: MemberRef = Field(description="the original creditor")
    face_value: AmountOut
    maturity: str
    invoice_hash: str
    status: str
    first_note_id: int
    issued_tx: TxHash
    issued_block: int
    obligor_name: str | None = Field(None, description="the obligor's display name")
    creditor_name: str | None = Field(None, description="the original creditor's display name (null where hidden)")


class ProvenanceEventOut(BaseModel):
    kind: MovementKind
    block_number: int
    block_hash: TxHash
    tx_hash: TxHash
    log_index: int
    at: str | None = Field(description="block time, ISO (UTC)")
    note_id: int = Field(description="the note of the lineage (the note itself or an ancestor) the event touches")
    from_note_id: int | None
    to_note_id: int | None
    from_member_id: MemberRef | None = Field(description="pledge: the holder; release: the lienholder")
    to_member_id: MemberRef | None = Field(description="pledge: the lienholder; release: the holder")
    value: AmountOut | None = Field(description="value moved (pledge/release: the note's value then)")
    purchase_id: int | None = Field(None, description="sale: the purchase it created")
    from_member_name: str | None = Field(None, description="display name beside from_member_id (null where hidden)")
    to_member_name: str | None = Field(None, description="display name beside to_member_id (null where hidden)")


class ProvenanceOut(BaseModel):
    note_id: int
    slot_id: int
    lineage: list[int] = Field(description="the note's ancestors from the slot's first note down to the note")
    order: OrderHistoryOut | None = Field(description="the purchase order the receivable was issued for, if any")
    receivable: ReceivableIssueOut
    events: list[ProvenanceEventOut] = Field(description="in block and log order")
    currency: str
    source: Literal["read-model"] = "read-model"
    indexed_block: int = Field(description="the read model's checkpoint: events up to this block are included")


# ------------------------------------------------------------------------------------------------- tree
class TreeNodeOut(BaseModel):
    note_id: int
    parent_id: int | None
    holder_id: MemberRef
    value: AmountOut
    live: bool
    lienholder_id: MemberRef | None
    created_tx: TxHash
    created_block: int
    holder_name: str | None = Field(None, description="the holder's display name (null where its id is hidden)")
    lienholder_name: str | None = Field(None, description="the lienholder's display name (null where hidden)")


class TreeEdgeOut(BaseModel):
    kind: MovementKind
    from_note_id: int | None
    to_note_id: int | None
    value: AmountOut | None
    from_member_id: MemberRef | None
    to_member_id: MemberRef | None
    tx_hash: TxHash
    block_number: int
    log_index: int
    from_member_name: str | None = Field(None, description="display name beside from_member_id (null where hidden)")
    to_member_name: str | None = Field(None, description="display name beside to_member_id (null where hidden)")


class ReceivableTreeOut(BaseModel):
    slot_id: int
    root_note_id: int
    face_value: AmountOut
    redeemed: AmountOut = Field(description="value burned by redemption or settlement")
    outstanding: AmountOut = Field(description="sum of the live notes' values")
    balanced: bool = Field(description="outstanding == face value - redeemed")
    currency: str
    nodes: list[TreeNodeOut]
    edges: list[TreeEdgeOut]
    source: Literal["read-model"] = "read-model"
    indexed_block: int


# ------------------------------------------------------------------------------------------------ shares
class GrantShareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    financier_id: StrictInt = Field(ge=1, lt=2**32, description="the financier that may read my holdings")
    expires_at: IsoDateOrDateTime | None = Field(
        None, description="ISO 8601 datetime (UTC when no offset is given) or a date (end of that day, UTC)"
    )


class ShareOut(BaseModel):
    member_id: int = Field(description="the member whose holdings are shared")
    financier_id: int
    granted_at: str
    expires_at: str | None
    revoked_at: str | None
    active: bool


class SharesOut(BaseModel):
    granted: list[ShareOut] = Field(description="grants I gave")
    received: list[ShareOut] = Field(description="grants given to me")


# ---------------------------------------------------------------------------------------------- holdings
Bucket = Literal["overdue", "0-30", "31-60", "61-90", "91-180", ">180"]


class HoldingGroupOut(BaseModel):
    obligor_id: int
    bucket: Bucket
    count: int
    total: AmountOut
    pledged_count: int
    pledged_total: AmountOut


class BucketTotalOut(BaseModel):
    bucket: Bucket
    count: int
    total: AmountOut


class PledgeTotalOut(BaseModel):
    lienholder_id: int
    count: int
    total: AmountOut


class HoldingTotalsOut(BaseModel):
    count: int
    total: AmountOut
    pledged_count: int
    pledged_total: AmountOut
    free_total: AmountOut = Field(description="total - pledged_total")


class NoteMismatchOut(BaseModel):
    note_id: int
    field: str = Field(description="holder_id, value, lienholder_id or exists")
    read_model: str
    chain: str


class ChainCheckOut(BaseModel):
    block: ChainPoint
    checked: int
    mismatches: list[NoteMismatchOut]


class HoldingsOut(BaseModel):
    member_id: int
    currency: str
    as_of: str = Field(description="chain_block's time, which the maturity buckets are measured from (UTC)")
    chain_block: int = Field(
        description="the chain's latest block as the service read it at most 0.25 s before the answer; never below "
        "indexed_block"
    )
    indexed_block: int = Field(description="the read-model block the holdings reflect")
    source: Literal["read-model"] = "read-model"
    groups: list[HoldingGroupOut] = Field(description="by obligor and maturity bucket")
    buckets: list[BucketTotalOut]
    totals: HoldingTotalsOut
    pledged: list[PledgeTotalOut] = Field(description="held notes pledged to someone, by lienholder")
    check: ChainCheckOut | None = Field(None, description="with check=chain: each note re-read from the chain")


# ------------------------------------------------------------------------------------------ verify order
class LoanOnChainOut(BaseModel):
    loan_id: int
    financier_id: MemberRef
    borrower_id: MemberRef
    principal: AmountOut
    rate_bps: int
    due_date: str
    status: str = Field(description="active, repaid or foreclosed")


class OrderVerificationOut(BaseModel):
    order_id: int
    contract: str = Field(description="the OrderBook contract address")
    block: ChainPoint
    status: str
    supplier_id: MemberRef
    buyer_id: int
    holder_id: MemberRef
    amount: AmountOut
    currency: str
    due_date: str
    document_hash: str
    pledged: bool
    lienholder_id: MemberRef | None
    tokenised: bool
    slot_id: int | None
    tokenised_by: int | None = Field(description="the obligor that confirmed the receivable (the buyer)")
    receivable: ReceivableTermsOut | None
    loans: list[LoanOnChainOut]
    financing: ReceivableFinancingOut | None = Field(description="pledges and sales of the receivable's notes")
