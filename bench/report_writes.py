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
    return [*lines, "", "Choice and trade-off: docs/performance-history.md.", ""]


def _opt(value: float | None, fmt: str = ".1f") -> str:
    return "-" if value is None else format(value, fmt)


def _phase_rows(phases: list[dict[str, Any]], with_cpu: bool = True) -> list[str]:
    def lag(p: dict[str, Any]) -> str:
        if p.get("indexer_lag_blocks_max") is None:
            return "-"
        return f"{p['indexer_lag_blocks_p50']:.0f} / {p['indexer_lag_blocks_max']}"

    def cpu(p: dict[str, Any]) -> str:  # figures of runs before the server's CPU was measured: "-"
        if "loadgen_cpu_pct" not in p:
            return " | - | - | -"
        return (
            f" | {_opt(p.get('server_cpu_ms_per_split'))} | {_opt(p.get('loadgen_cpu_ms_per_split'))}"
            f" ({_opt(p.get('loadgen_cpu_pct'))}%) | {p.get('loadavg', '-')}"
        )

    return [
        f"| {p['clients']}{' (' + format(p['duration_s'], 'g') + ' s)' if p.get('duration_s') else ''} | {p['ok']:,}"
        f" | {p['errors']} | {p['req_per_s']:.1f} | {p['p50_ms']:.0f} | {p['p95_ms']:.0f} | {p['p99_ms']:.0f}"
        f" | {lag(p)}{cpu(p) if with_cpu else ''} |"
        for p in phases
    ]


_PHASE_HEADER = [
    "| clients | splits ok | errors | **splits/s** | p50 ms | p95 ms | p99 ms | indexer lag p50 / max (blocks) |",
    "|---:|---:|---:|---:|---:|---:|---:|---|",
]
_CPU_HEADER = [  # the service section's levels: the server's and the load generator's CPU, the machine's load
    _PHASE_HEADER[0] + " server CPU ms/split | load generator CPU ms/split (% of a core) | load average at the end |",
    _PHASE_HEADER[1] + "---:|---:|---|",
]


def _verdict(value: float | None, target: float, at_most: bool) -> str:
    if value is None:
        return "not measured | -"
    met = value <= target if at_most else value >= target
    return f"{'**met**' if met else '**not met**'} | {value / target:.2f}"


def target_lines(results: dict[str, Any]) -> list[str]:
    """Issue 24's write targets against this run's figures (the ratio is measured / target)."""
    from bench.service import TARGET_API_CPU_MS, TARGET_P99_MS_128, TARGET_SPLITS_PER_S_128

    if "api_cpu_ms_per_split" not in results:
        return []
    api, floor = results.get("api_cpu_ms_per_split"), results.get("floor_cpu_ms_per_split")
    rate, p99 = results.get("service_splits_per_s_128"), results.get("write_p99_ms_128")
    duration = results["service"].get("duration_s")
    return [
        "| figure (results.json key) | measured | target | met? | measured / target |",
        "|---|---:|---|---|---:|",
        "| server CPU per split, median of the levels without errors (`api_cpu_ms_per_split`) |"
        f" {_opt(api, '.2f')} ms |"
        f" <= {TARGET_API_CPU_MS:g} ms | {_verdict(api, TARGET_API_CPU_MS, True)} |",
        f"| floor beside it: a bare FastAPI route that signs and sends (`floor_cpu_ms_per_split`) |"
        f" {_opt(floor, '.2f')} ms | (reference) | service / floor"
        f" {'-' if not api or not floor else format(api / floor, '.1f')}x | - |",
        f"| 128 clients, splits/s over {_opt(duration, 'g')} s (`service_splits_per_s_128`) | {_opt(rate)} |"
        f" >= {TARGET_SPLITS_PER_S_128:g} for 60 s | {_verdict(rate, TARGET_SPLITS_PER_S_128, False)} |",
        f"| 128 clients, p99 (`write_p99_ms_128`; p50 {_opt(results.get('write_p50_ms_128'), '.0f')} ms) |"
        f" {_opt(p99, '.0f')} ms | < {TARGET_P99_MS_128:g} ms | {_verdict(p99, TARGET_P99_MS_128, True)} |",
    ]


