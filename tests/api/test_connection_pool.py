"""More writes in flight than the requests' database pool has connections.

A write keeps its request's connection until its block is indexed. The indexer used to draw from that same pool:
with every connection held by a write waiting for its block, the indexer could not index the block, and every
write waited out the pool timeout (the bench's 128 clients got 500 `internal-error`). The indexer and the audit
writer now have pools of their own, and a request that still finds no free connection gets 503
`database-unavailable`, never a 500."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from api.problems import install_handlers
from tests.conftest import ServerThread, admitted, chain_world, ok, random_hash

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
    roster = [
        ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
        ("supplier", ["supplier"], {}),
        ("tier2", ["supplier"], {}),
    ]
    with admitted(url, operator_key, roster) as p:
        receivable = {
            "creditor_id": p["supplier"].id,
            "face_value": "100000.00",
            "maturity": (date.today() + timedelta(days=90)).isoformat(),
            "invoice_hash": random_hash(),
        }
        note_id = ok(p["core"].client.post("/v1/receivables", json=receivable), 201)["first_note_id"]

        def split(i: int) -> httpx.Response:
            with httpx.Client(base_url=url, timeout=180, headers={"Authorization": f"Bearer {p['supplier'].key}"}) as c:
                return c.post(
                    f"/v1/notes/{note_id}/split",
                    json={"to": p["tier2"].id, "value": "1000.00"},
                    headers={"Idempotency-Key": f"pool-{uuid.uuid4()}-{i}"},
                )

        with ThreadPoolExecutor(max_workers=SPLITS) as pool:
            responses = list(pool.map(split, range(SPLITS)))
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
