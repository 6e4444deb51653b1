"""`python -m bench.devchain_modes`: which anvil mining configuration the devchain should use.

For each mode: a fresh anvil (the product's DevChain: --state, --state-interval 5, plus the mode's flags), the
suite deployed, `--senders` members each splitting their own note; then
- a burst of `--txs` pre-signed raw splits (batched JSON-RPC, pipelined nonces): tx/s, send-to-mined latency
  p50/p99 (queueing included);
- `--lone` splits one at a time (send, wait for the receipt): the latency of a single write;
- anvil's RSS (VmRSS) after deployment and after the burst;
- historical state: eth_call and eth_getProof at the block before the burst, before and after a restart
  from the state file (verification at a past block needs both).
Writes bench/devchain_modes.json and prints a table; bench/report.py puts it into RESULTS.md.

Since 28 Nov the "interval" modes run the product's DevChain, which mines with `evm_mine` from a pacer thread and
`--prune-history` (bench/devchain_memory.py says why); the committed devchain_modes.json is from before, when
they ran anvil's own `--block-time` miner.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.rpc import Rpc, RpcError, calldata
from bench.workload import FACE, Workload, blast, log, rss_mb, sequential, start_workload

BENCH_DIR = Path(__file__).resolve().parent
OUT = BENCH_DIR / "devchain_modes.json"

# (name, --block-time or None for automine, extra anvil flags)
MODES: list[tuple[str, float | None, list[str]]] = [
    ("automine", None, []),
    ("automine --prune-history", None, ["--prune-history"]),
    ("automine --transaction-block-keeper 64", None, ["--transaction-block-keeper", "64"]),
    ("interval 1 s", 1.0, []),
    ("interval 0.5 s", 0.5, []),
    ("interval 0.2 s", 0.2, []),
    ("interval 0.2 s --mixed-mining", 0.2, ["--mixed-mining"]),
    ("interval 0.2 s --preserve-historical-states", 0.2, ["--preserve-historical-states"]),
    ("automine --preserve-historical-states", None, ["--preserve-historical-states"]),
]


def historical(rpc: Rpc, wl: Workload, block: int) -> dict[str, str]:
    """eth_call (a note's value) and eth_getProof (the notes contract) at `block`: "ok" or the node's error."""
    out: dict[str, str] = {}
    note = wl.sender_notes[0][0]
    try:
        value = int(
            rpc.call("eth_call", {"to": wl.notes, "data": calldata("balanceOf(uint256)", note)}, hex(block)), 16
        )
        out["eth_call"] = "ok" if value == FACE else f"wrong value {value} (expected {FACE})"
    except RpcError as exc:
        out["eth_call"] = f"error: {str(exc)[:120]}"
    try:
        proof = rpc.call("eth_getProof", wl.notes, ["0x" + "00" * 32], hex(block))
        out["eth_getProof"] = "ok" if proof.get("storageProof") else "empty answer"
    except RpcError as exc:
        out["eth_getProof"] = f"error: {str(exc)[:120]}"
    return out


def run_mode(
    name: str, block_time: float | None, flags: list[str], args: argparse.Namespace, root: Path
) -> dict[str, Any]:
    data_dir = root / name.replace(" ", "_").replace("-", "")
    log(f"mode {name}: starting anvil, deploying")
    wl = start_workload(data_dir, block_time=block_time, extra_args=flags, senders=args.senders)
    try:
        rss_start = rss_mb(wl.pid)
        signed = wl.presign(args.txs)
        burst = blast(wl, signed)
        rss_end = rss_mb(wl.pid)
        lone = sequential(wl, args.lone)
        past = wl.setup_block
        history = historical(wl.rpc, wl, past)
        head = wl.head()
        wl.anvil.stop()
        wl.anvil.start()
        after = Rpc(wl.anvil.url)
        restarted_head = int(after.call("eth_blockNumber"), 16)
        history_after = historical(after, wl, past)
        rss_restart = rss_mb(wl.pid)
        state_mb = round(wl.anvil.state_path.stat().st_size / 1e6, 1) if wl.anvil.state_path.exists() else 0.0
    finally:
        wl.anvil.stop()
    row = {
        "mode": name,
        "block_time": block_time,
        "flags": flags,
        **{f"burst_{k}": v for k, v in burst.items()},
        "lone_latency_p50_ms": lone["latency_p50_ms"],
        "lone_latency_p99_ms": lone["latency_p99_ms"],
        "rss_start_mb": rss_start,
        "rss_end_mb": rss_end,
        "rss_after_restart_mb": rss_restart,
        "state_file_mb": state_mb,
        "past_block": past,
        "head_before_restart": head,
        "head_after_restart": restarted_head,
        "history": history,
        "history_after_restart": history_after,
    }
    log(
        f"mode {name}: {burst['tx_per_s']:.0f} tx/s, burst p50/p99 {burst['latency_p50_ms']:.0f}/"
        f"{burst['latency_p99_ms']:.0f} ms, lone p50/p99 {lone['latency_p50_ms']:.0f}/{lone['latency_p99_ms']:.0f} ms,"
        f" RSS {rss_start:.0f} -> {rss_end:.0f} MB, nudges {burst['evm_mine_nudges']}, history {history}, "
        f"after restart head {head}->{restarted_head} {history_after}"
    )
    return row


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| mode | tx/s | burst p50 / p99 ms | lone p50 / p99 ms | RSS start → end MB | blocks | nudges |"
        " past-block call / proof | after restart: head, call / proof |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        h, a = r["history"], r["history_after_restart"]
        lines.append(
            f"| {r['mode']} | {r['burst_tx_per_s']:.0f} | {r['burst_latency_p50_ms']:.0f} / "
            f"{r['burst_latency_p99_ms']:.0f} | {r['lone_latency_p50_ms']:.0f} / {r['lone_latency_p99_ms']:.0f} | "
            f"{r['rss_start_mb']:.0f} → {r['rss_end_mb']:.0f} | {r['burst_blocks_mined']} | "
            f"{r['burst_evm_mine_nudges']} | {_short(h['eth_call'])} / {_short(h['eth_getProof'])} | "
            f"{r['head_before_restart']}→{r['head_after_restart']}, {_short(a['eth_call'])} / "
            f"{_short(a['eth_getProof'])} |"
        )
    return "\n".join(lines)


def _short(status: str) -> str:
    if status == "ok":
        return status
    if "BlockOutOfRange" in status:
        return "fails (BlockOutOfRange)"
    return status[:60].replace("|", "/")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.devchain_modes", description=__doc__)
    parser.add_argument("--txs", type=int, default=3000, help="pre-signed splits per mode (default 3000)")
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--lone", type=int, default=30, help="one-at-a-time splits per mode (default 30)")
    parser.add_argument("--only", nargs="*", help="mode names to run (default all)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    started = time.monotonic()
    rows = []
    with tempfile.TemporaryDirectory(prefix="scf-modes-") as tmp:
        for name, block_time, flags in MODES:
            if args.only and name not in args.only:
                continue
            try:
                rows.append(run_mode(name, block_time, flags, args, Path(tmp)))
            except RpcError as exc:
                log(f"mode {name} failed: {exc}")
                rows.append({"mode": name, "error": str(exc)[:300]})
    ok_rows = [r for r in rows if "error" not in r]
    print(table(ok_rows))
    for r in rows:
        if "error" in r:
            print(f"{r['mode']}: FAILED {r['error']}")
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    args.out.write_text(
        json.dumps(
            {
                "txs": args.txs,
                "senders": args.senders,
                "lone": args.lone,
                "loadavg_end": load,
                "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
                "runtime_s": round(time.monotonic() - started, 1),
                "modes": rows,
            },
            indent=2,
        )
        + "\n"
    )
    log(f"wrote {args.out} in {time.monotonic() - started:.0f}s (load average {load})")


if __name__ == "__main__":
    main()
