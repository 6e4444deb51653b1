"""Writes bench/results.json and bench/RESULTS.md (tables, machine, versions, git commit)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.report_reads import read_path_sections
from bench.report_writes import write_path_sections
from chain.toolchain import PROJECT_ROOT, find_tool

# (label, ledger key, reference key, note)
GAS_ROWS = [
    ("admit member", "admit", None, "MemberRegistry.admit (supplier, KYC hash, group)"),
    ("issue receivable / mint", "issue", "ref_mint", "ledger issue also checks roles, credit, invoice, maturity"),
    ("split to a new holder", "split", "ref_split", "transferFrom(uint256,address,uint256)"),
    ("split to the same holder", "split_to_self", "ref_split_to_self", "transferFrom(uint256,address,uint256)"),
    ("merge (value transfer)", "merge", "ref_merge", "transferFrom(uint256,uint256,uint256)"),
    ("whole transfer", "whole_transfer", "ref_whole_transfer", "transferFrom(address,address,uint256)"),
    ("lock to a lienholder", "lock", None, "ReceivableNotes.lock"),
    (
        "ERC-20 transfer, new recipient",
        "cash_transfer_new",
        "ref_erc20_transfer_new",
        "ledger: permissioned CashToken; reference: plain OpenZeppelin 5 ERC20",
    ),
    (
        "ERC-20 transfer, repeat",
        "cash_transfer",
        "ref_erc20_transfer",
        "ledger: permissioned CashToken; reference: plain OpenZeppelin 5 ERC20",
    ),
]


AUTOMINE_NOTE = [
    "Automine mines as soon as transactions are pending: one sent alone gets its own block, a burst shares blocks",
    "(see max tx/block), so the raw tx/s above is bounded by the node's per-transaction work, not by block gas;",
    "the per-block figures are the ceiling of a chain that fills 30M-gas blocks.",
]
INTERVAL_NOTE = [
    "Interval mining: anvil mines one block per interval with every ready transaction (up to the gas limit), so a",
    "burst shares few blocks (see max tx/block) and the node's per-block work is paid once per interval, not per",
    "transaction; the per-block figures are the ceiling of a chain that fills 30M-gas blocks.",
]

CAVEAT = """## Caveat: the raw tx/s is not yet a clean ceiling

