"""The service's handle on the ledger: Web3, deployment, artifacts, indexer; built lazily and retried.

The API starts even when the chain is down (so /health can say so); the first request that needs
the ledger, and the background indexer loop, connect when the chain answers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from web3 import Web3
from web3.contract import Contract

from api import heap
from api.audit import rejected_attempt_findings
from api.settings import Settings
from chain.node.artifacts import Artifact, load_artifacts
from chain.node.client import connect, contract
from chain.node.contracts import CashToken, Financing, MemberRegistry, OrderBook, ReceivableNotes, Settlement
from chain.node.deployment import Deployment, load_deployment
from chain.node.errors import ChainStalledError, ScfError
from chain.node.revert import RevertDecoder
from chain.node.rpc import JsonRpc
from chain.node.signer import QueueSettings, Signer
from chain.readmodel.indexer import HeadWatch, Indexer, read_checkpoint

log = logging.getLogger("scf.ledger")


class LedgerUnavailableError(ScfError):
    """The chain does not answer, or no deployment of the suite is recorded for it."""


CONFIRMATION_POLL_S = 0.2


class IndexPump:
    """Read-your-writes without an indexer pass per request.

    A write waits until the read model includes its block. Each request calling `Indexer.sync` itself made
    concurrent writers queue on the indexer's lock, each repeating the head and reorg checks, and wake on every
    pass to re-read the checkpoint from the database (profiled: about a fifth of a split's CPU). Here writers
    only say which block they need; the background indexer loop (one thread) runs one pass to the head for all
    of them and wakes them with the indexed block it keeps in memory. Without a running loop (CLI, tests
    without the background indexer) a writer indexes for itself, as before.
    """

    def __init__(self, indexer: Indexer) -> None:
        self.indexer = indexer
        self.active = False  # set while the background loop serves passes
        self._lock = threading.Lock()
        self._asked = threading.Condition(self._lock)  # the loop waits on it for a writer's block
        self._waits: dict[int, threading.Event] = {}  # block -> set once the read model has it (its writers wake)
        self._wanted = -1
        self._indexed = -1

    def wait_for_block(self, number: int, timeout: float = 30.0) -> bool:
        """Waits until the read model includes block `number`; False after `timeout`.

        A writer sleeps on the event of its own block, set by the pass that indexes it: only the writers a pass
        served wake (with one condition for everyone, each pass and each writer's request woke every waiting
        writer: 128 writers in flight made thousands of wake-ups a second, each taking the GIL to sleep again)."""
        if not self.active:
            return self.indexer.wait_for_block(number, timeout=timeout)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self._indexed >= number:
                    return True
                if number > self._wanted:
                    self._wanted = number
                    self._asked.notify()
                event = self._waits.get(number)
                if event is None:
                    event = self._waits[number] = threading.Event()
            left = deadline - time.monotonic()
            if left <= 0 or not event.wait(left):
                with self._lock:
                    return self._indexed >= number
            # set: indexed, unless a reorg's rollback lowered it since (then wait again)

    def serve(self, idle: float) -> int:
        """One pass: waits until a writer needs an unindexed block (at most `idle` seconds), indexes to the head."""
        with self._lock:
            self._asked.wait_for(lambda: self._wanted > self._indexed, timeout=idle)
        indexed = self.indexer.sync()
        with self._lock:
            self._indexed = indexed  # not max(): a reorg rollback lowers it
            served = [n for n in self._waits if n <= indexed]
            for n in served:
                self._waits.pop(n).set()
            deeper = self.indexer.confirmations > 0 and self._wanted > indexed
        if deeper:  # a writer's block is not `confirmations` deep yet: look again shortly, not in a busy loop
            time.sleep(CONFIRMATION_POLL_S)
        return indexed


# Asks the process that indexes for a pass up to a block (at most `timeout` seconds); failures are its own to log.
Nudge = Callable[[int, float], None]


class CheckpointFollower:
    """Waits for a block in a process without an indexer (a reader of `scf serve --workers`, api/workers.py): the
    writer's indexer moves the checkpoint row, read here every `interval` seconds. With `nudge`, a wait for a block
    the checkpoint has not reached first asks the writer for a pass to it (as a request of a single process shares
    the indexer's pass, `IndexPump`), instead of waiting for the writer's next poll (up to its interval, 0.5 s)."""

    def __init__(self, engine: Engine, interval: float = 0.05, nudge: Nudge | None = None) -> None:
        self.engine = engine
        self.interval = interval
        self.nudge = nudge

    def wait_for_block(self, number: int, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        nudge = self.nudge  # asked once per wait
        while True:
            checkpoint = read_checkpoint(self.engine)
            if checkpoint is not None and checkpoint[0] >= number:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if nudge is not None:
                nudge(number, left)  # returns once the writer has indexed it, or given up; the row decides
                nudge = None
                continue
            time.sleep(min(self.interval, left))


@dataclass(frozen=True)
class IndexerFailure:
    """The background indexer's passes are failing (`/health` reports it): since when, how often in a row, and the
    last error. `database`: the error came from the database (a write refused, locked, read-only, full)."""

    database: bool
    detail: str
    since: float  # unix time of the first failed pass in a row
    passes: int


def _describe(exc: Exception) -> str:
    """An error in a line: a database error by its driver's message (not SQLAlchemy's statement and link)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return f"{type(exc.orig).__name__}: {exc.orig}"[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


@dataclass
class LedgerHandle:
    w3: Web3
    deployment: Deployment
    artifacts: dict[str, Artifact]
    indexer: Indexer
    signer: Signer
    stall_after: float | None = None  # seconds without a block after which writes get 503 chain-stalled
    follows_checkpoint: bool = False  # a reader process: no indexer runs here, waits read the checkpoint row
    nudge: Nudge | None = None  # a reader process: asks the writer for an indexer pass (api/workers.py)
    _contracts: dict[str, Contract] = field(default_factory=dict)
    _head: tuple[float, int, str, int] | None = None  # (monotonic time read, number, hash, timestamp)

    def check_not_stalled(self) -> None:
        """Raises ChainStalledError when the chain's head is older than `stall_after` (a chain that makes a block
        every period, like Clique, has stopped: too few signers). The head is read at most once a second."""
        if self.stall_after is None:
            return
        now = time.monotonic()
        if self._head is None or now - self._head[0] > 1.0:
            block = self.w3.eth.get_block("latest")
            self._head = (now, int(block["number"]), bytes(block["hash"]).hex(), int(block["timestamp"]))
        _at, number, block_hash, timestamp = self._head
        age = time.time() - timestamp
        if age > self.stall_after:
            raise ChainStalledError(number, "0x" + block_hash.removeprefix("0x"), age, self.stall_after)

    @cached_property
    def pump(self) -> IndexPump:
        return IndexPump(self.indexer)

    @cached_property
    def reads(self) -> IndexPump | CheckpointFollower:
        """What a request waits on for its block: the indexer's pump, or in a reader process the checkpoint row."""
        return CheckpointFollower(self.indexer.engine, nudge=self.nudge) if self.follows_checkpoint else self.pump

    def contract(self, name: str) -> Contract:
        handle = self._contracts.get(name)
        if handle is None:
            handle = contract(self.w3, self.deployment, self.artifacts, name)
            self._contracts[name] = handle
        return handle

    # typed wrappers (chain.node.contracts): writes return a ContractCall for WriteContext.transact,
    # views run eth_call and raise a decoded ContractRevertError on a revert
    @cached_property
    def members(self) -> MemberRegistry:
        return MemberRegistry(self.contract(MemberRegistry.NAME), self.signer.decoder)

    @cached_property
    def cash(self) -> CashToken:
        return CashToken(self.contract(CashToken.NAME), self.signer.decoder)

    @cached_property
    def notes(self) -> ReceivableNotes:
        return ReceivableNotes(self.contract(ReceivableNotes.NAME), self.signer.decoder)

    @cached_property
    def orders(self) -> OrderBook:
        return OrderBook(self.contract(OrderBook.NAME), self.signer.decoder)

    @cached_property
    def financing(self) -> Financing:
        return Financing(self.contract(Financing.NAME), self.signer.decoder)

    @cached_property
    def settlement(self) -> Settlement:
        return Settlement(self.contract(Settlement.NAME), self.signer.decoder)


class LedgerService:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        index_engine: Engine | None = None,
        *,
        follows_checkpoint: bool = False,
        nudge: Nudge | None = None,
    ) -> None:
        """`index_engine`: the indexer's own connections (the API gives it a pool apart from the requests', which
        writes waiting for their block can fill); `engine` by default. `follows_checkpoint`: a reader process, whose
        requests wait for a block on the checkpoint row (another process indexes), first asking that process for a
        pass with `nudge`."""
        self.settings = settings
        self.follows_checkpoint = follows_checkpoint
        self.nudge = nudge
        self.engine = index_engine if index_engine is not None else engine
        self._handle: LedgerHandle | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.heads = HeadWatch()  # the chain head as the indexer's passes and /health saw it
        self.failure: IndexerFailure | None = None  # set while the background indexer's passes fail

    @property
    def connected(self) -> LedgerHandle | None:
        """The handle once `get` has built it (never unset again), else None: a read without locking or I/O."""
        return self._handle

    def get(self) -> LedgerHandle:
        with self._lock:
            if self._handle is None:
                self._handle = self._connect()
                heap.freeze_if_tuned()  # the handle lives as long as the process (api/heap.py)
            return self._handle

    def _connect(self) -> LedgerHandle:
        w3 = connect(self.settings.effective_rpc_url, self.settings.rpc_timeout, self.settings.rpc_attempts)
        try:
            chain_id = w3.eth.chain_id
        except Exception as exc:
            raise LedgerUnavailableError(f"the chain at {self.settings.effective_rpc_url} does not answer") from exc
        deployment = load_deployment(self.settings.data_dir, chain_id)
        if deployment is None:
            raise LedgerUnavailableError(f"no deployment recorded for chain {chain_id}; run `scf deploy`")
        artifacts = load_artifacts()
        indexer = Indexer(
            self.engine,
            w3,
            deployment,
            artifacts,
            reorg_window=self.settings.reorg_window,
            alert_config=self.settings.alert_config(),
            extra_rules=(rejected_attempt_findings,),  # re-derived from the audit log, also on a rebuild
            heads=self.heads,
            confirmations=self.settings.indexer_confirmations,
        )
        addresses = {name: c.address for name, c in deployment.contracts.items()}
        queue_settings = QueueSettings(
            stuck_after=self.settings.tx_stuck_after, receipt_timeout=self.settings.tx_receipt_timeout
        )
        signer = Signer(
            w3,
            settings=queue_settings,
            decoder=RevertDecoder.from_artifacts(artifacts, addresses),
            rpc=JsonRpc(self.settings.effective_rpc_url, self.settings.rpc_timeout),
        )
        return LedgerHandle(
            w3,
            deployment,
            artifacts,
            indexer,
            signer,
            stall_after=self.settings.chain_stall_after,
            follows_checkpoint=self.follows_checkpoint,
            nudge=self.nudge,
        )

    # background indexing
    def start(self, poll_interval: float = 0.5) -> None:
        self._thread = threading.Thread(target=self._loop, args=(poll_interval,), name="indexer", daemon=True)
        self._thread.start()

    def _loop(self, poll_interval: float) -> None:
        pump: IndexPump | None = None
        while not self._stop.is_set():
            try:
                if pump is None:
                    pump = self.get().pump
                    pump.active = True
                pump.serve(idle=poll_interval)  # returns at once when a writer waits for a block
                self.failure = None
            except Exception as exc:  # chain or database down: keep trying, /health reports it
                log.warning("indexer pass failed: %s", exc)
                self._record_failure(exc)
                self._stop.wait(poll_interval)
        if pump is not None:
            pump.active = False

    def _record_failure(self, exc: Exception) -> None:
        last = self.failure
        self.failure = IndexerFailure(
            database=isinstance(exc, SQLAlchemyError),
            detail=_describe(exc),
            since=last.since if last is not None else time.time(),
            passes=(last.passes if last is not None else 0) + 1,
        )

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
