"""RESULTS.md sections of the read path: reads through the API (bench/reads.py) and indexer catch-up
(bench/indexer.py), with the before/after figures of the optimisation measured while making it."""

from __future__ import annotations

from typing import Any

from bench import indexer as bench_indexer
from bench import reads as bench_reads

# Measured on this machine while optimising (one run each, shared 2-core machine, load average about 6):
# 3,109 operations (42 suppliers splitting to one another), 12,361 events, fresh SQLite, catch-up from block 0.
INDEXER_BEFORE_AFTER = [
    "Indexer profile (pyinstrument 5.1.3, installed in .venv for the measurement only), catch-up of 12,361 events",
    "(3,109 operations): before, web3's `get_logs` formatting, one `session.flush()` and `session.get()` per event",
    "and per note, a SELECT per account lookup, and alert rules rescanning the whole history every pass dominated;",
    "after: raw `eth_getLogs` (hex strings), word-slicing decoder for static ABI types, events bulk-inserted with",
    "ids assigned in the pass, notes prefetched in one query per 500 ids, member and `holding_totals` caches per",
    "pass, one flush/commit per range, incremental alert state (`chain.readmodel.alerts.RuleState`).",
    "",
    "| indexer | events | seconds | events/s | CPU s |",
    "|---|---:|---:|---:|---:|",
    "| before (original loop, with `holding_totals` maintenance added) | 12,361 | 333.3 | 37 | 98.7 |",
    "| after | 12,361 | 19.1 | 647 | 8.6 |",
    "",
]


def read_path_sections(results: dict[str, Any]) -> list[str]:
    lines = [*bench_reads.markdown(results), *bench_indexer.markdown(results)]
    if results.get("indexer"):
        lines += INDEXER_BEFORE_AFTER
    return lines
