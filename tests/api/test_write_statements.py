"""A split's SQL on its request's threads (docs/performance.md, round 9): the caller's key and the audit log's check in
one statement, the note and the recipient's account in one, the idempotency claim committed on the connection the
route's checks used, and the answer and the record's finish on one connection. What stays: the claim committed before
anything is signed (tests/api/test_durability.py), the signed transaction stored before its broadcast, a write refused
with 503 `audit-unavailable` when the log cannot be read (before any 401), and every check of the key on every
request."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

from api.bootstrap import ensure_operator_api_key
from chain.devnet.devchain import free_port
from chain.readmodel.store import make_engine
from tests.conftest import Party, ServerThread, issued_note, make_settings, needs_sqlite, ok, problem


@pytest.fixture(scope="module")
def note(api: ServerThread, operator_key: str) -> Iterator[tuple[dict[str, Party], int]]:
    with issued_note(api.url, operator_key, "1000.00") as found:
        yield found


def _on_request_thread() -> bool:
    """The threads a request's blocking work runs on (api/threads.py, anyio's), not the indexer's or the audit
    writer's."""
    name = threading.current_thread().name
    return name.startswith("scf-write") or name.startswith("AnyIO worker thread")


@dataclass
class Seen:
    statements: list[tuple[str, int]] = field(default_factory=list)  # (SQL, its DBAPI connection's id)
    checkouts: int = 0
    in_session: list[str] = field(default_factory=list)  # the statements run through an ORM Session


