"""api.audit: the pure chain check, the rejected-attempts rule, and appends on a real SQLite file."""

from __future__ import annotations

import asyncio
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from api.audit import (
    ANCHOR_FILE,
    GENESIS_HASH,
    PENDING_FILE,
    Anchor,
    AuditDraft,
    AuditLog,
    AuditMiddleware,
    canonical_json,
    entry_hash,
    load_entries,
    read_anchor,
    utc_iso,
    verify_chain,
)
from api.problems import install_handlers
from api.tables import ApiKey, hash_api_key
from chain.readmodel.alerts import AlertConfig, RejectedAttempt, rejected_attempts
from chain.readmodel.store import create_schema, make_engine


def _chain(count: int) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    prev = GENESIS_HASH
    for seq in range(1, count + 1):
        fields: dict[str, Any] = {
            "seq": seq,
            "at": f"2026-11-27T13:00:{seq:02d}.000000Z",
            "request_id": f"req-{seq}",
            "member_id": seq % 3 or None,
            "api_key_id": seq,
            "method": "POST",
            "path": f"/v1/orders/{seq}/confirm",
            "action": "confirm_order",
            "idempotency_key": None,
            "status": 200 if seq % 2 else 409,
            "result": "ok" if seq % 2 else "rejected",
            "problem_type": None,
            "tx_hashes": ["0x" + f"{seq:064x}"],
            "prev_hash": prev,
        }
        fields["hash"] = entry_hash(fields)
        prev = fields["hash"]
        entries.append(fields)
    return entries


def test_canonical_form_is_sorted_compact_json_of_the_hashed_fields() -> None:
    entry = _chain(1)[0]
    text = canonical_json({**entry, "extra": "ignored"})
    assert text == json.dumps({k: v for k, v in entry.items() if k != "hash"}, sort_keys=True, separators=(",", ":"))
    assert entry["hash"] == hashlib.sha256(text.encode()).hexdigest()
    assert entry["prev_hash"] == "0" * 64


def test_verify_chain_passes_on_an_intact_log_and_its_anchor() -> None:
    entries = _chain(6)
    result = verify_chain(entries, Anchor(6, entries[-1]["hash"]))
    assert result.ok and result.first_bad_seq is None and result.reason is None
    assert (result.entries, result.head_seq, result.head_hash) == (6, 6, entries[-1]["hash"])
    assert verify_chain([]).ok  # an empty log with no anchor is intact
    assert verify_chain(entries, Anchor(4, entries[3]["hash"])).ok  # an older anchor is fine


def test_verify_chain_detects_an_edited_entry() -> None:
    entries = _chain(5)
    entries[2]["status"] = 201
    result = verify_chain(entries)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 3, "edited")
    assert "does not match its hash" in result.detail


def test_verify_chain_detects_an_edited_and_rehashed_entry_by_the_broken_link() -> None:
    entries = _chain(5)
    entries[1]["tx_hashes"] = []
    entries[1]["hash"] = entry_hash(entries[1])
    result = verify_chain(entries)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 3, "edited")
    assert "does not link" in result.detail


def test_verify_chain_detects_a_deleted_middle_entry() -> None:
    entries = _chain(5)
    del entries[2]
    result = verify_chain(entries)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 3, "deleted")
    assert result.head_seq == 2


def test_verify_chain_detects_a_reordered_pair() -> None:
    entries = _chain(5)
    entries[1], entries[2] = entries[2], entries[1]
    result = verify_chain(entries)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 2, "reordered")


def test_verify_chain_detects_a_truncated_tail_only_with_the_anchor() -> None:
    entries = _chain(6)
    anchor = Anchor(6, entries[-1]["hash"])
    shortened = entries[:4]
    assert verify_chain(shortened).ok  # without the anchor a shorter chain is a valid chain
    result = verify_chain(shortened, anchor)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 5, "truncated")
    assert verify_chain([], anchor).reason == "truncated"


