"""Events -> SQL read model, with a checkpoint and reorg safety.

- Logs of the deployed suite are fetched in block ranges with `eth_getLogs`, decoded with the ABIs
  (eth-abi), stored in `events` (unique by tx hash and log index) and applied to the projections.
- The checkpoint is written in the same database transaction as the rows it covers, so a crash
  leaves either all of a range or none of it.
- The hashes of recent blocks are stored in `blocks` (each block that contributed events and each checkpoint
  block), for a window of `reorg_window` blocks below the checkpoint (`SCF_REORG_WINDOW`): rows older than
  that are deleted as the checkpoint advances, in its transaction, so the table stays bounded (a row for every
  block was about 170,000 rows a day at 0.5 s blocks). Rows with a stored timestamp (the blocks alerts were
  raised at) are kept, so a rebuild needs no RPC for them; there is one per alert block.
- Before every range the stored hash of the checkpoint block is compared with the chain's: on a mismatch the
  indexer asks the chain for the hashes of the stored blocks in the window (JSON-RPC batches, not a call per
  block), rolls back to the newest one the chain still has, deletes every event above it, and rebuilds the
  projections by replaying the event log. A reorg deeper than the window (no stored block in it is still on
  the chain) is logged as an error and falls back to a rebuild from the deployment block: every event is
  deleted and indexed again from the chain. Reorgs are rare and short (Clique's out-of-turn blocks, a devchain
  restarted from a state dump a few seconds old); on a QBFT network with finality they do not happen at all.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi.codec import ABICodec
from eth_abi.registry import registry as abi_registry
from eth_utils.abi import event_abi_to_log_topic
from sqlalchemy import Engine, Insert, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from web3 import Web3

from chain.node.artifacts import Artifact
from chain.node.deployment import Deployment
from chain.node.errors import ScfError
from chain.node.rpc import RpcError, rpc_for
from chain.readmodel import alerts
from chain.readmodel.alerts import AlertConfig
from chain.readmodel.projections import Event, Projector
from chain.readmodel.store import (
    PROJECTIONS,
    Checkpoint,
    EventRecord,
    HoldingTotal,
    IndexedBlock,
    Note,
    bulk_insert,
    create_schema,
    table,
)

log = logging.getLogger("scf.indexer")
CHECKPOINT = "indexer"


# The checkpoint's statements, built once: run on every indexer pass and /health call, and by a reader process every
# 50 ms while a request waits; building one per call (its clauses and SQLAlchemy's cache key) cost as much as
# running it (read_checkpoint: 102 us of CPU, 48 us with the statement built once; issue 24).
_CP = table(Checkpoint)
_READ_CHECKPOINT = select(_CP.c.block_number, _CP.c.block_hash).where(_CP.c.name == CHECKPOINT)
_MOVE_CHECKPOINT = update(_CP).where(_CP.c.name == CHECKPOINT)
_BLOCKS = table(IndexedBlock)
_PRUNE_BLOCKS = delete(_BLOCKS).where(_BLOCKS.c.number <= bindparam("below"), _BLOCKS.c.timestamp.is_(None))
# A pass's other statements, built once and of table columns (Core): built per pass from the models' attributes, each
# went through the ORM's compile steps (and an insert of blocks through its bulk-insert path) on every pass: 100-170 us
# a statement against 20-40 us (in-process, SQLite)
_EVENTS = table(EventRecord)
_LAST_EVENT_ID = select(func.max(_EVENTS.c.id))


@lru_cache(maxsize=4)
def _upsert_blocks(dialect: str) -> Insert:
    """The range's block hashes stored in one statement, a stored row's hash replaced (its timestamp kept): an
    INSERT ... ON CONFLICT DO UPDATE of the database's dialect (SQLite and PostgreSQL write it alike)."""
    upsert = postgresql.insert(_BLOCKS) if dialect == "postgresql" else sqlite.insert(_BLOCKS)
    return upsert.on_conflict_do_update(index_elements=[_BLOCKS.c.number], set_={"hash": upsert.excluded.hash})


