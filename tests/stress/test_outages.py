"""The chain and the database go away (or misbehave) under a running API; nothing is lost or doubled.

One private chain for the module; each scenario serves a fresh API on it (a new app, signer and
indexer), like a restarted service. Scenarios: anvil restarted from its state file mid-workload, a
reorganisation while the indexer runs, the SQLite database locked, an RPC that stops answering, a
transaction that is not mined until it is replaced.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from web3 import Web3
from web3.exceptions import TransactionNotFound

from api.audit import rejected_attempt_findings
from api.tables import IdempotencyRecord
from chain.node.client import contract
from chain.node.signer import SignedTx
from chain.node.tx import send
from chain.readmodel.indexer import Indexer
from chain.readmodel.store import create_schema, make_engine
from tests.conftest import ChainWorld, ServerThread, chain_world, make_settings, needs_sqlite, problem, wait_until
from tests.stress.harness import (
    SIZES,
    admit,
    client,
    dump_read_model,
    expect,
    issue,
    new_key,
    scaled,
)
from tests.stress.results import record

SPLIT_VALUE = "200.00"  # S-3: at least face / 500 of the 100,000.00 receivable


@dataclass
class Party:
    """A supplier holding one note (`note_id`) and a second supplier it pays by splits."""

    supplier_id: int
    supplier_key: str
    account: str
    other_id: int
    note_id: int


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainWorld]:
    with chain_world(tmp_path_factory.mktemp("outages")) as world:
        yield world


@contextmanager
def serving(world: ChainWorld, **settings: object) -> Iterator[ServerThread]:
    with ServerThread(make_settings(world.settings.data_dir, world.chain.port, **settings)) as server:
        yield server


def new_party(server: ServerThread, world: ChainWorld, face_value: str = "100000.00") -> Party:
    with client(server.url, world.operator_key) as op:
        _core, core_key = admit(op, ["core_enterprise"], credit_limit="100000000.00")
        supplier, supplier_key = admit(op, ["supplier"])
        other, _ = admit(op, ["supplier"])
    with client(server.url, core_key) as core:
        note_id = int(issue(core, supplier["id"], face_value)["first_note_id"])
    return Party(supplier["id"], supplier_key, supplier["account"], other["id"], note_id)


def rpc(world: ChainWorld, method: str, params: list[Any] | None = None) -> Any:
    return world.ledger.w3.provider.make_request(method, params or [])["result"]  # type: ignore[arg-type]


def nonce(world: ChainWorld, account: str) -> int:
    return int(world.ledger.w3.eth.get_transaction_count(Web3.to_checksum_address(account)))


def sent_by(world: ChainWorld, account: str) -> list[str]:
    """Every mined transaction from `account`, one line each (nonce, block, status, selector, hash): for failure
    messages."""
    w3, sender, lines = world.ledger.w3, Web3.to_checksum_address(account), []
    for number in range(w3.eth.block_number + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            if tx["from"] == sender:  # type: ignore[index]
                try:
                    status: object = w3.eth.get_transaction_receipt(tx["hash"])["status"]  # type: ignore[index]
                except TransactionNotFound:  # a node that lost the receipt (see DevChain._pause_mining)
                    status = "no receipt"
                data = bytes(tx["input"])  # type: ignore[index]
                tx_hash = tx["hash"].hex()  # type: ignore[index]
                lines.append(f"nonce {tx['nonce']} block {number} status {status} 0x{data[:4].hex()} {tx_hash}")  # type: ignore[index]
    return lines


def splits_of(world: ChainWorld, note_id: int, since: int = 0) -> list[Any]:
    notes = contract(world.ledger.w3, world.ledger.deployment, world.ledger.artifacts, "ReceivableNotes")
    return list(notes.events.NoteSplit().get_logs(from_block=since, argument_filters={"parentId": note_id}))


def split(c: httpx.Client, party: Party, key: str) -> httpx.Response:
    body = {"to": party.other_id, "value": SPLIT_VALUE}
    return c.post(f"/v1/notes/{party.note_id}/split", json=body, headers={"Idempotency-Key": key})


def indexer_of(server: ServerThread) -> Indexer:
    indexer: Indexer = server.server.config.app.state.ledger.get().indexer
    return indexer


def engine_of(server: ServerThread) -> Engine:
    engine: Engine = server.server.config.app.state.engine
    return engine


def wait_caught_up(server: ServerThread, world: ChainWorld, timeout: float = 60.0) -> None:
    """Until the API's indexer has the chain's head block, with the chain's hash for it."""
    w3 = world.ledger.w3
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        checkpoint = indexer_of(server).checkpoint()
        head = w3.eth.get_block("latest")
        if checkpoint is not None and checkpoint[0] == head["number"] and checkpoint[1] == head["hash"].hex():
            return
        time.sleep(0.1)
    raise AssertionError(f"indexer stuck at {indexer_of(server).checkpoint()}, head {w3.eth.block_number}")


