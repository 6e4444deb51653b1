"""SQLAlchemy 2 models of the read model: the raw event log, indexed blocks, checkpoint, projections.

Every projection row is derived from the `events` table alone, so dropping the projections and
replaying the events rebuilds them exactly (that is how a reorg is rolled back).
Amounts are integers in the currency's minor unit (2 decimals).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, cast

from psycopg.pq import TransactionStatus
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    event,
    insert,
    inspect,
    make_url,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import NullPool, PoolResetState

# Amounts and ids can exceed 64 bits on chain in principle; the ledger's policies keep them far
# below 2**63 (face values are bounded by credit limits), and the indexer refuses anything larger.
Amount = BigInteger
# Every other integer column: 64-bit on PostgreSQL, where INTEGER is 32-bit and a query with a larger value (an id
# an attacker makes up, `?member_id=36946552658893`) failed with "integer out of range", a 500; on SQLite an
# INTEGER is already 64-bit and an INTEGER PRIMARY KEY is the rowid that autoincrements (BIGINT would not).
Int = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Checkpoint(Base):
    """The last block whose events are all in the database (written with them, in one transaction)."""

    __tablename__ = "checkpoint"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(66))


class IndexedBlock(Base):
    """Hash of each block that contributed events and each checkpoint block, for reorg detection: only the recent
    ones (the indexer's reorg window below the checkpoint; older rows are pruned as it advances), and the blocks
    whose timestamp is stored (alerts were raised at them; kept so a rebuild needs no RPC)."""

    __tablename__ = "blocks"
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[str] = mapped_column(String(66))
    timestamp: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class EventRecord(Base):
    """One decoded log, unique by (tx hash, log index)."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index", name="uq_events_tx_log"),
        Index("ix_events_block", "block_number", "log_index"),
    )
    id: Mapped[int] = mapped_column(Int, primary_key=True, autoincrement=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(66))
    tx_hash: Mapped[str] = mapped_column(String(66), index=True)
    log_index: Mapped[int] = mapped_column(Int)
    contract: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(64), index=True)
    args: Mapped[dict[str, Any]] = mapped_column(JSON)


# ---------------------------------------------------------------------------------- projections


class Member(Base):
    __tablename__ = "members"
    id: Mapped[int] = mapped_column(Int, primary_key=True)
    account: Mapped[str] = mapped_column(String(42), unique=True)
    roles: Mapped[int] = mapped_column(Int)
    status: Mapped[str] = mapped_column(String(16))
    kyc_hash: Mapped[str] = mapped_column(String(66))
    group_id: Mapped[int] = mapped_column(BigInteger, default=0)
    credit_limit: Mapped[int] = mapped_column(Amount, default=0)
    outstanding: Mapped[int] = mapped_column(Amount, default=0)
    default_count: Mapped[int] = mapped_column(Int, default=0)
    issuance_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    admitted_block: Mapped[int] = mapped_column(BigInteger)
    admitted_tx: Mapped[str] = mapped_column(String(66))


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    supplier_id: Mapped[int] = mapped_column(Int, index=True)
    buyer_id: Mapped[int] = mapped_column(Int, index=True)
    holder_id: Mapped[int] = mapped_column(Int, index=True)
    lienholder_id: Mapped[int] = mapped_column(Int, default=0)
    status: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(Amount)
    cash_token: Mapped[str] = mapped_column(String(42))
    document_hash: Mapped[str] = mapped_column(String(66))
    due_date: Mapped[int] = mapped_column(BigInteger)
    slot_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    proposed_tx: Mapped[str] = mapped_column(String(66))
    updated_block: Mapped[int] = mapped_column(BigInteger)


class Receivable(Base):
    """A slot: one confirmed receivable."""

    __tablename__ = "receivables"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    obligor_id: Mapped[int] = mapped_column(Int, index=True)
    creditor_id: Mapped[int] = mapped_column(Int, index=True)
    face_value: Mapped[int] = mapped_column(Amount)
    cash_token: Mapped[str] = mapped_column(String(42))
    maturity: Mapped[int] = mapped_column(BigInteger, index=True)
    invoice_hash: Mapped[str] = mapped_column(String(66), unique=True)
    order_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    first_note_id: Mapped[int] = mapped_column(BigInteger)
    issued_block: Mapped[int] = mapped_column(BigInteger)
    issued_tx: Mapped[str] = mapped_column(String(66))


