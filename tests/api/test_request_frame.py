"""The request's database session (api/deps.py `request_session`), closed on FastAPI's request exit stack rather
than by a `yield` dependency (docs/performance.md, round 11 of a split's CPU), still gives its connection back after
every answer, a refusal included."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.conftest import Party, ServerThread, issued_note, ok

READS = ["/v1/notes/{note_id}", "/v1/verify/notes/{note_id}", "/v1/verify/holdings/{member_id}"]


@pytest.fixture(scope="module")
def note(api: ServerThread, operator_key: str) -> Iterator[tuple[dict[str, Party], int]]:
    with issued_note(api.url, operator_key, "100.00") as found:
        yield found


def _requests_engine(api: ServerThread) -> Engine:
    app: Any = api.server.config.app
    engine: Engine = app.state.engine  # the requests' pool (the indexer and the audit writer have their own)
    return engine


def _all_connections_back(engine: Engine, timeout: float = 10.0) -> int:
    """Connections still checked out of the pool once the answers are sent (the session closes after the answer:
    polled, with a deadline)."""
    deadline = time.monotonic() + timeout
    while (out := engine.pool.checkedout()) and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.02)
    return int(out)


def test_every_request_gives_its_connection_back(api: ServerThread, note: tuple[dict[str, Party], int]) -> None:
    parties, note_id = note
    supplier, tier2, stranger = parties["supplier"], parties["tier2"], parties["core"]
    engine = _requests_engine(api)
    for path in READS:
        ok(supplier.client.get(path.format(note_id=note_id, member_id=supplier.id)))
    ok(supplier.client.get("/v1/notes"))  # a list
    # refusals after the route read with its session: a note not found, a split of another member's note
    assert supplier.client.get(f"/v1/notes/{note_id + 10_000}").status_code == 404
    split = {"to": tier2.id, "value": "1.00"}
    refused = stranger.client.post(f"/v1/notes/{note_id}/split", json=split)
    assert refused.status_code in (403, 404), refused.text
    ok(supplier.client.post(f"/v1/notes/{note_id}/split", json=split), 201)  # and a write that went through
    assert _all_connections_back(engine) == 0
