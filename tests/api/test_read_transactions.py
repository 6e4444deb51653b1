"""The verifications and a note's read end their transaction with a COMMIT (`chain.readmodel.store.end_read`),
not the ROLLBACK of closing the session: on PostgreSQL psycopg keeps its prepared statements past a COMMIT (it
forgets them at every ROLLBACK), so a read's statements stay prepared on the pooled connection (docs/performance.md,
reads round 5).

A world of this module's own, whose requests' pool has one connection (and one more on overflow): the reads here
run one at a time, so they go through that connection and its prepared statements can be looked at afterwards."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from tests.conftest import PG_ADMIN_URL, Party, ServerThread, chain_world, issued_note, ok


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerThread, dict[str, Party], int]]:
    data_dir: Path = tmp_path_factory.mktemp("read-transactions")
    with (
        chain_world(data_dir, db_pool_size=1) as chain,
        ServerThread(chain.settings) as api,
        issued_note(api.url, chain.operator_key, "100.00") as (parties, note_id),
    ):
        yield api, parties, note_id


def _engine(api: ServerThread) -> Engine:
    engine: Engine = api.server.config.app.state.engine  # the requests' pool (not the audit writer's)
    return engine


def _paths(parties: dict[str, Party], note_id: int) -> list[str]:
    return [
        f"/v1/verify/holdings/{parties['supplier'].id}",
        f"/v1/verify/notes/{note_id}",
        f"/v1/notes/{note_id}",
    ]


def test_a_verification_ends_its_transaction_with_a_commit(world: tuple[ServerThread, dict[str, Party], int]) -> None:
    api, parties, note_id = world
    ended: list[str] = []
    lock = threading.Lock()

    def on(kind: str) -> Any:
        def record(_conn: Any) -> None:
            with lock:
                ended.append(kind)

        return record

    engine = _engine(api)
    commit, rollback = on("commit"), on("rollback")
    event.listen(engine, "commit", commit)
    event.listen(engine, "rollback", rollback)
    try:
        for path in _paths(parties, note_id):
            ended.clear()
            ok(parties["supplier"].client.get(path))
            assert ended == ["commit"], (path, ended)
    finally:
        event.remove(engine, "commit", commit)
        event.remove(engine, "rollback", rollback)


def test_a_refused_verification_still_rolls_back(world: tuple[ServerThread, dict[str, Party], int]) -> None:
    """An answer that is not the read's (a 404 here) ends as before: the session's close rolls back."""
    api, parties, _ = world
    ended: list[str] = []
    engine = _engine(api)

    def record(_conn: Any) -> None:
        ended.append("rollback")

    event.listen(engine, "rollback", record)
    try:
        response = parties["supplier"].client.get("/v1/verify/holdings/4000000000")
    finally:
        event.remove(engine, "rollback", record)
    assert response.status_code == 404
    assert ended == ["rollback"]


@pytest.mark.skipif(PG_ADMIN_URL is None, reason="prepared statements: PostgreSQL pass")
def test_the_reads_statements_stay_prepared_on_postgresql(world: tuple[ServerThread, dict[str, Party], int]) -> None:
    api, parties, note_id = world
    for _ in range(8):  # psycopg prepares a statement from its sixth use on a connection
        for path in _paths(parties, note_id):
            ok(parties["supplier"].client.get(path))
    with _engine(api).connect() as conn:  # the pool's one connection, idle again
        prepared = conn.execute(text("SELECT statement FROM pg_prepared_statements")).scalars().all()
    assert any("holding_totals" in statement for statement in prepared), prepared  # the holdings' aggregate
    assert any("FROM checkpoint" in statement and "api_keys" in statement for statement in prepared), prepared
