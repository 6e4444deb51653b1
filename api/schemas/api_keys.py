"""Request and response bodies of a member's API keys."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.strict import Text


class ApiKeyOut(BaseModel):
    id: int
    member_id: int
    hint: str = Field(description="the key's first characters, to tell keys apart; the key itself is never stored")
    label: str
    created_at: datetime
    revoked_at: datetime | None
    active: bool


class IssueApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Text = Field("", max_length=64, description="what the key is for, e.g. `erp-connector`")


class IssuedApiKeyOut(BaseModel):
    key: ApiKeyOut
    api_key: str = Field(description="the new API key; shown only in this response (and its idempotent replay)")