def assert_read_model_equals_rebuild(server: ServerThread, world: ChainWorld, scratch: Path) -> None:
    wait_caught_up(server, world)
    fresh = make_engine(f"sqlite:///{scratch / f'rebuild-{time.monotonic_ns()}.db'}")
    create_schema(fresh)
    ledger = world.ledger
    Indexer(
        fresh,
        ledger.w3,
        ledger.deployment,
        ledger.artifacts,
        alert_config=world.settings.alert_config(),
        extra_rules=(rejected_attempt_findings,),
    ).sync()
    served, rebuilt = dump_read_model(engine_of(server)), dump_read_model(fresh)
    fresh.dispose()
    for table, rows in rebuilt.items():
        assert served[table] == rows, f"table {table}: read model differs from a rebuild"


def admit_on_chain(world: ChainWorld) -> str:
    """A member admitted by the operator straight on the chain (not through the API): a new block."""
    ledger = world.ledger
    registry = contract(ledger.w3, ledger.deployment, ledger.artifacts, "MemberRegistry")
    account = Account.create().address
    fn = registry.functions.admit(account, 2, os.urandom(32), 0, 0)
    send(ledger.w3, ledger.operator, fn.build_transaction({"from": ledger.operator.address}))
    return str(account)


# ----------------------------------------------------------------------------------- anvil restart


@pytest.mark.parametrize("long", SIZES)
def test_anvil_restarted_mid_workload_loses_and_doubles_nothing(world: ChainWorld, tmp_path: Path, long: bool) -> None:
    with record("anvil restart mid-workload"), serving(world) as server:
        party = new_party(server, world)
        writes = scaled(long, 6, 40)
        done: dict[str, dict[str, Any]] = {}
        seen: list[int | str] = []
        failures: list[BaseException] = []

        def workload() -> None:
            try:
                with client(server.url, party.supplier_key) as c:
                    for _ in range(writes):
                        key, deadline = new_key(), time.monotonic() + 180
                        while key not in done:
                            assert time.monotonic() < deadline, f"split {key} never succeeded: {seen[-5:]}"
                            try:
                                response = split(c, party, key)
                            except httpx.TransportError as exc:
                                seen.append(type(exc).__name__)
                                time.sleep(0.2)
                                continue
                            seen.append(response.status_code)
                            if response.status_code == 201:
                                done[key] = response.json()
                            else:  # the chain is down: 503 problem+json, then the same key again
                                problem(response, 503)
                                time.sleep(0.2)
            except BaseException as exc:
                failures.append(exc)

        worker = threading.Thread(target=workload)
        worker.start()
        # mid-workload: after two writes (or at once if the worker failed: its failure is reported below)
        wait_until(lambda: len(done) >= 2 or not worker.is_alive(), "two splits before the restart", interval=0.05)
        world.chain.stop()  # SIGTERM: anvil writes its state file and exits
        try:
            problem(httpx.get(server.url + "/health", timeout=10), 503, "chain-unavailable")
            key_while_down = new_key()
            with client(server.url, party.supplier_key) as c:
                problem(split(c, party, key_while_down), 503)
            time.sleep(1.0)  # the outage lasts a while: the workload's retries meet the node down
        finally:
            world.chain.start()  # same port, same --state file
        worker.join(timeout=300)
        assert not failures, failures
        assert len(done) == writes
        with client(server.url, party.supplier_key) as c:
            done[key_while_down] = expect(split(c, party, key_while_down), 201)
        assert 503 in seen or len(done) == writes + 1  # the down-time write above saw the 503 in any case

        mined = splits_of(world, party.note_id)
        assert len(mined) == writes + 1  # one split per request: none lost, none doubled
        assert {e["args"]["noteId"] for e in mined} == {body["new_note"]["id"] for body in done.values()}
        sent = "\n".join([*sent_by(world, party.account), f"answers: {seen}"])
        assert nonce(world, party.account) == writes + 1, sent
        assert_read_model_equals_rebuild(server, world, tmp_path)


