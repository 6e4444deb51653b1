"""A crash after a transaction was sent, then a restart: the retry resumes it and never sends it twice."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from web3 import Web3

from api.settings import Settings
from chain.node.signer import TransactionQueue
from scripts.runtime import Ledger
from tests.conftest import ServerThread, make_settings, random_hash, with_mint_ceiling


def _admit(op: httpx.Client, roles: list[str], **extra: Any) -> tuple[dict[str, Any], str]:
    response = op.post(
        "/v1/members", json=with_mint_ceiling(roles, {"roles": roles, "kyc_hash": random_hash(), **extra})
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return body["member"], body["api_key"]


def test_split_interrupted_after_send_resumes_after_restart_without_a_second_transaction(
    api: ServerThread, operator: httpx.Client, ledger: Ledger, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _core, core_key = _admit(operator, ["core_enterprise"], credit_limit="1000000.00")
    supplier, supplier_key = _admit(operator, ["supplier"])
    tier2, _ = _admit(operator, ["supplier"])
    with httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {core_key}"}) as core:
        issued = core.post(
            "/v1/receivables",
            json={
                "creditor_id": supplier["id"],
                "face_value": "5000.00",
                "maturity": (date.today() + timedelta(days=30)).isoformat(),
                "invoice_hash": random_hash(),
            },
        )
    assert issued.status_code == 201, issued.text
    note_id = issued.json()["first_note_id"]
    account = Web3.to_checksum_address(supplier["account"])
    nonce_before = ledger.w3.eth.get_transaction_count(account)
    headers = {"Authorization": f"Bearer {supplier_key}", "Idempotency-Key": f"crash-{uuid.uuid4()}"}
    body = {"to": tier2["id"], "value": "1000.00"}

    # 1. a service instance "crashes" right after broadcasting the split (before it saw the receipt)
    original_wait = TransactionQueue.wait
    crashed = {"n": 0}

    def crash_once(self: TransactionQueue, *args: Any, **kwargs: Any) -> Any:
        if crashed["n"] == 0:
            crashed["n"] += 1
            raise RuntimeError("simulated crash after broadcast")
        return original_wait(self, *args, **kwargs)

    monkeypatch.setattr(TransactionQueue, "wait", crash_once)
    with (
        ServerThread(make_settings(settings.data_dir, settings.rpc_port)) as first,
        httpx.Client(base_url=first.url, timeout=60, headers=headers) as client,
    ):
        failed = client.post(f"/v1/notes/{note_id}/split", json=body)
    assert failed.status_code == 500, failed.text
    assert crashed["n"] == 1
    monkeypatch.setattr(TransactionQueue, "wait", original_wait)
    assert ledger.w3.eth.get_transaction_count(account) == nonce_before + 1  # it was sent (and mined)

    # 2. a restarted instance gets the same request again: it resumes the stored transaction
    with (
        ServerThread(make_settings(settings.data_dir, settings.rpc_port)) as second,
        httpx.Client(base_url=second.url, timeout=60, headers=headers) as client,
    ):
        retried = client.post(f"/v1/notes/{note_id}/split", json=body)
        assert retried.status_code == 201, retried.text
        replay = client.post(f"/v1/notes/{note_id}/split", json=body)
    assert replay.status_code == 201
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == retried.json()
    assert ledger.w3.eth.get_transaction_count(account) == nonce_before + 1  # no second transaction
    assert retried.json()["note"]["value"] == "4000.00"
    assert retried.json()["new_note"]["value"] == "1000.00"
