"""A self-custody member's signed transaction, with the API process SIGKILLed between its submission and the
answer (stored but not sent; mined but not answered), then submitted again: one write, the write's answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from web3 import Web3

from tests.conftest import ChainWorld, ServerThread, chain_world, make_settings, random_hash, with_mint_ceiling
from tests.stress.harness import ApiProcess, admit, client, expect, issue, new_key


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainWorld]:
    with chain_world(tmp_path_factory.mktemp("scf-self-custody-crash")) as w:
        yield w


@pytest.fixture(scope="module")
def api(world: ChainWorld) -> Iterator[ServerThread]:
    with ServerThread(make_settings(world.settings.data_dir, world.chain.port)) as server:
        yield server


def _admit_own(op: httpx.Client, own: LocalAccount, roles: list[str]) -> tuple[dict[str, Any], str]:
    challenge = expect(op.post("/v1/members/challenge", json={"address": own.address}), 201)
    signature = own.sign_message(encode_defunct(text=challenge["message"])).signature.to_0x_hex()
    body = {
        "roles": roles,
        "kyc_hash": random_hash(),
        "address": own.address,
        "challenge_id": challenge["challenge_id"],
        "signature": signature,
    }
    admitted = expect(op.post("/v1/members", json=with_mint_ceiling(roles, body)), 201)
    return admitted["member"], admitted["api_key"]


@pytest.mark.parametrize("point", ["before-send", "after-receipt"])
def test_crash_between_submit_and_answer_then_retry_is_one_write(
    world: ChainWorld, api: ServerThread, tmp_path: Path, point: str
) -> None:
    w3 = world.ledger.w3
    own: LocalAccount = Account.create()
    with client(api.url, world.operator_key) as op:
        core, core_key = admit(op, ["core_enterprise"], credit_limit="1000000.00")
        supplier, _ = admit(op, ["supplier"])
        bank, bank_key = _admit_own(op, own, ["financier"])
    with client(api.url, core_key) as core_client:
        note_id = int(issue(core_client, supplier["id"], "1000.00")["first_note_id"])
    expires = (date.today() + timedelta(days=5)).isoformat()
    offer = {"note_id": note_id, "value": "1000.00", "rate_bps": 500, "recourse": False, "expires_at": expires}
    with client(api.url, bank_key) as bank_client:
        prepared = expect(
            bank_client.post("/v1/financing/offers", json=offer, headers={"Idempotency-Key": new_key()}), 202
        )
    tx = {k: v for k, v in prepared["transaction"].items() if k != "from"}
    raw = own.sign_transaction(tx).raw_transaction.to_0x_hex()
    submission = {"raw": raw, "prepared_id": prepared["prepared_id"]}
    nonce = w3.eth.get_transaction_count(Web3.to_checksum_address(bank["account"]))

    with ApiProcess(world.settings, tmp_path / "api.log", SCF_FAULT_KILL_AT=point) as dying:
        with dying.client(bank_key) as c, pytest.raises(httpx.TransportError):
            c.post("/v1/transactions", json=submission)
        assert dying.wait_exit() != 0  # SIGKILLed at the point, no answer
    mined = w3.eth.get_transaction_count(Web3.to_checksum_address(bank["account"]))
    assert mined == (nonce if point == "before-send" else nonce + 1)

    with client(api.url, bank_key) as bank_client:
        first = expect(bank_client.post("/v1/transactions", json=submission), 201)
        again = bank_client.post("/v1/transactions", json=submission)
        assert expect(again, 201) == first and again.headers.get("Idempotent-Replayed") == "true"
        offers = expect(bank_client.get("/v1/financing/offers", params={"note_id": note_id}), 200)["items"]
    assert first["note_id"] == note_id and first["financier_id"] == bank["id"]
    assert [o["id"] for o in offers if o["financier_id"] == bank["id"] and o["note_id"] == note_id] == [first["id"]]
    assert w3.eth.get_transaction_count(Web3.to_checksum_address(bank["account"])) == nonce + 1
    del core
