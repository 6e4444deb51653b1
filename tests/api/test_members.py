"""Members over real HTTP against a real anvil: admission, auth, validation, idempotency."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from web3 import Web3

from chain.node.client import contract
from scripts.runtime import Ledger
from tests.conftest import ServerThread

KYC = "0x" + "ab" * 32


def _admit(operator: httpx.Client, roles: list[str], **extra: Any) -> httpx.Response:
    return operator.post("/v1/members", json={"roles": roles, "kyc_hash": KYC, **extra})


def _member_count(ledger: Ledger) -> int:
    return int(
        contract(ledger.w3, ledger.deployment, ledger.artifacts, "MemberRegistry").functions.memberCount().call()
    )


def _assert_problem(response: httpx.Response, status: int, type_suffix: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"].endswith("/" + type_suffix), body
    assert body["detail"]
    return body


def test_operator_admits_a_supplier_who_can_then_sign_in(
    operator: httpx.Client, api: ServerThread, ledger: Ledger
) -> None:
    response = _admit(operator, ["supplier"], group_id=3, label="acme")
    assert response.status_code == 201, response.text
    body = response.json()
    member = body["member"]
    assert member["roles"] == ["supplier"]
    assert member["group_id"] == 3
    assert member["status"] == "active"
    registry = contract(ledger.w3, ledger.deployment, ledger.artifacts, "MemberRegistry")
    assert registry.functions.memberIdOf(Web3.to_checksum_address(member["account"])).call() == member["id"]
    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {body['api_key']}"}) as supplier:
        me = supplier.get("/v1/members/me")
        assert me.status_code == 200
        assert me.json()["id"] == member["id"]
        # a supplier cannot admit members, and nothing changes on chain
        before = _member_count(ledger)
        _assert_problem(_admit(supplier, ["supplier"]), 403, "forbidden")
        assert _member_count(ledger) == before


def test_core_enterprise_credit_limit_is_set(operator: httpx.Client) -> None:
    response = _admit(operator, ["core_enterprise"], credit_limit="10000000.00")
    assert response.status_code == 201, response.text
    assert response.json()["member"]["credit_limit"] == "10000000.00"


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"roles": ["banker"], "kyc_hash": KYC}, "unknown roles"),
        ({"roles": [], "kyc_hash": KYC}, "roles"),
        ({"roles": ["supplier"], "kyc_hash": "0x1234"}, "kyc_hash"),
        ({"roles": ["supplier"], "kyc_hash": KYC, "credit_limit": "1.234"}, "credit_limit"),
        ({"roles": ["supplier"], "kyc_hash": KYC, "credit_limit": 100.5}, "credit_limit"),
        ({"roles": ["supplier"], "kyc_hash": KYC, "credit_limit": "-5.00"}, "credit_limit"),
        ({"roles": ["supplier"], "kyc_hash": KYC, "account": "0x" + "00" * 20}, "account"),
    ],
)
def test_bad_input_is_422_and_changes_nothing(
    operator: httpx.Client, ledger: Ledger, payload: dict[str, Any], fragment: str
) -> None:
    before = _member_count(ledger)
    body = _assert_problem(operator.post("/v1/members", json=payload), 422, "validation-error")
    assert fragment in body["detail"]
    assert _member_count(ledger) == before


def test_malformed_json_is_422(operator: httpx.Client) -> None:
    response = operator.post("/v1/members", content=b"{not json", headers={"content-type": "application/json"})
    _assert_problem(response, 422, "validation-error")


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc"])
def test_missing_or_bad_credentials_are_401(api: ServerThread, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    with httpx.Client(base_url=api.url, headers=headers) as client:
        _assert_problem(client.get("/v1/members"), 401, "unauthorized")


def test_unknown_member_is_404(operator: httpx.Client) -> None:
    _assert_problem(operator.get("/v1/members/999999"), 404, "not-found")


def test_idempotent_replay_and_key_reuse(operator: httpx.Client, ledger: Ledger) -> None:
    key = str(uuid.uuid4())
    payload = {"roles": ["financier"], "kyc_hash": KYC}
    first = operator.post("/v1/members", json=payload, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    count = _member_count(ledger)
    again = operator.post("/v1/members", json=payload, headers={"Idempotency-Key": key})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert _member_count(ledger) == count  # no second transaction
    other = operator.post("/v1/members", json={**payload, "group_id": 9}, headers={"Idempotency-Key": key})
    _assert_problem(other, 422, "idempotency-key-reused")
    assert _member_count(ledger) == count


def test_members_list_is_paginated(operator: httpx.Client) -> None:
    for _ in range(3):
        assert _admit(operator, ["auditor"]).status_code == 201
    page = operator.get("/v1/members", params={"limit": 2}).json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    rest = operator.get("/v1/members", params={"limit": 500, "cursor": page["next_cursor"]}).json()
    ids = [m["id"] for m in page["items"] + rest["items"]]
    assert ids == sorted(set(ids))