# ------------------------------------------------------------------------------------------- reorg


@pytest.mark.parametrize("long", SIZES)
def test_reorg_while_the_indexer_runs_leaves_the_read_model_equal_to_a_rebuild(
    world: ChainWorld, tmp_path: Path, long: bool
) -> None:
    for round_ in range(scaled(long, 1, 6)):
        # a fresh API per round: anvil's revert drops the orphaned transactions (a real reorg returns them to
        # the pool); the API that sent them would send them again at its member's next write (see
        # test_reorg_orphaning_acknowledged_writes_of_several_members), and this test wants them gone
        with record("reorg while indexing"), serving(world) as server:
            party = new_party(server, world)
            snapshot = rpc(world, "evm_snapshot")
            orphans = []
            with client(server.url, party.supplier_key) as c:
                for _ in range(1 + round_ % 3):  # reorgs of 1 to 3 blocks
                    orphans.append(expect(split(c, party, new_key()), 201)["new_note"]["id"])
            assert rpc(world, "evm_revert", [snapshot])
            for _ in range(2 + round_ % 2):  # the fork grows other blocks at the same heights, and more
                admit_on_chain(world)
            wait_caught_up(server, world)
            with client(server.url, party.supplier_key) as c:
                for orphan in orphans:
                    problem(c.get(f"/v1/notes/{orphan}"), 404)
                assert expect(c.get(f"/v1/notes/{party.note_id}"), 200)["value"] == "100000.00"
            assert splits_of(world, party.note_id) == []
            assert_read_model_equals_rebuild(server, world, tmp_path)


# -------------------------------------------------------------------------------------- database


@contextmanager
def database_locked(world: ChainWorld) -> Iterator[None]:
    """Another connection holds SQLite's write lock (BEGIN EXCLUSIVE) until the block ends."""
    lock = sqlite3.connect(world.settings.data_dir / "scf.db", timeout=30, isolation_level=None)
    try:
        lock.execute("BEGIN EXCLUSIVE")
        yield
        lock.execute("ROLLBACK")
    finally:
        lock.close()


@needs_sqlite  # the lock is SQLite's file lock, held by another connection
@pytest.mark.parametrize("long", SIZES)
def test_database_locked_answers_503_and_the_retry_writes_once(world: ChainWorld, long: bool) -> None:
    for _ in range(scaled(long, 1, 5)):
        _locked_before_the_write(world)


def _locked_before_the_write(world: ChainWorld) -> None:
    with record("database locked (before the write)"), serving(world, db_busy_timeout=0.5) as server:
        party = new_party(server, world)
        before, since, key = nonce(world, party.account), world.ledger.w3.eth.block_number + 1, new_key()
        with client(server.url, party.supplier_key) as c:
            with database_locked(world):
                problem(split(c, party, key), 503, "database-unavailable")
                with client(server.url, world.operator_key) as op:
                    admission = {"roles": ["supplier"], "kyc_hash": "0x" + os.urandom(32).hex()}
                    refused = op.post("/v1/members", json=admission, headers={"Idempotency-Key": new_key()})
                    problem(refused, 503, "database-unavailable")
                assert expect(c.get(f"/v1/notes/{party.note_id}"), 200)["value"] == "100000.00"  # WAL: reads go on
                assert nonce(world, party.account) == before  # nothing was sent
            with Session(engine_of(server)) as session:  # nothing half-written: no record of a started write
                stored = session.get(IdempotencyRecord, (party.supplier_id, key))
                assert stored is None or not stored.steps
            assert expect(split(c, party, key), 201)["note"]["value"] == "99800.00"
        assert nonce(world, party.account) == before + 1
        assert len(splits_of(world, party.note_id, since)) == 1


@pytest.mark.parametrize("long", SIZES)
def test_database_locked_at_random_moments_of_writes(world: ChainWorld, tmp_path: Path, long: bool) -> None:
    rng = random.Random(9)
    with serving(world, db_busy_timeout=0.3) as server:
        party = new_party(server, world)
        tries = scaled(long, 3, 20)
        before = nonce(world, party.account)
        for _ in range(tries):
            with record("database locked (random moment)"):
                key, answers = new_key(), []
                with client(server.url, party.supplier_key) as c:
                    worker = threading.Thread(target=lambda: answers.append(split(c, party, key)))  # noqa: B023
                    worker.start()
                    time.sleep(rng.uniform(0.0, 0.6))  # fault shaping: the lock comes at a random moment of the write
                    with database_locked(world):
                        time.sleep(1.0)  # and is held a while (longer than db_busy_timeout)
                    worker.join(timeout=120)
                    first = answers[0]
                    if first.status_code != 201:
                        problem(first, 503)
                        expect(split(c, party, key), 201)  # the retry resumes or starts afresh
        assert nonce(world, party.account) == before + tries  # one transaction per request
        assert len(splits_of(world, party.note_id)) == tries
        assert_read_model_equals_rebuild(server, world, tmp_path)


