"""Request and response bodies of self-custody: challenges, signed transactions, a member's own key rotation."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

ADDRESS = r"^0x[0-9a-fA-F]{40}$"


class ChallengeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(pattern=ADDRESS, description="the address the member controls")


class ChallengeOut(BaseModel):
    challenge_id: str
    address: str
    message: str = Field(description="sign this text with personal_sign (EIP-191)")
    expires_at: str


class SignedTxIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    raw: str = Field(pattern=r"^0x[0-9a-fA-F]+$", max_length=262_144, description="the signed transaction")
    prepared_id: str | None = Field(None, pattern=r"^[0-9a-f]{32}$", description="from the 202 answer")


class RotationChallengeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_address: str = Field(pattern=ADDRESS, description="the member's new address")


class OwnKeyRotationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_address: str = Field(pattern=ADDRESS)
    challenge_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="from POST .../rotation-challenge")
    old_signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="the challenge signed by the current key")
    new_signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="the challenge signed by the new key")
