"""Service-owned tables (not derived from events): API keys, custody of member keys, idempotency."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chain.readmodel.store import Base, Int

OPERATOR = 0  # principal id of the consortium operator (members have ids >= 1)
KEY_PREFIX = "scf_"


def now() -> datetime:
    return datetime.now(UTC)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class ApiKey(Base):
    """An API key, stored only as its SHA-256; bound to one member (or the operator)."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Int, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(Int, index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))  # first characters, to tell keys apart
    label: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CustodyAccount(Base):
    """Which encrypted keystore signs for which member."""

    __tablename__ = "custody_accounts"
    account: Mapped[str] = mapped_column(String(42), primary_key=True)
    member_id: Mapped[int | None] = mapped_column(Int, unique=True, nullable=True)
    keystore: Mapped[str] = mapped_column(String(64))


class IdempotencyRecord(Base):
    """A POST with an Idempotency-Key: stored before any transaction is sent, completed with the response.

    `steps` holds every signed transaction of the request (raw bytes and hash) before it is
    broadcast, so a retry after a crash re-broadcasts the same signed transactions instead of
    signing new ones.
    """

    __tablename__ = "idempotency"
    principal: Mapped[int] = mapped_column(Int, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(512))
    body_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # in_flight | done
    status_code: Mapped[int | None] = mapped_column(Int, nullable=True)
    response: Mapped[Any] = mapped_column(JSON, nullable=True)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)
    note: Mapped[str] = mapped_column(Text, default="")


class IdempotencyTx(Base):
    """Which request a signed transaction belongs to: one transaction hash, one request.

    Written with the signed transaction's step, before its broadcast. Signing is deterministic, so once the node
    lost a transaction (a reorg, a restart that lost blocks) another request for the same call from the same
    account can sign to the very same bytes with the freed nonce; the primary key refuses the second owner, so a
    retry of the first can never take the second's receipt for its own (api/writes.py)."""

    __tablename__ = "idempotency_txs"
    tx_hash: Mapped[str] = mapped_column(String(66), primary_key=True)
    principal: Mapped[int] = mapped_column(Int)
    key: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(42))
    nonce: Mapped[int] = mapped_column(BigInteger)


class SharingGrant(Base):
    """A member lets a financier read its holdings (`GET /v1/verify/holdings/{member_id}`).

    Off chain and service-owned: a read-model rebuild leaves it alone. One row per (member, financier):
    granting again renews the grant (new expiry, revocation cleared); revoking stamps `revoked_at`.
    """

    __tablename__ = "sharing_grants"
    member_id: Mapped[int] = mapped_column(Int, primary_key=True)
    financier_id: Mapped[int] = mapped_column(Int, primary_key=True, index=True)
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SelfCustodyAccount(Base):
    """A member that holds its own key (docs/permissions.md): the service keeps only its address, never a key."""

    __tablename__ = "self_custody_accounts"
    account: Mapped[str] = mapped_column(String(42), primary_key=True)
    member_id: Mapped[int | None] = mapped_column(Int, unique=True, nullable=True)
    admitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class CustodyChallenge(Base):
    """A single-use, expiring message an address signs (EIP-191) to prove that its owner controls it."""

    __tablename__ = "custody_challenges"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    address: Mapped[str] = mapped_column(String(42), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # admit | rotate
    member_id: Mapped[int | None] = mapped_column(Int, nullable=True)  # rotate: the member whose key changes
    message: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PreparedTransaction(Base):
    """A transaction the service prepared for a self-custody member to sign (api/selfcustody.py).

    It names the request that needs it (idempotency record and step, and the request itself, without its
    credentials) so that submitting the signed transaction finishes that request exactly as a custodial write."""

    __tablename__ = "prepared_transactions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    principal: Mapped[int] = mapped_column(Int, index=True)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    step: Mapped[int] = mapped_column(Int)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(512))
    query: Mapped[str] = mapped_column(Text, default="")
    headers: Mapped[Any] = mapped_column(JSON)  # content-type and accept-language of the request; no credentials
    body: Mapped[str] = mapped_column(Text)  # hex of the request body
    sender: Mapped[str] = mapped_column(String(42), index=True)
    nonce: Mapped[int] = mapped_column(Int)
    fields: Mapped[Any] = mapped_column(JSON)  # the transaction to sign: to, data, value, gas, chainId, nonce, fees
    summary: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))  # prepared | signed | replaced
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    raw: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class MemberProfile(Base):
    """A member's names and registration codes (operator-entered at admission or by an update). Service data: a
    read-model rebuild from events keeps it. `profile_hash` is keccak of its canonical JSON (api/profiles.py), the
    KYC hash the operator put on chain for it."""

    __tablename__ = "member_profiles"
    member_id: Mapped[int] = mapped_column(Int, primary_key=True)
    legal_name_zh: Mapped[str] = mapped_column(String(200), index=True)
    legal_name_en: Mapped[str] = mapped_column(String(200), index=True)
    display_name: Mapped[str] = mapped_column(String(64), index=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    lei: Mapped[str | None] = mapped_column(String(20), nullable=True)
    contact: Mapped[str | None] = mapped_column(String(200), nullable=True)
    profile_hash: Mapped[str] = mapped_column(String(66))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)


class FinancingRequest(Base):
    """A supplier asks banks for factoring offers on a note (or part of one): an off-chain record (service data, a
    read-model rebuild keeps it). The offers that answer it and the sale stay on chain (`FinancingRequestOffer` links
    them). `status` is stored as open | offered | accepted | withdrawn; `expired` is read from `expires_at`."""

    __tablename__ = "financing_requests"
    id: Mapped[int] = mapped_column(Int, primary_key=True, autoincrement=True)
    requester_id: Mapped[int] = mapped_column(Int, index=True)
    note_id: Mapped[int] = mapped_column(BigInteger, index=True)
    slot_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    value: Mapped[int] = mapped_column(BigInteger)
    target_rate_bps: Mapped[int | None] = mapped_column(Int, nullable=True)
    recourse: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    accepted_offer_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class FinancingRequestBank(Base):
    """A bank asked by a financing request: it sees the request and may answer it."""

    __tablename__ = "financing_request_banks"
    request_id: Mapped[int] = mapped_column(ForeignKey("financing_requests.id", ondelete="CASCADE"), primary_key=True)
    financier_id: Mapped[int] = mapped_column(Int, primary_key=True, index=True)


class FinancingRequestOffer(Base):
    """An on-chain offer made in answer to a financing request (one request per offer)."""

    __tablename__ = "financing_request_offers"
    offer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("financing_requests.id", ondelete="CASCADE"), index=True)
    financier_id: Mapped[int] = mapped_column(Int)