def _split(client: httpx.Client, note_id: int, to: int) -> tuple[httpx.Response, Seen]:
    seen = Seen()
    lock = threading.Lock()

    def statement(conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if _on_request_thread():
            with lock:
                seen.statements.append((" ".join(sql.split()), id(conn.connection.dbapi_connection)))

    def checkout(*_args: Any) -> None:
        if _on_request_thread():
            with lock:
                seen.checkouts += 1

    def orm(state: Any) -> None:
        if _on_request_thread():
            with lock:
                seen.in_session.append(" ".join(str(state.statement).split()))

    event.listen(Engine, "before_cursor_execute", statement)
    event.listen(Pool, "checkout", checkout)
    event.listen(Session, "do_orm_execute", orm)
    try:
        response = client.post(
            f"/v1/notes/{note_id}/split",
            json={"to": to, "value": "10.00"},
            headers={"Idempotency-Key": f"statements-{uuid.uuid4()}"},
        )
    finally:
        event.remove(Engine, "before_cursor_execute", statement)
        event.remove(Pool, "checkout", checkout)
        event.remove(Session, "do_orm_execute", orm)
    return response, seen


def _only(statements: list[tuple[str, int]], *parts: str) -> tuple[str, int]:
    (found,) = [s for s in statements if all(part in s[0] for part in parts)]
    return found


@pytest.fixture(scope="module")
def split_seen(api: ServerThread, note: tuple[dict[str, Party], int]) -> Seen:
    """What one split ran on its request's threads (after a first one: the custody key decrypted, the pool warm)."""
    parties, note_id = note
    ok(_split(parties["supplier"].client, note_id, parties["tier2"].id)[0], 201)
    response, seen = _split(parties["supplier"].client, note_id, parties["tier2"].id)
    ok(response, 201)
    return seen


def test_the_log_check_rides_in_the_key_statement(split_seen: Seen) -> None:
    key = _only(split_seen.statements, "FROM api_keys")
    assert "audit_head" in key[0], key
    assert [s for s, _ in split_seen.statements if "audit_head" in s] == [key[0]]  # no statement of its own


def test_the_key_is_looked_up_on_a_plain_connection(split_seen: Seen) -> None:
    """The body guard's look-up is one Core statement: no ORM Session is set up and closed around it."""
    _only(split_seen.statements, "FROM api_keys")
    assert split_seen.in_session, "the route's checks run in the request's session"
    assert not [s for s in split_seen.in_session if "api_keys" in s], split_seen.in_session


def test_the_note_and_the_recipient_are_read_in_one_statement(split_seen: Seen) -> None:
    checks = _only(split_seen.statements, "FROM notes", "members.account")
    assert [s for s, _ in split_seen.statements if "FROM members" in s] == [checks[0]]  # no look-up of its own


def test_the_claim_commits_on_the_connection_of_the_checks(split_seen: Seen) -> None:
    checks = next(s for s in split_seen.statements if "FROM notes" in s[0])  # the route's first read of its note
    claim = _only(split_seen.statements, "INSERT INTO idempotency ")
    assert claim[1] == checks[1]


def test_the_answer_and_the_finish_share_a_connection(split_seen: Seen) -> None:
    answer = _only(split_seen.statements, "FROM notes", "holder_profile")
    finish = _only(split_seen.statements, "UPDATE idempotency SET state")
    assert finish[1] == answer[1]


def test_the_caller_keystore_rides_in_the_note_statement(split_seen: Seen) -> None:
    checks = _only(split_seen.statements, "FROM notes", "members.account")
    assert "custody_accounts.keystore" in checks[0], checks
    assert [s for s, _ in split_seen.statements if "custody_accounts" in s] == [checks[0]]  # no look-up of its own


def test_a_split_takes_seven_statements_on_four_connections(split_seen: Seen) -> None:
    sql = [s for s, _ in split_seen.statements]
    # the key (and the log's check), the note (and the recipient and the caller's keystore), the claim, the signed
    # transaction's claim and step (one commit), the answer, the finish
    assert len(sql) == 7, sql
    assert split_seen.checkouts == 4  # the key's; the checks' and claim's; the step's; the answer's and finish's


def test_a_split_keeps_its_refusals_in_their_order(api: ServerThread, note: tuple[dict[str, Party], int]) -> None:
    """The note's checks come before the recipient's (both read by one statement now)."""
    parties, note_id = note
    supplier, tier2 = parties["supplier"], parties["tier2"]

    def split(client: httpx.Client, note: int, to: int, value: str = "10.00") -> httpx.Response:
        return client.post(f"/v1/notes/{note}/split", json={"to": to, "value": value})

    problem(split(supplier.client, 999_999, 999_999), 404, "not-found")  # the note first
    problem(split(tier2.client, note_id, 999_999), 403, "forbidden")  # not the holder: before the recipient
    problem(split(supplier.client, note_id, 999_999, "100000.00"), 422, "insufficient-value")
    problem(split(supplier.client, note_id, supplier.id), 422, "self-transfer")
    missing = problem(split(supplier.client, note_id, 999_999), 404, "not-found")
    assert "999999" in missing["detail"], missing


@pytest.fixture()
def bare(tmp_path: Path) -> Iterator[tuple[ServerThread, str, Engine]]:
    """A server of its own (no chain: the refusals below come before any route) and the operator's key."""
    settings = make_settings(tmp_path, free_port())
    engine = make_engine(settings.effective_database_url)
    with ServerThread(settings) as server:
        key = ensure_operator_api_key(engine, settings.data_dir)
        assert key is not None
        yield server, key, engine
    engine.dispose()


def test_a_write_with_a_key_is_refused_when_the_log_cannot_be_read(bare: tuple[ServerThread, str, Engine]) -> None:
    server, key, engine = bare
    with httpx.Client(base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {key}"}) as client:
        problem(client.post("/v1/orders", json={}), 503, "chain-unavailable")  # the key works: on to the route
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE audit_head")  # the log cannot be read
        refused = client.post("/v1/orders", json={})
        problem(refused, 503, "audit-unavailable")
        assert refused.headers["audit-pending"] == "true"
        with httpx.Client(base_url=server.url, timeout=30) as anonymous:  # no key: 503 before the 401
            problem(anonymous.post("/v1/orders", json={}), 503, "audit-unavailable")


@needs_sqlite  # another table missing: SQLite's error is an OperationalError, PostgreSQL's a ProgrammingError
def test_a_key_look_up_failing_with_the_log_readable_is_not_blamed_on_the_log(
    bare: tuple[ServerThread, str, Engine],
) -> None:
    server, key, engine = bare
    with httpx.Client(base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {key}"}) as client:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE api_keys")
        problem(client.post("/v1/orders", json={}), 503, "database-unavailable")