class Note(Base):
    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_holder_live", "holder_id", "live"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    slot_id: Mapped[int | None] = mapped_column(BigInteger, index=True, nullable=True)
    holder_id: Mapped[int] = mapped_column(Int)
    value: Mapped[int] = mapped_column(Amount, default=0)
    parent_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    lienholder_id: Mapped[int] = mapped_column(Int, default=0)
    live: Mapped[bool] = mapped_column(Boolean, default=True)
    created_block: Mapped[int] = mapped_column(BigInteger)
    created_tx: Mapped[str] = mapped_column(String(66))


class HoldingTotal(Base):
    """Maintained aggregate of the live notes: count and value per (holder, receivable, lienholder).

    Updated by the projections with every note change (mint, split, merge, burn, transfer, lock, release) in
    the indexer's transaction, so `GET /v1/verify/holdings` groups a few rows per receivable instead of every
    note. `slot_id` 0 stands for a note whose receivable is not known yet; `lienholder_id` 0 for unpledged.
    The receivable's obligor and maturity are copied in (a receivable's terms never change; NULL while the
    receivable is not known), so the holdings query reads this table alone. Clustered by its key on SQLite
    (WITHOUT ROWID): a holder's rows are read in one range scan. The index by (holder, maturity) carries every
    column the holdings query reads: it sums each maturity bucket over one range of the index, no table lookup.
    """

    __tablename__ = "holding_totals"
    __table_args__ = (
        Index("ix_holding_totals_maturity", "holder_id", "maturity", "obligor_id", "lienholder_id", "count", "value"),
        {"sqlite_with_rowid": False},
    )
    holder_id: Mapped[int] = mapped_column(Int, primary_key=True)
    slot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    lienholder_id: Mapped[int] = mapped_column(Int, primary_key=True)
    count: Mapped[int] = mapped_column(Int, default=0)
    value: Mapped[int] = mapped_column(Amount, default=0)
    obligor_id: Mapped[int | None] = mapped_column(Int, nullable=True)
    maturity: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ValueMove(Base):
    """Every ERC-3525 value movement (mint, split, merge, burn) and whole-note transfer."""

    __tablename__ = "value_moves"
    id: Mapped[int] = mapped_column(Int, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # mint | split | move | burn | transfer
    from_note_id: Mapped[int] = mapped_column(BigInteger, index=True)
    to_note_id: Mapped[int] = mapped_column(BigInteger, index=True)
    from_member_id: Mapped[int] = mapped_column(Int, default=0)
    to_member_id: Mapped[int] = mapped_column(Int, default=0)
    value: Mapped[int] = mapped_column(Amount, default=0)
    block_number: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66))


class Offer(Base):
    """A factoring offer: a financier offers to buy `value` of a note at a yearly discount rate."""

    __tablename__ = "offers"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    note_id: Mapped[int] = mapped_column(BigInteger, index=True)
    financier_id: Mapped[int] = mapped_column(Int, index=True)
    value: Mapped[int] = mapped_column(Amount)
    rate_bps: Mapped[int] = mapped_column(Int)
    recourse: Mapped[bool] = mapped_column(Boolean)
    expiry: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # open | accepted | cancelled
    purchase_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_tx: Mapped[str] = mapped_column(String(66))
    updated_block: Mapped[int] = mapped_column(BigInteger)


class Purchase(Base):
    """An accepted offer: the financier bought `value` of a note for `price` (atomic DvP)."""

    __tablename__ = "purchases"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    offer_id: Mapped[int] = mapped_column(BigInteger, index=True)
    note_id: Mapped[int] = mapped_column(BigInteger, index=True)  # the note the financier received
    seller_id: Mapped[int] = mapped_column(Int, index=True)
    financier_id: Mapped[int] = mapped_column(Int, index=True)
    value: Mapped[int] = mapped_column(Amount)
    price: Mapped[int] = mapped_column(Amount)
    recourse_status: Mapped[str] = mapped_column(String(16), default="none")  # none | claimed | paid
    recourse_amount: Mapped[int] = mapped_column(Amount, default=0)
    tx_hash: Mapped[str] = mapped_column(String(66))
    block_number: Mapped[int] = mapped_column(BigInteger)


class Loan(Base):
    """An order-financing loan secured by a pledge of the order (and later of its note)."""

    __tablename__ = "loans"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger, index=True)
    financier_id: Mapped[int] = mapped_column(Int, index=True)
    borrower_id: Mapped[int] = mapped_column(Int, index=True)
    principal: Mapped[int] = mapped_column(Amount)
    rate_bps: Mapped[int] = mapped_column(Int)
    due_date: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # active | repaid | foreclosed
    interest_paid: Mapped[int] = mapped_column(Amount, default=0)
    foreclosed_value: Mapped[int] = mapped_column(Amount, default=0)
    taken_note_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    opened_tx: Mapped[str] = mapped_column(String(66))
    updated_block: Mapped[int] = mapped_column(BigInteger)