def _floor_lines(s: dict[str, Any]) -> list[str]:
    floor = s.get("floor")
    if not floor:
        return []
    return [
        "Floor in the same run (`bench/floor.py`): a bare FastAPI app, served by uvicorn as `scf serve` serves the"
        " API, with one route that encodes the same `transferFrom(uint256,address,uint256)` call (ContractCall),"
        " signs it with eth-account as the service's signer does (nonce kept in memory) and answers once"
        " `eth_sendRawTransaction` returned: no database, indexer, audit, idempotency, pre-flight or wait for the"
        " block. Same asyncio client, same levels (a request count at every level: it does not wait for blocks);"
        " CPU counted the same way:",
        "",
        *_CPU_HEADER,
        *_phase_rows(floor),
        "",
    ]


def service_lines(results: dict[str, Any]) -> list[str]:
    if "service" not in results:
        return []
    s = results["service"]
    raw = s["raw"]
    block = "the block interval" if s["block_time"] else "one automined block (no interval)"
    when = (
        f" Run at {s['date_utc']} UTC, load average at the end {s.get('loadavg_end', '-')} (2 shared cores; every"
        " level's load average is in its row)."
        if s.get("date_utc")
        else ""
    )
    notes = s.get("notes", s["suppliers"])
    lines = [
        "## Service throughput (splits through the HTTP API)",
        "",
        f"`scf serve` (uvicorn) in a subprocess on a fresh devchain ({mining_label(s['block_time'])}); {s['suppliers']}"
        " suppliers admitted through the API (keys in the service's custody), holding"
        f" {notes} receivables of 100,000.00 between them (one per client of the largest level); client k posts"
        " `POST /v1/notes/{id}/split` of 200.00 (face / 500, S-3) from note k with a fresh Idempotency-Key; a 201 is"
        " returned once the split is mined and indexed (read-your-writes). The clients are asyncio"
        " (aiohttp, one keep-alive connection each) in the bench's process: its CPU is the load generator's column."
        " Levels with a request count send that many splits; the 128-client level runs for a fixed time, every"
        " client sending until then. Server CPU per split: user + system time of the server's process tree from"
        " /proc (the API and its indexer thread) over the level, divided by the splits answered. Same-run raw"
        f" ceiling: {raw['txs']:,} pre-signed splits from {s['suppliers']} senders straight to the node:"
        f" **{raw['tx_per_s']:.0f} tx/s** (p50/p99 {raw['latency_p50_ms']:.0f}/{raw['latency_p99_ms']:.0f} ms)." + when,
        "",
        *_CPU_HEADER,
        *_phase_rows(s["phases"]),
        "",
        *[
            f"{p['clients']} clients: {p['errors']} of {p['ok'] + p['errors']} requests failed, e.g."
            f" `{p['first_errors'][0][:160]}`"
            + (f"; the server logged `{p['server_failure']}`" if p.get("server_failure") else "")
            + "."
            for p in s["phases"]
            if p["errors"] and p.get("first_errors")
        ],
        *([""] if any(p["errors"] for p in s["phases"]) else []),
        *_floor_lines(s),
        *target_lines(results),
        *([""] if "api_cpu_ms_per_split" in results else []),
        f"Service / raw ceiling: **{results['service_over_raw']:.2f}** (target >= 0.7); worst p99"
        f" {results['write_p99_ms']:.0f} ms against two block intervals"
        + (f" = {2000 * s['block_time']:.0f} ms" if s["block_time"] else f" ({block})")
        + ". Where the time goes (a profile of the 32-client level): docs/performance.md.",
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
            *_phase_rows(b["phases"], with_cpu=False),
            "",
            "What changed and the profiles behind it (two rounds): docs/performance-history.md.",
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
        'Why the product mines with `evm_mine` and `--prune-history`: docs/performance-history.md, "Devchain memory".',
        "",
    ]


