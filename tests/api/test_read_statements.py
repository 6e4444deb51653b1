"""The hot reads look up the caller's key in the same statement as their first read (docs/performance.md, reads
round 4): `GET /v1/notes/{id}` with the note and its members' display names, `GET /v1/verify/notes/{id}` with the
read model's block, the note's parties and its holder's name, `GET /v1/verify/holdings/{id}` with the member's
existence (the names' rules: tests/api/test_visibility.py). Every check of the key stays: 401 before
anything else, and a revoked key refused from the next request on (nothing about the caller is kept between
requests)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event

from tests.conftest import Party, ServerThread, issued_note, ok, problem


@pytest.fixture(scope="module")
def note(api: ServerThread, operator_key: str) -> Iterator[tuple[dict[str, Party], int]]:
    with issued_note(api.url, operator_key, "100.00") as found:
        yield found


def _route_statements(client: httpx.Client, path: str) -> tuple[httpx.Response, list[str]]:
    """The answer to `GET path`, and the statements run on the routes' worker threads meanwhile (not the audit
    writer's, nor the indexer's)."""
    seen: list[str] = []
    lock = threading.Lock()

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.current_thread().name == "AnyIO worker thread":
            with lock:
                seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        response = client.get(path)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    return response, seen


def _key_lookups(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM api_keys" in s]


@pytest.mark.parametrize(
    ("path", "also_reads", "names_in_it"),
    [
        ("/v1/notes/{note_id}", "JOIN notes", True),
        ("/v1/verify/notes/{note_id}", "FROM checkpoint", True),
        ("/v1/verify/notes/{note_id}?block={block}", "FROM checkpoint", True),
        ("/v1/verify/holdings/{member_id}", "target_member", False),
    ],
)
def test_a_read_looks_up_its_caller_with_its_first_statement(
    api: ServerThread, note: tuple[dict[str, Party], int], path: str, also_reads: str, names_in_it: bool
) -> None:
    parties, note_id = note
    supplier = parties["supplier"]
    block = int(ok(supplier.client.get(f"/v1/verify/notes/{note_id}"))["block"]["number"])
    response, statements = _route_statements(
        supplier.client, path.format(note_id=note_id, member_id=supplier.id, block=block)
    )
    ok(response)
    (lookup,) = _key_lookups(statements)  # the key once
    assert also_reads in lookup, lookup  # ... and the route's first read in the same statement
    if names_in_it:  # the display names too: no statement of their own
        assert [s for s in statements if "member_profiles" in s] == [lookup], statements


def test_every_check_of_the_key_stays(api: ServerThread, note: tuple[dict[str, Party], int]) -> None:
    parties, note_id = note
    supplier = parties["supplier"]
    paths = [f"/v1/notes/{note_id}", f"/v1/verify/notes/{note_id}", f"/v1/verify/holdings/{supplier.id}"]
    keys = f"/v1/members/{supplier.id}/api-keys"
    issued = ok(supplier.client.post(keys, json={"label": "revoked below"}), 201)
    with httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {issued['api_key']}"}) as other:
        for path in paths:
            ok(other.get(path))
        ok(supplier.client.post(f"{keys}/{issued['key']['id']}/revoke"))
        for path in paths:  # from the very next request on
            problem(other.get(path), 401, "unauthorized")
            ok(supplier.client.get(path))  # the member's other key still works
    with httpx.Client(base_url=api.url, timeout=60) as anonymous:
        for path in [*paths, "/v1/notes/999999", "/v1/verify/notes/999999", "/v1/verify/holdings/999999"]:
            problem(anonymous.get(path), 401, "unauthorized")  # no key: 401 before any 404
            headers = {"Authorization": f"Basic {supplier.key}"}
            problem(anonymous.get(path, headers=headers), 401, "unauthorized")  # not a bearer key
            headers = {"Authorization": "Bearer scf_not-a-key"}
            problem(anonymous.get(path, headers=headers), 401, "unauthorized")  # an unknown key
    problem(supplier.client.get("/v1/notes/999999"), 404, "not-found")
    problem(supplier.client.get("/v1/verify/holdings/999999"), 404, "not-found")
    problem(parties["tier2"].client.get(f"/v1/notes/{note_id}"), 403, "forbidden")
    problem(parties["tier2"].client.get(f"/v1/verify/holdings/{supplier.id}"), 403, "forbidden")
