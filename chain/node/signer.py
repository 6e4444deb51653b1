"""Per-account transaction queue: local nonces, pipelined sends, pre-flight, stuck-tx replacement.

Why a queue: the API serves many requests for one member at once. Asking the node for a nonce per
transaction races (two requests get the same nonce), and waiting for each receipt before the next send
serialises a member's writes on block time. So each account's nonces are allocated here, under a lock,
and sent at once; many transactions of one account are in flight together, bounded by
`QueueSettings.max_in_flight` (anvil under automine stalls when hundreds wait in its pool).

Promises, and how they are kept:
- A revert is reported before anything is sent: `submit` estimates gas (which executes the call) on
  the pending state first, and a nonce is allocated only after that succeeded.
- No nonce gap: allocation, signing, the caller's persistence hook and the broadcast happen in one
  critical section, in nonce order. When the node rejects the transaction (or the hook raises) the
  nonce was never used and the next transaction takes it; when the outcome of a send is unknown
  (connection lost) the queue forgets its counter and resyncs from `eth_getTransactionCount(pending)`.
- Restart and foreign transactions: the first nonce comes from the node's pending count; a "nonce too
  low" answer resyncs from the node and re-signs.
- Lost transactions: a node restarted from its state file drops its pool and the blocks after its last dump, and
  a reorg drops mined blocks; one lost nonce holds back every later transaction of the account. A wait not mined
  after `gap_check_after` seconds asks the node's pending count; when it stops at or below the waiter's nonce, the
  queue re-broadcasts its own signed versions of the missing nonces in nonce order (same bytes: never a second
  execution), those of transactions already mined and answered included (it keeps the last `history` of them),
  re-signs one the node refuses now (its hook sees the new version first), and fills a nonce it has no version
  of with a cancellation (a 0-value transfer to itself), so no account stays stuck behind a gap.
- Two requests never share one transaction: a `before_send` hook may refuse a signed transaction with
  `TransactionClaimedError` (the same bytes are another request's stored transaction: same sender, nonce, call
  and fees, signed before the node lost it); the queue then broadcasts it as that request's and signs this one
  with the next nonce.
- A node that lists one of our versions in a block without a receipt for it (anvil stopped while mining) is
  reported as `ReceiptMissingError`, never answered by sending the operation again.
- Stuck transactions are replaced, not duplicated: `wait` re-signs the same nonce with fees bumped by
  at least 10% (what geth, Besu and anvil require) and returns the receipt of whichever version mined.
- Crash safety: `before_send` receives every signed version (`SignedTx`, JSON-serialisable) before
  it is broadcast, so an idempotency layer can store it and, after a crash, `broadcast` the same
  signed bytes again instead of sending a second transaction.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import requests
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.types import TxParams, TxReceipt

from chain.node.abi import checksum_address
from chain.node.errors import (
    ChainUnavailableError,
    NonceConsumedError,
    ReceiptMissingError,
    TransactionClaimedError,
    TransactionRejectedError,
    TransactionTimeoutError,
)
from chain.node.revert import RevertDecoder
from chain.node.rpc import JsonRpc, ProviderRpc, RpcError, format_receipt, rpc_for
from chain.node.txsign import TxKey

RECEIPTLESS_SCAN_BLOCKS = 1024  # how far back a taken nonce is looked for among our own versions (rare path)
_SCAN_BATCH = 128
_SENT_FROM_KEPT = 4096  # sends whose watcher position a queue keeps for their `wait` (one a send, taken by it)
MIN_FEE_BUMP_PERCENT = 10  # nodes refuse a replacement that raises either fee by less than this
_TRANSPORT_ERRORS = (requests.RequestException, OSError)  # no answer: web3's HTTPProvider, or chain.node.rpc


def _rpc_error_message(exc: RpcError) -> str:
    return exc.message.lower().replace("_", " ")


class FeeOracle:
    """EIP-1559 fees from the node, shared by every queue of a process and refreshed at most every `ttl` s:
    tip from `eth_maxPriorityFeePerGas` (0 on nodes without it), cap twice the base fee plus the tip."""

    def __init__(self, rpc: JsonRpc | ProviderRpc, ttl: float = 1.0) -> None:
        self.rpc = rpc
        self.ttl = ttl
        self._lock = threading.Lock()
        self._fees: dict[str, int] = {}
        self._at = -math.inf

    def fees(self) -> dict[str, int]:
        with self._lock:
            if time.monotonic() - self._at > self.ttl:
                block = self.rpc.call("eth_getBlockByNumber", "latest", False) or {}
                base_fee = int(block.get("baseFeePerGas") or "0x0", 16)
                try:
                    tip = int(self.rpc.call("eth_maxPriorityFeePerGas"), 16)
                except RpcError:
                    tip = 0
                self._fees = {"maxFeePerGas": 2 * base_fee + tip, "maxPriorityFeePerGas": tip}
                self._at = time.monotonic()
            return dict(self._fees)


@dataclass(frozen=True)
class QueueSettings:
    """Tuning of a TransactionQueue; defaults suit anvil and a QBFT/Clique permissioned network."""

    max_in_flight: int = 64  # sent but not yet mined, per account
    receipt_timeout: float = 120.0  # `wait` gives up after this many seconds
    stuck_after: float = 30.0  # a transaction not mined after this long is replaced with higher fees
    fee_bump_percent: int = 15  # >= MIN_FEE_BUMP_PERCENT; applied to maxFeePerGas and the tip
    gas_margin: float = 1.2  # estimates are multiplied by this, plus gas_extra, to absorb state drift
    gas_extra: int = 10_000
    simulate_block: str = "pending"  # the state pre-flight runs on: includes this account's queued txs
    fee_cache_seconds: float = 1.0  # fee data is shared by the transactions sent within this window
    nonce_retries: int = 3  # re-signs after "nonce too low" before giving up
    poll_min: float = 0.01  # receipt polling backs off from poll_min to poll_max
    poll_max: float = 0.25
    watch_fallback: float = 1.0  # with a ReceiptWatcher: a waiter still looks for its receipt itself this often
    gap_check_after: float = 2.0  # an unmined waiter checks this often that the node still has the nonces below it
    history: int = 256  # mined transactions per account kept to re-broadcast after a reorg or a lost block window

    def __post_init__(self) -> None:
        if self.fee_bump_percent < MIN_FEE_BUMP_PERCENT:
            raise ValueError(f"fee_bump_percent must be at least {MIN_FEE_BUMP_PERCENT}")
        if self.max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")


@dataclass(frozen=True)
class SignedTx:
    """One signed version of a transaction, with what is needed to re-broadcast or replace it.

    `superseded` lists the hashes of earlier versions with the same nonce (replaced because stuck):
    any of them may still be the one that mines, so a waiter looks for all of `hashes`.
    """

    sender: str
    nonce: int
    tx_hash: str
    raw: str
    fields: dict[str, Any]
    superseded: tuple[str, ...] = ()

    @property
    def hashes(self) -> tuple[str, ...]:
        return (self.tx_hash, *self.superseded)

    def to_json(self) -> str:
        return json.dumps(
            {
                "sender": self.sender,
                "nonce": self.nonce,
                "tx_hash": self.tx_hash,
                "raw": self.raw,
                "fields": self.fields,
                "superseded": list(self.superseded),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> SignedTx:
        data = json.loads(text)
        return cls(
            sender=data["sender"],
            nonce=int(data["nonce"]),
            tx_hash=data["tx_hash"],
            raw=data["raw"],
            fields=dict(data["fields"]),
            superseded=tuple(data.get("superseded", ())),
        )


BeforeSend = Callable[[SignedTx], None]


def _hex(value: bytes | str) -> str:
    return HexBytes(value).to_0x_hex()


def _is_nonce_too_low(message: str) -> bool:
    return "nonce too low" in message or "nonce is too low" in message


def _is_already_known(message: str) -> bool:
    return "already known" in message or "already imported" in message or "known transaction" in message


def _is_underpriced(message: str) -> bool:
    return "underpriced" in message


def _bump(value: int, percent: int) -> int:
    return max(value + 1, math.ceil(value * (100 + percent) / 100))


BLOCK_CLOCK_GAPS = 8  # block gaps the receipt watcher's block clock is learnt from
BLOCK_CLOCK_LEAD = 0.05  # seconds: a block may come this much earlier than the clock says (node and GIL delays)


def block_clock(gaps: Sequence[float], poll: float) -> float:
    """Seconds after a new head is seen before the next one can come, learnt from the last gaps between heads seen
    one block apart: 0 (poll steadily) until `BLOCK_CLOCK_GAPS` gaps are known or when they are irregular.

    A head is seen up to `poll` (and a call's delay) after it arrives, so a measured gap is the block interval give
    or take that, and the next block comes no sooner than `min(gaps) - 2 * poll` after the head was seen."""
    if len(gaps) < BLOCK_CLOCK_GAPS:
        return 0.0
    shortest = min(gaps)
    if shortest <= 0 or max(gaps) > 2 * shortest:
        return 0.0
    return max(0.0, shortest - 2 * poll - BLOCK_CLOCK_LEAD)


class ReceiptWatcher:
    """Follows the chain head for the waiters of one process, instead of every waiter polling for its receipt.

    Profiled on the service's split path: each waiting request polled `eth_getTransactionReceipt` on a backoff
    (about 8 calls per write at 0.5 s blocks, each through web3's formatters), a fifth of the request's CPU.
    Here one thread asks for the head (`eth_blockNumber`, every `poll` seconds, only while someone waits) and,
    per new block, for all its receipts in one call (`eth_getBlockReceipts`; on a node without it, for the
    block's transaction hashes); a waiter whose transaction appears is woken and takes its receipt (or, after
    the fallback, fetches it once). A waiter still looks for its receipt itself right after registering (the
    transaction may have been mined before) and every `fallback` seconds (a reorg re-mining it in a block
    already seen, a node error in the watcher), so the watcher only makes finding a receipt quicker and cheaper, never
    responsible for it. The thread exits after `idle` seconds with nobody waiting.

    The look right after registering is skipped for a transaction this process has just sent when the watcher had
    not moved on from the block it was at just before the send (`position`, compared when the waiter registers):
    every block that can hold the transaction is then examined after the registration. It was one
    `eth_getTransactionReceipt` per write, answered "not yet" nearly always.

    The head is polled every `poll` seconds only while a block may be due (`block_clock`): once the watcher has
    seen `BLOCK_CLOCK_GAPS` blocks arrive one by one at a steady pace (the longest gap at most twice the shortest:
    interval mining, a consortium's block period), it sleeps after each new block until the shortest gap seen,
    less `2 * poll + BLOCK_CLOCK_LEAD`, has passed since it saw that block, then polls every `poll` seconds again.
    A block is still seen within `poll` of its arrival; at 0.5 s blocks that is about 7 polls a block instead of
    25 (the head poll was the largest single JSON-RPC cost of a split under load). Irregular blocks (automine: a
    block per transaction) keep the steady `poll`.
    """

    def __init__(self, rpc: JsonRpc | ProviderRpc, *, poll: float = 0.02, idle: float = 5.0) -> None:
        self.rpc = rpc
        self.poll = poll
        self.idle = idle
        self._lock = threading.Lock()  # its waiters sleep on events of their own (`wait_mined`)
        self._wanted: dict[str, int] = {}  # lower-case 0x hash -> number of waiters
        self._mined: dict[str, dict[str, Any] | None] = {}  # wanted hash seen in a block -> its raw receipt
        # a hash's sleeping waiters, each a lock held until the watcher releases it (`wait_mined`, `_wake`)
        self._sightings: dict[str, list[threading.Lock]] = {}
        self._block_receipts = True  # False once the node refused eth_getBlockReceipts
        self._thread: threading.Thread | None = None
        self._seen_block: int | None = None  # changed under `_lock` only
        self._epoch = 0  # counts the watcher's (re)starts: a position is only comparable within one epoch
        self._head_at: float | None = None  # monotonic time the current head was first seen (None: not known)
        self._gaps: deque[float] = deque(maxlen=BLOCK_CLOCK_GAPS)  # seconds between heads seen one block apart

    def position(self) -> tuple[int, int] | None:
        """Where the watcher is: (epoch, the last block it examined); None while it has not started following."""
        with self._lock:
            return (self._epoch, self._seen_block) if self._seen_block is not None else None

    def watch(self, hashes: tuple[str, ...]) -> tuple[int, int] | None:
        """Registers a waiter for `hashes`; returns the watcher's `position` at the registration: a block examined
        after it is looked through for them."""
        with self._lock:
            for h in hashes:
                key = h.lower()
                self._wanted[key] = self._wanted.get(key, 0) + 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="receipt-watcher", daemon=True)
                self._thread.start()
            return (self._epoch, self._seen_block) if self._seen_block is not None else None

    def unwatch(self, hashes: tuple[str, ...]) -> None:
        with self._lock:
            for h in hashes:
                key = h.lower()
                left = self._wanted.get(key, 0) - 1
                if left > 0:
                    self._wanted[key] = left
                else:
                    self._wanted.pop(key, None)
                    self._mined.pop(key, None)
                    self._sightings.pop(key, None)

    def seen(self, hashes: tuple[str, ...]) -> bool:
        with self._lock:
            return any(h.lower() in self._mined for h in hashes)

    def receipt(self, hashes: tuple[str, ...]) -> TxReceipt | None:
        """The receipt the watcher fetched for one of `hashes`, if any."""
        with self._lock:
            raw = next((r for r in (self._mined.get(h.lower()) for h in hashes) if r is not None), None)
        return format_receipt(raw) if raw is not None else None

    def forget_mined(self, hashes: tuple[str, ...]) -> None:
        """The waiter found no receipt after all (a reorg dropped the block): wait for a new sighting."""
        with self._lock:
            for h in hashes:
                self._mined.pop(h.lower(), None)

    def wait_mined(self, hashes: tuple[str, ...], timeout: float) -> bool:
        """True as soon as one of `hashes` (being watched) was seen in a block; False after `timeout`.

        The waiter sleeps on a lock of its own, taken here and released by the watcher when it sees one of its
        hashes: a block wakes the waiters of its transactions only (with one condition for all, each block woke
        every waiter, 128 at 128 writes in flight, each taking the GIL to find it was not its turn). A bare lock,
        not a `threading.Event`: the event's condition made each wake-up a Python `notify_all` under the event's
        own lock, which the woken waiter then had to take again (a second wake-up when the watcher still held it)."""
        keys = [h.lower() for h in hashes]
        with self._lock:
            if any(k in self._mined for k in keys):
                return True
            sleeper = threading.Lock()
            sleeper.acquire()
            for k in keys:
                self._sightings.setdefault(k, []).append(sleeper)
        sleeper.acquire(timeout=max(0.0, timeout))
        with self._lock:
            for k in keys:
                sleeping = self._sightings.get(k)
                if sleeping is not None and sleeper in sleeping:
                    sleeping.remove(sleeper)
                    if not sleeping:
                        del self._sightings[k]
            return any(k in self._mined for k in keys)

    @staticmethod
    def _wake(sleeper: threading.Lock) -> None:
        """(under `_lock`) Wakes a waiter of `wait_mined`, once: a waiter of two hashes seen one after the other
        is released by the first (only the watcher releases, always under `_lock`, so a lock found held here is
        released exactly once)."""
        if sleeper.locked():
            sleeper.release()

    def _run(self) -> None:
        quiet_since = time.monotonic()
        while True:
            with self._lock:
                if not self._wanted:
                    if time.monotonic() - quiet_since > self.idle:
                        self._thread = None
                        self._restart(None)
                        return
                else:
                    quiet_since = time.monotonic()
            try:
                self._step()
            except Exception:  # node down or restarting: waiters fall back to looking themselves
                with self._lock:
                    self._restart(None)
            time.sleep(self._pause())

    def _pause(self) -> float:
        """Seconds until the next head poll: `poll`, or longer while no block can be due yet (`block_clock`)."""
        if self._head_at is None:
            return self.poll
        return max(self.poll, block_clock(self._gaps, self.poll) - (time.monotonic() - self._head_at))

    def _restart(self, block: int | None) -> None:
        """(under `_lock`) Follows the chain from after `block` (None: from the head, at the next step)."""
        self._seen_block = block
        self._epoch += 1
        self._head_at = None  # no gap is measured across a restart

    def _saw_head(self, head: int, seen: int | None) -> None:
        """The block clock: `head` was polled now, and the watcher had examined up to `seen` before."""
        now = time.monotonic()
        if seen is not None and head == seen + 1 and self._head_at is not None:
            self._gaps.append(now - self._head_at)
        if seen is None or head != seen:
            self._head_at = now if seen is not None and head == seen + 1 else None

    def _step(self) -> None:
        head = int(self.rpc.call("eth_blockNumber"), 16)
        seen = self._seen_block
        self._saw_head(head, seen)
        if seen is None or head < seen or head - seen > 64:
            with self._lock:
                self._restart(head - 1)  # (re)start: look at the head block only; older ones waiters check
            seen = head - 1
        while seen < head:
            number = seen + 1
            receipts = self._receipts_of(number)
            if receipts is None:
                return  # the head moved back (reorg) between the two calls: next round
            with self._lock:  # the block's hits and the new position together (`watch` reads both under the lock)
                hits = [h for h in self._wanted if h in receipts]
                for h in hits:
                    self._mined[h] = receipts[h]
                    for sleeper in self._sightings.pop(h, ()):
                        self._wake(sleeper)
                self._seen_block = seen = number

    def _receipts_of(self, number: int) -> dict[str, dict[str, Any] | None] | None:
        """Lower-case tx hash -> raw receipt (None when only the hash is known) of block `number`."""
        if self._block_receipts:
            try:
                receipts = self.rpc.call("eth_getBlockReceipts", hex(number))
            except RpcError:
                self._block_receipts = False  # not supported by this node: hashes only
            else:
                if receipts is None:
                    return None
                return {str(r["transactionHash"]).lower(): r for r in receipts}
        block = self.rpc.call("eth_getBlockByNumber", hex(number), False)
        if block is None:
            return None
        return {str(h).lower(): None for h in block.get("transactions") or ()}


class TransactionQueue:
    """Sends the transactions of one account; safe to share between threads.

    Use one instance per account per process (see `Signer`); two instances for the same account in
    one process would compete for nonces and recover only through "nonce too low" retries.
    """

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        *,
        settings: QueueSettings | None = None,
        decoder: RevertDecoder | None = None,
        watcher: ReceiptWatcher | None = None,
        rpc: JsonRpc | ProviderRpc | None = None,
        fees: FeeOracle | None = None,
    ) -> None:
        self.w3 = w3
        self.rpc = rpc if rpc is not None else rpc_for(w3)
        self.fee_oracle = fees if fees is not None else FeeOracle(self.rpc, self.settings_ttl(settings))
        self.watcher = watcher
        self.account = account
        self.settings = settings or QueueSettings()
        self.decoder = decoder if decoder is not None else RevertDecoder.from_build_dir()
        self._cond = threading.Condition()
        self._next_nonce: int | None = None  # None: ask the node (at start and after an unclear send)
        self._mined_count = 0  # nonces below this are known to be mined
        self._sent: dict[int, SignedTx] = {}  # the newest version sent per nonce not known to be mined
        self._hooks: dict[int, BeforeSend | None] = {}  # each sent nonce's before_send: a re-signed version is stored
        self._recent: OrderedDict[int, SignedTx] = OrderedDict()  # mined versions, re-sent if the chain loses them
        self._gap_checked_at = -math.inf  # when a waiter last compared the node's pending count with its nonce
        self._gap_nonce = -1  # the nonce of that waiter
        self._chain_id: int | None = None
        self._tx_key: TxKey | None = None  # the account's key for the lean signer, made on first signature
        # the watcher's position just before each of the last sends (tx hash -> position), for `wait`'s first look
        self._sent_from: OrderedDict[str, tuple[int, int]] = OrderedDict()

    @staticmethod
    def settings_ttl(settings: QueueSettings | None) -> float:
        return (settings or QueueSettings()).fee_cache_seconds

    @property
    def address(self) -> ChecksumAddress:
        return self.account.address

    @property
    def pending(self) -> int:
        """Signed transactions sent from this account and not yet known to be mined (the queue's depth)."""
        with self._cond:
            return len(self._sent)

    # ---------------------------------------------------------------- public API

    def submit(
        self,
        tx: TxParams | Mapping[str, Any],
        *,
        before_send: BeforeSend | None = None,
        simulate: bool = True,
        contract: str | None = None,
    ) -> SignedTx:
        """Pre-flights, signs with the next nonce, hands the signed tx to `before_send`, broadcasts it.

        Returns without waiting for a receipt (call `wait`), so a caller can pipeline. Raises
        `ContractRevertError` when the pre-flight reverts (nothing sent, no nonce used) and
        `TransactionRejectedError` when the node refuses the signed transaction (no nonce used).
        `tx` takes `to`, `data`, `value` and optionally `gas` and fee fields; `contract` names the
        called contract for revert messages. `before_send` runs inside the account's critical section
        (that is what keeps broadcasts in nonce order), so it should be a quick write.
        """
        fields = self._base_fields(tx)
        if simulate:
            self._preflight(fields, contract)
        elif "gas" not in fields:
            raise ValueError("a transaction without pre-flight needs an explicit gas limit")
        for key, value in self._fees().items():
            fields.setdefault(key, value)
        with self._cond:
            self._wait_for_capacity()
            resyncs = 0
            while True:
                nonce = self._allocate_nonce()
                signed = self._sign(fields, nonce)
                owned = True
                if before_send is not None:
                    try:
                        before_send(signed)  # raising here leaves the nonce unused
                    except TransactionClaimedError:
                        owned = False  # another request's stored transaction: it goes out as that request's
                position = self.watcher.position() if self.watcher is not None else None
                message = self._send(signed)
                if message is None or _is_already_known(message):
                    if position is not None and owned:
                        self._sent_from[signed.tx_hash.lower()] = position
                        while len(self._sent_from) > _SENT_FROM_KEPT:
                            self._sent_from.popitem(last=False)
                    self._next_nonce = nonce + 1
                    self._sent[nonce] = signed
                    self._hooks[nonce] = before_send if owned else None
                    if owned:
                        return signed
                    continue  # this request signs again, with the next nonce: other bytes, its own transaction
                if _is_nonce_too_low(message):
                    resyncs += 1
                    if resyncs > self.settings.nonce_retries:
                        raise TransactionRejectedError(self.address, nonce, "nonce too low after resyncing")
                    self._next_nonce = None  # someone else used it (another process, a restart): resync
                    continue
                raise TransactionRejectedError(self.address, nonce, message)

    def wait(
        self,
        signed: SignedTx,
        *,
        timeout: float | None = None,
        check: bool = True,
        before_send: BeforeSend | None = None,
        contract: str | None = None,
    ) -> TxReceipt:
        """Waits for the receipt of any version of `signed`, replacing it when stuck.

        Every `stuck_after` seconds without a receipt the transaction is re-signed with the same nonce
        and fees bumped by `fee_bump_percent`; `before_send` sees each replacement before broadcast.
        With `check`, a mined transaction that reverted raises `ContractRevertError` (decoded by
        replaying it). Raises `TransactionTimeoutError` after `timeout` and `NonceConsumedError` when a
        foreign transaction took the nonce.
        """
        settings = self.settings
        start = time.monotonic()
        deadline = start + (settings.receipt_timeout if timeout is None else timeout)
        replace_at = start + settings.stuck_after
        gap_at = start + settings.gap_check_after
        delay = settings.poll_min
        current = signed
        watched: tuple[str, ...] = ()
        with self._cond:
            sent_from = self._sent_from.pop(signed.tx_hash.lower(), None)
        look = True
        try:
            while True:
                if self.watcher is not None and watched != current.hashes:
                    # before looking: a block mined after the look is seen
                    position = self.watcher.watch(current.hashes)
                    # just sent, and no block examined since: the watcher sees every block that can hold it
                    look = bool(watched) or sent_from is None or position != sent_from
                    if watched:
                        self.watcher.unwatch(watched)
                    watched = current.hashes
                sighted = self.watcher is not None and self.watcher.seen(current.hashes)
                receipt = self.watcher.receipt(current.hashes) if sighted and self.watcher is not None else None
                if receipt is None and look:
                    receipt = self._find_receipt(current.hashes)
                look = True
                if receipt is not None:
                    self._note_mined(current.nonce)
                    if receipt["status"] != 1:  # answered as refused: if the chain loses it, its nonce is cancelled
                        with self._cond:  # (a gap fill), never re-sent, where it might now succeed
                            self._recent.pop(current.nonce, None)
                    if check and receipt["status"] != 1:
                        raise self.decoder.from_receipt(self.w3, receipt, contract=contract, rpc=self.rpc)
                    return receipt
                if sighted and self.watcher is not None:  # seen in a block, yet no receipt: a reorg dropped it
                    self.watcher.forget_mined(current.hashes)
                now = time.monotonic()
                if now >= deadline:
                    raise TransactionTimeoutError(self.address, current.nonce, current.hashes, deadline - start)
                if now >= gap_at:
                    resent, current = self._fill_gap(current, before_send)
                    gap_at = time.monotonic() + settings.gap_check_after
                    if resent:  # a gap below ours (or ours lost), not our price, held this back
                        replace_at = time.monotonic() + settings.stuck_after
                        continue
                if now >= replace_at:
                    if self._nonce_used_elsewhere(current):
                        raise NonceConsumedError(self.address, current.nonce, current.hashes)
                    current = self._replace(current, before_send)
                    replace_at = time.monotonic() + settings.stuck_after
                    delay = settings.poll_min
                    continue
                pause = min(max(0.0, deadline - now), max(0.0, replace_at - now), max(0.0, gap_at - now))
                if self.watcher is not None:
                    # woken when the watcher sees one of the hashes in a block; looks anyway every fallback
                    self.watcher.wait_mined(current.hashes, min(pause, settings.watch_fallback))
                else:
                    time.sleep(min(delay, pause))
                    delay = min(delay * 1.5, settings.poll_max)
        finally:
            if self.watcher is not None and watched:
                self.watcher.unwatch(watched)

    def send_and_wait(
        self,
        tx: TxParams | Mapping[str, Any],
        *,
        before_send: BeforeSend | None = None,
        timeout: float | None = None,
        simulate: bool = True,
        contract: str | None = None,
    ) -> TxReceipt:
        """`submit` then `wait`: the receipt of a successful transaction, or a decoded error."""
        signed = self.submit(tx, before_send=before_send, simulate=simulate, contract=contract)
        return self.wait(signed, timeout=timeout, before_send=before_send, contract=contract)

    async def asend_and_wait(
        self,
        tx: TxParams | Mapping[str, Any],
        *,
        before_send: BeforeSend | None = None,
        timeout: float | None = None,
        simulate: bool = True,
        contract: str | None = None,
    ) -> TxReceipt:
        """`send_and_wait` for asyncio code: runs in a worker thread so the event loop stays free."""
        return await asyncio.to_thread(
            self.send_and_wait, tx, before_send=before_send, timeout=timeout, simulate=simulate, contract=contract
        )

    def broadcast(self, signed: SignedTx, before_send: BeforeSend | None = None) -> None:
        """Re-broadcasts a stored signed transaction (crash recovery) without re-signing it.

        Succeeds when the node accepts it, already has it, or already mined one of its versions.
        Raises `NonceConsumedError` when another transaction took its nonce (it will never mine, so the
        caller may submit the operation anew). Re-broadcast stored transactions in nonce order, before
        submitting new ones, so a fresh nonce is never handed out on top of a stored one.
        """
        with self._cond:
            message = self._send(signed)
            if message is None or _is_already_known(message):
                if self._next_nonce is not None and self._next_nonce <= signed.nonce:
                    self._next_nonce = signed.nonce + 1
                self._sent[signed.nonce] = signed
                self._hooks[signed.nonce] = before_send
                return
            if _is_nonce_too_low(message):
                if self._find_receipt(signed.hashes) is not None:
                    return
                self._raise_if_mined_without_receipt(signed)
                raise NonceConsumedError(self.address, signed.nonce, signed.hashes)
            raise TransactionRejectedError(self.address, signed.nonce, message)

    def resync(self) -> int:
        """Takes the next nonce from the node's pending count now; returns it."""
        with self._cond:
            self._next_nonce = None
            return self._allocate_nonce()

    # ---------------------------------------------------------------- internals

    def _base_fields(self, tx: TxParams | Mapping[str, Any]) -> dict[str, Any]:
        source = dict(cast(Mapping[str, Any], tx))
        if "gasPrice" in source:
            raise ValueError("the queue sends EIP-1559 transactions: give maxFeePerGas/maxPriorityFeePerGas")
        fields: dict[str, Any] = {"type": 2, "chainId": self._get_chain_id(), "value": int(source.get("value", 0))}
        if source.get("to"):
            fields["to"] = checksum_address(source["to"])
        data = source.get("data", source.get("input"))
        fields["data"] = _hex(data) if data else "0x"
        for key in ("gas", "maxFeePerGas", "maxPriorityFeePerGas"):
            if key in source:
                fields[key] = int(source[key])
        return fields

    def _get_chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.rpc.call("eth_chainId"), 16)
        return self._chain_id

    def _preflight(self, fields: dict[str, Any], contract: str | None) -> None:
        """Runs the call on the pending state; a revert raises ContractRevertError before any nonce is used."""
        call: dict[str, Any] = {"from": self.address, "value": hex(fields["value"]), "data": fields["data"]}
        if "to" in fields:
            call["to"] = fields["to"]
        block = self.settings.simulate_block
        try:
            if "gas" in fields:
                self.rpc.call("eth_call", {**call, "gas": hex(fields["gas"])}, block)
            else:
                estimate = int(self.rpc.call("eth_estimateGas", call, block), 16)
                fields["gas"] = int(estimate * self.settings.gas_margin) + self.settings.gas_extra
        except RpcError as exc:
            if exc.is_revert:
                raise self.decoder.decode(exc.revert_data, contract=contract, address=fields.get("to")) from exc
            raise TransactionRejectedError(self.address, None, _rpc_error_message(exc)) from exc  # e.g. no funds
        except _TRANSPORT_ERRORS as exc:
            raise ChainUnavailableError(f"pre-flight of a transaction from {self.address} failed: {exc}") from exc

    def _fees(self) -> dict[str, int]:
        return self.fee_oracle.fees()

    def _count(self, tag: str) -> int:
        return int(self.rpc.call("eth_getTransactionCount", self.address, tag), 16)

    def _wait_for_capacity(self) -> None:
        """Blocks (holding no lock while asleep) until fewer than max_in_flight transactions are unmined."""
        limit = self.settings.max_in_flight
        while self._next_nonce is not None and self._next_nonce - self._mined_count >= limit:
            self._mined_count = max(self._mined_count, self._count("latest"))
            if self._next_nonce - self._mined_count < limit:
                return
            self._cond.wait(timeout=self.settings.poll_max)

    def _allocate_nonce(self) -> int:
        if self._next_nonce is None:
            self._next_nonce = self._count("pending")
            self._mined_count = max(self._mined_count, self._count("latest"))
        return self._next_nonce

    def _sign(self, fields: Mapping[str, Any], nonce: int, superseded: tuple[str, ...] = ()) -> SignedTx:
        unsigned = {**fields, "nonce": nonce}
        if type(self.account).sign_transaction is LocalAccount.sign_transaction:
            # a plain key: RLP + coincurve, the bytes eth-account makes at a fifth of its CPU (chain/node/txsign.py)
            if self._tx_key is None:
                self._tx_key = TxKey(self.account.key, self.address)
            raw, tx_hash = self._tx_key.sign_1559(unsigned)
        else:  # an account that signs its own way, or refuses to (a self-custody member's MemberKey)
            signed = self.account.sign_transaction(unsigned)
            raw, tx_hash = signed.raw_transaction, signed.hash
        return SignedTx(
            sender=self.address,
            nonce=nonce,
            tx_hash=_hex(tx_hash),
            raw=_hex(raw),
            fields=dict(fields),
            superseded=superseded,
        )

    def _send(self, signed: SignedTx) -> str | None:
        """Broadcasts; returns None on acceptance, else the node's (lower-cased) refusal message.

        A send whose outcome is unknown (no answer) makes the queue resync its nonce from the node
        before the next allocation, and is raised as ChainUnavailableError.
        """
        try:
            self.rpc.call("eth_sendRawTransaction", signed.raw)
        except RpcError as exc:
            return _rpc_error_message(exc)
        except _TRANSPORT_ERRORS as exc:  # no answer: the node may or may not have the transaction
            self._next_nonce = None
            raise ChainUnavailableError(f"sending transaction {signed.tx_hash} failed: {exc}") from exc
        return None

    def _replace(self, current: SignedTx, before_send: BeforeSend | None) -> SignedTx:
        """Re-signs `current`'s nonce with bumped fees and broadcasts it; returns the version now pending."""
        percent = self.settings.fee_bump_percent
        fields = dict(current.fields)
        market = self._fees()
        with self._cond:
            for _attempt in range(5):
                tip = _bump(int(fields["maxPriorityFeePerGas"]), percent)
                max_fee = max(_bump(int(fields["maxFeePerGas"]), percent), market["maxFeePerGas"] + tip)
                fields.update(maxPriorityFeePerGas=tip, maxFeePerGas=max_fee)
                candidate = self._sign(fields, current.nonce, current.hashes)
                if before_send is not None:
                    before_send(candidate)
                message = self._send(candidate)
                if message is None or _is_already_known(message):
                    self._sent[candidate.nonce] = candidate
                    return candidate
                if _is_underpriced(message):
                    continue  # the pool holds a pricier version (an earlier bump); bump again
                if _is_nonce_too_low(message):
                    return current  # a version mined, or a foreign tx took the nonce: `wait` finds out
                raise TransactionRejectedError(self.address, current.nonce, message)
        return current

    def _find_receipt(self, hashes: tuple[str, ...]) -> TxReceipt | None:
        for tx_hash in hashes:
            try:
                raw = self.rpc.call("eth_getTransactionReceipt", tx_hash)
            except RpcError:
                continue  # e.g. a node that answers an unknown hash with an error instead of null
            except _TRANSPORT_ERRORS as exc:  # the node went away while we waited: the caller answers 503
                raise ChainUnavailableError(f"no answer about transaction {tx_hash}: {exc}") from exc
            if raw is not None and raw.get("blockNumber") is not None:
                return format_receipt(raw)
        return None

    def _nonce_used_elsewhere(self, signed: SignedTx) -> bool:
        """True when the nonce is mined but by none of `signed`'s versions (a foreign tx took it)."""
        latest = self._count("latest")
        if latest <= signed.nonce:
            return False
        self._note_mined(latest - 1)
        if self._find_receipt(signed.hashes) is not None:  # looked up after the count: no race with mining
            return False
        self._raise_if_mined_without_receipt(signed)
        return True

    def _raise_if_mined_without_receipt(self, signed: SignedTx) -> None:
        """Before a taken nonce is called foreign: is one of our versions in a recent block after all?

        A sound node has a receipt for every mined transaction, but anvil stopped while mining can store the
        last block's transactions (and the state they changed) without their receipts. Sending "anew" would then
        execute the operation twice, so that case raises ReceiptMissingError instead."""
        wanted = {h.lower() for h in signed.hashes}
        head = int(self.rpc.call("eth_blockNumber"), 16)
        low = max(0, head - RECEIPTLESS_SCAN_BLOCKS + 1)
        for top in range(head, low - 1, -_SCAN_BATCH):
            numbers = list(range(top, max(low, top - _SCAN_BATCH + 1) - 1, -1))
            for number, block in zip(numbers, self._blocks(numbers), strict=True):
                found = wanted.intersection(str(h).lower() for h in (block or {}).get("transactions", ()))
                if found:
                    raise ReceiptMissingError(self.address, signed.nonce, found.pop(), number)

    def _blocks(self, numbers: list[int]) -> list[dict[str, Any] | None]:
        """Block headers with transaction hashes: one JSON-RPC batch over HTTP, else one call each."""
        return self.rpc.calls(*[("eth_getBlockByNumber", [hex(n), False]) for n in numbers])

    def _note_mined(self, nonce: int) -> None:
        with self._cond:
            if nonce + 1 > self._mined_count:
                self._mined_count = nonce + 1
                for old in sorted(n for n in self._sent if n <= nonce):
                    self._recent[old] = self._sent.pop(old)
                    self._hooks.pop(old, None)
                while len(self._recent) > self.settings.history:
                    self._recent.popitem(last=False)
                self._cond.notify_all()

    def _fill_gap(self, current: SignedTx, before_send: BeforeSend | None) -> tuple[int, SignedTx]:
        """Sends again what the node lost below and at `current`'s nonce; returns (how many, the version now
        pending for `current`).

        The node's pending count stops at the first nonce it neither mined nor holds: after a restart from its
        state file (its pool and its last blocks are gone), a reorg (the orphaned blocks' transactions are gone),
        or an evicting pool. From there up to `current`, in nonce order, each nonce gets our newest version (the
        same signed bytes: never a second execution), re-signed with today's fees when the node refuses it now
        (its request's hook stores the new version first), or a cancellation when we have no version of it."""
        with self._cond:  # one look per queue per interval, however many wait: a waiter above the gap finds it
            now = time.monotonic()
            if now - self._gap_checked_at < self.settings.gap_check_after / 2 and current.nonce < self._gap_nonce:
                return 0, current
            self._gap_checked_at, self._gap_nonce = now, current.nonce
        pending = self._count("pending")
        if pending > current.nonce:
            return 0, current
        resent = 0
        with self._cond:
            for nonce in range(pending, current.nonce + 1):
                ours = nonce == current.nonce
                version = current if ours else self._sent.get(nonce) or self._recent.get(nonce)
                hook = before_send if ours else self._hooks.get(nonce)
                if version is None:
                    message = self._send(self._cancellation(nonce))
                else:
                    message = self._send(version)
                    if message is not None and not _is_already_known(message) and not _is_underpriced(message):
                        if _is_nonce_too_low(message):
                            return resent, current  # mined meanwhile: the wait finds out
                        if ours or hook is not None:  # refused now (fees below the base fee): re-sign it
                            replacement = self._replace(version, hook)
                            if ours:
                                current = replacement
                            message = None
                        else:  # no request stores a new version of it: free the nonce instead
                            message = self._send(self._cancellation(nonce))
                if message is None or _is_already_known(message) or _is_underpriced(message):
                    resent += 1
        return resent, current

    def _cancellation(self, nonce: int) -> SignedTx:
        """A transfer of 0 to ourselves at `nonce`: fills a nonce the queue has no version of."""
        fields: dict[str, Any] = {"type": 2, "chainId": self._get_chain_id(), "value": 0, "to": self.address}
        fields.update(data="0x", gas=21_000, **self._fees())
        return self._sign(fields, nonce)


class Signer:
    """One TransactionQueue per account for the whole process, created on first use."""

    def __init__(
        self,
        w3: Web3,
        *,
        settings: QueueSettings | None = None,
        decoder: RevertDecoder | None = None,
        rpc: JsonRpc | None = None,
    ) -> None:
        self.w3 = w3
        self.settings = settings or QueueSettings()
        self.decoder = decoder if decoder is not None else RevertDecoder.from_build_dir()
        self._queues: dict[str, TransactionQueue] = {}
        self._lock = threading.Lock()
        self.rpc = rpc if rpc is not None else rpc_for(w3)
        self.fees = FeeOracle(self.rpc, self.settings.fee_cache_seconds)  # shared: one fee lookup per second
        self.watcher = ReceiptWatcher(self.rpc)  # shared by the queues: one head poll for all waiters

    def queue(self, account: LocalAccount) -> TransactionQueue:
        with self._lock:
            key = str(account.address).lower()
            if key not in self._queues:
                self._queues[key] = TransactionQueue(
                    self.w3,
                    account,
                    settings=self.settings,
                    decoder=self.decoder,
                    watcher=self.watcher,
                    rpc=self.rpc,
                    fees=self.fees,
                )
            return self._queues[key]

    def send_and_wait(self, account: LocalAccount, tx: TxParams | Mapping[str, Any], **options: Any) -> TxReceipt:
        return self.queue(account).send_and_wait(tx, **options)

    def pending_total(self) -> int:
        """Transactions sent and not yet known mined, over every account's queue (`/metrics`)."""
        with self._lock:
            queues = list(self._queues.values())
        return sum(queue.pending for queue in queues)


__all__ = ["BeforeSend", "QueueSettings", "ReceiptWatcher", "SignedTx", "Signer", "TransactionQueue"]
