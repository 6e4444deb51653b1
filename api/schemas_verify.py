"""Response bodies of /v1/verify: note and invoice state read straight from the chain."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.amounts import AmountOut


class ChainPoint(BaseModel):
    number: int = Field(description="the block the state was read at")
    hash: str


class HolderOut(BaseModel):
    member_id: int
    account: str = Field(description="the member's signing address at that block")


class ReceivableTermsOut(BaseModel):
    slot_id: int
    obligor_id: int
    creditor_id: int
    face_value: AmountOut
    maturity: str = Field(description="ISO timestamp (UTC)")
    invoice_hash: str
    order_id: int | None = Field(description="the purchase order it was issued for; None for a direct issue")
    status: str = Field(description="active, settled or defaulted")


class NoteVerificationOut(BaseModel):
    note_id: int
    contract: str = Field(description="the ReceivableNotes contract address")
    block: ChainPoint
    holder: HolderOut
    value: AmountOut
    currency: str
    lienholder_id: int | None
    parent_id: int | None
    receivable: ReceivableTermsOut
    proof: dict[str, Any] | None = Field(
        default=None, description="with proof=true: an eth_getProof bundle checkable with `scf verify-proof`"
    )


class InvoiceVerificationOut(BaseModel):
    invoice_hash: str
    tokenised: bool
    block: ChainPoint
    slot_id: int | None = None
    obligor_id: int | None = None
    creditor_id: int | None = Field(default=None, description="the original creditor")