# ---------------------------------------------------------------------------- RPC and stuck txs


@pytest.mark.parametrize("long", SIZES)
def test_rpc_timeout_answers_503_and_the_retry_writes_once(world: ChainWorld, long: bool) -> None:
    for _ in range(scaled(long, 1, 5)):
        _frozen_node(world)


def _frozen_node(world: ChainWorld) -> None:
    with record("RPC timeout (node frozen)"), serving(world, rpc_timeout=1.0) as server:
        party = new_party(server, world)
        before, key = nonce(world, party.account), new_key()
        pid = world.chain.pid
        assert pid is not None
        with client(server.url, party.supplier_key) as c:
            os.kill(pid, signal.SIGSTOP)  # the node accepts connections but never answers
            try:
                problem(split(c, party, key), 503, "chain-unavailable")
                problem(httpx.get(server.url + "/health", timeout=10), 503, "chain-unavailable")
            finally:
                os.kill(pid, signal.SIGCONT)
            assert expect(split(c, party, key), 201)["new_note"]["value"] == SPLIT_VALUE
        assert nonce(world, party.account) == before + 1


@pytest.mark.parametrize("long", SIZES)
def test_stuck_transaction_is_replaced_not_sent_twice(world: ChainWorld, long: bool) -> None:
    w3 = world.ledger.w3
    for _ in range(scaled(long, 1, 5)):
        with record("stuck transaction replaced"), serving(world, tx_stuck_after=1.0) as server:
            party = new_party(server, world)
            before, since, key = nonce(world, party.account), w3.eth.block_number + 1, new_key()
            answers: list[httpx.Response] = []
            rpc(world, "evm_setAutomine", [False])
            try:
                with client(server.url, party.supplier_key) as c:
                    worker = threading.Thread(target=lambda: answers.append(split(c, party, key)))  # noqa: B023
                    worker.start()
                    replacement = wait_for_replacement(engine_of(server), party.supplier_id, key)
                    # stored before it is broadcast (and synced to disk in between): mine once the node has it
                    wait_until_pending(w3, replacement.tx_hash)
                    rpc(world, "evm_mine")
                    rpc(world, "evm_setAutomine", [True])
                    worker.join(timeout=120)
            finally:
                rpc(world, "evm_setAutomine", [True])
            assert answers and answers[0].status_code == 201, answers
            stored = wait_for_replacement(engine_of(server), party.supplier_id, key)  # every version sent
            mined = splits_of(world, party.note_id, since)
            assert len(mined) == 1
            mined_hash = mined[0]["transactionHash"].to_0x_hex()
            assert mined_hash in stored.hashes and mined_hash != stored.hashes[-1]  # a replacement, not the original
            with pytest.raises(TransactionNotFound):
                w3.eth.get_transaction_receipt(stored.hashes[-1])  # type: ignore[arg-type]
            assert nonce(world, party.account) == before + 1
            with client(server.url, party.supplier_key) as c:  # no nonce gap: the next write mines at once
                expect(split(c, party, new_key()), 201)
            assert nonce(world, party.account) == before + 2
            assert w3.eth.get_transaction_count(Web3.to_checksum_address(party.account), "pending") == before + 2


def wait_until_pending(w3: Web3, tx_hash: str, timeout: float = 30.0) -> None:
    """Until the node knows the transaction (in its pool or mined)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
            return
        except TransactionNotFound:
            time.sleep(0.02)
    raise AssertionError(f"the node never received {tx_hash}")


def wait_for_replacement(engine: Engine, principal: int, key: str, timeout: float = 60.0) -> SignedTx:
    """The signed transaction stored for the write once it has been replaced at least once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as session:
            stored = session.get(IdempotencyRecord, (principal, key))
            steps = list(stored.steps or []) if stored is not None else []
        signed = [SignedTx.from_json(step["signed"]) for step in steps if "signed" in step]
        if signed and signed[-1].superseded:
            return signed[-1]
        time.sleep(0.05)
    raise AssertionError("the stuck transaction was never replaced")


