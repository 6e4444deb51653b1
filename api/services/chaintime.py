"""Chain time for the read model: block timestamps and the block range of a span of days.

The indexer stores a block's timestamp only when an alert needs it, so the rest are read from the node once
and kept in memory keyed by block hash (a block's timestamp never changes; a reorged block has another hash).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session
from web3 import Web3

from chain.readmodel.indexer import CHECKPOINT
from chain.readmodel.store import Checkpoint, IndexedBlock

_CACHE_LIMIT = 100_000
_cache: dict[str, int] = {}
_cache_lock = threading.Lock()


def _remember(block_hash: str, timestamp: int) -> None:
    with _cache_lock:
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[block_hash] = timestamp


def block_times(session: Session, w3: Web3, numbers: Iterable[int]) -> dict[int, int]:
    """Timestamp of each indexed block in `numbers` (stored, cached, or read from the node)."""
    wanted = sorted(set(numbers))
    times: dict[int, int] = {}
    if not wanted:
        return times
    rows = session.execute(
        select(IndexedBlock.number, IndexedBlock.hash, IndexedBlock.timestamp).where(IndexedBlock.number.in_(wanted))
    ).all()
    known_hash = {int(number): str(block_hash) for number, block_hash, _ in rows}
    for number, block_hash, timestamp in rows:
        if timestamp is not None:
            times[int(number)] = int(timestamp)
        elif block_hash in _cache:
            times[int(number)] = _cache[block_hash]
    for number in wanted:
        if number in times:
            continue
        block = w3.eth.get_block(number)
        timestamp = int(block["timestamp"])
        times[number] = timestamp
        _remember(known_hash.get(number, "0x" + bytes(block["hash"]).hex()), timestamp)
    return times


def indexed_head(session: Session) -> int | None:
    """The read model's checkpoint block (None before the first indexing pass)."""
    checkpoint = session.get(Checkpoint, CHECKPOINT)
    return checkpoint.block_number if checkpoint is not None else None


def first_block_at_or_after(w3: Web3, timestamp: int, head: int) -> int:
    """The lowest block number <= head + 1 whose timestamp is >= `timestamp` (head + 1: none is)."""
    low, high = 0, head + 1
    while low < high:
        middle = (low + high) // 2
        if int(w3.eth.get_block(middle)["timestamp"]) >= timestamp:
            high = middle
        else:
            low = middle + 1
    return low
