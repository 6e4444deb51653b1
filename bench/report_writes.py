"""RESULTS.md sections of the write path: devchain modes, service throughput, endurance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.workload import mining_label

BENCH_DIR = Path(__file__).resolve().parent
MEMORY_FILE = BENCH_DIR / "devchain_memory.json"
MODES_FILE = BENCH_DIR / "devchain_modes.json"
SERVICE_BEFORE_FILE = BENCH_DIR / "service_before.json"


def modes_lines() -> list[str]:
    """The devchain-mode comparison, from the last `python -m bench.devchain_modes` (not rerun by `make bench`)."""
    if not MODES_FILE.exists():
        return []
    from bench.devchain_modes import table

    data = json.loads(MODES_FILE.read_text())
    rows = [r for r in data["modes"] if "error" not in r]
    lines = [
        "## Devchain mining modes (`python -m bench.devchain_modes`, separate run)",
        "",
        f"Run at {data['date_utc']} UTC (load average at the end {data['loadavg_end']}; shared 2-core machine, other"
        f" sessions running tests). Per mode: a fresh anvil, {data['txs']:,} pre-signed splits from"
        f" {data['senders']} senders as one burst (tx/s; send-to-mined latency, queueing included), then"
        f" {data['lone']} splits one at a time (lone latency); anvil VmRSS after deployment and after the burst;"
        " eth_call / eth_getProof at the block before the burst, then again after a restart from the state file.",
        "",
        table(rows),
        "",
    ]
    lines += [f"- {r['mode']}: **failed**: {r['error']}" for r in data["modes"] if "error" in r]
    return [*lines, "", "Choice and trade-off: docs/performance.md.", ""]


def _phase_rows(phases: list[dict[str, Any]]) -> list[str]:
    def lag(p: dict[str, Any]) -> str:
        if p.get("indexer_lag_blocks_max") is None:
            return "-"
        return f"{p['indexer_lag_blocks_p50']:.0f} / {p['indexer_lag_blocks_max']}"

    return [
        f"| {p['clients']} | {p['ok']:,} | {p['errors']} | {p['req_per_s']:.1f} | {p['p50_ms']:.0f} | {p['p95_ms']:.0f}"
        f" | {p['p99_ms']:.0f} | {lag(p)} |"
        for p in phases
    ]


_PHASE_HEADER = [
    "| clients | splits ok | errors | **splits/s** | p50 ms | p95 ms | p99 ms | indexer lag p50 / max (blocks) |",
    "|---:|---:|---:|---:|---:|---:|---:|---|",
]


def service_lines(results: dict[str, Any]) -> list[str]:
    if "service" not in results:
        return []
    s = results["service"]
    raw = s["raw"]
    block = "the block interval" if s["block_time"] else "one automined block (no interval)"
    lines = [
        "## Service throughput (splits through the HTTP API)",
        "",
        f"`scf serve` (uvicorn) in a subprocess on a fresh devchain ({mining_label(s['block_time'])}); {s['suppliers']}"
        " suppliers admitted through the API (keys in the service's custody), each holding a 1,000,000.00"
        " receivable; each client thread posts `POST /v1/notes/{id}/split` for one supplier with a fresh"
        " Idempotency-Key; a 201 is returned once the split is mined and indexed (read-your-writes). Same-run raw"
        f" ceiling: {raw['txs']:,} pre-signed splits from {s['suppliers']} senders straight to the node:"
        f" **{raw['tx_per_s']:.0f} tx/s** (p50/p99 {raw['latency_p50_ms']:.0f}/{raw['latency_p99_ms']:.0f} ms).",
        "",
        *_PHASE_HEADER,
        *_phase_rows(s["phases"]),
        "",
        f"Service / raw ceiling: **{results['service_over_raw']:.2f}** (target >= 0.7); worst p99"
        f" {results['write_p99_ms']:.0f} ms against two block intervals"
        + (f" = {2000 * s['block_time']:.0f} ms" if s["block_time"] else f" ({block})")
        + ".",
        "",
    ]
    if SERVICE_BEFORE_FILE.exists():
        before = json.loads(SERVICE_BEFORE_FILE.read_text())
        b = before["service"]
        lines += [
            f"Before the write-path fixes ({before.get('label', '')}; same bench, {mining_label(b['block_time'])}, raw"
            f" ceiling {b['raw']['tx_per_s']:.0f} tx/s in that run, ratio {before['service_over_raw']:.2f}):",
            "",
            *_PHASE_HEADER,
            *_phase_rows(b["phases"]),
            "",
            "What changed and the profiles behind it (two rounds): docs/performance.md.",
            "",
        ]
    return lines


def endurance_lines(results: dict[str, Any]) -> list[str]:
    if "endurance" not in results:
        return []
    e = results["endurance"]
    chunks = e["chunks"]
    lines = [
        "## Devchain endurance",
        "",
        f"{e['splits']:,} raw splits in a row ({len(chunks) - 1} chunks of {e['chunk']:,}, {e['senders']} senders,"
        f" {mining_label(e['block_time'])}, product defaults), every receipt checked; {e['elapsed_s']:.0f} s in all.",
        "",
        "| chunk | tx/s | p50 ms | p99 ms | blocks | anvil RSS MB | head |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| start | | | | | {chunks[0]['rss_mb']:.0f} | {chunks[0]['head']:,} |",
    ]
    for c in chunks[1:]:
        lines.append(
            f"| {c['chunk']} | {c['tx_per_s']:.0f} | {c['latency_p50_ms']:.0f} | {c['latency_p99_ms']:.0f} |"
            f" {c['blocks_mined']} | {c['rss_mb']:.0f} | {c['head']:,} |"
        )
    lines += [
        "",
        f"Last chunk / first chunk: **{results['endurance_last_over_first']:.2f}** (target >= 0.8); anvil RSS"
        f" {results['endurance_rss_start_mb']:.0f} MB at the start, {results['endurance_rss_end_mb']:.0f} MB at the"
        f" end (max {results['endurance_rss_max_mb']:.0f} MB); state file {e['state_file_mb_before_stop']} MB.",
        "",
    ]
    idle = e.get("idle") or []
    if idle:
        lines += [
            f"Then {idle[-1]['blocks']} empty blocks with no transactions (the devchain keeps the state of its last"
            f" {e.get('state_history', '?')} blocks, each a full copy of the ledger): anvil RSS by blocks mined,"
            f" {idle[-1].get('anvil_cpu_ms_per_block', '-')} ms of anvil CPU per block. Memory is bounded when it"
            " stays flat here; it still grows with the ledger itself (the splits above).",
            "",
            "| empty blocks mined | " + " | ".join(str(r["blocks"]) for r in idle) + " |",
            "|---|" + "---:|" * len(idle),
            "| anvil RSS MB | " + " | ".join(f"{r['rss_mb']:.0f}" for r in idle) + " |",
            "",
        ]
    return lines


def memory_lines() -> list[str]:
    """anvil's memory, disk spill and past-block window per mining setup, from the last
    `python -m bench.devchain_memory` (not rerun by `make bench`: about 10 minutes)."""
    if not MEMORY_FILE.exists():
        return []
    from bench.devchain_memory import table

    data = json.loads(MEMORY_FILE.read_text())
    return [
        "## Devchain memory over a long run (`python -m bench.devchain_memory`, separate run)",
        "",
        f"Run at {data['date_utc']} UTC. Per setup: a fresh devchain mining every {data['block_time_s']} s,"
        f" {data['splits']:,} raw splits, then {data['idle_blocks']:,} empty blocks; anvil's RSS, its state spill on"
        " disk, the oldest block whose state it still answers for, and its CPU per empty block.",
        "",
        table(data["setups"]),
        "",
        'Why the product mines with `evm_mine` and `--prune-history`: docs/performance.md, "Devchain memory".',
        "",
    ]


def write_path_sections(results: dict[str, Any]) -> list[str]:
    return [*service_lines(results), *endurance_lines(results), *memory_lines(), *modes_lines()]
