"""The ledger on a 4-validator geth Clique network, one node per organisation: the story to settlement, a bank
verifying against its own observer node, a self-custody bank sending through its own node, one validator down, two
down (stall, 503 chain-stalled, resume), a partition with a competing block, a reorg orphaning acknowledged writes,
and signer votes. One network for the module; each test leaves every node running when it ends."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.audit import rejected_attempt_findings
from chain.devnet.network import head
from chain.node.artifacts import load_artifacts
from chain.node.client import connect
from chain.node.deployment import load_deployment
from chain.node.proofs import verify_proof_file
from chain.node.rpc import rpc_call
from chain.readmodel.indexer import Indexer, read_checkpoint
from chain.readmodel.store import PROJECTIONS, create_schema, make_engine
from scripts.cli import app
from tests.conftest import ServerThread, admitted, ok, problem, random_hash
from tests.consortium.conftest import Consortium
from tests.e2e.test_story import run_story
from tests.stress.harness import dump_read_model

pytestmark = pytest.mark.consortium


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def _advances(url: str, blocks: int = 3, timeout: float = 60.0) -> None:
    start = head(url)[0]
    _wait(lambda: head(url)[0] >= start + blocks, timeout, f"{blocks} new blocks on {url}")


def test_story_on_four_validators(consortium: Consortium) -> None:
    net = consortium.net
    assert len(net.signers()) == 4
    assert all(row["peers"] >= 3 for row in net.status())
    w3 = connect(net.operator_rpc)
    run_story(consortium.server.url, consortium.operator_key, w3, None)
    # every block of the story was sealed by one of the four organisations' keys
    signers = {s.lower() for s in net.signers()}
    latest = head(net.operator_rpc)[0]
    sealers = {str(rpc_call(net.operator_rpc, "clique_getSigner", [hex(n)])).lower() for n in range(1, latest + 1)}
    assert sealers <= signers and len(sealers) >= 3


def test_scf_up_network_serves_against_the_operators_node(consortium: Consortium) -> None:
    from scripts.cli import _network_settings
    from scripts.runtime import prepare_ledger

    settings = _network_settings(consortium.net.root)
    assert settings.rpc_url == consortium.net.operator_rpc
    assert settings.data_dir == consortium.net.service_dir
    assert settings.chain_stall_after == 10.0  # ten Clique periods
    assert settings.indexer_confirmations == 2
    assert settings.source_node == ("named", "operator")  # verification answers name the node
    # the API's read model stays two blocks behind the operator's head (it was just written to by the story)
    engine = make_engine(consortium.settings.effective_database_url)
    checkpoint = read_checkpoint(engine)
    engine.dispose()
    assert checkpoint is not None and checkpoint[0] <= head(consortium.net.operator_rpc)[0] - 2
    ledger = prepare_ledger(settings)
    assert ledger.reused  # `scf up --network` reuses the suite `scf network up` deployed
    assert {n: c.address for n, c in ledger.deployment.contracts.items()} == consortium.net.record.contracts  # type: ignore[union-attr]


def test_bank_verifies_a_note_against_its_own_observer(consortium: Consortium, tmp_path: Path) -> None:
    net, url = consortium.net, consortium.server.url
    observer = net.add_observer("bank-c", consortium.geth)
    assert observer.role == "observer"
    assert observer.signer.lower() not in {s.lower() for s in net.signers()}
    with admitted(
        url,
        consortium.operator_key,
        [("core", ["core_enterprise"], {"credit_limit": "100000.00"}), ("supplier", ["supplier"], {})],
    ) as p:
        note = _issue_note(p["core"].client, p["supplier"].client, p["core"].id)
        answer = ok(p["supplier"].client.get(f"/v1/verify/notes/{note}", params={"proof": "true"}))
    bundle = answer["proof"]
    # the answer names the node the service read the proof from, and its block; the bank checks it on its own
    assert answer["node"] == {"name": "operator", "kind": "named", "block": answer["block"]}
    assert answer["block"] == {"number": bundle["block"]["number"], "hash": bundle["block"]["hash"]}
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(bundle))
    number = int(bundle["block"]["number"])
    _wait(lambda: head(observer.rpc_url)[0] >= number, 120, "the observer to sync the proof's block")
    verified = verify_proof_file(path, observer.rpc_url)
    assert verified.block_hash == bundle["block"]["hash"]
    assert verified.note_id == note
    result = CliRunner().invoke(app, ["verify-proof", str(path), "--rpc", observer.rpc_url])
    assert result.exit_code == 0, result.output
    assert observer.rpc_url in result.output and bundle["block"]["hash"] in result.output.replace("\n", "")
    # a bundle from another chain (a forged block hash) does not verify against the bank's node
    bundle["block"]["hash"] = "0x" + "ab" * 32
    path.write_text(json.dumps(bundle))
    result = CliRunner().invoke(app, ["verify-proof", str(path), "--rpc", observer.rpc_url])
    assert result.exit_code == 1 and "proof rejected" in result.output


def test_self_custody_bank_sends_through_its_own_node(consortium: Consortium) -> None:
    """A bank that holds its own key (issue 26) writes on the consortium without the operator's service sending
    anything: the API prepares the transaction (202), the bank signs it locally and broadcasts it through its own
    observer node (eth_sendRawTransaction there, not the API), the validators mine it, and the API's read model
    picks it up from the chain: its answers show the new state. Submitting the same signed transaction to the API
    afterwards finishes the request with the write's answer, and the mint counts once."""
    net, url = consortium.net, consortium.server.url
    observer = (
        net.node("bank-c")
        if any(n.name == "bank-c" for n in net.nodes)
        else net.add_observer("bank-c", consortium.geth)
    )
    assert observer.role == "observer" and observer.rpc_url != net.operator_rpc
    own: LocalAccount = Account.create()
    headers = {"Authorization": f"Bearer {consortium.operator_key}"}
    with httpx.Client(base_url=url, timeout=120, headers=headers) as op:
        challenge = ok(op.post("/v1/members/challenge", json={"address": own.address}), 201)
        assert f"Chain id: {connect(net.operator_rpc).eth.chain_id}" in challenge["message"]
        signature = own.sign_message(encode_defunct(text=challenge["message"])).signature.to_0x_hex()
        body = {
            "roles": ["financier"],
            "kyc_hash": random_hash(),
            "mint_ceiling": "1000.00",  # a financier mints up to its ceiling (S-5)
            "address": own.address,
            "challenge_id": challenge["challenge_id"],
            "signature": signature,
        }
        admitted_bank = ok(op.post("/v1/members", json=body), 201)
    assert admitted_bank["member"]["custody"] == "self"
    bank_id = admitted_bank["member"]["id"]
    with httpx.Client(
        base_url=url, timeout=120, headers={"Authorization": f"Bearer {admitted_bank['api_key']}"}
    ) as bank:
        key = {"Idempotency-Key": uuid.uuid4().hex}
        mint = {"member_id": bank_id, "amount": "250.00", "reference": f"own-{uuid.uuid4().hex[:8]}"}
        prepared = bank.post("/v1/cash/mint", json=mint, headers=key)
        assert prepared.status_code == 202, prepared.text
        tx = {k: v for k, v in prepared.json()["transaction"].items() if k != "from"}
        raw = own.sign_transaction(tx).raw_transaction.to_0x_hex()

        # the operator sent the bank's address gas money at admission; the bank's node has synced that far
        assert int(str(rpc_call(net.operator_rpc, "eth_getBalance", [own.address, "latest"])), 16) > 0
        _wait(
            lambda: int(str(rpc_call(observer.rpc_url, "eth_getBalance", [own.address, "latest"])), 16) > 0,
            180,
            "the bank's node to sync the admission",
        )
        # through the bank's own node: the API's node never gets it from the bank
        tx_hash = str(rpc_call(observer.rpc_url, "eth_sendRawTransaction", [raw]))
        _wait(
            lambda: isinstance(rpc_call(observer.rpc_url, "eth_getTransactionReceipt", [tx_hash]), dict),
            120,
            "the bank's transaction mined, as its own node sees it",
        )
        receipt = rpc_call(observer.rpc_url, "eth_getTransactionReceipt", [tx_hash])
        assert isinstance(receipt, dict) and receipt["status"] == "0x1", receipt
        assert str(receipt["from"]).lower() == own.address.lower()
        sealer = str(rpc_call(observer.rpc_url, "clique_getSigner", [receipt["blockNumber"]])).lower()
        assert sealer in {s.lower() for s in net.signers()}  # a validator mined it, not the observer
        _wait(
            lambda: ok(bank.get("/v1/cash/balance"))["balance"] == "250.00",
            120,
            "the API's read model to pick the mint up from the chain",
        )

        # the request, finished with the signed transaction: the write's answer, one mint
        problem(bank.post("/v1/cash/mint", json=mint, headers=key), 409, "prepared-nonce-used")
        done = ok(bank.post("/v1/transactions", json={"raw": raw}), 201)
        assert done["balance"]["balance"] == "250.00" and _0x(done["tx_hash"]) == tx_hash
        assert ok(bank.get("/v1/cash/balance"))["balance"] == "250.00"


