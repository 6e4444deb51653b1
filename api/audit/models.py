"""The audit log's tables: the hash-chained entries and the one-row head that serialises appends."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from chain.readmodel.store import Base, Int

GENESIS_HASH = "0" * 64
HEAD_ID = 1
MAX_PATH = 2048


class AuditEntry(Base):
    """One audited API action, hash-chained to the previous one. Not a projection: never rebuilt."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32), index=True)  # ISO 8601 UTC, microseconds, "Z"
    request_id: Mapped[str] = mapped_column(String(128), index=True)
    member_id: Mapped[int | None] = mapped_column(Int, nullable=True, index=True)
    api_key_id: Mapped[int | None] = mapped_column(Int, nullable=True)
    method: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(MAX_PATH))
    action: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[int] = mapped_column(Int)
    result: Mapped[str] = mapped_column(String(16), index=True)  # ok | rejected | error
    problem_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    tx_hashes: Mapped[list[str]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The chain's head (one row, id 1): updated first in every append, so appends are serialised."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Int, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AuditUnavailableError(Exception):
    """The audit log cannot be read or written."""
