"""The per-account transaction queue against a real anvil (its own, since tests pause mining)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import TransactionNotFound
from web3.types import TxReceipt

from chain.devnet.devchain import DevChain, free_port
from chain.node.artifacts import Artifact
from chain.node.client import connect
from chain.node.errors import NonceConsumedError, ReceiptMissingError, TransactionClaimedError, TransactionRejectedError
from chain.node.revert import ContractRevertError, RevertDecoder
from chain.node.rpc import JsonRpc
from chain.node.signer import (
    BLOCK_CLOCK_GAPS,
    BLOCK_CLOCK_LEAD,
    QueueSettings,
    ReceiptWatcher,
    SignedTx,
    Signer,
    TransactionQueue,
    block_clock,
)
from chain.node.tx import send
from tests.chain.reverter import (
    call_data,
    compile_reverter,
    deploy_reverter,
    funded_account,
    in_pool,
    mine,
    mining_paused,
)
from tests.conftest import wait_until

pytestmark = pytest.mark.chain


class Crash(Exception):
    """Stands in for the process dying between storing a signed transaction and broadcasting it."""


@pytest.fixture(scope="module")
def w3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web3]:
    with DevChain(data_dir=tmp_path_factory.mktemp("signer-chain"), port=free_port()) as chain:
        yield connect(chain.url)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    return compile_reverter(tmp_path_factory.getbasetemp() / "reverter-build")


@pytest.fixture(scope="module")
def reverter(w3: Web3, artifact: Artifact) -> Contract:
    return deploy_reverter(w3, artifact)


@pytest.fixture(scope="module")
def decoder(artifact: Artifact, reverter: Contract) -> RevertDecoder:
    return RevertDecoder({"Reverter": artifact.abi}, addresses={reverter.address: "Reverter"})


@pytest.fixture()
def sender(w3: Web3) -> LocalAccount:
    return funded_account(w3)


def make_queue(w3: Web3, sender: LocalAccount, decoder: RevertDecoder, **settings: float) -> TransactionQueue:
    return TransactionQueue(w3, sender, settings=QueueSettings(**settings), decoder=decoder)  # type: ignore[arg-type]


def nonce_of(w3: Web3, tx_hash: str) -> int:
    return int(w3.eth.get_transaction(tx_hash)["nonce"])  # type: ignore[arg-type]


def pending_count(w3: Web3, account: LocalAccount) -> int:
    return int(w3.eth.get_transaction_count(account.address, "pending"))


def test_concurrent_sends_from_one_account_all_mine_with_contiguous_nonces(
    w3: Web3, sender: LocalAccount, decoder: RevertDecoder, reverter: Contract
) -> None:
    queue = make_queue(w3, sender, decoder, max_in_flight=8)
    before = reverter.functions.count().call()
    bump = call_data(reverter, "bump")
    with ThreadPoolExecutor(max_workers=24) as pool:
        receipts = list(pool.map(lambda _i: queue.send_and_wait(bump), range(24)))
    assert all(receipt["status"] == 1 for receipt in receipts)
    nonces = sorted(nonce_of(w3, receipt["transactionHash"].to_0x_hex()) for receipt in receipts)
    assert nonces == list(range(24))
    assert reverter.functions.count().call() == before + 24
    assert pending_count(w3, sender) == 24


def test_submit_pipelines_without_waiting_for_receipts(
    w3: Web3, sender: LocalAccount, decoder: RevertDecoder, reverter: Contract
) -> None:
    """With mining paused, several transactions of one account are in the pool at once, then mine together."""
    queue = make_queue(w3, sender, decoder)
    with mining_paused(w3):
        sent = [queue.submit(call_data(reverter, "bump")) for _ in range(5)]
        assert [signed.nonce for signed in sent] == [0, 1, 2, 3, 4]
        assert all(in_pool(w3, signed.tx_hash) for signed in sent)
        mine(w3)
    blocks = {queue.wait(signed)["blockNumber"] for signed in sent}
    assert len(blocks) == 1


def test_in_flight_transactions_are_bounded_per_sender(
    w3: Web3, sender: LocalAccount, decoder: RevertDecoder, reverter: Contract
) -> None:
    queue = make_queue(w3, sender, decoder, max_in_flight=3)
    fourth: list[SignedTx] = []
    with mining_paused(w3):
        sent = [queue.submit(call_data(reverter, "bump")) for _ in range(3)]
        blocked = threading.Thread(target=lambda: fourth.append(queue.submit(call_data(reverter, "bump"))))
        blocked.start()
        blocked.join(timeout=1.0)
        assert blocked.is_alive(), "a 4th transaction was sent while 3 were unmined"
        assert pending_count(w3, sender) == 3
        mine(w3)
        blocked.join(timeout=30)
    assert [signed.nonce for signed in [*sent, *fourth]] == [0, 1, 2, 3]
    assert queue.wait(fourth[0])["status"] == 1


def test_new_queue_resumes_at_the_nodes_pending_nonce(
    w3: Web3, sender: LocalAccount, decoder: RevertDecoder, reverter: Contract
) -> None:
    """A restarted service (new queue) counts the transactions its predecessor left in the pool."""
    with mining_paused(w3):
        first = make_queue(w3, sender, decoder)
        earlier = [first.submit(call_data(reverter, "bump")) for _ in range(2)]
        restarted = make_queue(w3, sender, decoder)
        later = restarted.submit(call_data(reverter, "bump"))
        assert later.nonce == 2
    assert all(restarted.wait(signed)["status"] == 1 for signed in [*earlier, later])


def test_nonce_used_outside_the_queue_is_recovered(
    w3: Web3, sender: LocalAccount, decoder: RevertDecoder, reverter: Contract
) -> None:
    queue = make_queue(w3, sender, decoder)
    queue.send_and_wait(call_data(reverter, "bump"))
    send(w3, sender, call_data(reverter, "bump"))  # another tool uses nonce 1 behind the queue's back
    receipt = queue.send_and_wait(call_data(reverter, "bump"))
    assert receipt["status"] == 1
    assert nonce_of(w3, receipt["transactionHash"].to_0x_hex()) == 2


def test_stuck_transaction_is_replaced_and_only_one_version_mines(
    w3: Web3, sender: LocalAccount, decoder: RevertDecoder, reverter: Contract
) -> None:
    queue = make_queue(w3, sender, decoder, stuck_after=0.3, receipt_timeout=60)
    versions: list[SignedTx] = []
    replaced = threading.Event()

    def record(signed: SignedTx) -> None:
        versions.append(signed)
        if len(versions) >= 2:
            replaced.set()

    before = reverter.functions.count().call()
    result: list[TxReceipt] = []
    with mining_paused(w3):
        waiter = threading.Thread(
            target=lambda: result.append(queue.send_and_wait(call_data(reverter, "bump"), before_send=record))
        )
        waiter.start()
        assert replaced.wait(timeout=30), "the stuck transaction was never replaced"
        wait_until(lambda: in_pool(w3, versions[1].tx_hash), "the replacement in the pool", timeout=30, interval=0.02)
        mine(w3)
        waiter.join(timeout=60)
    receipt = result[0]
    mined_hash = receipt["transactionHash"].to_0x_hex()
    assert mined_hash in [version.tx_hash for version in versions[1:]]
    for version in versions:
        if version.tx_hash != mined_hash:
            with pytest.raises(TransactionNotFound):
                w3.eth.get_transaction_receipt(version.tx_hash)  # type: ignore[arg-type]
    assert reverter.functions.count().call() == before + 1
    assert {version.nonce for version in versions} == {0}
    original, replacement = versions[0].fields, versions[1].fields
    assert replacement["maxFeePerGas"] * 10 >= original["maxFeePerGas"] * 11
    assert replacement["maxPriorityFeePerGas"] * 10 >= original["maxPriorityFeePerGas"] * 11
    assert versions[1].superseded == (versions[0].tx_hash,)


def test_reverting_call_is_reported_before_sending_and_uses_no_nonce(
    w3: Web3, sender: LocalAccount, decoder: RevertDecoder, reverter: Contract
) -> None:
    queue = make_queue(w3, sender, decoder)
    queue.send_and_wait(call_data(reverter, "bump"))
    stored: list[SignedTx] = []
    with pytest.raises(ContractRevertError) as info:
        queue.submit({**call_data(reverter, "pay", 10), "value": 4}, before_send=stored.append)
    assert (info.value.error, info.value.arguments) == ("InsufficientValue", {"needed": 10, "available": 4})
    assert info.value.tx_hash is None
    assert stored == []
    assert pending_count(w3, sender) == 1
    assert queue.submit(call_data(reverter, "bump")).nonce == 1


def test_rejected_transaction_releases_its_nonce(
    w3: Web3, sender: LocalAccount, decoder: RevertDecoder, reverter: Contract
) -> None:
    queue = make_queue(w3, sender, decoder)
    too_much = {"to": sender.address, "value": 10**30, "gas": 21_000}
    with pytest.raises(TransactionRejectedError) as info:
        queue.submit(too_much, simulate=False)
    assert info.value.nonce == 0
    receipt = queue.send_and_wait(call_data(reverter, "bump"))
    assert nonce_of(w3, receipt["transactionHash"].to_0x_hex()) == 0


def test_stored_transaction_is_rebroadcast_after_a_crash(
    w3: Web3, sender: LocalAccount, decoder: RevertDecoder, reverter: Contract
) -> None:
    """The idempotency layer stores the signed tx, the process dies before sending; a new process sends it."""
    store: dict[str, str] = {}

    def store_then_crash(signed: SignedTx) -> None:
        store["bump"] = signed.to_json()
        raise Crash

    before = reverter.functions.count().call()
    with pytest.raises(Crash):
        make_queue(w3, sender, decoder).submit(call_data(reverter, "bump"), before_send=store_then_crash)
    assert pending_count(w3, sender) == 0

    restarted = make_queue(w3, sender, decoder)
    stored = SignedTx.from_json(store["bump"])
    restarted.broadcast(stored)
    assert restarted.wait(stored)["status"] == 1
    restarted.broadcast(stored)  # a second retry finds it mined and sends nothing new
    assert restarted.submit(call_data(reverter, "bump")).nonce == 1
    restarted.wait(restarted.submit(call_data(reverter, "bump")))
    assert reverter.functions.count().call() == before + 3


def test_stored_transaction_whose_nonce_was_taken_is_reported(
    w3: Web3, sender: LocalAccount, decoder: RevertDecoder, reverter: Contract
) -> None:
    store: list[SignedTx] = []

    def store_then_crash(signed: SignedTx) -> None:
        store.append(signed)
        raise Crash

    with pytest.raises(Crash):
        make_queue(w3, sender, decoder).submit(call_data(reverter, "bump"), before_send=store_then_crash)
    send(w3, sender, {"to": sender.address, "value": 1})  # nonce 0 is now used by a different transaction
    with pytest.raises(NonceConsumedError):
        make_queue(w3, sender, decoder).broadcast(store[0])


class ReceiptlessNode(JsonRpc):
    """The real node, except that it has no receipt for `hidden`: what anvil restarted from a state file dumped
    while mining answers for the last block's transactions (fault injection; everything else is the chain's)."""

    def __init__(self, url: str, hidden: set[str]) -> None:
        super().__init__(url)
        self.hidden = hidden

    def call(self, method: str, *params: object) -> object:
        if method == "eth_getTransactionReceipt" and str(params[0]).lower() in self.hidden:
            return None
        return super().call(method, *params)


def test_stored_transaction_mined_without_a_receipt_is_never_sent_again(
    w3: Web3, sender: LocalAccount, decoder: RevertDecoder, reverter: Contract
) -> None:
    store: list[SignedTx] = []
    first = make_queue(w3, sender, decoder)
    receipt = first.wait(first.submit(call_data(reverter, "bump"), before_send=store.append))
    before = reverter.functions.count().call()
    node = ReceiptlessNode(str(w3.provider.endpoint_uri), {store[-1].tx_hash.lower()})  # type: ignore[attr-defined]
    restarted = TransactionQueue(w3, sender, decoder=decoder, rpc=node)
    with pytest.raises(ReceiptMissingError) as caught:
        restarted.broadcast(store[-1])  # "nonce too low", no receipt: but the transaction is in a block
    assert (caught.value.block, caught.value.tx_hash) == (receipt["blockNumber"], store[-1].tx_hash.lower())
    assert "will not be sent again" in str(caught.value)
    assert reverter.functions.count().call() == before  # nothing was sent
    assert pending_count(w3, sender) == store[-1].nonce + 1


def test_transactions_the_node_lost_with_its_pool_are_sent_again_when_a_later_one_waits(
    tmp_path: Path, artifact: Artifact
) -> None:
    with DevChain(data_dir=tmp_path, port=free_port()) as chain:
        w3 = connect(chain.url)
        reverter = deploy_reverter(w3, artifact)
        decoder = RevertDecoder({"Reverter": artifact.abi}, addresses={reverter.address: "Reverter"})
        sender = funded_account(w3)
        queue = make_queue(w3, sender, decoder, stuck_after=0.5)
        w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
        lost = queue.submit(call_data(reverter, "bump"))
        chain.stop()  # the pool is not saved: `lost` is gone, its nonce free again
        chain.start()
        assert not in_pool(w3, lost.tx_hash)
        later = queue.submit(call_data(reverter, "bump"))  # nonce 1: the node queues it behind the gap
        assert later.nonce == lost.nonce + 1
        assert pending_count(w3, sender) == lost.nonce
        assert queue.wait(later, timeout=30)["status"] == 1  # the wait sent `lost` again (same bytes)
        assert queue.wait(lost, timeout=30)["transactionHash"].hex().removeprefix("0x") == lost.tx_hash[2:]
        assert reverter.functions.count().call() == 2
        assert pending_count(w3, sender) == later.nonce + 1


def test_signer_keeps_one_queue_per_account(w3: Web3, sender: LocalAccount, decoder: RevertDecoder) -> None:
    signer = Signer(w3, decoder=decoder)
    assert signer.queue(sender) is signer.queue(sender)
    assert signer.queue(funded_account(w3)) is not signer.queue(sender)


def test_signed_tx_survives_a_json_round_trip(w3: Web3, sender: LocalAccount, decoder: RevertDecoder) -> None:
    with mining_paused(w3):
        signed = make_queue(w3, sender, decoder).submit({"to": sender.address, "value": 1})
        assert SignedTx.from_json(signed.to_json()) == signed
    make_queue(w3, sender, decoder).wait(signed)


def test_async_send_and_wait(w3: Web3, sender: LocalAccount, decoder: RevertDecoder, reverter: Contract) -> None:
    queue = make_queue(w3, sender, decoder)

    async def two_at_once() -> list[int]:
        receipts = await asyncio.gather(
            queue.asend_and_wait(call_data(reverter, "bump")), queue.asend_and_wait(call_data(reverter, "bump"))
        )
        return [int(receipt["status"]) for receipt in receipts]

    assert asyncio.run(two_at_once()) == [1, 1]


def test_bytes_claimed_by_another_request_go_out_as_its_and_the_caller_signs_the_next_nonce(
    w3: Web3, sender: LocalAccount, decoder: RevertDecoder, reverter: Contract
) -> None:
    """A before_send hook says the signed bytes are another request's stored transaction: they are broadcast (as
    that request's) and the caller gets its own transaction with the next nonce."""
    queue = make_queue(w3, sender, decoder)
    seen: list[SignedTx] = []

    def hook(signed: SignedTx) -> None:
        seen.append(signed)
        if len(seen) == 1:
            raise TransactionClaimedError(signed.tx_hash, "another request")

    before = reverter.functions.count().call()
    own = queue.submit(call_data(reverter, "bump"), before_send=hook)
    assert own.nonce == seen[0].nonce + 1 and own.tx_hash != seen[0].tx_hash
    assert queue.wait(own)["status"] == 1
    assert w3.eth.get_transaction_receipt(seen[0].tx_hash)["status"] == 1  # type: ignore[arg-type]
    assert reverter.functions.count().call() == before + 2


