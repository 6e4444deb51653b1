"""Many writes in flight at once, and what each costs the service before its route runs.

A write's route is a plain `def`: it holds a worker thread while its transaction is mined and indexed. With anyio's
default of 40 threads no more than 40 writes were ever in flight (the bench's 128 clients topped out at 55
splits/s), and the dependencies of the others queued behind them for a thread, holding pooled connections (503s
after the pool timeout). The app now runs its blocking work on `api.main.REQUEST_THREADS` threads.

The API key of a write is looked up once: the body guard finds the principal before it reads the body, and the
route's `current_principal` takes that answer instead of querying (and holding a pooled connection) again."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event

from chain.node.rpc import JsonRpc
from tests.conftest import ServerThread, chain_world, issued_note, wait_until

IN_FLIGHT = 48  # more than anyio's default 40 worker threads


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    data_dir = tmp_path_factory.mktemp("in-flight")
    with chain_world(data_dir) as world, ServerThread(world.settings) as api:
        yield api.url, world.operator_key, world.settings.effective_rpc_url


@pytest.fixture(scope="module")
def note(world: tuple[str, str, str]) -> Iterator[tuple[int, Any, Any]]:
    url, operator_key, _rpc = world
    with issued_note(url, operator_key, "100000.00") as (p, note_id):
        yield note_id, p["supplier"], p["tier2"]


def _split(url: str, key: str, note_id: int, to: int) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=300, headers={"Authorization": f"Bearer {key}"}) as client:
        return client.post(
            f"/v1/notes/{note_id}/split",
            json={"to": to, "value": "200.00"},
            headers={"Idempotency-Key": f"in-flight-{uuid.uuid4()}"},
        )


def test_more_writes_than_anyios_default_threads_are_in_flight_at_once(
    world: tuple[str, str, str], note: tuple[int, Any, Any]
) -> None:
    """With mining paused, all the splits are sent before any is mined: each is in the node's pool at once."""
    url, _operator_key, rpc_url = world
    note_id, supplier, tier2 = note
    node = JsonRpc(rpc_url)
    node.call("evm_setAutomine", False)
    try:
        with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
            futures = [pool.submit(_split, url, supplier.key, note_id, tier2.id) for _ in range(IN_FLIGHT)]

            def pending() -> bool:
                status = node.call("txpool_status")
                return int(str(status["pending"]), 16) >= IN_FLIGHT

            wait_until(pending, f"{IN_FLIGHT} splits in the node's pool at once", timeout=180)
            node.call("evm_setAutomine", True)  # mines the pool
            responses = [future.result() for future in futures]
    finally:
        node.call("evm_setAutomine", True)
    assert [r.status_code for r in responses] == [201] * IN_FLIGHT, [r.text for r in responses if r.status_code != 201]


def test_a_writes_api_key_is_looked_up_once(world: tuple[str, str, str], note: tuple[int, Any, Any]) -> None:
    url, _operator_key, _rpc = world
    note_id, supplier, tier2 = note
    lookups: list[str] = []
    lock = threading.Lock()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM api_keys" in statement and "members.roles" in statement:  # the principal (the audit writer's own
            # look-up of the key's id, on its thread, is another statement)
            with lock:
                lookups.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        response = _split(url, supplier.key, note_id, tier2.id)
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert response.status_code == 201, response.text
    assert len(lookups) == 1, lookups
