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
from chain.devnet.toolchain import find_tool
from chain.node.artifacts import PROJECT_ROOT

# (label, ledger key, reference key, note)
GAS_ROWS = [
    ("admit member", "admit", None, "MemberRegistry.admit (supplier, KYC hash, group)"),
    ("issue receivable / mint", "issue", "ref_mint", "ledger issue also checks roles, credit, invoice, maturity"),
    ("split to a new holder", "split", "ref_split", "transferFrom(uint256,address,uint256)"),
    ("split to the same holder", "split_to_self", "ref_split_to_self", "transferFrom(uint256,address,uint256)"),
    ("merge (value transfer)", "merge", "ref_merge", "transferFrom(uint256,uint256,uint256)"),
    ("whole transfer", "whole_transfer", "ref_whole_transfer", "transferFrom(address,address,uint256)"),
    ("lock to a lienholder", "lock", None, "ReceivableNotes.lock"),
    ("order: propose", "order_propose", None, "OrderBook.propose (supplier; mints the order token)"),
    ("order: confirm", "order_confirm", None, "OrderBook.confirm (buyer)"),
    ("order: deliver", "order_deliver", None, "OrderBook.deliver (supplier)"),
    ("order: accept", "order_accept", None, "OrderBook.accept (buyer; issues the receivable and its first note)"),
    ("order: pledge", "order_pledge", None, "OrderBook.pledge (holder pledges the order to a financier)"),
    ("factoring offer", "factoring_offer", None, "Financing.makeOffer (financier, 20,000.00 of a note)"),
    ("factoring accept", "factoring_accept", None, "Financing.acceptOffer: partial purchase = split + cash transfer"),
    ("order loan", "order_loan", None, "Financing.lend on a pledged, confirmed order (principal in cash)"),
    ("repay", "repay", None, "Financing.repay (principal + interest; releases the order's lien)"),
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


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def _settle_rows(results: dict[str, Any]) -> list[str]:
    """Settlement of a fully funded, matured receivable with N notes (one per holder) in one transaction."""
    if "settle" not in results:
        return []
    gas = results["gas"]
    settle = results["settle"]
    lines = []
    for n in settle["gas_by_notes"]:
        row = gas[f"settle_{n}"]
        lines.append(
            f"| settle, {n} note{'s' if n != '1' else ''} in one batch | {_fmt(row['gas'])} | - | - | "
            f"{_fmt(row['execution_gas'])} | - | - | Settlement.settle; {_fmt(row['gas'] / int(n))} gas per note "
            "on average |"
        )
    lines.append(
        f"| **settle per note** | **{_fmt(results['settle_gas_per_note'])}** | - | - | - | - | - | "
        f"marginal: {settle['per_note_method']} (`settle_gas_per_note`) |"
    )
    return lines


def _bulk_lines(results: dict[str, Any]) -> list[str]:
    """Bulk payment (`bench --only bulk`): gas per recipient against its target, a share of one split."""
    if "bulk" not in results:
        return []
    bulk = results["bulk"]
    n, target, ratio = bulk["recipients"], bulk["target_ratio"], results["bulk_per_recipient_over_split"]
    split = results["bulk_split_gas"]
    verdict = "met" if ratio <= target else f"missed by {ratio - target:.3f} x a split"
    return [
        "",
        "### Bulk payment",
        "",
        f"`ReceivableNotes.splitBatch`: a supplier pays {n} members that hold no note yet out of one note in one"
        " transaction (a new note each, with the checks and events of a split), on a fresh devchain; compared with"
        " one split to such a member from the same note in the same run (both receipts' gasUsed).",
        "",
        "| figure | measured | target | |",
        "|---|---:|---:|---|",
        f"| bulk payment, {n} recipients (gas) | {_fmt(bulk['gas']['bulk']['gas'])} | - | |",
        f"| **`bulk_gas_per_recipient`** | **{_fmt(results['bulk_gas_per_recipient'])}** | <= {target} x {_fmt(split)}"
        f" = {_fmt(int(target * split))} | {verdict} ({ratio:.3f} x a split) |",
    ]


def _per_round(cfg: dict[str, Any]) -> str:
    txs = cfg["txs"]
    if isinstance(txs, int):
        return f"{txs:,} split transactions per contract"
    per_block = cfg["splits_per_block"]
    return (
        f"{txs['ledger']:,} ledger splits ({txs['ledger'] // per_block['ledger']} full blocks of"
        f" {per_block['ledger']}) and {txs['reference']:,} reference splits"
        f" ({txs['reference'] // per_block['reference']} full blocks of {per_block['reference']}: whole blocks, so"
        " neither ends on a part-filled block)"
    )


def _bottleneck(r: dict[str, Any]) -> str:
    """Who was busy while a streamed round was being sent: the node or the sender (CPU seconds per wall second)."""
    if "anvil_cpu_while_sending_s" not in r or not r["send_s"]:
        return ""
    anvil, sender = r["anvil_cpu_while_sending_s"] / r["send_s"], r["sender_cpu_while_sending_s"] / r["send_s"]
    busier = "the node (anvil)" if anvil >= sender else "the sender (Python)"
    saturated = max(anvil, sender) >= 0.9
    return (
        f"While it was being sent anvil used {anvil:.2f} s of CPU per second and the sender {sender:.2f} (the"
        f" sender signs nothing then: pre-signed), so the busier side was {busier}"
        + (
            "; it saturated a core: this round was bound by CPU, not by gas."
            if saturated
            else "; neither saturated a core: the sender posts one request at a time on one connection and waits"
            " for anvil's answer, so the rate is set by anvil's response time on the shared, loaded machine (its"
            " intake while it also builds blocks), not by gas."
        )
    )


def _raw_lines(results: dict[str, Any]) -> list[str]:
    """Streamed rounds against the pre-filled pool: which one is bound by gas, and the ratio both ways."""
    raw, cfg = results["raw"], results["raw_config"]
    led, ref = raw["ledger"], raw["reference"]
    lines = [
        "",
        f"Ledger / reference, streamed (measured tx/s, median rounds): **{led['tx_per_s'] / ref['tx_per_s']:.2f}x**.",
        "",
    ]
    if "raw_prefilled" not in results:
        return lines
    pre = results["raw_prefilled"]
    interval = cfg.get("block_time") or 0.0
    lines += [
        "### Gas-bound ceiling: a pre-filled pool",
        "",
        f"Mining paused (`evm_setIntervalMining 0`), about {cfg['full_blocks']} full blocks' worth of pre-signed splits"
        " sent into the pool (the node's intake alone, no mining: accepted tx/s), then block after block mined with"
        " `evm_mine`, each call timed (the node executing and committing one block). Every block but the last is"
        " full, so txs per block is set by gas. The ceiling at the product's"
        f" {interval:g} s interval is txs per full block / max(interval, median build time): gas-bound when a full"
        " block is built within the interval.",
        "",
        "| contract | splits | accepted tx/s (no mining) | full blocks | splits per full block | block gas used |"
        " build ms (min / median / max) | **ceiling tx/s** | bound |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name in ("ledger", "reference"):
        p = pre[name]
        lines.append(
            f"| {name} | {p['txs']:,} | {p['accept_per_s']:,.0f} | {p['full_blocks']} | {p['txs_per_full_block']:.0f} |"
            f" {p['full_block_fill']:.0%} | {p['build_ms_min']:.0f} / {p['build_ms_median']:.0f} /"
            f" {p['build_ms_max']:.0f} |"
            f" **{p['ceiling_tx_per_s']:.0f}** | {p['bound']} |"
        )
    lines += [
        "",
        f"Ledger / reference, gas-bound (pre-filled): **{results['raw_ratio_gas_bound']:.2f}x** (target >= 2);"
        f" streamed (measured): **{results['raw_ratio_measured']:.2f}x**.",
        "",
        _which_bound(raw, pre, interval, results.get("raw_rounds")),
        "",
    ]
    return lines


def _streamed_bound(r: dict[str, Any], p: dict[str, Any]) -> bool:
    """A streamed round is gas-bound when it used no more blocks than its full blocks' worth plus one (the
    interval's phase), i.e. every block but the edges was full (older results: 90% of the pre-filled ceiling)."""
    if "gas_bound" in r:
        return bool(r["gas_bound"])
    return bool(r["tx_per_s"] >= 0.9 * p["ceiling_tx_per_s"])


def _which_bound(
    raw: dict[str, Any], pre: dict[str, Any], interval: float, rounds: dict[str, list[dict[str, Any]]] | None = None
) -> str:
    pl, pr = pre["ledger"], pre["reference"]
    gas_bound = [n for n in ("ledger", "reference") if pre[n]["build_ms_median"] <= interval * 1000]
    text = (
        "Which one is gas-bound: the pre-filled run is, for "
        + (" and ".join(gas_bound) if gas_bound else "neither contract")
        + f" (full blocks of {pl['txs_per_full_block']:.0f} ledger splits built in {pl['build_ms_median']:.0f} ms,"
        f" {pl['build_ms_median'] / pl['txs_per_full_block']:.2f} ms per split; of {pr['txs_per_full_block']:.0f}"
        f" reference splits in {pr['build_ms_median']:.0f} ms, {pr['build_ms_median'] / pr['txs_per_full_block']:.2f}"
        f" ms each; the interval is {interval * 1000:.0f} ms)."
    )
    for name in ("ledger", "reference"):
        r, p = raw[name], pre[name]
        fill = f"blocks {_pct(r.get('mean_block_fill'))} full on average, {_pct(r.get('max_block_fill'))} at most"
        of_rounds = ""
        if rounds and name in rounds:
            k = sum(1 for x in rounds[name] if _streamed_bound(x, p))
            of_rounds = f" ({k} of its {len(rounds[name])} rounds were)"
        if _streamed_bound(r, p):
            text += (
                f" Streamed, the {name}'s median round is gas-bound too{of_rounds}: {r['blocks']} blocks for"
                f" {r.get('blocks_at_gas_limit', '-')} full blocks' worth, {fill}; {r['tx_per_s']:.0f} tx/s against a"
                f" ceiling of {p['ceiling_tx_per_s']:.0f}, the difference being the burst's edges (the clock runs from"
                " the first send to the last block, and the interval's phase decides whether that spans a block more"
                " or less; the first block is mined while the burst still arrives)."
            )
        else:
            text += (
                f" Streamed, the {name}'s median round is not gas-bound{of_rounds}: {r['blocks']} blocks for"
                f" {r.get('blocks_at_gas_limit', '-')} full blocks' worth, {fill}; {r['tx_per_s']:.0f} tx/s against"
                f" a gas-bound {p['ceiling_tx_per_s']:.0f}; its transactions reached the node at"
                f" {r['send_per_s']:.0f} tx/s (sent in {r['send_s']:.1f} s of {r['total_s']:.1f} s). " + _bottleneck(r)
            )
    return (
        text + " The streamed rate varies from round to round with the shared machine's load (every round's tx/s"
        " is in the table): a round whose transactions reach the node more slowly than blocks fill is bound by"
        " how fast anvil takes them (its intake while it also builds blocks, on two shared cores), not by gas."
        " A permissioned chain's ceiling is the gas-bound one, where the ledger's lower gas gives the ratio above."
    )


SECTION_ORDER = ["gas", "service", "consortium", "endurance", "reads", "indexer"]


def _run_time(results: dict[str, Any]) -> str:
    """Whole run or partial (`--only`), and each section's wall time (from the run that produced its figures)."""
    run = results.get("sections_run") or SECTION_ORDER
    partial = set(run) != set(SECTION_ORDER)
    text = (
        f"partial run (`--only {' '.join(run)}`, {results['runtime_s']} s; the other sections' figures and times"
        " come from an earlier run)"
        if partial
        else f"whole benchmark {results['runtime_s']} s"
    )
    times = results.get("section_s") or {}
    if times:
        text += "; section wall times: " + ", ".join(
            f"{k} {times[k]:.0f} s" for k in SECTION_ORDER + sorted(set(times) - set(SECTION_ORDER)) if k in times
        )
    return text


def markdown(results: dict[str, Any], env: dict[str, str]) -> str:
    gas = results["gas"]
    lines = [
        "# SCF Chain benchmarks",
        "",
        "Produced by `make bench` (`python -m bench`): a fresh anvil started with the product's DevChain defaults",
        f"({results['raw_config']['mining']}: the mining mode of `Settings.block_time`, the product's default) on a",
        "free port in a temp dir; the suite deployed",
        "by `scripts.runtime.prepare_ledger`, the Solv ERC-3525 reference (`bench/contracts/ReferenceNotes.sol`) and a",
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
        if key not in gas:
            continue  # results.json of an older run (its gas section predates the row)
        ours = gas[key]
        ref = gas.get(ref_key) if ref_key else None
        ratio = f"{ours['gas'] / ref['gas']:.2f}" if ref else "-"
        exec_ratio = f"{ours['execution_gas'] / ref['execution_gas']:.2f}" if ref else "-"
        lines.append(
            f"| {label} | {_fmt(ours['gas'])} | {_fmt(ref['gas'] if ref else None)} | {ratio} | "
            f"{_fmt(ours['execution_gas'])} | {_fmt(ref['execution_gas'] if ref else None)} | {exec_ratio} | {note} |"
        )
    lines += _settle_rows(results)
    lines += _bulk_lines(results)
    raw = results["raw"]
    automine = "automine" in results["raw_config"]["mining"]
    cfg = results["raw_config"]
    lines += [
        "",
        "Reference for notes: Solv `@solvprotocol/erc-3525` ERC3525 (its own OpenZeppelin 4.9), `_mint` exposed by a",
        "wrapper as in `tests/contracts/Gas.t.sol`. The reference has no membership, credit, lineage or lock rules.",
        *(
            [
                "",
                "Order steps, factoring and the loan follow `tests/contracts/Gas.t.sol` (test_gas_orderLifecycle,"
                " test_gas_factoringAccept, test_gas_orderLoan). Settlement follows `tests/contracts/Settlement.t.sol`:"
                " per batch size N a receivable of N notes of 2,000.00, each held by a different member that already"
                " holds cash, fully funded by the obligor; after `evm_increaseTime` past maturity (the chain's last"
                " step, mined by automine then: mining does not change gas) a keeper settles all N in one transaction."
                " These operations have no counterpart in the reference (`-`).",
            ]
            if "settle" in results
            else []
        ),
        "",
        "## Raw chain ceiling (splits)",
        "",
        "### Streamed: sent while the chain mines",
        "",
        f"{_per_round(cfg)} per round, {cfg['rounds']} rounds alternating ledger and"
        " reference (table: the median round; all rounds' tx/s in the last column and in results.json), pre-signed"
        f" locally (RLP + coincurve, {results['sign_per_s']:,.0f} signatures/s, not timed) from {cfg['senders']}"
        " members, each splitting its own note with consecutive nonces; sent while the chain mines by"
        f" {cfg['transport']}, {cfg['batch']} per request; the clock stops when every sender's mined nonce reached"
        " its last transaction (if the pool stalls 0.5 s with ready transactions, an `evm_mine` nudges anvil; count"
        " in results.json `evm_mine_nudges`); every receipt is then checked (status 1)."
        f" Mining: {cfg['mining']};",
        f"block gas limit {cfg['block_gas_limit']:,}.",
        "",
        "| contract | txs | send time s | total time s | **tx/s** | accepted tx/s | mean gas | blocks (full blocks'"
        " worth) | max tx/block | block fill mean / max | gas/s | tx/s of every round |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name in ("ledger", "reference"):
        r = raw[name]
        lines.append(
            f"| {name} | {r['txs']:,} | {r['send_s']:.2f} | {r['total_s']:.2f} | **{r['tx_per_s']:.0f}** | "
            f"{r['send_per_s']:.0f} | {r['mean_gas']:,.0f} | {r['blocks']:,} ({r.get('blocks_at_gas_limit', '-')}) |"
            f" {r['max_txs_per_block']} | "
            f"{_pct(r.get('mean_block_fill'))} / {_pct(r.get('max_block_fill'))} | {r['gas_per_s']:,} | "
            f"{', '.join(f'{x:.0f}' for x in r['all_tx_per_s'])} |"
        )
    lines += [
        *_raw_lines(results),
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
        f"- run at {env['date_utc']} UTC, {_run_time(results)}",
        "",
    ]
    return "\n".join(lines)


def write_reports(results: dict[str, Any], out: Path) -> None:
    env = environment()
    results = {**results, "environment": env}
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    (out / "RESULTS.md").write_text(markdown(results, env))