def test_verify_chain_detects_a_rewritten_chain_under_the_anchor() -> None:
    entries = _chain(4)
    anchor = Anchor(4, entries[-1]["hash"])
    rewritten = _chain(4)
    rewritten[0]["status"] = 500
    prev = GENESIS_HASH
    for entry in rewritten:  # a forger who recomputes every hash still misses the anchored head
        entry["prev_hash"] = prev
        entry["hash"] = prev = entry_hash(entry)
    assert verify_chain(rewritten).ok
    result = verify_chain(rewritten, anchor)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 4, "edited")


def _attempts(member: int, minutes: list[int]) -> list[RejectedAttempt]:
    start = datetime(2026, 11, 27, tzinfo=UTC)
    return [RejectedAttempt(member, start + timedelta(minutes=m), f"r{member}-{m}") for m in minutes]


@pytest.mark.parametrize(
    ("minutes", "fired"),
    [([0, 1], 0), ([0, 1, 2], 1), ([0, 1, 2, 3, 4, 5], 2), ([0, 1, 24 * 60 + 5], 0), ([0, 24 * 60, 24 * 60 + 1], 0)],
)
def test_rejected_attempts_needs_n_within_the_window(minutes: list[int], fired: int) -> None:
    found = rejected_attempts(_attempts(7, minutes), AlertConfig(rejected_attempts=3, rejected_window_s=86_400))
    assert len(found) == fired
    for finding in found:
        assert (finding.rule, finding.severity, finding.members) == ("rejected-attempts", "medium", [7])
        assert len(finding.evidence) == 3 and finding.at is not None


def test_rejected_attempts_counts_each_member_apart() -> None:
    mixed = sorted(_attempts(1, [0, 2]) + _attempts(2, [1, 3, 4]), key=lambda a: a.at)
    [finding] = rejected_attempts(mixed, AlertConfig())
    assert finding.members == [2] and finding.evidence == ["r2-1", "r2-3", "r2-4"]


def _draft(request_id: str, status: int = 200, api_key: str | None = None) -> AuditDraft:
    return AuditDraft(
        at=utc_iso(datetime.now(UTC)),
        request_id=request_id,
        method="POST",
        path="/v1/orders",
        action="propose_order",
        idempotency_key=None,
        status=status,
        problem_type=None,
        tx_hashes=[],
        api_key=api_key,
    )


