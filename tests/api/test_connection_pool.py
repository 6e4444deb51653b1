"""More writes in flight than the requests' database pool has connections.

A write keeps its request's connection until its block is indexed. The indexer used to draw from that same pool:
with every connection held by a write waiting for its block, the indexer could not index the block, and every
write waited out the pool timeout (the bench's 128 clients got 500 `internal-error`). The indexer and the audit
writer now have pools of their own, and a request that still finds no free connection gets 503
`database-unavailable`, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from api.problems import install_handlers
from tests.conftest import ServerThread, chain_world, concurrent_splits, ok

BLOCK_TIME = 0.5
POOL = 2  # the requests' pool: 2 connections, 2 more on overflow
SPLITS = 12  # three times the pool's connections


@pytest.fixture(scope="module")
def small_pool_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    data_dir = tmp_path_factory.mktemp("small-pool")
    with chain_world(data_dir, block_time=BLOCK_TIME, db_pool_size=POOL) as world, ServerThread(world.settings) as api:
        yield api.url, world.operator_key


def test_writes_beyond_the_pool_all_complete(small_pool_api: tuple[str, str]) -> None:
    url, operator_key = small_pool_api
    with concurrent_splits(url, operator_key, "100000.00", "1000.00", SPLITS) as race:
        p, note_id, responses = race.parties, race.note_id, race.responses
        assert [r.status_code for r in responses] == [201] * SPLITS, [r.text for r in responses if r.status_code != 201]
        # read-your-writes: every new note is in the read model, and the source note gave exactly what was split
        new_notes = {r.json()["new_note"]["id"] for r in responses}
        assert len(new_notes) == SPLITS
        for new_note in new_notes:
            assert ok(p["tier2"].client.get(f"/v1/notes/{new_note}"), 200)["value"] == "1000.00"
        source = ok(p["supplier"].client.get(f"/v1/notes/{note_id}"), 200)
        assert source["value"] == "88000.00"


def test_no_free_connection_is_503_database_unavailable() -> None:
    """The answer when the pool stays exhausted: the handlers' mapping of SQLAlchemy's pool timeout."""
    app = FastAPI()
    install_handlers(app)

    @app.get("/busy")
    def busy() -> None:
        raise PoolTimeoutError("QueuePool limit of size 2 overflow 2 reached, connection timed out, timeout 30.00")

    with ServerThread.serving(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.get("/busy")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"].endswith("/database-unavailable"), body
    assert "busy" in body["detail"], body
