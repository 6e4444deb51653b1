"""Request and response bodies (separate from the storage models)."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from api.amounts import Amount, AmountOut, PositiveAmount
from api.hexes import TxHash
from api.profiles import MemberProfileIn, MemberProfileOut
from api.strict import IsoDate, Maturity, Text

MAX_ID = 2**63 - 1  # ids the read model can store (signed 64-bit); a larger id names nothing
# A member named beside a note: its id where the caller may see who it is, else a pseudonym `holder-<12 hex>`
# (api/services/visibility.py, docs/permissions.md "Holder identities").
MemberRef = int | str


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="on-chain member id")
    account: str = Field(description="current signing address")
    roles: list[str]
    status: str
    kyc_hash: str
    group_id: int
    credit_limit: AmountOut
    outstanding: AmountOut
    default_count: int
    issuance_blocked: bool
    custody: str = Field("service", description="service (its key in the service's keystore) or self (it holds it)")
    name: str | None = Field(None, description="the member's display name (null: no profile given)")
    profile: MemberProfileOut | None = Field(
        None, description="names and codes: shown to the operator, auditors and the member itself"
    )


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="pass as `cursor` to get the next page")


class AdmitMemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    roles: list[str] = Field(min_length=1, description="any of core_enterprise, supplier, financier, auditor")
    kyc_hash: str | None = Field(
        None,
        pattern=r"^0x[0-9a-fA-F]{64}$",
        description="SHA-256/keccak of the KYC document; with a profile, omit it (or give the profile's hash)",
    )
    profile: MemberProfileIn | None = Field(
        None, description="names and codes; its hash goes on chain as the KYC hash (api/profiles.py)"
    )
    group_id: StrictInt = Field(0, ge=0, le=2**64 - 1, description="related-party group (0 = none)")
    credit_limit: Amount = Field("0.00", description="obligors: maximum outstanding face value")  # type: ignore[assignment]
    mint_ceiling: Amount = Field(  # type: ignore[assignment]
        "0.00", description="financiers: the most cash it may have minted and not burned (0: it cannot mint yet)"
    )
    label: Text = Field("", max_length=64, description="a name for the member's first API key")
    # self-custody (docs/permissions.md): the member's own address, proved by its signature of a challenge
    address: str | None = Field(
        None, pattern=r"^0x[0-9a-fA-F]{40}$", description="self-custody: the address the member controls"
    )
    challenge_id: str | None = Field(
        None, pattern=r"^[0-9a-f]{32}$", description="self-custody: from POST /v1/members/challenge"
    )
    signature: str | None = Field(
        None, pattern=r"^0x[0-9a-fA-F]{130}$", description="self-custody: personal_sign of the challenge by `address`"
    )


class AdmittedMemberOut(BaseModel):
    member: MemberOut
    api_key: str = Field(description="the member's API key; shown only in this response (and its idempotent replay)")
    tx_hash: TxHash


HEX32 = r"^0x[0-9a-fA-F]{64}$"


class ProposeOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    buyer_id: StrictInt = Field(ge=1, le=MAX_ID, description="member id of the core enterprise that buys")
    amount: PositiveAmount = Field(description="order amount")
    document_hash: str = Field(pattern=HEX32, description="hash of the purchase order document")
    due_date: IsoDate = Field(description="expected payment date (ISO 8601)")


class AcceptOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    face_value: PositiveAmount = Field(description="receivable face value, at most the order amount")
    maturity: Maturity = Field(
        description="maturity: an ISO 8601 date (payable at the end of that day, UTC), or an RFC 3339 timestamp with "
        "its offset (payable from that second, e.g. 2026-12-05T23:59:59+08:00)"
    )
    invoice_hash: str = Field(pattern=HEX32, description="hash of the invoice; unique across the ledger")


class PledgeOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    financier_id: StrictInt = Field(ge=1, le=MAX_ID, description="member id of the financier that takes the pledge")


class OrderOut(BaseModel):
    id: int
    supplier_id: int
    buyer_id: int
    holder_id: int
    lienholder_id: int | None
    status: str
    amount: AmountOut
    currency: str
    document_hash: str
    due_date: str
    receivable_id: int | None
    proposed_tx: TxHash
    supplier_name: str | None = Field(None, description="display names of the parties (null: no profile)")
    buyer_name: str | None = None
    holder_name: str | None = None
    lienholder_name: str | None = None


class IssueReceivableIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    creditor_id: StrictInt = Field(ge=1, le=MAX_ID, description="member id of the supplier the obligor owes")
    face_value: PositiveAmount
    maturity: Maturity = Field(
        description="maturity: an ISO 8601 date (payable at the end of that day, UTC), or an RFC 3339 timestamp with "
        "its offset (payable from that second, e.g. 2026-12-05T23:59:59+08:00)"
    )
    invoice_hash: str = Field(pattern=HEX32, description="hash of the invoice; unique across the ledger")


class ReceivableOut(BaseModel):
    id: int
    obligor_id: int
    creditor_id: int
    face_value: AmountOut
    currency: str
    maturity: str
    invoice_hash: str
    order_id: int | None
    status: str
    first_note_id: int
    issued_tx: TxHash
    obligor_name: str | None = Field(None, description="the obligor's display name (null: no profile)")
    creditor_name: str | None = Field(None, description="the original creditor's display name (null: no profile)")


class NoteOut(BaseModel):
    id: int
    receivable_id: int | None
    holder_id: MemberRef
    value: AmountOut
    currency: str
    parent_id: int | None
    lienholder_id: MemberRef | None
    live: bool
    obligor_id: int | None
    maturity: str | None
    created_tx: TxHash
    holder_name: str | None = Field(None, description="the holder's display name (null where its id is hidden)")
    lienholder_name: str | None = Field(None, description="the lienholder's display name (null where hidden)")
    obligor_name: str | None = Field(None, description="the obligor's display name")


class SplitNoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: StrictInt = Field(ge=1, le=MAX_ID, description="member id that receives the new note")
    value: PositiveAmount


MAX_PAYMENTS = 100  # recipients of one bulk payment (the contract's MAX_PAYMENTS)


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: StrictInt = Field(ge=1, le=MAX_ID, description="member id that receives a new note")
    value: PositiveAmount


class PayFromNoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payments: list[PaymentIn] = Field(
        min_length=1,
        max_length=MAX_PAYMENTS,
        description=f"1 to {MAX_PAYMENTS} payments, each a new note of the same receivable for its recipient; "
        "all are made in one transaction, or none",
    )


class TransferNoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: StrictInt = Field(ge=1, le=MAX_ID, description="member id that receives the whole note")


class MergeNoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into: StrictInt = Field(ge=1, le=MAX_ID, description="note id of the same receivable that receives the value")
    value: PositiveAmount


class LockNoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lienholder_id: StrictInt = Field(ge=1, le=MAX_ID, description="member id of the financier the note is pledged to")


class SplitResultOut(BaseModel):
    note: NoteOut
    new_note: NoteOut


class PaymentsResultOut(BaseModel):
    note: NoteOut = Field(description="the note paid from (not live when the payments took its whole value)")
    new_notes: list[NoteOut] = Field(description="one new note per payment, in the order of the payments")
