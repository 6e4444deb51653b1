"""Commits that something outside the database relies on reach the disk before it acts (SQLite runs WAL with
`synchronous=NORMAL`, whose commits may roll back on a power loss): the signed transaction stored before its
broadcast, and an audit entry before the anchor names it. Real API, real SQLite; the engine's own events record
the commits, and recorders around the real functions the syncs, broadcasts and anchor writes, in order."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, event, text

from api.audit import anchor as audit_anchor
from chain.node.signer import SignedTx, TransactionQueue
from chain.readmodel import store
from chain.readmodel.store import durable_begin, make_engine, sqlite_file, sync_file
from tests.conftest import ServerThread, ok, random_hash


def test_durable_begin_commits_then_syncs_the_wal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    synced: list[Path] = []
    monkeypatch.setattr(store, "sync_file", lambda path: synced.append(path) or sync_file(path))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    assert synced == []  # a plain transaction: no sync
    with durable_begin(engine) as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert synced == []  # not before the commit
    assert synced == [tmp_path / "d.db-wal"]
    with pytest.raises(RuntimeError), durable_begin(engine) as conn:
        conn.execute(text("INSERT INTO t VALUES (2)"))
        raise RuntimeError("rolled back")
    assert len(synced) == 1  # nothing committed, nothing to sync
    with engine.connect() as conn:
        assert conn.execute(text("SELECT x FROM t")).scalars().all() == [1]
    engine.dispose()
    assert sqlite_file(create_engine("sqlite://")) is None  # in memory: nothing to sync


class Trace:
    """What happened, in order, across the server's threads: commits (with their statements, from the engine's
    own events), syncs of a file (`chain.readmodel.store.sync_file`), broadcasts, anchor writes. Each recorder calls the
    real function."""

    def __init__(self, engines: list[Engine], monkeypatch: pytest.MonkeyPatch) -> None:
        self.engines = engines  # the requests' and the audit writer's (a pool of its own)
        self.events: list[tuple[str, str]] = []
        self._pending: dict[int, list[str]] = {}
        self._lock = threading.Lock()
        real_sync, real_send, real_anchor = store.sync_file, TransactionQueue._send, audit_anchor.write_private

        def sync(path: Path) -> None:
            real_sync(path)
            self._add("sync", path.name)

        def send(queue: TransactionQueue, signed: SignedTx) -> str | None:
            self._add("send", signed.tx_hash)
            return real_send(queue, signed)

        def anchor(path: Path, text_: str) -> None:
            self._add("anchor", path.name)
            real_anchor(path, text_)

        monkeypatch.setattr(store, "sync_file", sync)
        monkeypatch.setattr(TransactionQueue, "_send", send)
        monkeypatch.setattr(audit_anchor, "write_private", anchor)

    def _add(self, kind: str, what: str) -> None:
        with self._lock:
            self.events.append((kind, what))

    def _statement(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        with self._lock:
            self._pending.setdefault(id(conn), []).append(" ".join(statement.split()).upper())

    def _commit(self, conn: Any) -> None:
        with self._lock:
            self.events.append(("commit", " | ".join(self._pending.pop(id(conn), []))))

    def __enter__(self) -> Trace:
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._statement)
            event.listen(engine, "commit", self._commit)
        return self

    def __exit__(self, *exc: object) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._statement)
            event.remove(engine, "commit", self._commit)

    def first(self, kind: str, contains: str = "", after: int = -1) -> int:
        for i, (k, what) in enumerate(self.events):
            if i > after and k == kind and contains in what:
                return i
        raise AssertionError(f"no {kind} {contains!r} after event {after}: {self.events}")


@pytest.fixture()
def trace(api: ServerThread, monkeypatch: pytest.MonkeyPatch) -> Iterator[Trace]:
    state = api.server.config.app.state  # type: ignore[attr-defined]
    engine: Engine = state.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("the WAL sync is SQLite's; PostgreSQL commits are durable already")
    with Trace([engine, state.audit.engine], monkeypatch) as recorded:
        yield recorded


def test_the_signed_transaction_and_the_audit_entry_are_on_disk_before_anyone_relies_on_them(
    api: ServerThread, operator_key: str, trace: Trace
) -> None:
    headers = {"Authorization": f"Bearer {operator_key}", "Idempotency-Key": f"durable-{uuid.uuid4()}"}
    with httpx.Client(base_url=api.url, timeout=60, headers=headers) as client:
        ok(client.post("/v1/members", json={"roles": ["supplier"], "kyc_hash": random_hash()}), 201)
    stored = trace.first("commit", "UPDATE IDEMPOTENCY SET STEPS")  # the signed transaction
    assert trace.first("sync", "-wal", after=stored) < trace.first("send")  # on disk before the broadcast
    entry = trace.first("commit", "INSERT INTO AUDIT_LOG")
    assert trace.first("sync", "-wal", after=entry) < trace.first("anchor", after=entry)  # on disk before its anchor
    claim = trace.first("commit", "INSERT INTO IDEMPOTENCY")  # nothing was sent yet: no sync of its own
    assert trace.events[claim + 1][0] != "sync"