# ------------------------------------------------------------------------- writes orphaned by a reorg


def transfer(c: httpx.Client, party: Party, key: str) -> httpx.Response:
    return c.post(f"/v1/notes/{party.note_id}/transfer", json={"to": party.other_id}, headers={"Idempotency-Key": key})


def assert_split_is_true(world: ChainWorld, party: Party, body: dict[str, Any]) -> None:
    """A split's answer describes the chain as it is: its new note exists, held by the recipient, with the value."""
    notes = contract(world.ledger.w3, world.ledger.deployment, world.ledger.artifacts, "ReceivableNotes")
    new_id = body["new_note"]["id"]
    assert body["new_note"]["holder_id"] == party.other_id and body["new_note"]["value"] == SPLIT_VALUE
    assert notes.functions.balanceOf(new_id).call() == 20_000, body  # SPLIT_VALUE in minor units
    assert new_id in {e["args"]["noteId"] for e in splits_of(world, party.note_id)}, body


@pytest.mark.parametrize("long", SIZES)
def test_reorg_orphaning_acknowledged_writes_of_several_members(world: ChainWorld, tmp_path: Path, long: bool) -> None:
    """`anvil_reorg` drops the blocks of writes already answered 201 (several members, one each). A replay never
    answers the stale 201: the write is done again under its key (its stored transaction re-broadcast) and
    answered as it is now, or, when it can no longer be done, `409 write-orphaned`. Every member writes again at
    once: its queue re-sends what the chain lost below its next nonce instead of waiting behind the gap."""
    for _round in range(scaled(long, 1, 3)):
        # the receipt timeout bounds the old failure (every later write of a member stuck behind the gap)
        with record("reorg orphaning acknowledged writes"), serving(world, tx_receipt_timeout=30.0) as server:
            a, b, c, d = (new_party(server, world) for _ in range(4))
            answered: dict[str, tuple[Party, str, dict[str, Any]]] = {}
            with client(server.url, a.supplier_key) as ca, client(server.url, b.supplier_key) as cb:
                for name, party, cl in (("a", a, ca), ("b", b, cb)):
                    key = new_key()
                    answered[name] = (party, key, expect(split(cl, party, key), 201))
            with client(server.url, c.supplier_key) as cc:
                key = new_key()
                answered["c"] = (c, key, expect(split(cc, c, key), 201))
            with client(server.url, d.supplier_key) as cd:
                key = new_key()
                answered["d"] = (d, key, expect(transfer(cd, d, key), 200))
            rpc(world, "anvil_reorg", [4, []])  # automine: one block per write; the four are replaced by empty ones
            for party in (a, b, c, d):
                assert splits_of(world, party.note_id) == [] and nonce(world, party.account) == 0
            wait_caught_up(server, world)

            # a: writes again at once (its orphaned split goes out again first), then replays the orphaned key
            with client(server.url, a.supplier_key) as ca:
                assert_split_is_true(world, a, expect(split(ca, a, new_key()), 201))
                party, key, _first = answered["a"]
                replay = split(ca, a, key)
            # b: replays first (its stored transaction is re-broadcast), then writes again
            with client(server.url, b.supplier_key) as cb:
                party, key, _first = answered["b"]
                replay_b = split(cb, b, key)
                assert replay_b.status_code == 201 and "Idempotent-Replayed" not in replay_b.headers, replay_b.text
                assert_split_is_true(world, b, replay_b.json())
                assert_split_is_true(world, b, expect(split(cb, b, new_key()), 201))
            assert replay.status_code == 201 and "Idempotent-Replayed" not in replay.headers, replay.text
            assert_split_is_true(world, a, replay.json())
            # c: only writes again
            with client(server.url, c.supplier_key) as cc:
                assert_split_is_true(world, c, expect(split(cc, c, new_key()), 201))
                party, key, _first = answered["c"]
                assert_split_is_true(world, c, expect(split(cc, c, key), 201))  # the re-mined one, as it is now
            for party in (a, b, c):
                assert len(splits_of(world, party.note_id)) == 2  # the orphaned write once, the new one once
                assert nonce(world, party.account) == 2
            # d: suspended meanwhile, its orphaned transfer cannot be done again: a clear problem, stored
            with client(server.url, world.operator_key) as op:
                expect(op.post(f"/v1/members/{d.supplier_id}/suspend"), 200)
            with client(server.url, d.supplier_key) as cd:
                party, key, _first = answered["d"]
                body = problem(transfer(cd, d, key), 409, "write-orphaned")
                assert body["answered"] == 200 and body["orphaned"], body
                assert body["cause"]["type"].endswith("/member-not-active"), body
                again = transfer(cd, d, key)
                assert again.status_code == 409 and again.headers.get("Idempotent-Replayed") == "true"
            notes = contract(world.ledger.w3, world.ledger.deployment, world.ledger.artifacts, "ReceivableNotes")
            assert notes.functions.ownerOf(d.note_id).call() == Web3.to_checksum_address(d.account)
            assert_read_model_equals_rebuild(server, world, tmp_path)


