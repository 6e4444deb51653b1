"""`python -m bench.endurance` (and a section of `python -m bench`): 20,000+ raw splits in a row on the
product's devchain configuration (`Settings.block_time`, DevChain defaults), in chunks of `--chunk`.

Per chunk: pre-sign (not timed), blast (bench.workload.blast: batched JSON-RPC, pipelined nonces, all mined and
every receipt checked), tx/s, send-to-mined latency and anvil's RSS after the chunk. Reported: the first and
the last chunk, their ratio `endurance_last_over_first` (target >= 0.8) and the RSS at start and end.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from api.settings import Settings
from bench.workload import MAX_SPLITS_PER_NOTE, Workload, blast, cpu_s, log, rss_mb, start_workload

BENCH_DIR = Path(__file__).resolve().parent
OUT = BENCH_DIR / "endurance.json"


def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings()
    chunks = -(-args.splits // args.chunk)
    notes_per_sender = -(-args.splits // (args.endurance_senders * (MAX_SPLITS_PER_NOTE - 10)))
    with tempfile.TemporaryDirectory(prefix="scf-endurance-") as tmp:
        senders = args.endurance_senders
        log(f"endurance: {chunks} x {args.chunk} splits, {senders} senders, block_time={settings.block_time}")
        wl = start_workload(
            Path(tmp), block_time=settings.block_time, senders=senders, notes_per_sender=notes_per_sender
        )
        try:
            rows = [{"chunk": 0, "rss_mb": rss_mb(wl.pid), "head": wl.head()}]
            t0 = time.monotonic()
            for c in range(1, chunks + 1):
                r = blast(wl, wl.presign(args.chunk))
                row = {
                    "chunk": c,
                    "tx_per_s": r["tx_per_s"],
                    "latency_p50_ms": r["latency_p50_ms"],
                    "latency_p99_ms": r["latency_p99_ms"],
                    "blocks_mined": r["blocks_mined"],
                    "evm_mine_nudges": r["evm_mine_nudges"],
                    "rss_mb": rss_mb(wl.pid),
                    "head": wl.head(),
                }
                rows.append(row)
                log(
                    f"endurance chunk {c}/{chunks}: {r['tx_per_s']:.0f} tx/s, p99 {r['latency_p99_ms']:.0f} ms, "
                    f"anvil RSS {row['rss_mb']:.0f} MB, head {row['head']}"
                )
            elapsed = time.monotonic() - t0
            idle = idle_tail(wl, args.idle_blocks)
            state_mb = round(wl.anvil.state_path.stat().st_size / 1e6, 1) if wl.anvil.state_path.exists() else 0
        finally:
            wl.anvil.stop()
    first, last = rows[1], rows[-1]
    return {
        "endurance": {
            "splits": chunks * args.chunk,
            "chunk": args.chunk,
            "senders": args.endurance_senders,
            "block_time": settings.block_time,
            "elapsed_s": round(elapsed, 1),
            "chunks": rows,
            "state_file_mb_before_stop": state_mb,
            "state_history": wl.anvil.state_history,
            "idle": idle,
        },
        "endurance_first_splits_per_s": first["tx_per_s"],
        "endurance_last_splits_per_s": last["tx_per_s"],
        "endurance_last_over_first": round(last["tx_per_s"] / first["tx_per_s"], 2),
        "endurance_rss_start_mb": rows[0]["rss_mb"],
        "endurance_rss_end_mb": last["rss_mb"],
        "endurance_rss_max_mb": max(r["rss_mb"] for r in rows),
        "endurance_idle_blocks": idle[-1]["blocks"] if idle else 0,
        "endurance_idle_rss_start_mb": idle[0]["rss_mb"] if idle else None,
        "endurance_idle_rss_end_mb": idle[-1]["rss_mb"] if idle else None,
    }


def idle_tail(wl: Workload, blocks: int, samples: int = 8) -> list[dict[str, Any]]:
    """After the splits: the chain keeps mining (empty blocks) for `blocks` more blocks while anvil's RSS is
    sampled. With a bounded state history (DevChain.state_history) it stays flat once the window is full; with
    anvil's own interval miner it grew by a full copy of the state per block (docs/performance-history.md)."""
    if blocks <= 0:
        return []
    start = wl.head()
    cpu0 = cpu_s(wl.pid)
    rows = [{"blocks": 0, "rss_mb": rss_mb(wl.pid)}]
    for i in range(1, samples + 1):
        target = start + blocks * i // samples
        wl.wait_for_head(target)
        rows.append({"blocks": target - start, "rss_mb": rss_mb(wl.pid)})
    rows[-1]["anvil_cpu_ms_per_block"] = round(1000 * (cpu_s(wl.pid) - cpu0) / blocks, 1)
    log(
        f"endurance idle tail: {blocks} empty blocks, anvil RSS {rows[0]['rss_mb']:.0f} -> {rows[-1]['rss_mb']:.0f} MB "
        f"(state history {wl.anvil.state_history} blocks), {rows[-1]['anvil_cpu_ms_per_block']} ms of anvil CPU "
        "per block"
    )
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endurance-splits", dest="splits", type=int, default=20_000, help="splits in a row")
    parser.add_argument("--endurance-chunk", dest="chunk", type=int, default=2_000, help="splits per measured chunk")
    parser.add_argument("--endurance-senders", dest="endurance_senders", type=int, default=16, help="members splitting")
    parser.add_argument(
        "--endurance-idle-blocks",
        dest="idle_blocks",
        type=int,
        default=160,
        help="empty blocks mined after the splits while anvil's memory is sampled (0: none)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.endurance", description=__doc__)
    add_arguments(parser)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    results = run(args)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "endurance"}, indent=2))


if __name__ == "__main__":
    main()
