"""The pool's reset when a connection is given back (chain.readmodel.store.make_engine): a rollback only when the
driver has a transaction open, and never a connection with an open transaction back in the pool.

Real databases: the test world's (SQLite in a temporary dir, or a fresh PostgreSQL database in the PostgreSQL pass).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, text

from chain.readmodel.store import _in_transaction, make_engine
from tests.conftest import PG_ADMIN_URL, database_url_of

needs_postgresql = pytest.mark.skipif(PG_ADMIN_URL is None, reason="psycopg's transaction states: PostgreSQL pass")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(database_url_of(tmp_path), pool_size=1)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    yield engine
    engine.dispose()


def _driver(raw: Any) -> Any:
    return raw.driver_connection


def test_a_connection_given_back_in_a_transaction_comes_back_without_it(engine: Engine) -> None:
    """A connection checked in with a write not committed (a route that failed half way, a session never closed
    properly): the pool rolls it back, so the next checkout has no transaction and the write is gone."""
    raw = engine.raw_connection()
    first = _driver(raw)
    cursor = raw.cursor()
    cursor.execute("INSERT INTO t (x) VALUES (1)")
    cursor.close()
    assert _in_transaction(first)
    raw.close()  # back to the pool
    again = engine.raw_connection()
    try:
        assert _driver(again) is first  # the same pooled connection (pool of one)
        assert not _in_transaction(first)
    finally:
        again.close()
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM t")) == 0


def test_a_session_that_committed_gives_back_an_idle_connection(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (x) VALUES (2)"))
    raw = engine.raw_connection()
    try:
        assert not _in_transaction(_driver(raw))
    finally:
        raw.close()
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM t")) == 1


@needs_postgresql
def test_an_idle_connection_is_not_rolled_back(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a commit (or the session's own rollback) the connection is idle: no `rollback()` call at check-in
    (SQLAlchemy's default reset called it on every check-in; psycopg answered it after taking its lock)."""
    calls: list[object] = []
    real = psycopg.Connection.rollback

    def counting(self: psycopg.Connection[Any]) -> None:
        calls.append(self)
        real(self)

    monkeypatch.setattr(psycopg.Connection, "rollback", counting)
    for _ in range(3):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t (x) VALUES (3)"))
    assert calls == []
    with engine.connect() as conn:  # a read, then the session's rollback: one call, from the Connection itself
        conn.execute(text("SELECT 1"))
    assert len(calls) == 1


@needs_postgresql
def test_a_failed_transaction_is_rolled_back_at_check_in(engine: Engine) -> None:
    raw = engine.raw_connection()
    first = _driver(raw)
    cursor = raw.cursor()
    with pytest.raises(psycopg.errors.UndefinedTable):
        cursor.execute("SELECT * FROM no_such_table")
    assert first.info.transaction_status == TransactionStatus.INERROR
    raw.close()
    again = engine.raw_connection()
    try:
        assert _driver(again) is first
        assert first.info.transaction_status == TransactionStatus.IDLE
        cursor = again.cursor()
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    finally:
        again.close()


@needs_postgresql
def test_a_connection_the_server_dropped_in_a_transaction_is_discarded(engine: Engine) -> None:
    """The rollback at check-in fails (the backend is gone): the pool discards the connection, and the next checkout
    is a new one that works."""
    raw = engine.raw_connection()
    first = _driver(raw)
    cursor = raw.cursor()
    cursor.execute("SELECT pg_backend_pid()")
    (pid,) = cursor.fetchone()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    raw.close()
    with engine.connect() as conn:
        assert conn.connection.driver_connection is not first
        assert conn.scalar(text("SELECT pg_backend_pid()")) != pid
