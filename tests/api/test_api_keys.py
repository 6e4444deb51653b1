"""A member's API keys over real HTTP: issue another (shown once, replayed by its Idempotency-Key), rotate, revoke
(refused from the next request on), and who may do it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Party, Roster, ServerThread, admitted, ok, problem


@pytest.fixture(scope="module")
def parties(api: ServerThread, operator_key: str) -> Iterator[dict[str, Party]]:
    roster: Roster = [
        ("supplier", ["supplier"], {}),
        ("other", ["supplier"], {}),
        ("stranger", ["financier"], {}),
        ("auditor", ["auditor"], {}),
    ]
    with admitted(api.url, operator_key, roster) as parties:
        yield parties


def _client(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {key}"})


def test_a_member_rotates_its_own_key(api: ServerThread, parties: dict[str, Party]) -> None:
    supplier = parties["supplier"]
    path = f"/v1/members/{supplier.id}/api-keys"
    (first,) = ok(supplier.client.get(path))["items"]  # the key issued at admission
    assert first["active"] and first["hint"] == supplier.key[:8] and first["revoked_at"] is None

    idem = {"Idempotency-Key": str(uuid.uuid4())}
    issued = ok(supplier.client.post(path, json={"label": "erp-connector"}, headers=idem), 201)
    replay = supplier.client.post(path, json={"label": "erp-connector"}, headers=idem)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["api_key"] == issued["api_key"]  # the same key, not a second one
    new_key, new = issued["api_key"], issued["key"]
    assert new_key != supplier.key and new["label"] == "erp-connector" and new["hint"] == new_key[:8]
    assert [k["id"] for k in ok(supplier.client.get(path))["items"]] == [first["id"], new["id"]]
    assert "api_key" not in str(ok(supplier.client.get(path)))  # listed by hint only

    with _client(api.url, new_key) as rotated:
        assert ok(rotated.get("/v1/members/me"))["id"] == supplier.id
        revoked = ok(rotated.post(f"{path}/{first['id']}/revoke"))
        assert revoked["active"] is False and revoked["revoked_at"] is not None
        again = ok(rotated.post(f"{path}/{first['id']}/revoke"))  # revoking twice changes nothing
        assert again["revoked_at"] == revoked["revoked_at"]
        problem(supplier.client.get("/v1/members/me"), 401, "unauthorized")  # the old key, from the next request on
        # the last active key cannot be revoked by the member itself: it would lock itself out
        refused = problem(rotated.post(f"{path}/{new['id']}/revoke"), 409, "last-api-key")
        assert "issue another" in refused["detail"]
        assert ok(rotated.get("/v1/members/me"))["id"] == supplier.id


def test_the_operator_manages_any_members_keys(api: ServerThread, operator_key: str, parties: dict[str, Party]) -> None:
    other = parties["other"]
    path = f"/v1/members/{other.id}/api-keys"
    with _client(api.url, operator_key) as operator:
        issued = ok(operator.post(path, json={"label": "issued by the operator"}), 201)
        (original,) = [k for k in ok(operator.get(path))["items"] if k["id"] != issued["key"]["id"]]
        ok(operator.post(f"{path}/{original['id']}/revoke"))
        problem(other.client.get("/v1/members/me"), 401, "unauthorized")
        with _client(api.url, issued["api_key"]) as fresh:
            assert ok(fresh.get("/v1/members/me"))["id"] == other.id
            ok(operator.post(f"{path}/{issued['key']['id']}/revoke"))  # the operator may revoke the last one
            problem(fresh.get("/v1/members/me"), 401, "unauthorized")
        problem(operator.get("/v1/members/999999/api-keys"), 404, "not-found")
        problem(operator.post(f"{path}/999999/revoke"), 404, "not-found")
        problem(operator.post(path, json={"label": "x" * 65}), 422, "validation-error")
        problem(operator.post(path, json={"member_id": 1}), 422, "validation-error")  # no field but the label


def test_nobody_else_sees_or_touches_a_members_keys(parties: dict[str, Party]) -> None:
    supplier, auditor = parties["supplier"], parties["auditor"]
    path = f"/v1/members/{supplier.id}/api-keys"
    for caller in (parties["stranger"], auditor):
        problem(caller.client.get(path), 403, "forbidden")
        problem(caller.client.post(path, json={}), 403, "forbidden")