def test_forty_threads_append_one_gapless_chain(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    create_schema(engine)
    audits = [AuditLog(engine, tmp_path) for _ in range(2)]  # two logs: as if two processes shared the database
    audits[0].ensure_head()
    with ThreadPoolExecutor(max_workers=40) as pool:
        seqs = list(pool.map(lambda i: audits[i % 2].append(_draft(f"r{i}")), range(40)))
    assert sorted(s for s in seqs if s is not None) == list(range(1, 41))
    with Session(engine) as session:
        entries = load_entries(session)
    anchor = read_anchor(tmp_path / ANCHOR_FILE)
    assert anchor == Anchor(40, entries[-1]["hash"])
    assert verify_chain(entries, anchor).ok
    engine.dispose()


@pytest.mark.parametrize("returning", [True, False])
def test_an_append_locks_and_reads_the_head_in_one_statement_where_it_can(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, returning: bool
) -> None:
    """UPDATE ... RETURNING (PostgreSQL, SQLite 3.35+): one round trip less per batch (reads round 4); a database
    without it takes the update and a SELECT ... FOR UPDATE, and the chain is the same."""
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    create_schema(engine)
    monkeypatch.setattr(engine.dialect, "update_returning", returning)
    audit = AuditLog(engine, tmp_path)
    audit.ensure_head()
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert [audit.append(_draft(f"r{i}")) for i in range(3)] == [1, 2, 3]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    head_reads = [
        s for s in statements if "audit_head" in s and not s.startswith("UPDATE audit_head SET seq=?, hash=?")
    ]
    if returning:
        assert len(head_reads) == 3 and all("RETURNING" in s for s in head_reads), statements
    else:
        assert len(head_reads) == 6 and not any("RETURNING" in s for s in head_reads), statements
    with Session(engine) as session:
        entries = load_entries(session)
    assert verify_chain(entries, read_anchor(tmp_path / ANCHOR_FILE)).ok and len(entries) == 3
    engine.dispose()


def test_entries_are_spooled_while_the_database_fails_and_appended_first_later(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")  # no tables yet: every append fails
    audit = AuditLog(engine, tmp_path)
    assert audit.append(_draft("while-down-1", 409, api_key="scf_the-key")) is None
    assert audit.append(_draft("while-down-2")) is None
    pending = tmp_path / PENDING_FILE
    assert pending.stat().st_mode & 0o777 == 0o600
    assert "scf_the-key" not in pending.read_text()  # only the key's hash is kept

    create_schema(engine)
    with Session(engine) as session, session.begin():
        session.add(ApiKey(member_id=7, key_hash=hash_api_key("scf_the-key"), hint="scf_the"))
    assert audit.append(_draft("after")) == 3
    assert not pending.exists()
    with Session(engine) as session:
        entries = load_entries(session)
    assert [e["request_id"] for e in entries] == ["while-down-1", "while-down-2", "after"]
    assert (entries[0]["member_id"], entries[0]["result"]) == (7, "rejected")
    assert verify_chain(entries, read_anchor(tmp_path / ANCHOR_FILE)).ok
    engine.dispose()


def _audited_app(tmp_path: Path) -> tuple[FastAPI, Engine]:
    """A bare app with the problem handlers and the audit middleware alone on a fresh SQLite log (no body guard)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    create_schema(engine)
    audit = AuditLog(engine, tmp_path)
    audit.ensure_head()
    app = FastAPI()
    install_handlers(app)
    app.add_middleware(AuditMiddleware, audit=audit)
    return app, engine


def _post(app: FastAPI, *requests: tuple[str, dict[str, str]]) -> list[httpx.Response]:
    """POSTs each (path, headers) in turn to `app` in-process, in one client."""

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [await client.post(path, headers=headers) for path, headers in requests]

    return asyncio.run(run())


def test_middleware_streams_successes_and_logs_failures(tmp_path: Path) -> None:
    app, engine = _audited_app(tmp_path)

    @app.post("/v1/stream")
    def stream_rows() -> StreamingResponse:
        return StreamingResponse(iter([b"row 1\n", b"row 2\n"]), media_type="text/plain")

    @app.post("/v1/broken")
    def broken_route() -> None:
        raise RuntimeError("a bug")

    streamed, broken = _post(app, ("/v1/stream", {}), ("/v1/broken", {"X-Request-Id": "b-1"}))
    assert streamed.status_code == 200 and streamed.text == "row 1\nrow 2\n"
    assert broken.status_code == 500 and broken.headers["x-request-id"] == "b-1"
    assert broken.json()["type"].endswith("/internal-error")
    with Session(engine) as session:
        entries = load_entries(session)
    assert [(e["action"], e["status"], e["result"]) for e in entries] == [
        ("stream_rows", 200, "ok"),
        ("broken_route", 500, "error"),
    ]
    assert entries[0]["request_id"] == streamed.headers["x-request-id"]
    assert entries[1]["problem_type"] == broken.json()["type"]
    engine.dispose()


def test_without_the_body_guard_inside_the_middleware_checks_the_log_itself(tmp_path: Path) -> None:
    """The log's check of a write is left to the body guard only when the app says the guard is the next layer in
    (`guard_inside`, as `api.main.create_app` does): composed alone, the middleware still refuses a write whose log
    cannot be read, before the route runs."""
    app, engine = _audited_app(tmp_path)
    ran: list[str] = []

    @app.post("/v1/act")
    def act() -> dict[str, str]:
        ran.append("act")
        return {"done": "yes"}

    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE audit_head")  # the log cannot be read

    [refused] = _post(app, ("/v1/act", {}))
    assert refused.status_code == 503, refused.text
    assert refused.json()["type"].endswith("/audit-unavailable")
    assert ran == []
    engine.dispose()