@pytest.mark.parametrize("long", SIZES)
def test_anvil_killed_and_restarted_with_a_lost_window_under_writes(
    world: ChainWorld, tmp_path: Path, long: bool
) -> None:
    """Anvil SIGKILLed and restarted from its last state dump loses the blocks after it, with writes answered
    201 in them (several members). No account is stuck (every member writes again at once), every lost write is
    done again exactly once under its key (its replay answers as it is now, never the stale 201), no two
    requests share a transaction, and the read model equals a rebuild."""
    with record("anvil SIGKILL with a lost window"), serving(world, tx_receipt_timeout=30.0) as server:
        parties = [new_party(server, world) for _ in range(3)]
        world.chain.stop()  # a clean stop dumps the state: the window that the SIGKILL below loses starts here
        world.chain.start()
        writes = scaled(long, 2, 5)
        answered: list[tuple[Party, str]] = []
        bodies: dict[str, dict[str, Any]] = {}
        for party in parties:
            with client(server.url, party.supplier_key) as c:
                for _ in range(writes):
                    key = new_key()
                    bodies[key] = expect(split(c, party, key), 201)
                    answered.append((party, key))
        process = world.chain._process  # SIGKILL: no dump, the window's blocks are lost
        assert process is not None
        process.kill()
        process.wait()
        world.chain.start()  # same port, the last dump
        lost = {party.account: writes - nonce(world, party.account) for party in parties}
        assert any(lost.values()), lost  # (a periodic dump in the window would have kept some of it)

        for party in parties:  # no account stuck: a new write now, with the lost ones still unsent
            with client(server.url, party.supplier_key) as c:
                key = new_key()
                body = expect(split(c, party, key), 201)
                assert_split_is_true(world, party, body)
                bodies[key] = body
        for party, key in answered:  # every answer in the lost window, asked again: true now, never stale
            with client(server.url, party.supplier_key) as c:
                replay = split(c, party, key)
            assert replay.status_code == 201, replay.text
            assert_split_is_true(world, party, replay.json())
            bodies[key] = replay.json()
        for party in parties:
            mined = splits_of(world, party.note_id)
            assert len(mined) == writes + 1, "\n".join(sent_by(world, party.account))  # none lost, none doubled
            assert nonce(world, party.account) == writes + 1
        # one transaction, one request: as many distinct new notes as requests, each answered with its own
        new_ids = [body["new_note"]["id"] for body in bodies.values()]
        assert len(set(new_ids)) == len(new_ids) == len(parties) * (writes + 1)
        assert_read_model_equals_rebuild(server, world, tmp_path)


def test_a_transaction_not_mined_in_time_is_reported_pending_and_its_retry_gets_the_outcome(
    world: ChainWorld,
) -> None:
    """A write whose transaction is sent but not mined within the receipt timeout is never answered as failed (it
    may still be mined, and then it would have executed after all): `503 transaction-pending`, and the retry with
    the same key waits for the same transaction and answers its outcome."""
    with record("transaction pending, then mined"), serving(world, tx_receipt_timeout=3.0) as server:
        party = new_party(server, world)
        key = new_key()
        rpc(world, "evm_setAutomine", [False])
        try:
            with client(server.url, party.supplier_key) as c:
                body = problem(split(c, party, key), 503, "transaction-pending")
            assert body["tx_hash"] in body["detail"] and "same Idempotency-Key" in body["detail"]
        finally:
            rpc(world, "evm_setAutomine", [True])
        rpc(world, "evm_mine")  # what waited in the pool is mined now: the write did happen
        with client(server.url, party.supplier_key) as c:
            done = expect(split(c, party, key), 201)
        assert_split_is_true(world, party, done)
        assert len(splits_of(world, party.note_id)) == 1 and nonce(world, party.account) == 1
