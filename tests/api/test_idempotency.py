"""Idempotency-Key: a second request with the key while the first is still running gets 409 and sends nothing."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
import pytest

from chain.node.client import contract
from chain.node.signer import TransactionQueue
from scripts.runtime import Ledger
from tests.conftest import ServerThread


def test_same_key_while_in_flight_is_409_then_replays(
    api: ServerThread, operator_key: str, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = contract(ledger.w3, ledger.deployment, ledger.artifacts, "MemberRegistry")
    entered, release = threading.Event(), threading.Event()
    original_wait = TransactionQueue.wait

    def held_wait(self: TransactionQueue, *args: Any, **kwargs: Any) -> Any:
        if not entered.is_set():
            entered.set()
            release.wait(timeout=30)  # the first request stays in flight until the test lets it go
        return original_wait(self, *args, **kwargs)

    monkeypatch.setattr(TransactionQueue, "wait", held_wait)
    headers = {"Authorization": f"Bearer {operator_key}", "Idempotency-Key": f"inflight-{uuid.uuid4()}"}
    payload = {"roles": ["supplier"], "kyc_hash": "0x" + uuid.uuid4().hex * 2}
    first: dict[str, httpx.Response] = {}

    def send_first() -> None:
        with httpx.Client(base_url=api.url, timeout=60, headers=headers) as client:
            first["response"] = client.post("/v1/members", json=payload)

    count_before = registry.functions.memberCount().call()
    thread = threading.Thread(target=send_first)
    thread.start()
    assert entered.wait(timeout=30)  # the first admission is sent (it may be mined or not yet: interval mining)
    with httpx.Client(base_url=api.url, timeout=60, headers=headers) as client:
        second = client.post("/v1/members", json=payload)
        assert second.status_code == 409, second.text
        assert second.headers["content-type"] == "application/problem+json"
        assert second.json()["type"].endswith("/request-in-flight")
        release.set()
        thread.join(timeout=60)
        assert first["response"].status_code == 201, first["response"].text
        assert registry.functions.memberCount().call() == count_before + 1  # one admission, not two
        third = client.post("/v1/members", json=payload)
    assert third.status_code == 201
    assert third.headers.get("Idempotent-Replayed") == "true"
    assert third.json() == first["response"].json()
