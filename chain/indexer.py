"""Events -> SQL read model, with a checkpoint and reorg safety.

- Logs of the deployed suite are fetched in block ranges with `eth_getLogs`, decoded with the ABIs
  (eth-abi), stored in `events` (unique by tx hash and log index) and applied to the projections.
- The checkpoint is written in the same database transaction as the rows it covers, so a crash
  leaves either all of a range or none of it.
- Each block that contributed events has its hash stored, and so does each checkpoint block. Before
  every range the stored hash of the checkpoint block is compared with the chain's: on a mismatch
  the indexer walks back to the newest stored block the chain still has, deletes every event above
  it, and rebuilds the projections by replaying the event log (reorgs are rare; on a QBFT/Clique
  permissioned network with finality they do not happen at all).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.codec import ABICodec
from eth_abi.registry import registry as abi_registry
from eth_utils.abi import event_abi_to_log_topic
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session
from web3 import Web3

from chain import alerts
from chain.alerts import AlertConfig
from chain.compile import Artifact
from chain.deploy import Deployment
from chain.errors import ScfError
from chain.projections import Projector
from chain.store import PROJECTIONS, Checkpoint, EventRecord, IndexedBlock, create_schema

log = logging.getLogger("scf.indexer")
CHECKPOINT = "indexer"
_codec = ABICodec(abi_registry)


class IndexerError(ScfError):
    """The indexer met data it cannot store."""


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


class EventDecoder:
    """(contract address, topic0) -> decoded event, from the compiled ABIs of the deployed suite."""

    def __init__(self, deployment: Deployment, artifacts: dict[str, Artifact]) -> None:
        self._specs: dict[tuple[str, bytes], _EventSpec] = {}
        self.addresses: list[str] = []
        for name, deployed in deployment.contracts.items():
            address = deployed.address.lower()
            self.addresses.append(Web3.to_checksum_address(address))
            for item in artifacts[name].abi:
                if item.get("type") != "event" or item.get("anonymous"):
                    continue
                topic = bytes(event_abi_to_log_topic(item))  # type: ignore[arg-type]
                inputs = item.get("inputs", [])
                self._specs[(address, topic)] = _EventSpec(
                    contract=name,
                    name=item["name"],
                    indexed=[(_arg_name(i), _type_of(i)) for i in inputs if i.get("indexed")],
                    data=[(_arg_name(i), _type_of(i)) for i in inputs if not i.get("indexed")],
                )

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
        alert_config: AlertConfig | None = None,
        extra_rules: Sequence[alerts.ExtraRule] = (),
    ) -> None:
        self.engine = engine
        self.w3 = w3
        self.deployment = deployment
        self.decoder = EventDecoder(deployment, artifacts)
        self.range_size = range_size
        self.alert_config = alert_config or AlertConfig()
        self.extra_rules = tuple(extra_rules)  # rules over records outside the event log (the API's audit log)
        self._lock = threading.Lock()
        self._progress = threading.Condition()
        self._stop = threading.Event()
        create_schema(engine)

    # ------------------------------------------------------------------ state
    def checkpoint(self) -> tuple[int, str] | None:
        with Session(self.engine) as session:
            cp = session.get(Checkpoint, CHECKPOINT)
            return (cp.block_number, cp.block_hash) if cp else None

    def indexed_block(self) -> int:
        cp = self.checkpoint()
        return cp[0] if cp else self.deployment.block - 1

    # ------------------------------------------------------------------ sync
    def sync(self, to_block: int | None = None) -> int:
        """Indexes up to `to_block` (default: the chain head); returns the indexed block number."""
        with self._lock:
            head = self.w3.eth.block_number if to_block is None else to_block
            self._handle_reorg()
            start = self.indexed_block() + 1
            while start <= head:
                end = min(head, start + self.range_size - 1)
                self._index_range(start, end)
                start = end + 1
            indexed = self.indexed_block()
        with self._progress:
            self._progress.notify_all()
        return indexed

    def _index_range(self, start: int, end: int) -> None:
        logs = self.w3.eth.get_logs(
            {"fromBlock": start, "toBlock": end, "address": self.decoder.addresses}  # type: ignore[typeddict-item]
        )
        end_block = self.w3.eth.get_block(end)
        end_hash = end_block["hash"].hex()
        with Session(self.engine) as session, session.begin():
            projector = Projector(session)
            seen_blocks: dict[int, str] = {}
            for entry in sorted(logs, key=lambda e: (e["blockNumber"], e["logIndex"])):
                if entry.get("removed"):
                    continue
                decoded = self.decoder.decode(dict(entry))
                if decoded is None:
                    continue
                contract, name, args = decoded
                record = EventRecord(
                    block_number=int(entry["blockNumber"]),
                    block_hash=entry["blockHash"].hex(),
                    tx_hash=entry["transactionHash"].hex(),
                    log_index=int(entry["logIndex"]),
                    contract=contract,
                    name=name,
                    args=args,
                )
                session.add(record)
                session.flush()
                projector.apply(record)
                seen_blocks[record.block_number] = record.block_hash
            had_events = bool(seen_blocks)
            seen_blocks[end] = end_hash
            for number, block_hash in seen_blocks.items():
                session.merge(IndexedBlock(number=number, hash=block_hash))
            if had_events:  # alerts are a function of the event history: no new events, no new alerts
                alerts.evaluate(  # after the projections
                    session, self.alert_config, self._block_time(session), self.extra_rules
                )
            session.merge(Checkpoint(name=CHECKPOINT, block_number=end, block_hash=end_hash))

    # ------------------------------------------------------------------ reorgs
    def _handle_reorg(self) -> None:
        cp = self.checkpoint()
        if cp is None:
            return
        number, stored_hash = cp
        if self._chain_hash(number) == stored_hash:
            return
        with Session(self.engine) as session:
            stored = session.execute(
                select(IndexedBlock.number, IndexedBlock.hash).order_by(IndexedBlock.number.desc())
            ).all()
        ancestor = self.deployment.block - 1
        for block_number, block_hash in stored:
            if self._chain_hash(block_number) == block_hash:
                ancestor = block_number
                break
        log.warning("reorg detected at block %s; rolling back to %s and replaying", number, ancestor)
        self.rollback_to(ancestor)

    def _chain_hash(self, number: int) -> str | None:
        try:
            block = self.w3.eth.get_block(number)
        except Exception:  # the block no longer exists on the shorter chain
            return None
        return str(block["hash"].hex())

    def rollback_to(self, ancestor: int) -> None:
        """Deletes everything above `ancestor` and rebuilds the projections from the remaining events."""
        with Session(self.engine) as session, session.begin():
            session.execute(delete(EventRecord).where(EventRecord.block_number > ancestor))
            session.execute(delete(IndexedBlock).where(IndexedBlock.number > ancestor))
            kept = session.get(IndexedBlock, ancestor)
            if kept is None:
                session.execute(delete(Checkpoint).where(Checkpoint.name == CHECKPOINT))
            else:
                session.merge(Checkpoint(name=CHECKPOINT, block_number=ancestor, block_hash=kept.hash))
            self._replay(session)

    def rebuild(self) -> None:
        """Drops and rebuilds the projections from the stored event log (no RPC)."""
        with Session(self.engine) as session, session.begin():
            self._replay(session)

    def _replay(self, session: Session) -> None:
        for table in PROJECTIONS:
            session.execute(delete(table))
        projector = Projector(session)
        for record in _iter_events(session):
            projector.apply(record)
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
        self.sync()
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


def _iter_events(session: Session) -> Iterable[EventRecord]:
    return session.scalars(select(EventRecord).order_by(EventRecord.block_number, EventRecord.log_index))