def consortium_lines(results: dict[str, Any]) -> list[str]:
    """The consortium section next to the anvil service section of the same run (same workload)."""
    if "consortium" not in results:
        return []
    c = results["consortium"]
    raw = c["raw"]
    period = c["period_s"]
    gas_limit = c["block_gas_limit"]
    best = max(c["phases"], key=lambda p: p["req_per_s"])
    rows = [
        "| chain | block period | raw splits/s | service splits/s (clients) | service p50 / p99 ms |"
        " split gas (raw run) | splits per full block | ceiling from gas, splits/s | raw / ceiling |"
        " service / raw |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    if "service" in results:
        s = results["service"]
        a_raw = s["raw"]
        a_best = max(s["phases"], key=lambda p: p["req_per_s"])
        a_per_block = gas_limit // a_raw["mean_gas"]
        a_ceiling = a_per_block / s["block_time"] if s["block_time"] else None
        rows.append(
            f"| anvil devchain ({mining_label(s['block_time'])}) | {s['block_time'] or 0:g} s |"
            f" {a_raw['tx_per_s']:.0f} | {a_best['req_per_s']:.1f} ({a_best['clients']}) |"
            f" {a_best['p50_ms']:.0f} / {a_best['p99_ms']:.0f} | {a_raw['mean_gas']:,} | {a_per_block:,} |"
            f" {_fmt0(a_ceiling)} | {_ratio(a_raw['tx_per_s'], a_ceiling)} |"
            f" {_ratio(a_best['req_per_s'], a_raw['tx_per_s'])} |"
        )
    ceiling = c["gas_ceiling_splits_per_s"]
    rows.append(
        f"| {c['validators']}-validator geth Clique ({c['mode']}) | {period:g} s | **{raw['tx_per_s']:.0f}** |"
        f" **{best['req_per_s']:.1f}** ({best['clients']}) | {best['p50_ms']:.0f} / {best['p99_ms']:.0f} |"
        f" {raw['mean_gas']:,} | {c['splits_per_block_from_gas']:,} | {ceiling:.0f} |"
        f" {_ratio(raw['tx_per_s'], ceiling)} | {_ratio(best['req_per_s'], raw['tx_per_s'])} |"
    )
    little = [
        f"{p['clients']} / {p['p50_ms'] / 1000:.2f} s = {p['clients'] / (p['p50_ms'] / 1000):.1f}" for p in c["phases"]
    ]
    return [
        "## Consortium (4-validator geth Clique network)",
        "",
        f"`scripts.runtime.bring_up` in a temp dir: {c['validators']} geth v1.13.15 validators (Clique, {period:g} s"
        f" period, {gas_limit:,} gas limit, London), peered by static nodes, the suite deployed through the"
        " operator's node. The same workload as the anvil service section above, in the same run: `scf serve`"
        " against the operator's node as `scf up --network` configures it"
        f" ({c['confirmations']} confirmations before the read model takes a block), {c['suppliers']} suppliers, the"
        " same closed-loop clients and requests per level; then the server stopped and"
        f" {raw['txs']:,} pre-signed raw splits from {c['suppliers']} other members sent straight to the operator's"
        f" node over JSON-RPC (bench.workload.blast, as the anvil raw figure; no `evm_mine`: the signers seal one"
        f" block per period). Raw: {raw['txs']:,} splits in {raw['total_s']:.1f} s over {raw['blocks_with_txs']}"
        f" blocks, up to {raw['max_txs_per_block']} splits a block (splits a block: {raw['txs_per_block']}),"
        f" send-to-mined p50/p99 {raw['latency_p50_ms']:.0f}/{raw['latency_p99_ms']:.0f} ms. The ceiling from gas"
        f" is {gas_limit:,} gas / the raw run's mean split gas / the block period.",
        "",
        *rows,
        "",
        "Service on the consortium, per concurrency level:",
        "",
        *_PHASE_HEADER,
        *_phase_rows(c["phases"], with_cpu=False),
        "",
        "What limits the consortium figures:",
        "",
        f"- **Block period and confirmations.** A block is sealed once per {period:g} s (Clique's period), whatever"
        " the load. geth builds the next block's contents as soon as the previous block arrives (its resubmit,"
        " `--miner.recommit`, every 2 s, is longer than the period), so a split that reaches the operator's node"
        " after that waits for the block after it: one to two periods. The service answers a split only once the"
        f" read model holds it, and on Clique the read model stays {c['confirmations']} blocks behind the head (a"
        f" short reorg must not reach it), then the indexer's next pass: p50 {best['p50_ms'] / 1000:.1f} s, about"
        f" {best['p50_ms'] / 1000 / period:.0f} periods, at every concurrency level.",
        "- **Closed-loop clients.** Each client sends its next split only after the 201 of the last one, so the"
        " service's splits/s is clients / latency (Little's law), here "
        + "; ".join(little)
        + f" splits/s at p50. The chain is far from full (a block holds {c['splits_per_block_from_gas']:,} splits):"
        " more clients, or an open-loop load, raise the figure towards the raw ceiling; the latency, not the"
        " service's work, is the limit"
        + (
            f" (anvil's {results['service']['block_time']:g} s interval and no confirmations give the same clients"
            f" {results['service_splits_per_s'] / best['req_per_s']:.1f} times the rate)."
            if "service" in results and best["req_per_s"]
            else "."
        ),
        f"- **Gas, and the blocks around a burst.** With a full pool the limit is {gas_limit:,} gas a block:"
        f" {c['splits_per_block_from_gas']:,} splits of {raw['mean_gas']:,} gas, {ceiling:.0f} splits/s at one"
        f" block per {period:g} s. The raw run's full blocks reached it ({raw['max_txs_per_block']} splits a"
        " block)" + _gaps(raw, c["splits_per_block_from_gas"], period) + _cpu(raw) + ".",
        "",
    ]


def _gaps(raw: dict[str, Any], per_block: int, period: float) -> str:
    """Where the raw burst's time went: the wait for the first block that took splits, and partly filled blocks."""
    offsets = raw.get("tx_block_offsets")
    if not offsets:
        return "; the shortfall is the partly filled first and last blocks of the burst"
    span = offsets[-1] - offsets[0] + 1
    empty = span - len(offsets)
    worth = raw["txs"] / per_block
    return (
        f"; the shortfall is the burst's edges: {raw['txs']:,} splits are {worth:.1f} full blocks' worth, and they"
        f" went into blocks +{offsets[0]} to +{offsets[-1]} after the start"
        + (f" ({empty} block(s) between them holding none)" if empty else " (no block between them without splits)")
        + f", so the burst took {raw['total_s']:.1f} s where gas alone allows {worth * period:.1f} s: the first"
        " splits reached the node after the block being built had taken its contents (geth fixes them when the"
        " previous block arrives), and the first and last blocks were partly filled. A longer burst approaches"
        " the ceiling"
    )


def _cpu(raw: dict[str, Any]) -> str:
    cpu = raw.get("geth_cpu_s")
    if not cpu:
        return ""
    return (
        f". CPU: every validator executes every block, and here all {len(cpu)} run on one machine: they used"
        f" {sum(cpu.values()):.1f} CPU s ({', '.join(f'{k} {v:.1f}' for k, v in cpu.items())}; the operator's node"
        f" also takes the JSON-RPC intake) in the {raw['total_s']:.1f} s burst, on 2 cores shared with the sender"
        " and other sessions, so the raw figure on this machine varies from run to run (one node per"
        " organisation, each on its own machine, would not share the cores)"
    )


def _fmt0(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}"


def _ratio(a: float, b: float | None) -> str:
    return "-" if not b else f"{a / b:.2f}"


def write_path_sections(results: dict[str, Any]) -> list[str]:
    return [
        *service_lines(results),
        *consortium_lines(results),
        *endurance_lines(results),
        *memory_lines(),
        *modes_lines(),
    ]