class Funding(Base):
    """Settlement state of a receivable: cash the obligor paid in and cash paid out to holders."""

    __tablename__ = "fundings"
    slot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    funded: Mapped[int] = mapped_column(Amount, default=0)
    paid: Mapped[int] = mapped_column(Amount, default=0)
    unpaid_at_default: Mapped[int] = mapped_column(Amount, default=0)
    updated_block: Mapped[int] = mapped_column(BigInteger)


class CashMove(Base):
    """Every cash token movement: mint (deposit), burn (withdrawal) and transfer."""

    __tablename__ = "cash_moves"
    id: Mapped[int] = mapped_column(Int, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # mint | burn | transfer
    from_account: Mapped[str] = mapped_column(String(42), index=True)
    to_account: Mapped[str] = mapped_column(String(42), index=True)
    amount: Mapped[int] = mapped_column(Amount)
    block_number: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66))


class Alert(Base):
    """A regulator alert raised by a rule over the projections (see chain/readmodel/alerts.py); unique by `key`."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Int, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)  # rule + digest of what makes it distinct
    rule: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[str] = mapped_column(String(16), index=True)  # low | medium | high
    members: Mapped[list[int]] = mapped_column(JSON)
    evidence: Mapped[list[str]] = mapped_column(JSON)  # tx hashes
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AlertMember(Base):
    """Alert <-> member, to filter alerts by member without JSON queries."""

    __tablename__ = "alert_members"
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(Int, primary_key=True, index=True)


PROJECTIONS: list[type[Base]] = [
    AlertMember,
    Alert,
    CashMove,
    Funding,
    Loan,
    Purchase,
    Offer,
    ValueMove,
    HoldingTotal,
    Note,
    Receivable,
    Order,
    Member,
]


def table(model: type[Base]) -> Table:
    """A model's Core table, for bulk executemany inserts and updates that skip the ORM's unit of work."""
    return cast(Table, model.__table__)


def bulk_insert(session: Session, target: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Inserts `rows` (dicts with the same keys, column names) with one executemany in the session's transaction.

    On SQLite the rows go straight to the driver's cursor, JSON columns serialised here as SQLAlchemy would
    (`json.dumps`): SQLAlchemy's per-row parameter processing of a Core executemany cost as much CPU as SQLite's
    own insert (profiled on the indexer's catch-up). Other databases take the Core insert."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        connection.execute(insert(target), list(rows))
        return
    names = list(rows[0])
    columns = ", ".join(f'"{name}"' for name in names)
    sql = f'INSERT INTO "{target.name}" ({columns}) VALUES ({", ".join("?" * len(names))})'
    # a row's values by one C call (itemgetter), the JSON columns encoded in place: a generator per row over its
    # columns cost about as much as the JSON encoding of the events' arguments (0.34 of 0.87 ms for 256 events)
    values_of = itemgetter(*names)
    params: list[Any] = [values_of(row) for row in rows] if len(names) > 1 else [(values_of(row),) for row in rows]
    encoded = [at for at, name in enumerate(names) if isinstance(target.c[name].type, JSON)]
    if encoded:
        for index, values in enumerate(params):
            row = list(values)
            for at in encoded:
                row[at] = json.dumps(row[at])
            params[index] = tuple(row)  # (the driver call takes tuples or dicts)
    connection.exec_driver_sql(sql, params)


# A write request holds its session while its transaction is mined, and the API serves up to 40 requests at
# once (Starlette's thread pool): the pool must not be the bottleneck (SQLAlchemy's default is 5 + 10).
POOL_SIZE = 40


def make_engine(url: str, busy_timeout: float = 30.0, pool_size: int = POOL_SIZE) -> Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so the API and the indexer can share it.

    `busy_timeout`: seconds a statement waits for another connection's lock before it fails, and a checkout waits
    for a free connection of the pool (`pool_size`, as many again on overflow) before it fails."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": busy_timeout, "check_same_thread": False},
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_timeout=busy_timeout,
            pool_reset_on_return=None,  # `_reset_on_return` below does it
        )
        event.listen(engine, "reset", _reset_on_return)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=busy_timeout,
        pool_reset_on_return=None,  # `_reset_on_return` below does it
    )
    event.listen(engine, "reset", _reset_on_return)
    return engine


def _reset_on_return(dbapi_conn: Any, _record: Any, state: PoolResetState) -> None:
    """The pool's reset of a connection given back: a rollback only when the driver says a transaction is open,
    never on an idle connection. SQLAlchemy's own reset calls the driver's `rollback()` at every check-in, an idle
    connection's too (after a commit, or after the session rolled back itself): the drivers answer that one without
    a round trip, psycopg after taking its lock and running its generators, which is the CPU this saves. A rollback
    that fails makes the pool discard the connection (SQLAlchemy invalidates a connection whose reset raised), so no
    connection with an open transaction goes back to the pool."""
    if state.terminate_only or not state.asyncio_safe:  # discarded, not pooled: nothing to reset
        return
    if _in_transaction(dbapi_conn):
        dbapi_conn.rollback()


def _in_transaction(dbapi_conn: Any) -> bool:
    """Whether the driver's connection has a transaction open: sqlite3's `in_transaction`; psycopg's
    `info.transaction_status` anything but idle (in a transaction, failed in one, a statement still active, or a
    state it does not know, such as a broken connection: the rollback then fails and the pool discards it)."""
    if isinstance(dbapi_conn, sqlite3.Connection):
        return dbapi_conn.in_transaction
    return bool(dbapi_conn.info.transaction_status != TransactionStatus.IDLE)


def end_read(session: Session) -> None:
    """Ends a read's transaction with a COMMIT, not the ROLLBACK that closing the session would send: the same for
    a transaction that wrote nothing, one round trip either way. psycopg forgets its prepared statements at every
    ROLLBACK (it must: one may have undone what they refer to) and keeps them past a COMMIT, so a read's statements,
    prepared by psycopg from their sixth use on a connection, stay prepared on the pooled connection and PostgreSQL
    no longer parses and plans them at every request (a typical holder's two statements: about 1.0 -> 0.33 ms of
    the server's CPU, docs/performance.md, reads round 5). Call it once the read's answer is built, on a session
    that has written nothing. SQLite: a read opens no transaction there, nothing is sent."""
    session.commit()


def ensure_database(admin_url: str, name: str) -> str:
    """The URL of PostgreSQL database `name` on the server of `admin_url` (an SQLAlchemy URL of a role that may
    create databases), created empty when missing; `make run-pg` and the read benchmark use it."""
    if not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise ValueError(f"not a plain database name: {name!r}")
    url = make_url(admin_url)
    if not url.drivername.startswith("postgresql"):
        raise ValueError(f"not a PostgreSQL URL: {url.render_as_string()}")
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": name}) is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@contextmanager
def durable_begin(engine: Engine) -> Iterator[Connection]:
    """`engine.begin()` for a transaction whose commit must be on disk before the caller acts on it: the signed
    transaction stored before it is broadcast (a retry after any crash must find it, or it would sign and send a
    second one), an audit entry before its anchor names it (an anchor ahead of the log reads as truncation).

    SQLite runs WAL with `synchronous=NORMAL`: a commit survives a crash of the process, but may roll back on a
    power loss or a crash of the machine until the WAL reaches the disk. After this transaction commits, the WAL
    file is fsync'd, which makes this commit and every one before it durable. (If a checkpoint already moved the
    commit into the database file, SQLite synced that file before it may reuse the WAL.) The sync runs after the
    commit, outside SQLite's write lock: `synchronous=FULL`, which syncs inside the lock, made every other writer
    wait for the disk and raised the service's p99 (docs/performance-history.md). PostgreSQL commits are durable by
    default (`synchronous_commit=on`)."""
    with engine.begin() as conn:
        yield conn
    path = sqlite_file(engine)
    if path is not None:
        wal = path.with_name(f"{path.name}-wal")
        sync_file(wal if wal.exists() else path)


def sqlite_file(engine: Engine) -> Path | None:
    """The database file of a SQLite engine on disk; None for PostgreSQL or an in-memory database."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def sync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_schema(engine: Engine) -> None:
    """Creates the missing tables. A projection table of an older layout (today: `holding_totals` without the
    receivable's obligor and maturity) is dropped first: it is re-created empty, and the indexer, finding live
    notes and no totals, rebuilds the projections from the event log (`Indexer._fill_new_projections`)."""
    holding_totals = table(HoldingTotal)
    inspector = inspect(engine)
    if inspector.has_table(holding_totals.name):
        stored = {str(column["name"]) for column in inspector.get_columns(holding_totals.name)}
        if not {column.name for column in holding_totals.columns} <= stored:
            holding_totals.drop(engine)
    Base.metadata.create_all(engine)
    for index in holding_totals.indexes:  # create_all adds no index to a table that exists already
        index.create(engine, checkfirst=True)
