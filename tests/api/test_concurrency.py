"""20 concurrent splits by one member over real HTTP: all succeed, nonces contiguous, value conserved."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import httpx
from web3 import Web3

from scripts.runtime import Ledger
from tests.conftest import ServerThread, random_hash, with_mint_ceiling


def _admit(op: httpx.Client, roles: list[str], **extra: Any) -> tuple[dict[str, Any], str]:
    response = op.post(
        "/v1/members", json=with_mint_ceiling(roles, {"roles": roles, "kyc_hash": random_hash(), **extra})
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return body["member"], body["api_key"]


def test_twenty_concurrent_splits_by_one_member(api: ServerThread, operator: httpx.Client, ledger: Ledger) -> None:
    _core, core_key = _admit(operator, ["core_enterprise"], credit_limit="1000000.00")
    supplier, supplier_key = _admit(operator, ["supplier"])
    tier2, _ = _admit(operator, ["supplier"])
    auth = {"Authorization": f"Bearer {core_key}"}
    with httpx.Client(base_url=api.url, timeout=120, headers=auth) as core_client:
        issued = core_client.post(
            "/v1/receivables",
            json={
                "creditor_id": supplier["id"],
                "face_value": "100000.00",
                "maturity": (date.today() + timedelta(days=90)).isoformat(),
                "invoice_hash": random_hash(),
            },
        )
    assert issued.status_code == 201, issued.text
    note_id = issued.json()["first_note_id"]
    account = Web3.to_checksum_address(supplier["account"])
    nonce_before = ledger.w3.eth.get_transaction_count(account)
    block_before = ledger.w3.eth.block_number

    def split(i: int) -> httpx.Response:
        with httpx.Client(base_url=api.url, timeout=120, headers={"Authorization": f"Bearer {supplier_key}"}) as c:
            return c.post(
                f"/v1/notes/{note_id}/split",
                json={"to": tier2["id"], "value": "200.00"},  # face / cap (S-3)
                headers={"Idempotency-Key": f"split-{uuid.uuid4()}-{i}"},
            )

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(split, range(20)))
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses if r.status_code != 201]
    new_ids = {r.json()["new_note"]["id"] for r in responses}
    assert len(new_ids) == 20

    # one transaction per split, nonces contiguous from the account's count before the burst
    assert ledger.w3.eth.get_transaction_count(account) == nonce_before + 20
    nonces = []
    for number in range(block_before + 1, ledger.w3.eth.block_number + 1):
        for tx in ledger.w3.eth.get_block(number, full_transactions=True)["transactions"]:
            if tx["from"] == account:  # type: ignore[index]
                nonces.append(tx["nonce"])  # type: ignore[index]
    assert sorted(nonces) == list(range(nonce_before, nonce_before + 20))

    # value conserved: the parent holds the rest, tier-2 holds 20 x 200.00
    with httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {supplier_key}"}) as c:
        assert c.get(f"/v1/notes/{note_id}").json()["value"] == "96000.00"
