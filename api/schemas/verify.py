"""Response bodies of /v1/verify: note and invoice state read straight from the chain."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.amounts import AmountOut
from api.profiles import MemberProfileOut
from api.schemas.core import MemberRef


class ChainPoint(BaseModel):
    number: int = Field(description="the block the state was read at")
    hash: str


class SourceNodeOut(BaseModel):
    name: str = Field(
        description="the node the service read the answer (and the proof) from: its organisation in a consortium "
        "network (`scf up --network`), `local devchain`, or the RPC host:port"
    )
    kind: Literal["named", "devchain", "rpc"] = Field(
        description="named: SCF_NODE_NAME (a consortium node); devchain: the embedded one; rpc: another node"
    )
    block: ChainPoint = Field(description="the block that node answered at (the proof's block)")


class HolderOut(BaseModel):
    member_id: MemberRef = Field(description="the holder's id, or its pseudonym where it is not yours to see")
    account: str | None = Field(description="the member's signing address at that block (null where hidden)")
    name: str | None = Field(None, description="the holder's display name (null where hidden or without a profile)")


class ReceivableTermsOut(BaseModel):
    slot_id: int
    obligor_id: int
    creditor_id: MemberRef
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
    lienholder_id: MemberRef | None
    parent_id: int | None
    receivable: ReceivableTermsOut
    proof: dict[str, Any] | None = Field(
        default=None,
        description="with proof=true: an eth_getProof bundle checkable with `scf verify-proof` (it shows the "
        "holder's id, so it is served only to callers who may see the holder)",
    )
    node: SourceNodeOut = Field(
        description="the node the note and its proof were read from, and the block: check the proof against your "
        "own node with `scf verify-proof proof.json --rpc <your node>`"
    )


class PledgedNoteOut(BaseModel):
    note_id: int
    holder_id: MemberRef
    lienholder_id: MemberRef
    value: AmountOut


class SaleOut(BaseModel):
    purchase_id: int
    note_id: int = Field(description="the note the financier received")
    seller_id: MemberRef
    financier_id: MemberRef
    value: AmountOut
    price: AmountOut


class ReceivableFinancingOut(BaseModel):
    slot_id: int
    pledged: bool = Field(description="some note of the receivable is locked to a lienholder")
    pledged_notes: list[PledgedNoteOut]
    pledged_value: AmountOut
    sold: bool = Field(description="some note of the receivable was sold to a financier")
    sales: list[SaleOut]
    sold_value: AmountOut
    candidates_indexed_block: int = Field(
        description="note and purchase ids come from the read model at this block; each is read from the chain"
    )


class InvoiceVerificationOut(BaseModel):
    invoice_hash: str
    tokenised: bool
    block: ChainPoint
    slot_id: int | None = None
    obligor_id: int | None = None
    creditor_id: MemberRef | None = Field(default=None, description="the original creditor")
    financing: ReceivableFinancingOut | None = Field(
        default=None, description="pledges and sales of the receivable's notes (parties, financiers, auditors)"
    )


class MemberVerificationOut(BaseModel):
    member_id: int
    contract: str = Field(description="the MemberRegistry contract address")
    block: ChainPoint
    account: str = Field(description="the member's signing address at that block")
    profile: MemberProfileOut | None = Field(description="the profile the service keeps (null: none was given)")
    profile_hash: str | None = Field(description="keccak-256 of the profile's canonical JSON, computed now")
    kyc_hash: str = Field(description="the member's kycHash on chain at the block")
    matches: bool = Field(description="the profile's hash is the on-chain kycHash")