class CountingRpc(JsonRpc):
    """The lean client, counting the calls per method."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.counts: dict[str, int] = {}
        self._count_lock = threading.Lock()

    def call(self, method: str, *params: object) -> object:
        with self._count_lock:
            self.counts[method] = self.counts.get(method, 0) + 1
        return super().call(method, *params)


def _watched_queue(w3: Web3, sender: LocalAccount, decoder: RevertDecoder) -> tuple[TransactionQueue, CountingRpc]:
    rpc = CountingRpc(w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    watcher = ReceiptWatcher(rpc)
    keep_running = ("0x" + "ee" * 32,)
    watcher.watch(keep_running)  # the watcher follows the head from now on
    wait_until(lambda: watcher._seen_block is not None, "the receipt watcher follows the chain")
    queue = TransactionQueue(w3, sender, decoder=decoder, watcher=watcher, rpc=rpc)
    return queue, rpc


def test_a_transaction_just_sent_is_found_by_the_watcher_without_asking_for_its_receipt(
    w3: Web3, sender: LocalAccount, decoder: RevertDecoder, reverter: Contract
) -> None:
    """No block was examined between the send and the wait: every block that can hold the transaction is looked
    through by the watcher after the waiter registered, so the waiter does not ask the node for the receipt (it
    did once per write, answered "not yet" nearly always)."""
    queue, rpc = _watched_queue(w3, sender, decoder)
    assert queue.watcher is not None
    with ThreadPoolExecutor(max_workers=1) as pool, mining_paused(w3):
        signed = queue.submit(call_data(reverter, "bump"))
        waiting = pool.submit(queue.wait, signed)
        wait_until(lambda: queue.watcher is not None and signed.tx_hash.lower() in queue.watcher._wanted, "registered")
        mine(w3)
        receipt = waiting.result(timeout=120)
    assert receipt["status"] == 1
    assert rpc.counts.get("eth_getTransactionReceipt", 0) == 0


def test_a_transaction_mined_before_its_wait_is_still_looked_up_at_once(
    w3: Web3, sender: LocalAccount, decoder: RevertDecoder, reverter: Contract
) -> None:
    """The watcher examined a block between the send and the wait (it may hold the transaction, seen before the
    waiter registered): the waiter asks for its receipt at once, as before."""
    queue, rpc = _watched_queue(w3, sender, decoder)
    assert queue.watcher is not None
    with mining_paused(w3):
        before = queue.watcher._seen_block
        signed = queue.submit(call_data(reverter, "bump"))
        mine(w3)
        wait_until(lambda: queue.watcher is not None and queue.watcher._seen_block != before, "the watcher moved on")
    receipt = queue.wait(signed, timeout=120)
    assert receipt["status"] == 1
    assert rpc.counts.get("eth_getTransactionReceipt", 0) == 1


def test_the_block_clock_waits_only_for_steady_blocks() -> None:
    """After a new head, the watcher sleeps until a block can be due; never when blocks come irregularly
    (automine) or before it has measured enough of them."""
    steady = [0.5, 0.51, 0.49, 0.52, 0.5, 0.48, 0.5, 0.51]
    assert len(steady) == BLOCK_CLOCK_GAPS
    assert block_clock(steady, 0.02) == pytest.approx(0.48 - 0.04 - BLOCK_CLOCK_LEAD)
    assert block_clock(steady[:-1], 0.02) == 0.0  # not enough gaps yet
    assert block_clock([*steady[:-1], 1.2], 0.02) == 0.0  # irregular: a block per transaction
    assert block_clock([0.05] * BLOCK_CLOCK_GAPS, 0.02) == 0.0  # faster than the poll: poll steadily


def test_the_watcher_polls_the_head_only_when_a_block_can_be_due(tmp_path: Path) -> None:
    """On a chain with a block every 0.5 s, the watcher polled the head every 20 ms (25 polls a block, the largest
    single JSON-RPC cost of a split under load); it now learns the block interval and polls only near the next
    block, and still examines every block one by one."""
    with DevChain(data_dir=tmp_path / "chain", port=free_port(), block_time=0.5) as chain:
        rpc = CountingRpc(chain.url)
        watcher = ReceiptWatcher(rpc)
        keep_running = ("0x" + "ee" * 32,)
        watcher.watch(keep_running)
        try:
            wait_until(lambda: len(watcher._gaps) == BLOCK_CLOCK_GAPS, "the watcher measured the block interval")
            wait_until(lambda: block_clock(watcher._gaps, watcher.poll) > 0, "the blocks come steadily")
            start_block = watcher._seen_block
            assert start_block is not None
            polls = rpc.counts["eth_blockNumber"]
            wait_until(lambda: (watcher._seen_block or 0) >= start_block + 10, "ten more blocks examined")
            polled = rpc.counts["eth_blockNumber"] - polls
            examined = (watcher._seen_block or 0) - start_block
        finally:
            watcher.unwatch(keep_running)
    assert polled / examined < 12, f"{polled} head polls for {examined} blocks"


def test_a_waiter_of_two_hashes_seen_in_one_block_is_woken_once_and_the_watcher_keeps_following(
    w3: Web3, sender: LocalAccount, decoder: RevertDecoder, reverter: Contract
) -> None:
    """A waiter sleeps on a lock of its own (`wait_mined`), released by the watcher when one of its hashes is seen.
    Both of its hashes in one block release it once: a second release of the lock would raise in the watcher's
    thread, which then restarts (a new epoch) and leaves the waiters to their own look-ups."""
    queue, _rpc = _watched_queue(w3, sender, decoder)
    watcher = queue.watcher
    assert watcher is not None
    with ThreadPoolExecutor(max_workers=1) as pool, mining_paused(w3):
        first = queue.submit(call_data(reverter, "bump"))
        second = queue.submit(call_data(reverter, "bump"))
        hashes = (first.tx_hash, second.tx_hash)
        watcher.watch(hashes)
        epoch = watcher._epoch
        try:
            woken = pool.submit(watcher.wait_mined, hashes, 120.0)
            wait_until(lambda: all(h.lower() in watcher._sightings for h in hashes), "the waiter sleeps")
            mine(w3)
            assert woken.result(timeout=120) is True
            block = int(w3.eth.block_number)
            wait_until(lambda: (watcher._seen_block or 0) >= block, "the watcher examined the block")
            assert watcher._epoch == epoch  # no restart: the step that woke the waiter did not fail
            assert not any(h.lower() in watcher._sightings for h in hashes)
        finally:
            watcher.unwatch(hashes)