def read_checkpoint(engine: Engine) -> tuple[int, str] | None:
    """(block number, block hash) of the last block in the read model; None before the first pass. Core: read on
    every indexer pass, by waiting requests and by /health."""
    with engine.connect() as conn:
        row = conn.execute(_READ_CHECKPOINT).first()
    return (int(row[0]), str(row[1])) if row is not None else None


RPC_TIMEOUT = 60.0  # seconds for one JSON-RPC answer (an eth_getLogs over FETCH_BLOCKS busy blocks included)
FETCH_BLOCKS = 50  # blocks per eth_getLogs call: a range is fetched in slices, stored while the next ones arrive
REORG_WINDOW = 256  # blocks below the checkpoint whose hashes are kept for reorg detection (SCF_REORG_WINDOW)
HASH_BATCH = 64  # block hashes asked for in one JSON-RPC batch when looking for a reorg's common ancestor
_codec = ABICodec(abi_registry)


class IndexerError(ScfError):
    """The indexer met data it cannot store."""


class HeadWatch:
    """How long the chain head has stood at the same block, as this process saw it (the indexer's passes and
    `/health` observe it): a stalled head under interval mining is something to report (`/health`). Measured on
    this process's monotonic clock, not from block timestamps (a devchain's clock can be moved forward)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._head: int | None = None
        self._since = 0.0

    def observe(self, head: int) -> float:
        """Records the head seen now; returns the seconds since it was first seen at this block."""
        now = self._clock()
        with self._lock:
            if head != self._head:
                self._head, self._since = head, now
            return now - self._since


@dataclass(frozen=True)
class _EventSpec:
    contract: str
    name: str
    indexed: list[tuple[str, str]]  # (name, type)
    data: list[tuple[str, str]]


def _type_of(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_type_of(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return str(param["type"])


def _arg_name(param: dict[str, Any]) -> str:
    # EIP-3525/721 name their event arguments `_fromTokenId`, `_value`...; OpenZeppelin `from`, `tokenId`.
    return str(param["name"]).lstrip("_")


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return Web3.to_checksum_address(value)
    return value


Word = Callable[[str], Any]  # one 32-byte ABI word as 64 hex digits (no 0x) -> value


@lru_cache(maxsize=65_536)
def _checksum(hex40: str) -> str:
    return str(Web3.to_checksum_address("0x" + hex40))


def _signed(word: str) -> int:
    value = int(word, 16)
    return value - (1 << 256) if value >> 255 else value


def _word_decoder(typ: str) -> Word | None:
    """A decoder of one 32-byte ABI word, in hex as JSON-RPC sends it, for the static types events use, equal to
    eth-abi + `_jsonable`; None for any other type (eth-abi decodes those)."""
    if typ.startswith("uint"):
        return lambda w: int(w, 16)
    if typ.startswith("int"):
        return _signed
    if typ == "address":
        return lambda w: _checksum(w[24:].lower())
    if typ == "bool":
        return lambda w: w[62:] == "01"
    if typ.startswith("bytes") and typ[5:].isdigit():
        digits = 2 * int(typ[5:])
        return lambda w: "0x" + w[:digits].lower()
    return None


class EventDecoder:
    """(contract address, topic0) -> decoded event, from the compiled ABIs of the deployed suite.

    Events whose arguments are all static words (almost all of the suite's) are decoded by slicing the data;
    the others by eth-abi. Both give the same values (`_jsonable` of eth-abi's)."""

    def __init__(self, deployment: Deployment, artifacts: dict[str, Artifact]) -> None:
        self._specs: dict[tuple[str, bytes], _EventSpec] = {}
        # (address, topic0 in hex) -> the spec and the word decoders of its indexed and data arguments
        self._fast: dict[tuple[str, str], tuple[_EventSpec, list[tuple[str, Word]], list[tuple[str, Word]]]] = {}
        self.addresses: list[str] = []
        for name, deployed in deployment.contracts.items():
            address = deployed.address.lower()
            self.addresses.append(Web3.to_checksum_address(address))
            for item in artifacts[name].abi:
                if item.get("type") != "event" or item.get("anonymous"):
                    continue
                topic = bytes(event_abi_to_log_topic(item))  # type: ignore[arg-type]
                inputs = item.get("inputs", [])
                spec = _EventSpec(
                    contract=name,
                    name=item["name"],
                    indexed=[(_arg_name(i), _type_of(i)) for i in inputs if i.get("indexed")],
                    data=[(_arg_name(i), _type_of(i)) for i in inputs if not i.get("indexed")],
                )
                self._specs[(address, topic)] = spec
                indexed = [(n, _word_decoder(t)) for n, t in spec.indexed]
                data = [(n, _word_decoder(t)) for n, t in spec.data]
                if all(d is not None for _, d in (*indexed, *data)):
                    self._fast[(address, "0x" + topic.hex())] = (spec, indexed, data)  # type: ignore[assignment]

    def decode(self, entry: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
        topics = [bytes(t) for t in entry["topics"]]
        if not topics:
            return None
        spec = self._specs.get((str(entry["address"]).lower(), topics[0]))
        if spec is None:
            return None
        args: dict[str, Any] = {}
        for (name, typ), topic in zip(spec.indexed, topics[1:], strict=True):
            args[name] = _jsonable(_codec.decode([typ], topic)[0])
        values = _codec.decode([t for _, t in spec.data], bytes(entry["data"]))
        for (name, _), value in zip(spec.data, values, strict=True):
            args[name] = _jsonable(value)
        return spec.contract, spec.name, args

    def decode_raw(self, address: str, topics: list[str], data: str) -> tuple[str, str, dict[str, Any]] | None:
        """Like `decode`, for a log as JSON-RPC returns it (hex strings), without converting it to bytes."""
        if not topics:
            return None
        fast = self._fast.get((address.lower(), topics[0].lower()))
        if fast is None:
            if (address.lower(), bytes.fromhex(topics[0][2:])) not in self._specs:
                return None
            return self.decode(
                {"address": address, "topics": [bytes.fromhex(t[2:]) for t in topics], "data": bytes.fromhex(data[2:])}
            )
        spec, indexed, fields = fast
        if len(topics) != len(indexed) + 1:
            raise IndexerError(f"{spec.contract}.{spec.name}: {len(topics) - 1} indexed arguments, not {len(indexed)}")
        if len(data) < 2 + 64 * len(fields):
            size = (len(data) - 2) // 2
            raise IndexerError(f"{spec.contract}.{spec.name}: {size} bytes of data, not {32 * len(fields)}")
        args: dict[str, Any] = {}
        for (name, word), topic in zip(indexed, topics[1:], strict=True):
            args[name] = word(topic[2:])
        at = 2
        for name, word in fields:
            args[name] = word(data[at : at + 64])
            at += 64
        return spec.contract, spec.name, args


class Indexer:
    """Keeps the read model in step with the chain. Thread-safe `sync`; `wait_for_block` for read-your-writes."""

    def __init__(
        self,
        engine: Engine,
        w3: Web3,
        deployment: Deployment,
        artifacts: dict[str, Artifact],
        *,
        range_size: int = 2_000,
        reorg_window: int = REORG_WINDOW,
        alert_config: AlertConfig | None = None,
        extra_rules: Sequence[alerts.ExtraRule] = (),
        heads: HeadWatch | None = None,
        confirmations: int = 0,
    ) -> None:
        self.engine = engine
        # blocks the indexer stays behind the head: on Clique a block this deep is final in practice (a cut-off
        # signer's competing block is replaced within a block or two); 0 = follow the head (reorgs are rolled back)
        self.confirmations = confirmations
        self.w3 = w3
        self.deployment = deployment
        self.decoder = EventDecoder(deployment, artifacts)
        self.range_size = range_size
        if reorg_window < 1:
            raise ValueError("reorg_window must be at least 1 block")
        self.reorg_window = reorg_window
        self.alert_config = alert_config or AlertConfig()
        self.extra_rules = tuple(extra_rules)  # rules over records outside the event log (the API's audit log)
        self.heads = heads or HeadWatch()  # every pass that asks for the head records it (/health: a stalled head)
        self._lock = threading.Lock()
        self._progress = threading.Condition()
        self._stop = threading.Event()
        self._rules: alerts.RuleState | None = None  # the alert rules' state, up to the checkpoint
        # the next event's id while `_rules` is valid (this process wrote the history up to the checkpoint): a pass
        # reads `max(events.id)` only when it starts afresh (first pass, after a failure, a rollback or another
        # process's pass)
        self._next_event_id: int | None = None
        self.reorgs: list[tuple[int, int]] = []  # (checkpoint block that left the chain, ancestor rolled back to)
        # the node's raw JSON-RPC over a keep-alive http.client connection (chain.node.rpc) when the provider is
        # HTTP: web3's provider (requests) cost about 2.5 ms of Python per call, four calls in a pass over one block
        self._json = rpc_for(w3, RPC_TIMEOUT)
        create_schema(engine)
        self._fill_new_projections()

    def _fill_new_projections(self) -> None:
        """A read model written before `holding_totals` existed has live notes and no totals: rebuild it once."""
        with Session(self.engine) as session:
            has_notes = session.scalar(select(Note.id).where(Note.live.is_(True), Note.holder_id != 0).limit(1))
            has_totals = session.scalar(select(HoldingTotal.holder_id).limit(1))
        if has_notes is not None and has_totals is None:
            log.warning("holding_totals is empty: rebuilding the projections from the event log")
            self.rebuild()

    # ------------------------------------------------------------------ state
    def checkpoint(self) -> tuple[int, str] | None:
        return read_checkpoint(self.engine)

    def indexed_block(self) -> int:
        return self._indexed_at(self.checkpoint())

    def _indexed_at(self, cp: tuple[int, str] | None) -> int:
        """The indexed block a checkpoint stands for (none yet: the block before the deployment)."""
        return cp[0] if cp else self.deployment.block - 1

    # ------------------------------------------------------------------ sync
    def sync(self, to_block: int | None = None) -> int:
        """Indexes up to `to_block` (default: the chain head); returns the indexed block number."""
        with self._lock:
            indexed = self._sync_locked(to_block)
        with self._progress:
            self._progress.notify_all()
        return indexed

    def _sync_locked(self, to_block: int | None) -> int:
        # One round trip for the head and the chain's block at the checkpoint (the reorg check), and one for each
        # range below (its logs and its last block's hash): a pass over one new block costs two, not four.
        cp = self.checkpoint()  # read once per pass
        asked: list[tuple[str, list[Any]]] = []
        if to_block is None:
            asked.append(("eth_blockNumber", []))
        if cp is not None:
            asked.append(("eth_getBlockByNumber", [hex(cp[0]), False]))
        answers = self._rpc_calls(asked)
        if to_block is None:
            chain_head = int(answers.pop(0), 16)
            self.heads.observe(chain_head)  # the node's own head (/health's head age), not the confirmed one
            head = chain_head - self.confirmations
        else:
            head = to_block
        indexed = self._handle_reorg(cp, _hash_of(answers[0]) if cp is not None else None)
        start = indexed + 1
        while start <= head:
            end = min(head, start + self.range_size - 1)
            self._index_range(start, end)
            indexed = end
            start = end + 1
        return indexed

    def _rpc(self, method: str, params: list[Any]) -> Any:
        """A raw JSON-RPC call (no web3 result formatting: hex strings, as the node sends them)."""
        try:
            return self._json.call(method, *params)
        except RpcError as exc:
            raise IndexerError(f"{method} failed: {exc.message}") from exc

    def _rpc_calls(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """`_rpc` for several calls in one round trip (a JSON-RPC batch over HTTP)."""
        try:
            return self._json.calls(*calls)
        except RpcError as exc:
            raise IndexerError(f"{exc.method} failed: {exc.message}") from exc

    def _logs_call(self, start: int, end: int) -> tuple[str, list[Any]]:
        return "eth_getLogs", [{"fromBlock": hex(start), "toBlock": hex(end), "address": self.decoder.addresses}]

    @staticmethod
    def _in_order(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        logs.sort(key=lambda e: (int(e["blockNumber"], 16), int(e["logIndex"], 16)))
        return logs

    def _logs(self, start: int, end: int) -> list[dict[str, Any]]:
        """The suite's logs in blocks [start, end], in chain order (as JSON-RPC sends them: hex strings)."""
        return self._in_order(self._rpc(*self._logs_call(start, end)))

    def _block_hash(self, number: int) -> str:
        return _existing(number, self._chain_hash(number))

    def _index_range(self, start: int, end: int) -> None:
        """Fetches the range's logs in slices of `FETCH_BLOCKS` blocks on a helper thread, then its last block's
        hash, while the slices already fetched are decoded and stored (the node's work and the transfer overlap
        the indexer's), and stores everything in one transaction."""
        rules = self._rules if self._rules is not None and self._rules.upto == start - 1 else None
        slices = [(a, min(end, a + FETCH_BLOCKS - 1)) for a in range(start, end + 1, FETCH_BLOCKS)]
        if len(slices) == 1:  # the usual pass, a block or a few behind the head: nothing to overlap, no thread
            # the logs, then the last block's hash (after the logs, as below), in one round trip
            logs, block = self._rpc_calls([self._logs_call(start, end), ("eth_getBlockByNumber", [hex(end), False])])
            known_hash = _existing(end, _hash_of(block))
            self._store_range(start, end, lambda: known_hash, [self._in_order(logs)], rules)
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="indexer-fetch") as fetcher:
            batches = [fetcher.submit(self._logs, a, b) for a, b in slices]
            end_hash = fetcher.submit(self._block_hash, end)  # after the logs, as before
            try:
                self._store_range(start, end, end_hash.result, (batch.result() for batch in batches), rules)
            except BaseException:
                fetcher.shutdown(cancel_futures=True)
                raise

    def _store_range(
        self,
        start: int,
        end: int,
        end_hash_of: Callable[[], str],
        batches: Iterable[list[dict[str, Any]]],
        rules: alerts.RuleState | None,
    ) -> None:
        """Stores a range's events in bulk (batches of logs in chain order), applies them to the projections and
        evaluates the alerts, in one transaction with the checkpoint. On any failure (a fetch included: the batches
        and the end hash are read here) the alert state is dropped, and the next pass rebuilds it."""
        try:
            # nothing is read from the session's objects after the commit: do not expire (and reload) them
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                # read when the first event is stored (a pass over empty blocks stores none), unless known
                known = self._next_event_id if rules is not None else None
                next_id = -1 if known is None else known
                records: list[Event] = []
                seen_blocks: dict[int, str] = {}
                decode = self.decoder.decode_raw
                for logs in batches:
                    rows: list[dict[str, Any]] = []
                    for entry in logs:
                        if entry.get("removed"):
                            continue
                        decoded = decode(entry["address"], entry["topics"], entry["data"])
                        if decoded is None:
                            continue
                        contract, name, args = decoded
                        block, block_hash = int(entry["blockNumber"], 16), entry["blockHash"][2:]
                        if next_id < 0:
                            next_id = int(session.scalar(_LAST_EVENT_ID) or 0) + 1
                        record = Event(
                            next_id, block, block_hash, entry["transactionHash"][2:], int(entry["logIndex"], 16),
                            contract, name, args,
                        )  # fmt: skip
                        next_id += 1
                        rows.append(
                            {
                                "id": record.id,
                                "block_number": block,
                                "block_hash": block_hash,
                                "tx_hash": record.tx_hash,
                                "log_index": record.log_index,
                                "contract": contract,
                                "name": name,
                                "args": args,
                            }
                        )
                        records.append(record)
                        seen_blocks[block] = block_hash
                    bulk_insert(session, table(EventRecord), rows)  # (the ORM's bulk insert costs 3x more)
                end_hash = end_hash_of()
                value_moves: list[dict[str, Any]] = []
                if records:
                    projector = Projector(session)
                    projector.prefetch(records)
                    for record in records:
                        projector.apply(record)
                    projector.flush()
                    value_moves = projector.value_moves
                had_events = bool(seen_blocks)
                seen_blocks[end] = end_hash
                # one upsert (was a read of the range's stored blocks, then an insert): a block above the checkpoint
                # is stored only if another process's pass stored it since this pass read the checkpoint
                connection = session.connection()
                connection.execute(
                    _upsert_blocks(connection.dialect.name), [{"number": n, "hash": h} for n, h in seen_blocks.items()]
                )
                self._prune_blocks(session, end)
                if had_events:  # alerts are a function of the event history: no new events, no new alerts
                    history = None
                    if rules is None:  # no state that ends where this range starts: scan the whole history once
                        rules = alerts.RuleState(self.alert_config)
                    else:  # the state ends where this range starts: the rules take the range's rows from here
                        history = alerts.PassHistory(records, value_moves)
                    alerts.evaluate(  # after the projections
                        session,
                        self.alert_config,
                        self._block_time(session),
                        self.extra_rules,
                        state=rules,
                        upto=end,
                        history=history,
                    )
                elif rules is not None:
                    rules.upto = end
                _set_checkpoint(session, end, end_hash)
        except BaseException:
            self._rules = None  # fed with rows that were rolled back
            self._next_event_id = None
            raise
        self._rules = rules
        self._next_event_id = next_id if next_id >= 0 else known

    # ------------------------------------------------------------------ reorgs
    def _handle_reorg(self, cp: tuple[int, str] | None, chain_hash: str | None) -> int:
        """Rolls the read model back when its last block left the chain (`chain_hash`: the chain's hash of the
        checkpoint block `cp`, None when the chain no longer has it); returns the indexed block (as
        `indexed_block`, after any rollback)."""
        if cp is None:
            return self._indexed_at(cp)
        number, stored_hash = cp
        if chain_hash == stored_hash:
            return number
        with Session(self.engine) as session:
            stored = session.execute(
                select(IndexedBlock.number, IndexedBlock.hash)
                .where(IndexedBlock.number < number, IndexedBlock.number > number - self.reorg_window)
                .order_by(IndexedBlock.number.desc())
            ).all()
        ancestor = self._common_ancestor([(int(n), str(h)) for n, h in stored])
        if ancestor is None:
            ancestor = self.deployment.block - 1
            log.error(
                "reorg deeper than the window of %s blocks below block %s: no stored block hash in it is still on "
                "the chain; rebuilding the read model from the deployment block %s",
                self.reorg_window, number, self.deployment.block,
            )  # fmt: skip
        else:
            log.warning("reorg detected at block %s; rolling back to %s and replaying", number, ancestor)
        self.rollback_to(ancestor)
        self.reorgs.append((number, ancestor))
        return self.indexed_block()

    def _common_ancestor(self, stored: list[tuple[int, str]]) -> int | None:
        """The newest of the `stored` (number, hash) pairs, newest first, that the chain still has; None when none
        is. The chain's hashes are read in batches of `HASH_BATCH` (one round trip each), newest first."""
        for at in range(0, len(stored), HASH_BATCH):
            chunk = stored[at : at + HASH_BATCH]
            blocks = self._rpc_calls([("eth_getBlockByNumber", [hex(n), False]) for n, _ in chunk])
            # any failure (node down, timeout) propagates: an unreachable node is not a reorg
            for (block_number, block_hash), block in zip(chunk, blocks, strict=True):
                if _hash_of(block) == block_hash:
                    return block_number
        return None

    def _prune_blocks(self, session: Session, checkpoint: int) -> None:
        """Deletes the stored hashes older than the reorg window below `checkpoint` (in the checkpoint's
        transaction); rows with a timestamp (blocks that raised alerts) are kept for rebuilds. Core, one DELETE
        over the primary key's range."""
        session.connection().execute(_PRUNE_BLOCKS, {"below": checkpoint - self.reorg_window})

    def _chain_hash(self, number: int) -> str | None:
        # any failure (node down, timeout) propagates: an unreachable node is not a reorg, and treating it as one
        # would roll the read model back to the deployment block
        return _hash_of(self._rpc("eth_getBlockByNumber", [hex(number), False]))

    def rollback_to(self, ancestor: int) -> None:
        """Deletes everything above `ancestor` and rebuilds the projections from the remaining events."""
        with Session(self.engine) as session, session.begin():
            session.execute(delete(EventRecord).where(EventRecord.block_number > ancestor))
            session.execute(delete(IndexedBlock).where(IndexedBlock.number > ancestor))
            kept = session.get(IndexedBlock, ancestor)
            if kept is None:
                session.execute(delete(Checkpoint).where(Checkpoint.name == CHECKPOINT))
            else:
                _set_checkpoint(session, ancestor, kept.hash)
            self._replay(session)

    def rebuild(self) -> None:
        """Drops and rebuilds the projections from the stored event log (no RPC)."""
        with Session(self.engine) as session, session.begin():
            self._replay(session)

    def _replay(self, session: Session) -> None:
        self._rules = None
        self._next_event_id = None
        for model in PROJECTIONS:
            session.execute(delete(model))
        projector = Projector(session)
        for record in _iter_events(session):
            projector.apply(record)
        projector.flush()
        alerts.evaluate(session, self.alert_config, self._block_time(session), self.extra_rules)

    def _block_time(self, session: Session) -> Callable[[int], int]:
        """Timestamp of an indexed block: stored with the block once asked for (a rebuild needs no RPC)."""

        def block_time(number: int) -> int:
            row = session.get(IndexedBlock, number)
            if row is not None and row.timestamp is not None:
                return row.timestamp
            timestamp = int(self.w3.eth.get_block(number)["timestamp"])
            if row is not None:
                row.timestamp = timestamp
            return timestamp

        return block_time

    # ------------------------------------------------------------------ background loop
    def wait_for_block(self, number: int, timeout: float = 30.0) -> bool:
        """Blocks until the read model includes `number` (syncing itself if needed)."""
        if self.indexed_block() >= number:
            return True
        with self._lock:  # requests waiting together sync once: whoever holds the lock may have indexed it
            if self.indexed_block() < number:
                self._sync_locked(None)
        with self._progress:
            self._progress.notify_all()
        with self._progress:
            return self._progress.wait_for(lambda: self.indexed_block() >= number, timeout=timeout)

    def run(self, poll_interval: float = 0.5) -> None:
        while not self._stop.is_set():
            try:
                self.sync()
            except Exception:  # keep the loop alive through RPC/database hiccups; they are logged
                log.exception("indexer pass failed; retrying")
            self._stop.wait(poll_interval)

    def stop(self) -> None:
        self._stop.set()


def _set_checkpoint(session: Session, number: int, block_hash: str) -> None:
    """Moves the checkpoint (Core: one UPDATE on every pass and after a rollback, an INSERT on the first)."""
    values = {"block_number": number, "block_hash": block_hash}
    conn = session.connection()
    if conn.execute(_MOVE_CHECKPOINT, values).rowcount == 0:
        conn.execute(insert(_CP).values(name=CHECKPOINT, **values))


def _hash_of(block: dict[str, Any] | None) -> str | None:
    """A JSON-RPC block's hash without 0x; None for no block (it no longer exists on a shorter chain)."""
    return None if block is None else str(block["hash"])[2:]


def _existing(number: int, block_hash: str | None) -> str:
    if block_hash is None:  # the head moved back (a reorg) while the range was fetched: the next pass sees it
        raise IndexerError(f"block {number} is no longer on the chain")
    return block_hash


def _iter_events(session: Session) -> Iterable[EventRecord]:
    return session.scalars(select(EventRecord).order_by(EventRecord.block_number, EventRecord.log_index))