def _issue_note(core: httpx.Client, supplier: httpx.Client, core_id: int) -> int:
    from datetime import date, timedelta

    today = date.today()
    order = ok(
        supplier.post(
            "/v1/orders",
            json={
                "buyer_id": core_id,
                "amount": "1000.00",
                "document_hash": random_hash(),
                "due_date": str(today + timedelta(30)),
            },
        ),
        201,
    )
    ok(core.post(f"/v1/orders/{order['id']}/confirm"))
    ok(supplier.post(f"/v1/orders/{order['id']}/deliver"))
    accepted = ok(
        core.post(
            f"/v1/orders/{order['id']}/accept",
            json={"face_value": "1000.00", "maturity": str(today + timedelta(60)), "invoice_hash": random_hash()},
        )
    )
    receivable = ok(supplier.get(f"/v1/receivables/{accepted['receivable_id']}"))
    return int(receivable["first_note_id"])


def _replay(client: httpx.Client, original: httpx.Response, key: str) -> httpx.Response:
    """The same request again, with the same Idempotency-Key and body."""
    headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
    return client.post(original.request.url.path, content=original.request.content, headers=headers)


def _mint(client: httpx.Client, member: int, amount: str, key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    body = {"member_id": member, "amount": amount, "reference": f"ref-{uuid.uuid4().hex[:8]}"}
    return client.post("/v1/cash/mint", json=body, headers=headers)


def test_one_validator_down_blocks_and_writes_go_on(
    consortium: Consortium, record_property: Callable[[str, object], None]
) -> None:
    net, url = consortium.net, consortium.server.url
    with admitted(url, consortium.operator_key, [("bank", ["financier"], {})]) as p:
        bank = p["bank"]
        net.stop_node("bank-b")
        try:
            _advances(net.operator_rpc)
            latencies = []
            for _ in range(5):
                started = time.monotonic()
                ok(_mint(bank.client, bank.id, "10.00"), 201)
                latencies.append(time.monotonic() - started)
            assert ok(bank.client.get("/v1/cash/balance"))["balance"] == "50.00"
            median, worst = sorted(latencies)[2], max(latencies)
            record_property("write_latency_median_s", round(median, 2))  # reported (JUnit XML), not asserted
            record_property("write_latency_max_s", round(worst, 2))
            print(f"\nwrite latency with 3 of 4 validators: median {median:.2f}s, max {worst:.2f}s")
        finally:
            net.start_node("bank-b", consortium.geth)
    _wait(lambda: head(net.node("bank-b").rpc_url)[0] >= head(net.operator_rpc)[0] - 1, 120, "bank-b to catch up")


def test_two_validators_down_stall_then_resume(consortium: Consortium) -> None:
    net, url = consortium.net, consortium.server.url
    with admitted(url, consortium.operator_key, [("bank", ["financier"], {})]) as p:
        bank = p["bank"]
        net.stop_node("bank-a")
        net.stop_node("bank-b")
        try:
            stalled_at = head(net.operator_rpc)
            changed = time.monotonic()

            def stalled() -> bool:  # two of four signers cannot seal (each may sign once in three blocks)
                nonlocal stalled_at, changed
                now = head(net.operator_rpc)
                if now != stalled_at:
                    stalled_at, changed = now, time.monotonic()
                return time.monotonic() - changed > 4.0  # four Clique periods without a block

            _wait(stalled, 60, "block production to stop")
            first_key, second_key = f"stall-{uuid.uuid4().hex}", f"stall-{uuid.uuid4().hex}"
            started = time.monotonic()
            first = _mint(bank.client, bank.id, "7.00", first_key)  # sent, then the wait notices the stall
            first_s = time.monotonic() - started
            body = problem(first, 503, "chain-stalled")
            assert body["blockHash"] == stalled_at[1]
            started = time.monotonic()
            second = _mint(bank.client, bank.id, "5.00", second_key)  # refused before anything is signed
            second_s = time.monotonic() - started
            problem(second, 503, "chain-stalled")
            print(f"\nchain-stalled answers after {first_s:.1f}s (a sent write) and {second_s:.1f}s (a new write)")
            assert head(net.operator_rpc) == stalled_at
        finally:
            net.start_node("bank-a", consortium.geth)
        try:
            _advances(net.operator_rpc, timeout=120)
            # the retries with the same keys return the original results: the stored transaction of the first
            # mined once the chain resumed, and is not sent twice
            retried = ok(_replay(bank.client, first, first_key), 201)
            assert ok(_replay(bank.client, first, first_key), 201) == retried
            ok(_replay(bank.client, second, second_key), 201)
            assert ok(bank.client.get("/v1/cash/balance"))["balance"] == "12.00"  # nothing lost, nothing twice
        finally:
            net.start_node("bank-b", consortium.geth)
    _wait(lambda: all(r.get("lag") is not None and r["lag"] <= 2 for r in net.status()), 120, "all nodes in step")


def test_partition_competing_block_and_heal(consortium: Consortium, tmp_path: Path) -> None:
    net, url = consortium.net, consortium.server.url
    if net.record is None or net.record.mode != "netns":
        pytest.skip("partitions need network namespaces (root with `ip`); this network runs on loopback ports")
    # an indexer of its own follows the node that will be cut off (a bank's read model on its own node)
    cut = net.node("core")
    w3 = connect(cut.rpc_url)
    deployment = load_deployment(net.service_dir, w3.eth.chain_id)
    assert deployment is not None
    engine = make_engine(f"sqlite:///{tmp_path / 'core.db'}")
    indexer = Indexer(engine, w3, deployment, load_artifacts())
    indexer.sync()
    with admitted(url, consortium.operator_key, [("bank", ["financier"], {})]) as p:
        bank = p["bank"]
        forked = False
        minted = 0
        stalls = 0
        for _attempt in range(4):  # core seals an out-of-turn block alone unless it signed one of the last two
            net.settle(consortium.geth, blocks=3, log=print)  # before the cut: blocks come and every node agrees
            before = head(cut.rpc_url)
            net.partition("core")
            try:
                for _ in range(3):  # writes go on while core is cut off
                    key = f"part-{uuid.uuid4().hex}"
                    written = _mint(bank.client, bank.id, "1.00", key)
                    if written.status_code == 503 and written.json()["type"].endswith("/chain-stalled"):
                        # Clique's known liveness limit: the three connected signers can deadlock on competing
                        # blocks ("signed recently"). Then the write is 503, nothing is lost, and after the
                        # validators restart its retry with the same key is the one write (counted below)
                        stalls += 1
                        net.settle(consortium.geth, log=print, exclude=frozenset({"core"}))
                        written = _replay(bank.client, written, key)
                    ok(written, 201)
                    minted += 1
                _advances(net.operator_rpc, blocks=4)
                alone = head(cut.rpc_url)
                if alone[0] > before[0]:
                    forked = True
                    indexer.sync()  # the read model now holds core's own block at its head
                    assert indexer.indexed_block() == alone[0]
            finally:
                net.heal("core")
            _wait(
                lambda: head(cut.rpc_url)[0] > head(net.operator_rpc)[0] - 2 and _same_chain(net, cut.rpc_url),
                180,
                "core to rejoin the majority chain",
            )
            if forked:
                break
        assert forked, "core never sealed a block of its own while cut off"
        assert rpc_call(cut.rpc_url, "eth_getBlockByNumber", [hex(alone[0]), False])["hash"] != alone[1]  # type: ignore[index]
        indexer.sync()
        assert indexer.reorgs, "the indexer did not see core's block replaced"
        # all nodes end on the same head hash
        _wait(lambda: len({(r["head"], r["hash"]) for r in net.status()}) == 1, 60, "all nodes on the same head")
        assert ok(bank.client.get("/v1/cash/balance"))["balance"] == f"{minted}.00"  # every write once
        print(f"\npartition: {minted} writes, {stalls} Clique stall(s) recovered by restarting the validators")
    # the read model after the reorg equals a rebuild from the chain's events
    indexer.sync()
    before_rebuild = _snapshot(engine)
    indexer.rebuild()
    assert _snapshot(engine) == before_rebuild
    engine.dispose()


def test_clique_reorg_orphans_acknowledged_writes_of_several_members(consortium: Consortium, tmp_path: Path) -> None:
    """Writes of three members answered 201 from a block that only the operator's node (the API's node) has, which
    the heal reorganises away (issue 27 on Clique; the anvil version is tests/stress/test_outages.py::
    test_reorg_orphaning_acknowledged_writes_of_several_members).

    The operator pauses its sealing (`miner_stop`) until the last two blocks are the others', so that it may seal
    one block alone; its node is cut off; three banks each send a mint through the API, whose transactions wait in
    the operator's pool (they cannot reach the others); the operator seals again (`miner_start`): one block of its
    own with the three mints, and then no more ("signed recently"). The API answers 201 for them from that block:
    for this test only the API runs with indexer confirmations 0 (the module's API waits for 2, so a one-block
    fork is never acknowledged: the operator alone cannot make the second block) and a stall limit longer than the
    wait. The three other signers go on meanwhile, a longer chain without the mints. After the heal the operator's
    block is replaced; geth puts its transactions back in the pool and they are mined again on the majority chain.

    Proved: the replays with the same keys never answer the stored 201 (no `Idempotent-Replayed` copy of the
    orphaned answer): each resumes to the canonical result (its transaction, in a block every node has) or answers
    409 write-orphaned; each mint is counted once in the balances; every bank writes again at once (its nonce
    queue follows the chain: no gap, no wait); and the API's read model equals a rebuild from the chain."""
    net = consortium.net
    if net.record is None or net.record.mode != "netns":
        pytest.skip("partitions need network namespaces (root with `ip`); this network runs on loopback ports")
    operator, majority = net.node("operator"), net.node("core")
    settings = consortium.settings.model_copy(update={"indexer_confirmations": 0, "chain_stall_after": 120.0})
    consortium.server.__exit__()  # one API on the data dir at a time; the module's API is served again below
    try:
        with ServerThread(settings) as server:
            _orphan_acknowledged_writes(consortium, server, operator.rpc_url, majority.rpc_url, tmp_path)
    finally:
        consortium.server = ServerThread(consortium.settings).__enter__()
        rpc_call(operator.rpc_url, "miner_start", [])  # sealing again whatever happened (a no-op when it is)


def _orphan_acknowledged_writes(
    consortium: Consortium, server: ServerThread, operator_rpc: str, majority_rpc: str, tmp_path: Path
) -> None:
    net = consortium.net
    amounts = {"bank1": "3.00", "bank2": "5.00", "bank3": "7.00"}
    roster: list[tuple[str, list[str], dict[str, Any]]] = [(name, ["financier"], {}) for name in amounts]
    with admitted(server.url, consortium.operator_key, roster) as p:
        own_signer = net.node("operator").signer.lower()
        for _attempt in range(3):  # the three other signers may deadlock meanwhile: settle and try again
            net.settle(consortium.geth, blocks=3, log=print)
            rpc_call(operator_rpc, "miner_stop", [])
            try:
                _wait(lambda: _last_sealers(operator_rpc, 2).isdisjoint({own_signer}), 30, "two blocks of others")
                break
            except AssertionError:
                rpc_call(operator_rpc, "miner_start", [])
        else:
            pytest.fail("the other signers made no two blocks in a row while the operator paused")
        fork = head(operator_rpc)
        net.partition("operator")
        try:
            keys = {name: f"orphan-{uuid.uuid4().hex}" for name in amounts}
            with ThreadPoolExecutor(len(amounts)) as pool:
                sent = {
                    name: pool.submit(_mint, p[name].client, p[name].id, amount, keys[name])
                    for name, amount in amounts.items()
                }
                _wait(lambda: _pending(operator_rpc) >= len(amounts), 60, "the mints in the operator's pool")
                rpc_call(operator_rpc, "miner_start", [])  # one block alone, with the three mints
                first = {name: future.result() for name, future in sent.items()}
            lone = head(operator_rpc)
            assert lone[0] == fork[0] + 1, (fork, lone)
            for name, response in first.items():  # acknowledged, from the operator's own block
                assert response.status_code == 201, response.text
                receipt = rpc_call(operator_rpc, "eth_getTransactionReceipt", [_0x(response.json()["tx_hash"])])
                assert isinstance(receipt, dict) and receipt["blockHash"] == lone[1], receipt
                assert response.json()["balance"]["balance"] == amounts[name]
            # the majority goes on without them: a longer chain (recovered if its three signers deadlock)
            net.settle(consortium.geth, blocks=4, log=print, exclude=frozenset({"operator"}))
            assert head(majority_rpc)[0] > lone[0] + 1
        finally:
            net.heal("operator")
        _wait(
            lambda: _block_hash(operator_rpc, lone[0]) != lone[1] and _same_chain_as(operator_rpc, majority_rpc),
            180,
            "the operator's node to take the majority chain",
        )
        net.settle(consortium.geth, blocks=3, log=print)

        counted: dict[str, int] = {}
        for name, response in first.items():
            bank = p[name]
            replay = _replay(bank.client, response, keys[name])
            assert replay.headers.get("Idempotent-Replayed") is None, f"stale answer replayed: {replay.text}"
            if replay.status_code == 409:  # could not be done again: said so, with what happened, and not done
                body = problem(replay, 409, "write-orphaned")
                assert body["answered"] == 201 and body["orphaned"], body
                counted[name] = 0
                continue
            assert replay.status_code == 201, replay.text
            counted[name] = 1
            receipt = rpc_call(majority_rpc, "eth_getTransactionReceipt", [_0x(replay.json()["tx_hash"])])
            assert isinstance(receipt, dict) and receipt["status"] == "0x1", receipt  # on the majority's chain
            assert receipt["blockHash"] != lone[1]
            assert _block_hash(operator_rpc, int(receipt["blockNumber"], 16)) == receipt["blockHash"]  # and ours
            again = _replay(bank.client, response, keys[name])  # from now on the stored answer is the new one
            assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
            assert again.json()["tx_hash"] == replay.json()["tx_hash"]
        print(f"\nClique reorg: {len(first)} acknowledged writes orphaned; replays {counted}")
        for name, amount in amounts.items():  # each mint once, and every bank writes again at once (no nonce gap)
            bank = p[name]
            once = int(amount.split(".")[0]) * counted[name]
            assert ok(bank.client.get("/v1/cash/balance"))["balance"] == f"{once}.00"
            ok(_mint(bank.client, bank.id, "1.00"), 201)
            assert ok(bank.client.get("/v1/cash/balance"))["balance"] == f"{once + 1}.00"
            sent_count = rpc_call(operator_rpc, "eth_getTransactionCount", [bank.account, "latest"])
            assert int(str(sent_count), 16) == counted[name] + 1  # the orphaned write once, the new one once
    _assert_read_model_equals_rebuild(consortium, server, operator_rpc, tmp_path)


def _0x(tx_hash: str) -> str:
    return tx_hash if tx_hash.startswith("0x") else f"0x{tx_hash}"


def _last_sealers(url: str, count: int) -> set[str]:
    number = head(url)[0]
    return {str(rpc_call(url, "clique_getSigner", [hex(n)])).lower() for n in range(number - count + 1, number + 1)}


def _pending(url: str) -> int:
    status = rpc_call(url, "txpool_status", [])
    assert isinstance(status, dict)
    return int(status["pending"], 16)


def _block_hash(url: str, number: int) -> str | None:
    block = rpc_call(url, "eth_getBlockByNumber", [hex(number), False])
    return str(block["hash"]) if isinstance(block, dict) else None


def _same_chain_as(url: str, other: str) -> bool:
    number = min(head(url)[0], head(other)[0]) - 1
    return _block_hash(url, number) == _block_hash(other, number)


def _assert_read_model_equals_rebuild(
    consortium: Consortium, server: ServerThread, rpc_url: str, tmp_path: Path
) -> None:
    """The API's read model, caught up with its node's head, against a fresh indexer's rebuild from the chain."""
    engine = server.server.config.app.state.engine
    _wait(
        lambda: (read_checkpoint(engine) or (0, ""))[0] >= head(rpc_url)[0] - 1,
        60,
        "the API's indexer to reach the head",
    )
    w3 = connect(rpc_url)
    deployment = load_deployment(consortium.net.service_dir, w3.eth.chain_id)
    assert deployment is not None
    fresh = make_engine(f"sqlite:///{tmp_path / 'rebuild.db'}")
    create_schema(fresh)
    Indexer(
        fresh,
        w3,
        deployment,
        load_artifacts(),
        alert_config=consortium.settings.alert_config(),
        extra_rules=(rejected_attempt_findings,),
    ).sync()
    served, rebuilt = dump_read_model(engine), dump_read_model(fresh)
    fresh.dispose()
    for name, rows in rebuilt.items():
        assert served[name] == rows, f"table {name}: the read model differs from a rebuild"


def _same_chain(net: Any, url: str) -> bool:
    number = head(url)[0] - 1
    ours = rpc_call(url, "eth_getBlockByNumber", [hex(number), False])
    theirs = rpc_call(net.operator_rpc, "eth_getBlockByNumber", [hex(number), False])
    return isinstance(ours, dict) and isinstance(theirs, dict) and ours["hash"] == theirs["hash"]


def _snapshot(engine: Any) -> dict[str, list[tuple[Any, ...]]]:
    from chain.readmodel.store import table

    with Session(engine) as session:
        return {
            model.__name__: sorted(tuple(row) for row in session.execute(select(table(model))).all())
            for model in PROJECTIONS
        }


def test_a_fifth_organisation_joins_by_vote_and_one_leaves(consortium: Consortium) -> None:
    net = consortium.net
    observer = (
        net.node("bank-c")
        if any(n.name == "bank-c" for n in net.nodes)
        else net.add_observer("bank-c", consortium.geth)
    )
    runner = CliRunner()
    result = runner.invoke(app, ["network", "propose", "--add", observer.signer, "--dir", str(net.root)])
    assert result.exit_code == 0, result.output
    assert observer.signer.lower() in {s.lower() for s in net.signers()}
    net.reload()  # the CLI restarted bank-c as a validator
    assert net.node("bank-c").role == "validator"
    _advances(net.operator_rpc)
    leaving = net.node("bank-b").signer
    result = runner.invoke(app, ["network", "propose", "--remove", leaving, "--dir", str(net.root)])
    assert result.exit_code == 0, result.output
    net.reload()
    assert leaving.lower() not in {s.lower() for s in net.signers()}
    assert len(net.signers()) == 4
    _advances(net.operator_rpc)
