"""`python -m bench.devchain_memory`: anvil's memory, disk and past-block window over a long run, per mining setup.

anvil keeps a full copy of the chain's state per block for reads at past blocks. How many it keeps decides its
memory, and with its own interval miner (`--block-time`) anvil 1.7.1 keeps 1,500 in memory whatever
`--prune-history` says, then writes up to 3,600 more to disk as JSON (one file per block, the whole state). The
product's devchain mines with `evm_mine` from a pacer process (chain/devnet/pacer.py) instead, so
`--prune-history N` holds (`DevChain.state_history`, `SCF_STATE_HISTORY`).

Per setup: a fresh devchain (`--block-time-s`, default 0.05 s so that thousands of blocks pass in minutes; the
0.5 s product interval behaves the same, ten times slower), the suite deployed, `--splits` raw splits (the
ledger grows to that many notes), then `--idle-blocks` empty blocks. Sampled: anvil's RSS, the size of its
state spill on disk, the oldest block whose state it still answers for (`eth_getBalance` at that block), and
anvil's CPU per empty block. Writes bench/devchain_memory.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.rpc import RpcError
from bench.workload import Workload, blast, cpu_s, log, rss_mb, start_workload
from chain.devnet.devchain import CACHE_DIR

BENCH_DIR = Path(__file__).resolve().parent
OUT = BENCH_DIR / "devchain_memory.json"


def setups(block_time: float, history: int) -> list[tuple[str, float | None, list[str]]]:
    """(name, DevChain block_time, extra anvil flags). block_time None + --block-time = anvil's own miner."""
    return [
        ("anvil --block-time (before 28 Nov)", None, ["--block-time", str(block_time)]),
        (
            "anvil --block-time --prune-history",
            None,
            ["--block-time", str(block_time), "--prune-history", str(history)],
        ),
        (f"evm_mine pacer, --prune-history {history} (the product)", block_time, []),
    ]


def disk_mb(path: Path) -> float:
    if not path.exists():
        return 0.0
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=False).stdout.split()
    return round(int(out[0]) / 1024, 1) if out else 0.0


def oldest_state(wl: Workload, head: int) -> int:
    """The oldest block whose state the node still answers for (binary search; the window is contiguous)."""
    probe = wl.recipient.address

    def kept(block: int) -> bool:
        try:
            wl.rpc.call("eth_getBalance", probe, hex(block))
            return True
        except RpcError:
            return False

    low, high = 0, head  # invariant: `high` is kept
    if kept(low):
        return low
    while high - low > 1:
        mid = (low + high) // 2
        if kept(mid):
            high = mid
        else:
            low = mid
    return high


def sample(wl: Workload, data_dir: Path, phase: str) -> dict[str, Any]:
    head = wl.head()
    row: dict[str, Any] = {
        "phase": phase,
        "head": head,
        "rss_mb": rss_mb(wl.pid),
        "disk_spill_mb": disk_mb(data_dir / CACHE_DIR),
        "oldest_state_block": oldest_state(wl, head),
    }
    row["state_window_blocks"] = head - row["oldest_state_block"] + 1
    log(f"  {phase}: {row}")
    return row


def run_setup(name: str, block_time: float | None, extra: list[str], args: argparse.Namespace) -> dict[str, Any]:
    log(f"{name}: {args.splits:,} splits, then {args.idle_blocks:,} empty blocks")
    with tempfile.TemporaryDirectory(prefix="scf-devchain-memory-") as tmp:
        data_dir = Path(tmp)
        notes_per_sender = -(-args.splits // (16 * 480))
        wl = start_workload(
            data_dir,
            block_time=block_time,
            extra_args=extra,
            senders=16,
            notes_per_sender=notes_per_sender,
            state_history=args.history,
        )
        try:
            rows = [sample(wl, data_dir, "deployed")]
            done = 0
            while done < args.splits:
                count = min(2_000, args.splits - done)
                blast(wl, wl.presign(count))
                done += count
            rows.append(sample(wl, data_dir, f"after {args.splits:,} splits"))
            start = rows[-1]["head"]
            cpu0 = cpu_s(wl.pid)
            for i in range(1, args.samples + 1):
                target = start + args.idle_blocks * i // args.samples
                wl.wait_for_head(target, poll=0.2)
                rows.append(sample(wl, data_dir, f"+{target - start} empty blocks"))
            idle_cpu = 1000 * (cpu_s(wl.pid) - cpu0) / max(rows[-1]["head"] - start, 1)
            blast(wl, wl.presign(200))  # writes still mine after the long idle run
        finally:
            wl.anvil.stop()
    return {
        "setup": name,
        "rows": rows,
        "peak_rss_mb": max(r["rss_mb"] for r in rows),
        "peak_disk_spill_mb": max(r["disk_spill_mb"] for r in rows),
        "idle_anvil_cpu_ms_per_block": round(idle_cpu, 1),
    }


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| setup | phase | head | anvil RSS MB | state spill on disk MB | oldest block with state | window (blocks) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for row in r["rows"]:
            lines.append(
                f"| {r['setup']} | {row['phase']} | {row['head']:,} | {row['rss_mb']:,.0f} |"
                f" {row['disk_spill_mb']:,.0f} | {row['oldest_state_block']:,} | {row['state_window_blocks']:,} |"
            )
    lines += [
        "",
        "| setup | peak RSS MB | peak disk spill MB | anvil CPU ms per empty block |",
        "|---|---:|---:|---:|",
        *(
            f"| {r['setup']} | {r['peak_rss_mb']:,.0f} | {r['peak_disk_spill_mb']:,.0f} |"
            f" {r['idle_anvil_cpu_ms_per_block']} |"
            for r in results
        ),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.devchain_memory", description=__doc__)
    parser.add_argument("--splits", type=int, default=20_000, help="raw splits before the idle run (ledger size)")
    parser.add_argument("--idle-blocks", type=int, default=2_500, help="empty blocks after the splits")
    parser.add_argument("--samples", type=int, default=5, help="samples during the idle run")
    parser.add_argument("--block-time-s", dest="block_time", type=float, default=0.05, help="mining interval")
    parser.add_argument("--history", type=int, default=128, help="--prune-history / DevChain.state_history")
    parser.add_argument("--only", type=int, nargs="*", help="indexes of the setups to run (0, 1, 2)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    chosen = [s for i, s in enumerate(setups(args.block_time, args.history)) if not args.only or i in args.only]
    results = [run_setup(name, bt, extra, args) for name, bt, extra in chosen]
    data = {
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "block_time_s": args.block_time,
        "splits": args.splits,
        "idle_blocks": args.idle_blocks,
        "history": args.history,
        "setups": results,
    }
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