On this anvil (1.7.1) automine stops mining after a burst: transactions stay "pending" in the pool until
another one arrives. With 100 raw transactions per HTTP request anvil stalled outright (no answer in 5 minutes);
with 10 per request the first round mined normally for a while, then the bench's stall detector (0.5 s without
progress) had to call `evm_mine`, and later rounds were mined almost only that way (blocks ≈ `evm_mine_nudges`,
full 30M-gas blocks: 327 ledger splits or 127 reference splits each). The tx/s figures therefore include up to
0.5 s of waiting per block and understate what the node can execute; the send rate ("accepted tx/s") and the
splits per 30M-gas block are the more reliable figures. Next step: an `--block-time` mode (interval mining)
or a faster stall detector, and more rounds on an idle machine.
"""


def _run(cmd: list[str]) -> str:
    try:
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=30, check=False, cwd=PROJECT_ROOT
        ).stdout.strip()
    except OSError as exc:
        return f"unavailable ({exc})"


def environment() -> dict[str, str]:
    import web3

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "loadavg": " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "",
        "anvil": _run([str(find_tool("anvil")), "--version"]).splitlines()[0] if find_tool("anvil") else "",
        "python": platform.python_version(),
        "web3": web3.__version__,
        "git_commit": _run(["git", "rev-parse", "HEAD"]),
        "git_dirty": "yes" if _run(["git", "status", "--porcelain", "--", "contracts", "chain"]) else "no",
    }


def _fmt(n: float | int | None) -> str:
    return "-" if n is None else f"{n:,.0f}"


def markdown(results: dict[str, Any], env: dict[str, str]) -> str:
    gas = results["gas"]
    lines = [
        "# SCF Chain benchmarks",
        "",
        "Produced by `make bench` (`python -m bench`): a fresh anvil started with the product's DevChain defaults",
        "(automine; state dumped every 5 s) on a free port in a temp dir; the suite deployed",
        "by `chain.runtime.prepare_ledger`, the Solv ERC-3525 reference (`bench/contracts/ReferenceNotes.sol`) and a",
        "plain OpenZeppelin 5 ERC-20 deployed on the same chain in the same run. Every number is read from real",
        "receipts (`gasUsed`).",
        "",
        "## Gas per transaction",
        "",
        "`gas` is the receipt's gasUsed (includes the 21,000 base and calldata); `exec` = gasUsed - 21,000 - calldata",
        "(closer to what `forge test --match-path tests/contracts/Gas.t.sol` prints). Each operation is its own",
        "transaction, so its storage and accounts start cold.",
        "",
        "| operation | ledger gas | reference gas | ratio | ledger exec | reference exec | exec ratio | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, key, ref_key, note in GAS_ROWS:
        ours = gas[key]
        ref = gas.get(ref_key) if ref_key else None
        ratio = f"{ours['gas'] / ref['gas']:.2f}" if ref else "-"
        exec_ratio = f"{ours['execution_gas'] / ref['execution_gas']:.2f}" if ref else "-"
        lines.append(
            f"| {label} | {_fmt(ours['gas'])} | {_fmt(ref['gas'] if ref else None)} | {ratio} | "
            f"{_fmt(ours['execution_gas'])} | {_fmt(ref['execution_gas'] if ref else None)} | {exec_ratio} | {note} |"
        )
    raw = results["raw"]
    automine = "automine" in results["raw_config"]["mining"]
    cfg = results["raw_config"]
    lines += [
        "",
        "Reference for notes: Solv `@solvprotocol/erc-3525` ERC3525 (its own OpenZeppelin 4.9), `_mint` exposed by a",
        "wrapper as in `tests/contracts/Gas.t.sol`. The reference has no membership, credit, lineage or lock rules.",
        "",
        "## Raw chain ceiling (splits)",
        "",
        f"{cfg['txs']} split transactions per contract and round, {cfg['rounds']} rounds alternating ledger and reference"
        f" (table: the median round; all rounds' tx/s in the last column and in results.json), pre-signed locally (eth-account + coincurve, "
        f"{results['sign_per_s']:,.0f} signatures/s, not timed) from {cfg['senders']} members, each splitting its own note",
        f"with consecutive nonces; sent by {cfg['transport']}, {cfg['batch']} per request; the clock stops when every",
        f"sender's mined nonce reached its last transaction (if the pool stalls 0.5 s with ready transactions, an `evm_mine`"
        f" nudges anvil; count in results.json `evm_mine_nudges`); every receipt is then checked (status 1). Mining: {cfg['mining']};",
        f"block gas limit {cfg['block_gas_limit']:,}.",
        "",
        "| contract | txs | send time s | total time s | **tx/s** | accepted tx/s | mean gas | blocks | max tx/block | gas/s | tx/s of every round |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name in ("ledger", "reference"):
        r = raw[name]
        lines.append(
            f"| {name} | {r['txs']:,} | {r['send_s']:.2f} | {r['total_s']:.2f} | **{r['tx_per_s']:.0f}** | "
            f"{r['send_per_s']:.0f} | {r['mean_gas']:,.0f} | {r['blocks']:,} | {r['max_txs_per_block']} | "
            f"{r['gas_per_s']:,} | {', '.join(f'{x:.0f}' for x in r['all_tx_per_s'])} |"
        )
    lines += [
        "",
        f"ledger/reference throughput: {raw['ledger']['tx_per_s'] / raw['reference']['tx_per_s']:.2f}x.",
        "",
        "## Splits per 30M-gas block (from measured gas)",
        "",
        "| | ledger | reference |",
        "|---|---:|---:|",
        f"| first split to a new holder (gas table) | {results['splits_per_30m_block']:,} | "
        f"{results['ref_splits_per_30m_block']:,} |",
        f"| mean split in the raw run (repeat recipient) | {results['raw_splits_per_30m_block']:,} | "
        f"{results['ref_raw_splits_per_30m_block']:,} |",
        "",
        *(AUTOMINE_NOTE if automine else INTERVAL_NOTE),
        "",
        CAVEAT if automine else "",
        *write_path_sections(results),
        *read_path_sections(results),
        "## Machine and versions",
        "",
        f"- CPU: {env['cpu']} ({env['nproc']} cores), load average at the end {env['loadavg']} (shared machine)",
        f"- anvil: {env['anvil']}",
        f"- Python {env['python']}, web3 {env['web3']}",
        f"- git commit {env['git_commit']} (uncommitted changes under contracts/ or chain/: {env['git_dirty']})",
        f"- run at {env['date_utc']} UTC, whole benchmark {results['runtime_s']} s",
        "",
    ]
    return "\n".join(lines)


def write_reports(results: dict[str, Any], out: Path) -> None:
    env = environment()
    results = {**results, "environment": env}
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    (out / "RESULTS.md").write_text(markdown(results, env))
