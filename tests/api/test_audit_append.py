"""The audit writer's appends on the test world's database (SQLite in a temporary dir, or a fresh PostgreSQL
database in the PostgreSQL pass): one gapless chain across two logs (as two processes), and on PostgreSQL the
batch's two round trips on a connection the writer holds, replaced when the server dropped it.

Real databases, no mocks: the round trips are counted in libpq's own trace of the connection.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from api.audit import ANCHOR_FILE, PENDING_FILE, Anchor, AuditDraft, AuditLog, load_entries, read_anchor, verify_chain
from chain.readmodel.store import create_schema, make_engine
from tests.conftest import PG_ADMIN_URL, database_url_of

needs_postgresql = pytest.mark.skipif(PG_ADMIN_URL is None, reason="the pipelined append: PostgreSQL pass")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(database_url_of(tmp_path), pool_size=2)
    create_schema(engine)
    yield engine
    engine.dispose()


def _draft(request_id: str) -> AuditDraft:
    return AuditDraft(
        at="2026-12-05T20:00:00.000000Z",
        request_id=request_id,
        method="GET",
        path="/v1/verify/notes/1",
        action="verify_note",
        idempotency_key=None,
        status=200,
        problem_type=None,
        tx_hashes=["0x" + "ab" * 32],
    )


def _entries(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as session:
        return load_entries(session)


def test_two_logs_append_one_gapless_chain(engine: Engine, tmp_path: Path) -> None:
    """Two AuditLogs on one database (as two processes of `scf serve --workers`), 40 appends from 40 threads: the
    head row serialises them into one chain, and the anchor names its head."""
    audits = [AuditLog(engine, tmp_path) for _ in range(2)]
    audits[0].ensure_head()
    with ThreadPoolExecutor(max_workers=40) as pool:
        seqs = list(pool.map(lambda i: audits[i % 2].append(_draft(f"r{i}")), range(40)))
    assert sorted(s for s in seqs if s is not None) == list(range(1, 41))
    entries = _entries(engine)
    assert [e["tx_hashes"] for e in entries] == [["0x" + "ab" * 32]] * 40
    anchor = read_anchor(tmp_path / ANCHOR_FILE)
    assert anchor == Anchor(40, entries[-1]["hash"])
    assert verify_chain(entries, anchor).ok


@needs_postgresql
def test_the_writer_holds_one_connection_across_batches(engine: Engine, tmp_path: Path) -> None:
    """Batches one after the other take one connection from the pool, not one each (each checkout was a pre-ping's
    round trip and a check-in)."""
    audit = AuditLog(engine, tmp_path)
    audit.ensure_head()
    checkouts: list[object] = []

    def count(*args: object) -> None:
        checkouts.append(args)

    event.listen(engine.pool, "checkout", count)
    try:
        assert [audit.append(_draft(f"r{i}")) for i in range(5)] == [1, 2, 3, 4, 5]
    finally:
        event.remove(engine.pool, "checkout", count)
    assert len(checkouts) == 1
    assert verify_chain(_entries(engine), read_anchor(tmp_path / ANCHOR_FILE)).ok


def _held_connection(audit: AuditLog) -> psycopg.Connection[Any]:
    held = audit._held
    assert held is not None, "the writer holds its connection while it runs"
    conn = held.driver_connection
    assert isinstance(conn, psycopg.Connection)
    return conn


@needs_postgresql
def test_a_batch_is_two_round_trips(engine: Engine, tmp_path: Path) -> None:
    """libpq's trace of the writer's connection during one batch of one entry: the messages that make the server
    answer (a Sync ends each round trip of the extended protocol, a Query each simple one) number two: the head's
    lock and read with the BEGIN, then the insert, the head's update and the COMMIT. Six before."""
    audit = AuditLog(engine, tmp_path)
    audit.ensure_head()
    assert audit.append(_draft("warm")) == 1
    conn = _held_connection(audit)
    trace = tmp_path / "libpq.trace"
    fd = os.open(trace, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        conn.pgconn.trace(fd)
        conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        assert audit.append(_draft("traced")) == 2
        conn.pgconn.untrace()
    finally:
        os.close(fd)
    sent = [line.split("\t") for line in trace.read_text().splitlines() if line.startswith("F\t")]
    answered = [message for _f, _len, message, *_rest in sent if message.split()[0] in ("Sync", "Query")]
    assert len(answered) == 2, trace.read_text()
    assert verify_chain(_entries(engine), read_anchor(tmp_path / ANCHOR_FILE)).ok


@needs_postgresql
def test_a_dropped_writer_connection_is_replaced_without_spooling(engine: Engine, tmp_path: Path) -> None:
    """The server ends the writer's connection between batches (a restart, an idle timeout): the next batch fails
    at its first round trip, before anything is written, and is appended on a new connection: no spool, no
    `Audit-Pending`, one gapless chain."""
    audit = AuditLog(engine, tmp_path)
    audit.ensure_head()
    assert audit.append(_draft("before")) == 1
    dropped = _held_connection(audit)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped.info.backend_pid})
    assert audit.append(_draft("after")) == 2
    assert _held_connection(audit) is not dropped
    assert not (tmp_path / PENDING_FILE).exists()
    entries = _entries(engine)
    assert [e["request_id"] for e in entries] == ["before", "after"]
    assert verify_chain(entries, read_anchor(tmp_path / ANCHOR_FILE)).ok
