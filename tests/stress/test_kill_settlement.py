"""A settlement of three batches SIGKILLed after its first batch paid out, then retried with its Idempotency-Key.

Issue 19.4: the retry's second batch was refused (the clock had run backwards: `not-matured`) and that 409 became
the request's stored, final answer, hiding that it had already paid 8,500.00 of 10,000.00. Here the second batch
is refused because the operator paused the Settlement contract between the crash and the retry. The retry must
answer what was done (the mined batch, its transaction) with the refusal as its cause, keep the record open, and
a later retry, once unpaused, must resume: the paid batch is found, not paid again, and the other two are paid.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from chain.node.client import contract
from chain.node.rpc import rpc_call
from chain.node.tx import send
from tests.conftest import ChainWorld, ServerThread, admitted, chain_world, make_settings, ok, random_hash
from tests.stress.harness import ApiProcess, client, new_key


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[ChainWorld]:
    with chain_world(tmp_path) as world:
        yield world


def _settlement(world: ChainWorld) -> Any:
    return contract(world.ledger.w3, world.ledger.deployment, world.ledger.artifacts, "Settlement")


def _set_paused(world: ChainWorld, paused: bool) -> None:
    settlement = _settlement(world)
    data = settlement.encode_abi("pause" if paused else "unpause", args=[])
    send(world.ledger.w3, world.ledger.operator, {"to": settlement.address, "data": data})


def _serve(world: ChainWorld) -> ServerThread:
    return ServerThread(make_settings(world.settings.data_dir, world.chain.port, settlement_batch=1)).__enter__()


def test_settlement_killed_between_batches_reports_what_it_paid_and_resumes(world: ChainWorld, tmp_path: Path) -> None:
    api = _serve(world)
    roster = [
        ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
        ("supplier", ["supplier"], {}),
        ("tier2", ["supplier"], {}),
        ("bank", ["financier"], {}),
    ]
    with admitted(api.url, world.operator_key, roster) as p:
        core, supplier, tier2 = p["core"], p["supplier"], p["tier2"]
        mint = {"member_id": core.id, "amount": "10000.00", "reference": random_hash()}
        ok(p["bank"].client.post("/v1/cash/mint", json=mint), 201)
        receivable = {
            "creditor_id": supplier.id,
            "face_value": "10000.00",
            "maturity": (date.today() + timedelta(days=1)).isoformat(),
            "invoice_hash": random_hash(),
        }
        slot = ok(core.client.post("/v1/receivables", json=receivable), 201)
        first = slot["first_note_id"]
        for value in ("1000.00", "500.00"):  # three notes: 8,500.00 (the first, paid first), 1,000.00, 500.00
            ok(supplier.client.post(f"/v1/notes/{first}/split", json={"to": tier2.id, "value": value}), 201)
        ok(core.client.post(f"/v1/settlement/receivables/{slot['id']}/fund", json={"amount": "10000.00"}))
        rpc_call(world.chain.url, "evm_increaseTime", [2 * 86_400])
        rpc_call(world.chain.url, "evm_mine")
        api.__exit__()

        path = f"/v1/settlement/receivables/{slot['id']}/settle"
        key = new_key()
        doomed = ApiProcess(
            world.settings, tmp_path / "doomed.log", SCF_FAULT_KILL_AT="after-receipt", SCF_SETTLEMENT_BATCH="1"
        ).start()
        try:
            with doomed.client(supplier.key, **{"Idempotency-Key": key}) as victim, pytest.raises(httpx.TransportError):
                victim.post(path)
            assert doomed.wait_exit() == -9, doomed.log_tail()
        finally:
            doomed.stop()
        paid = _settlement(world).functions.funding(slot["id"]).call()
        assert paid[1] == 850_000  # batch 1 of 3 paid out: 8,500.00 of 10,000.00

        _set_paused(world, True)  # the next batch is refused now (as `not-matured` was in the issue)
        api = _serve(world)
        try:
            with client(api.url, supplier.key, **{"Idempotency-Key": key}) as retry:
                for _attempt in range(2):  # the answer is not stored as final: asked again, it is the same
                    response = retry.post(path)
                    assert response.status_code == 409, response.text
                    assert response.headers["content-type"] == "application/problem+json"
                    assert "Idempotent-Replayed" not in response.headers
                    body = response.json()
                    assert body["type"].endswith("/write-incomplete"), body
                    assert [m["step"] for m in body["completed"]] == [1]  # step 0: the note ids, kept once
                    batch_one = body["completed"][0]["tx_hash"]
                    assert body["cause"]["type"].endswith("/enforced-pause"), body
                    assert batch_one in body["detail"] and "same Idempotency-Key" in body["detail"]
                assert _settlement(world).functions.funding(slot["id"]).call()[1] == 850_000

                _set_paused(world, False)
                done = ok(retry.post(path))
                assert len(done["tx_hashes"]) == 3 and done["tx_hashes"][0] == batch_one  # 0x-prefixed in both answers
                assert batch_one.startswith("0x")
                assert done["receivable"]["paid"] == "10000.00" and done["receivable"]["status"] == "settled"
                replay = retry.post(path)
                assert replay.status_code == 200 and replay.headers.get("Idempotent-Replayed") == "true"
                assert replay.json() == done
            assert _settlement(world).functions.funding(slot["id"]).call()[1] == 1_000_000  # paid once, in full
        finally:
            api.__exit__()
