"""SIGKILL the API process at each step of a write, restart it, retry with the same Idempotency-Key.

The API runs as `scf serve` in its own process with a fault hook (tests/faults.py, on api/faults.py's kill
points) and `SCF_FAULT_KILL_AT` in its environment, which make it SIGKILL itself at that point of a write. The
retry goes to a fresh process without the hook. Every case must end with exactly one on-chain effect
(one transaction from the sender, one event) and a correct response, replayed on a second retry.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from web3 import Web3

from api.amounts import parse_amount
from api.faults import KILL_POINTS
from api.tables import IdempotencyRecord
from chain.node.client import contract
from chain.node.signer import SignedTx
from chain.readmodel.store import make_engine
from tests.conftest import ChainWorld, ServerThread, chain_world, make_settings, random_hash
from tests.stress.harness import ApiProcess, admit, client, expect, issue, new_key
from tests.stress.results import record

KINDS = ("admission", "split", "transfer", "offer-accept")
# make test: three cases (an API process start costs seconds); make stress: every pair, three times.
FAST_CASES = [("before-send", "split"), ("after-send", "admission"), ("before-response", "transfer")]
LONG_CASES = [(point, kind) for kind in KINDS for point in KILL_POINTS]


@dataclass
class Write:
    """One write under test: who sends it, what, and how to check its single effect on the chain."""

    api_key: str
    path: str
    body: dict[str, Any]
    status: int
    sender: str  # the account whose nonce must move by exactly one
    check: Callable[[dict[str, Any], int], None]  # (response body, block before the write)


class Lab:
    """A private chain and the current hook-free API; each scenario kills an `scf serve` process with the
    hook and retries against a freshly started API (in-process: a new app, signer and indexer)."""

    def __init__(self, world: ChainWorld, logs: Path) -> None:
        self.world = world
        self.w3: Web3 = world.ledger.w3
        self.logs = logs
        self.runs = 0
        self.api = self.restart()
        op = self.client(world.operator_key)  # closed with the lab
        core, core_key = admit(op, ["core_enterprise"], credit_limit="100000000.00")
        self.core_key = core_key
        self.core_id = core["id"]
        self.bank, self.bank_key = admit(op, ["financier"])
        with self.client(self.bank_key) as bank:
            mint = {"member_id": self.bank["id"], "amount": "10000000.00", "reference": random_hash()}
            expect(bank.post("/v1/cash/mint", json=mint), 201)

    def spawn(self, **env: str) -> ApiProcess:
        self.runs += 1
        return ApiProcess(self.world.settings, self.logs / f"api-{self.runs}.log", **env).start()

    def restart(self) -> ServerThread:
        return ServerThread(make_settings(self.world.settings.data_dir, self.world.chain.port)).__enter__()

    def client(self, api_key: str, **headers: str) -> httpx.Client:
        return client(self.api.url, api_key, **headers)

    def contract(self, name: str) -> Any:
        return contract(self.w3, self.world.ledger.deployment, self.world.ledger.artifacts, name)

    def nonce(self, account: str) -> int:
        return int(self.w3.eth.get_transaction_count(Web3.to_checksum_address(account)))

    def supplier_with_note(self, face_value: str = "5000.00") -> tuple[dict[str, Any], str, int]:
        with self.client(self.world.operator_key) as op:
            supplier, key = admit(op, ["supplier"])
        with self.client(self.core_key) as core:
            note_id = issue(core, supplier["id"], face_value)["first_note_id"]
        return supplier, key, int(note_id)

    def prepare(self, kind: str) -> Write:
        if kind == "admission":
            return self._admission()
        supplier, key, note_id = self.supplier_with_note()
        with self.client(self.world.operator_key) as op:
            other, _ = admit(op, ["supplier"])
        notes = self.contract("ReceivableNotes")
        if kind == "split":

            def check_split(body: dict[str, Any], since: int) -> None:
                splits = notes.events.NoteSplit().get_logs(from_block=since, argument_filters={"parentId": note_id})
                assert len(splits) == 1, splits
                assert body["note"]["value"] == "4000.00" and body["new_note"]["value"] == "1000.00"
                assert notes.functions.balanceOf(note_id).call() == parse_amount("4000.00")
                new_id = splits[0]["args"]["noteId"]
                assert body["new_note"]["id"] == new_id and body["new_note"]["holder_id"] == other["id"]

            body = {"to": other["id"], "value": "1000.00"}
            return Write(key, f"/v1/notes/{note_id}/split", body, 201, supplier["account"], check_split)
        if kind == "transfer":

            def check_transfer(body: dict[str, Any], since: int) -> None:
                moves = notes.events.Transfer().get_logs(from_block=since, argument_filters={"tokenId": note_id})
                assert len(moves) == 1, moves
                assert notes.functions.ownerOf(note_id).call() == Web3.to_checksum_address(other["account"])
                assert body["id"] == note_id and body["holder_id"] == other["id"]

            return Write(
                key, f"/v1/notes/{note_id}/transfer", {"to": other["id"]}, 200, supplier["account"], check_transfer
            )
        assert kind == "offer-accept"
        expires = (date.today() + timedelta(days=7)).isoformat()
        with self.client(self.bank_key) as bank:
            offer = {"note_id": note_id, "value": "5000.00", "rate_bps": 700, "expires_at": expires}
            offer_id = expect(bank.post("/v1/financing/offers", json=offer), 201)["id"]
        cash = self.contract("CashToken")
        seller = Web3.to_checksum_address(supplier["account"])
        cash_before = cash.functions.balanceOf(seller).call()

        def check_accept(body: dict[str, Any], since: int) -> None:
            financing = self.contract("Financing")
            accepted = financing.events.OfferAccepted().get_logs(
                from_block=since, argument_filters={"offerId": offer_id}
            )
            assert len(accepted) == 1, accepted
            assert body["offer_id"] == offer_id and body["seller_id"] == supplier["id"]
            assert cash.functions.balanceOf(seller).call() - cash_before == parse_amount(body["price"])
            assert 0 < parse_amount(body["price"]) < parse_amount("5000.00")

        return Write(key, f"/v1/financing/offers/{offer_id}/accept", {}, 200, supplier["account"], check_accept)

    def _admission(self) -> Write:
        kyc = random_hash()
        registry = self.contract("MemberRegistry")
        operator = self.world.ledger.operator.address

        def check_admission(body: dict[str, Any], since: int) -> None:
            account = Web3.to_checksum_address(body["member"]["account"])
            admitted = registry.events.MemberAdmitted().get_logs(
                from_block=since, argument_filters={"account": account}
            )
            assert len(admitted) == 1, admitted
            assert admitted[0]["args"]["kycHash"] == bytes.fromhex(kyc[2:])
            assert body["member"]["id"] == admitted[0]["args"]["memberId"]
            with self.client(body["api_key"]) as member:  # the key handed out works
                assert expect(member.get("/v1/members/me"), 200)["id"] == body["member"]["id"]

        return Write(
            self.world.operator_key,
            "/v1/members",
            {"roles": ["supplier"], "kyc_hash": kyc},
            201,
            operator,
            check_admission,
        )

    def crash_and_retry(self, point: str, kind: str) -> None:
        write = self.prepare(kind)
        self.api.__exit__()
        nonce_before = self.nonce(write.sender)
        block_before = self.w3.eth.block_number + 1
        key = new_key()
        doomed = self.spawn(SCF_FAULT_KILL_AT=point)
        try:
            with (
                doomed.client(write.api_key, **{"Idempotency-Key": key}) as victim,
                pytest.raises(httpx.TransportError),
            ):
                victim.post(write.path, json=write.body)
            assert doomed.wait_exit() == -9, doomed.log_tail()
            assert f"SIGKILL at {point}" in doomed.log_tail()
        finally:
            doomed.stop()  # only if it did not die
            self.api = self.restart()  # the next scenario needs a live API even when this one failed
        sent = self.nonce(write.sender) - nonce_before
        assert sent == (0 if point == "before-send" else 1)  # before-send: stored, never broadcast

        with self.client(write.api_key, **{"Idempotency-Key": key}) as retry:
            body = expect(retry.post(write.path, json=write.body), write.status)
            replay = retry.post(write.path, json=write.body)
        assert replay.status_code == write.status and replay.headers.get("Idempotent-Replayed") == "true"
        assert replay.json() == body
        assert self.nonce(write.sender) - nonce_before == 1  # exactly one transaction, whatever the crash point
        write.check(body, block_before)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    data_dir = tmp_path_factory.mktemp("kill-points")
    with chain_world(data_dir) as world:
        lab = Lab(world, data_dir)
        try:
            yield lab
        finally:
            lab.api.__exit__()


def _run(lab: Lab, point: str, kind: str, tries: int) -> None:
    for _ in range(tries):
        with record(f"kill {point} / {kind}"):
            lab.crash_and_retry(point, kind)


@pytest.mark.parametrize(("point", "kind"), FAST_CASES)
def test_sigkill_at_kill_point_then_retry_has_one_effect(lab: Lab, point: str, kind: str) -> None:
    _run(lab, point, kind, tries=1)


@pytest.mark.stress
@pytest.mark.parametrize(("point", "kind"), LONG_CASES)
def test_sigkill_at_every_kill_point_of_every_write_kind(lab: Lab, point: str, kind: str) -> None:
    _run(lab, point, kind, tries=int(os.environ.get("SCF_STRESS_TRIES", "3")))


def test_two_keys_never_share_one_transaction(lab: Lab) -> None:
    """Issue 27.3. A request's signed transaction is stored, then the process dies before broadcasting it. A second
    request (another Idempotency-Key, the same split) gets the freed nonce and, signing being deterministic, the very
    same bytes. It must not take that transaction for its own: the stored one goes out as the first request's, and
    the second signs its own with the next nonce. The first request's retry then confirms with its own receipt:
    two requests, two splits, two notes (it used to be one split and the same note in both answers)."""
    supplier, key, note_id = lab.supplier_with_note()
    with lab.client(lab.world.operator_key) as op:
        other, _ = admit(op, ["supplier"])
    path, body = f"/v1/notes/{note_id}/split", {"to": other["id"], "value": "1000.00"}
    first_key = new_key()
    lab.api.__exit__()
    doomed = lab.spawn(SCF_FAULT_KILL_AT="before-send")
    try:
        with doomed.client(key, **{"Idempotency-Key": first_key}) as victim, pytest.raises(httpx.TransportError):
            victim.post(path, json=body)
        assert doomed.wait_exit() == -9, doomed.log_tail()
    finally:
        doomed.stop()
        lab.api = lab.restart()
    engine = make_engine(lab.world.settings.effective_database_url)
    try:
        with Session(engine) as session:
            record = session.scalars(select(IdempotencyRecord).where(IdempotencyRecord.key == first_key)).one()
            stored = SignedTx.from_json(record.steps[0]["signed"])
    finally:
        engine.dispose()
    assert lab.nonce(supplier["account"]) == stored.nonce  # stored, never broadcast

    with lab.client(key, **{"Idempotency-Key": new_key()}) as second:
        second_body = expect(second.post(path, json=body), 201)
    # the same bytes were signed again (same call, account, nonce and fees) and went out as the first request's
    assert lab.w3.eth.get_transaction_receipt(stored.tx_hash)["status"] == 1  # type: ignore[arg-type]
    with lab.client(key, **{"Idempotency-Key": first_key}) as retry:
        first_body = expect(retry.post(path, json=body), 201)
    assert first_body["new_note"]["id"] != second_body["new_note"]["id"]
    notes = lab.contract("ReceivableNotes")
    splits = notes.events.NoteSplit().get_logs(from_block=0, argument_filters={"parentId": note_id})
    assert {e["args"]["noteId"] for e in splits} == {first_body["new_note"]["id"], second_body["new_note"]["id"]}
    assert lab.nonce(supplier["account"]) == stored.nonce + 2
