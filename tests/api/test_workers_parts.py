"""The parts of `scf serve --workers` that a reader process relies on (api/workers.py), on a real database and real
HTTP: waits for a block follow the checkpoint row another process moves; the audit spool is one process's at a
time; a writer that does not answer gives a problem in the caller's language."""

from __future__ import annotations

import fcntl
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy.orm import Session
from starlette.types import Receive, Scope, Send

from api.audit import AuditDraft, AuditLog, utc_iso, verify_database
from api.ledger import CheckpointFollower
from api.workers import ForwardToWriter
from chain.readmodel.indexer import _set_checkpoint
from chain.readmodel.store import create_schema, make_engine
from tests.conftest import ServerThread, database_url_of


def _move_checkpoint(url: str, number: int) -> None:
    engine = make_engine(url)  # the writer's connections, not the follower's
    try:
        with Session(engine) as session, session.begin():
            _set_checkpoint(session, number, f"{number:064x}")
    finally:
        engine.dispose()


def test_a_follower_waits_for_the_checkpoint_another_process_moves(tmp_path: Path) -> None:
    url = database_url_of(tmp_path)
    engine = make_engine(url)
    create_schema(engine)
    follower = CheckpointFollower(engine)
    try:
        assert follower.wait_for_block(1, timeout=0.2) is False  # no checkpoint yet
        _move_checkpoint(url, 5)
        assert follower.wait_for_block(5, timeout=5) is True
        assert follower.wait_for_block(6, timeout=0.2) is False
        mover = threading.Thread(target=_move_checkpoint, args=(url, 7))
        mover.start()
        assert follower.wait_for_block(7, timeout=60) is True  # seen while it waits
        mover.join()
    finally:
        engine.dispose()


def test_a_follower_behind_asks_the_writer_for_a_pass_once(tmp_path: Path) -> None:
    """The nudge is the writer's pass (here: moving the checkpoint as its indexer would); asked once per wait, only
    when the checkpoint is behind, and the checkpoint row decides the answer, not the nudge."""
    url = database_url_of(tmp_path)
    engine = make_engine(url)
    create_schema(engine)
    asked: list[int] = []

    def nudge(block: int, timeout: float) -> None:
        asked.append(block)
        if block <= 9:  # the writer's indexer reaches it; block 12 is not on its chain yet
            _move_checkpoint(url, block)

    follower = CheckpointFollower(engine, nudge=nudge)
    try:
        assert follower.wait_for_block(9, timeout=60) is True
        assert asked == [9]
        assert follower.wait_for_block(8, timeout=60) is True  # reached already: no ask
        assert asked == [9]
        assert follower.wait_for_block(12, timeout=0.3) is False  # asked once, then polled until the timeout
        assert asked == [9, 12]
    finally:
        engine.dispose()


def test_a_drain_waits_for_the_spool_lock_another_process_holds(tmp_path: Path) -> None:
    engine = make_engine(database_url_of(tmp_path))
    create_schema(engine)
    audit = AuditLog(engine, tmp_path)
    audit.ensure_head()
    draft = AuditDraft(
        at=utc_iso(datetime.now(UTC)),
        request_id="r1",
        method="POST",
        path="/v1/members",
        action=None,
        idempotency_key=None,
        status=503,
        problem_type=None,
    )
    audit.spool(draft)  # as while the database was away
    lock = os.open(tmp_path / "audit-pending.jsonl.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process (its own open file) drains or spools now
        drain = threading.Thread(target=audit.ensure_head)
        drain.start()
        drain.join(timeout=0.5)
        assert drain.is_alive()  # it waits, rather than rewrite the file under the other one
        assert (tmp_path / "audit-pending.jsonl").exists()
    finally:
        os.close(lock)
    drain.join(timeout=60)
    assert not drain.is_alive()
    assert not (tmp_path / "audit-pending.jsonl").exists()
    verified = verify_database(engine, tmp_path / "audit-head.json")
    assert verified.ok and verified.entries == 1
    engine.dispose()


def test_a_reader_without_its_writer_answers_writer_unavailable(tmp_path: Path) -> None:
    async def reads(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"read here"})

    reader = ForwardToWriter(reads, uds=tmp_path / "writer.sock")  # nobody listens there
    with ServerThread.serving(reader) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get("/v1/members").text == "read here"  # a read stays in the reader
        refused = client.post("/v1/members", json={}, headers={"Accept-Language": "zh-CN"})
        health = client.get("/health")  # the writer's own state: passed on too
    assert refused.status_code == 503 and refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["type"] == "https://scf-chain.dev/problems/writer-unavailable"
    assert body["title"] == "写进程不可用" and refused.headers["content-language"] == "zh-CN"
    assert body["instance"] == "/v1/members"
    assert health.status_code == 503 and health.json()["type"].endswith("/writer-unavailable")
