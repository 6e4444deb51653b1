"""Request and response bodies of cash, settlement and operator member administration."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from api.amounts import Amount, AmountOut, PositiveAmount
from api.hexes import TxHash
from api.schemas.core import MAX_ID, MemberOut
from api.strict import Text

MAX_BATCH = 500  # the notes contract allows at most 500 live notes per receivable

# ---------------------------------------------------------------------------------------- cash


class CashBalanceOut(BaseModel):
    member_id: int
    account: str = Field(description="the member's current signing address")
    balance: AmountOut
    currency: str


class CashMoveOut(BaseModel):
    id: int
    kind: str = Field(description="mint (deposit), burn (withdrawal) or transfer")
    direction: str = Field(description="in or out, seen from the member")
    from_account: str
    to_account: str
    counterparty_id: int | None = Field(
        description="member id on the other side (None: deposit, withdrawal, or a ledger contract such as escrow)"
    )
    amount: AmountOut
    currency: str
    block_number: int
    tx_hash: TxHash


class MintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: StrictInt = Field(ge=1, le=MAX_ID, description="member credited with the deposit")
    amount: PositiveAmount
    reference: Text = Field(min_length=1, max_length=128, description="deposit reference; keccak-256 goes on chain")


class MintCeilingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ceiling: Amount = Field(description="the most the financier may have outstanding (minted minus burned)")


class MintCeilingOut(BaseModel):
    member_id: int
    ceiling: AmountOut = Field(description="set by the operator; 0 until set, so a new financier cannot mint")
    outstanding: AmountOut = Field(description="what the financier minted minus what it burned")
    available: AmountOut = Field(description="what it may still mint: ceiling - outstanding, at least 0")
    currency: str


class BurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: PositiveAmount
    reference: Text = Field(min_length=1, max_length=128, description="withdrawal reference; keccak-256 goes on chain")


class CashTransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: StrictInt = Field(ge=1, le=MAX_ID, description="member id that receives the cash")
    amount: PositiveAmount


class CashWriteOut(BaseModel):
    balance: CashBalanceOut = Field(description="the affected member's balance after the transaction")
    tx_hash: TxHash


# ---------------------------------------------------------------------------------- settlement


class FundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: PositiveAmount


class NoteBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note_ids: list[Annotated[StrictInt, Field(ge=1, le=MAX_ID)]] | None = Field(
        None,
        min_length=1,
        max_length=MAX_BATCH,
        description="notes to pay; default: every live note of the receivable in the read model",
    )


class FundingOut(BaseModel):
    receivable_id: int
    obligor_id: int
    face_value: AmountOut
    funded: AmountOut
    paid: AmountOut
    unfunded: AmountOut = Field(description="face value not yet funded by the obligor")
    unpaid_at_default: AmountOut
    currency: str
    maturity: str
    status: str = Field(description="receivable status: active, settled or defaulted")
    funding_status: str = Field(description="unfunded, partially_funded or fully_funded")
    live_notes: int


class SettlementResultOut(BaseModel):
    receivable: FundingOut
    note_ids: list[int] = Field(description="notes paid (and burned) by this request")
    tx_hashes: list[TxHash]


# ------------------------------------------------------------------------- member administration


class CreditLimitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credit_limit: Amount = Field(description="maximum outstanding face value as obligor")


class RotatedKeyOut(BaseModel):
    member: MemberOut
    old_account: str
    recovered_cash: AmountOut = Field(description="cash moved from the old account to the new one")
