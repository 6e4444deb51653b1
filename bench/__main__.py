"""`python -m bench`: gas of the ledger's operations against the Solv ERC-3525 reference, and the raw
transaction ceiling of the devchain (pre-signed splits sent as fast as the node takes them).

Everything runs on a fresh anvil (DevChain defaults, as the product starts it) on a free port in a temp
dir; the reference is deployed on the same chain in the same run. Results: bench/results.json and
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from api.settings import Settings
from bench import endurance as bench_endurance
from bench import indexer as bench_indexer
from bench import reads as bench_reads
from bench import service as bench_service
from bench.compile import compile_reference
from bench.report import write_reports
from bench.rpc import Rpc, RpcError, Wallet, calldata, intrinsic_gas, minted_ids, wait_receipt
from chain.devchain import DevChain, free_port
from chain.runtime import prepare_ledger

CORE, SUPPLIER, FINANCIER = 1, 2, 4
FACE = 100_000_00  # 100,000.00 in minor units, as in tests/contracts/Base.t.sol
TENOR = 90 * 24 * 3600
BLOCK_GAS = 30_000_000

SPLIT_SIG = "transferFrom(uint256,address,uint256)"
MERGE_SIG = "transferFrom(uint256,uint256,uint256)"
WHOLE_SIG = "transferFrom(address,address,uint256)"

BENCH_DIR = Path(__file__).resolve().parent
SECTIONS = ["gas", "service", "endurance", "reads", "indexer"]  # gas = gas table and raw ceiling


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Chain:
    """Raw-RPC helper bound to one node: sends a signed tx and returns its (successful) receipt."""

    def __init__(self, url: str) -> None:
        self.rpc = Rpc(url)
        self.chain_id = int(self.rpc.call("eth_chainId"), 16)

    def fund(self, *wallets: Wallet) -> None:
        for w in wallets:
            self.rpc.call("anvil_setBalance", w.address, hex(10**22))
            w.nonce = int(self.rpc.call("eth_getTransactionCount", w.address, "pending"), 16)

    def send(self, wallet: Wallet, to: str, data: str, gas: int = 1_000_000) -> dict[str, Any]:
        raw = wallet.sign(self.chain_id, to, data, gas)
        tx_hash = self.rpc.call("eth_sendRawTransaction", raw)
        receipt = wait_receipt(self.rpc, tx_hash)
        if int(receipt["status"], 16) != 1:
            raise RpcError(f"tx {tx_hash} to {to} reverted (data {data[:10]})")
        return receipt

    def deploy(self, wallet: Wallet, bytecode: str) -> str:
        receipt = self.send(wallet, None, bytecode, gas=8_000_000)  # type: ignore[arg-type]
        return str(receipt["contractAddress"])

    def timestamp(self) -> int:
        return int(self.rpc.call("eth_getBlockByNumber", "latest", False)["timestamp"], 16)


def gas_of(receipt: dict[str, Any]) -> int:
    return int(receipt["gasUsed"], 16)


def measure(rows: dict[str, dict[str, int]], key: str, chain: Chain, wallet: Wallet, to: str, data: str) -> dict:
    receipt = chain.send(wallet, to, data)
    rows[key] = {"gas": gas_of(receipt), "execution_gas": gas_of(receipt) - intrinsic_gas(data)}
    return receipt


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="scf-bench-") as tmp:
        data_dir = Path(tmp)
        # the product's devchain configuration: DevChain defaults with the mining mode of Settings.block_time
        devchain = DevChain(data_dir=data_dir, port=free_port(), block_time=Settings().block_time)
        devchain.start()
        try:
            results = _run_on(devchain, data_dir, args)
        finally:
            devchain.stop()
    results["runtime_s"] = round(time.monotonic() - started, 1)
    return results


def _mining(block_time: float | None) -> str:
    return "automine (no --block-time)" if not block_time else f"interval mining, --block-time {block_time:g}"


def _run_on(devchain: DevChain, data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    log(f"anvil on {devchain.url}; compiling and deploying the suite (prepare_ledger)")
    settings = Settings(data_dir=data_dir, rpc_port=devchain.port, api_port=free_port())  # type: ignore[call-arg]
    ledger = prepare_ledger(settings)
    registry = ledger.deployment.address("MemberRegistry")
    notes = ledger.deployment.address("ReceivableNotes")
    cash = ledger.deployment.address("CashToken")

    log("compiling the reference contracts (Solv ERC-3525, OpenZeppelin ERC-20)")
    ref_artifacts = compile_reference()
    chain = Chain(devchain.url)
    operator = Wallet(ledger.operator)
    deployer = Wallet.from_label("reference-deployer")
    core, supplier, bank, bank2, newcomer = (Wallet.from_label(n) for n in ("core", "supplier", "bank", "bank2", "new"))
    senders = [Wallet.from_label(f"sender-{i}") for i in range(args.senders)]
    chain.fund(operator, deployer, core, supplier, bank, bank2, newcomer, *senders)
    ref = chain.deploy(deployer, ref_artifacts["ReferenceNotes"]["bytecode"])
    ref_token = chain.deploy(deployer, ref_artifacts["ReferenceToken"]["bytecode"])

    rows: dict[str, dict[str, int]] = {}
    admit = "admit(address,uint8,bytes32,uint64,uint128)"
    kyc = b"\x11" * 32
    chain.send(operator, registry, calldata(admit, core.address, CORE, kyc, 1, 10**15))
    for i, w in enumerate([supplier, *senders]):
        chain.send(operator, registry, calldata(admit, w.address, SUPPLIER, kyc, 10 + i, 0))
    for i, w in enumerate([bank, bank2]):
        chain.send(operator, registry, calldata(admit, w.address, FINANCIER, kyc, 5 + i, 0))
    # measured: a supplier with KYC hash and group, no credit line (as test_gas_admitMember)
    measure(rows, "admit", chain, operator, registry, calldata(admit, newcomer.address, SUPPLIER, kyc, 9, 0))

    log("gas table: issue / mint, split, merge, whole transfer, lock, ERC-20 transfer")
    issue = "issue(address,uint128,address,uint64,bytes32)"
    maturity = chain.timestamp() + TENOR
    r = measure(
        rows, "issue", chain, core, notes, calldata(issue, supplier.address, FACE, cash, maturity, b"\x01" * 32)
    )
    note_id = minted_ids(r)[0]
    r = measure(
        rows, "ref_mint", chain, deployer, ref, calldata("mint(address,uint256,uint256)", supplier.address, 1, FACE)
    )
    ref_id = minted_ids(r)[0]

    # a sibling note held by the same supplier (split to self), then a split to a member holding nothing
    r = measure(
        rows, "split_to_self", chain, supplier, notes, calldata(SPLIT_SIG, note_id, supplier.address, 10_000_00)
    )
    sibling = minted_ids(r)[0]
    r = measure(
        rows, "ref_split_to_self", chain, supplier, ref, calldata(SPLIT_SIG, ref_id, supplier.address, 10_000_00)
    )
    ref_sibling = minted_ids(r)[0]
    measure(rows, "split", chain, supplier, notes, calldata(SPLIT_SIG, note_id, bank.address, 5_000_00))
    measure(rows, "ref_split", chain, supplier, ref, calldata(SPLIT_SIG, ref_id, bank.address, 5_000_00))
    measure(rows, "merge", chain, supplier, notes, calldata(MERGE_SIG, sibling, note_id, 5_000_00))
    measure(rows, "ref_merge", chain, supplier, ref, calldata(MERGE_SIG, ref_sibling, ref_id, 5_000_00))
    measure(
        rows, "whole_transfer", chain, supplier, notes, calldata(WHOLE_SIG, supplier.address, bank2.address, sibling)
    )
    measure(
        rows,
        "ref_whole_transfer",
        chain,
        supplier,
        ref,
        calldata(WHOLE_SIG, supplier.address, bank2.address, ref_sibling),
    )
    measure(rows, "lock", chain, supplier, notes, calldata("lock(uint256,address)", note_id, bank.address))

    # ERC-20: the ledger's permissioned CashToken against a plain OpenZeppelin 5 ERC20
    chain.send(bank, cash, calldata("mint(address,uint256,bytes32)", bank.address, 10**12, b"\x02" * 32))
    chain.send(bank, ref_token, calldata("mint(address,uint256)", bank.address, 10**12))
    transfer = "transfer(address,uint256)"
    measure(rows, "cash_transfer_new", chain, bank, cash, calldata(transfer, supplier.address, 1_000_00))
    measure(rows, "ref_erc20_transfer_new", chain, bank, ref_token, calldata(transfer, supplier.address, 1_000_00))
    measure(rows, "cash_transfer", chain, bank, cash, calldata(transfer, supplier.address, 1_000_00))
    measure(rows, "ref_erc20_transfer", chain, bank, ref_token, calldata(transfer, supplier.address, 1_000_00))

    results: dict[str, Any] = {"gas": rows}
    for key, row in rows.items():
        results[f"{key}_gas"] = row["gas"]

    # ---------------------------------------------------------------- raw chain ceiling
    log(f"raw ceiling: {args.senders} senders, {args.txs} pre-signed splits per contract")
    per_sender = args.txs // args.senders
    ledger_notes, ref_notes = [], []
    maturity = chain.timestamp() + TENOR
    for i, w in enumerate(senders):
        r = chain.send(core, notes, calldata(issue, w.address, FACE, cash, maturity, (1000 + i).to_bytes(32, "big")))
        ledger_notes.append(minted_ids(r)[0])
        r = chain.send(deployer, ref, calldata("mint(address,uint256,uint256)", w.address, 2, FACE))
        ref_notes.append(minted_ids(r)[0])

    block_gas_limit = int(chain.rpc.call("eth_getBlockByNumber", "latest", False)["gasLimit"], 16)
    rounds: dict[str, list[dict[str, Any]]] = {"ledger": [], "reference": []}
    sign_s, n_signed = 0.0, 0
    for rnd in range(args.rounds):
        # alternate which contract goes first so drift in the shared machine's load hits both alike;
        # each batch is signed just before it is sent (nonces follow the send order; signing is not timed)
        order = [("ledger", ledger_notes, notes, "split"), ("reference", ref_notes, ref, "ref_split")]
        for name, note_ids, target, gas_key in order if rnd % 2 == 0 else order[::-1]:
            t = time.monotonic()
            signed = _presign(chain, senders, note_ids, target, bank.address, per_sender, rows[gas_key]["gas"])
            sign_s += time.monotonic() - t
            n_signed += len(signed)
            r = _blast(chain, senders, signed, args.batch)
            rounds[name].append(r)
            log(
                f"round {rnd + 1} {name}: {r['txs']} splits in {r['total_s']:.2f}s = {r['tx_per_s']:.0f} tx/s "
                f"(mean gas {r['mean_gas']:.0f}, {r['blocks']} blocks, up to {r['max_txs_per_block']} tx/block)"
            )
    log(f"signed {n_signed} txs in {sign_s:.1f}s ({n_signed / sign_s:.0f}/s)")
    raw = {name: _median_round(rs) for name, rs in rounds.items()}

    results.update(
        {
            "raw": raw,
            "raw_rounds": rounds,
            "raw_splits_per_s": round(raw["ledger"]["tx_per_s"], 1),
            "ref_raw_splits_per_s": round(raw["reference"]["tx_per_s"], 1),
            "raw_config": {
                "senders": args.senders,
                "txs": per_sender * args.senders,
                "rounds": args.rounds,
                "batch": args.batch,
                "transport": "batched JSON-RPC eth_sendRawTransaction over one HTTP keep-alive session",
                "mining": _mining(devchain.block_time) + ", --state-interval 5 (DevChain defaults)",
                "block_gas_limit": block_gas_limit,
            },
            "sign_per_s": round(n_signed / sign_s, 1),
            "splits_per_30m_block": BLOCK_GAS // rows["split"]["gas"],
            "ref_splits_per_30m_block": BLOCK_GAS // rows["ref_split"]["gas"],
            "raw_splits_per_30m_block": int(BLOCK_GAS // raw["ledger"]["mean_gas"]),
            "ref_raw_splits_per_30m_block": int(BLOCK_GAS // raw["reference"]["mean_gas"]),
        }
    )
    return results


def _median_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median tx/s (all rounds are kept in results.json)."""
    ordered = sorted(rounds, key=lambda r: r["tx_per_s"])
    median = dict(ordered[len(ordered) // 2])
    median["all_tx_per_s"] = [round(r["tx_per_s"], 1) for r in rounds]
    return median


def _presign(
    chain: Chain,
    senders: list[Wallet],
    note_ids: list[int],
    to: str,
    recipient: str,
    per_sender: int,
    measured_gas: int,
) -> list[tuple[int, int, str]]:
    """Round-robin over senders, each with consecutive nonces: [(sender index, nonce, raw tx)]."""
    gas = int(measured_gas * 1.5) + 50_000
    out = []
    for k in range(per_sender):
        for i, w in enumerate(senders):
            out.append(
                (i, w.nonce, w.sign(chain.chain_id, to, calldata(SPLIT_SIG, note_ids[i], recipient, 1_000 + k), gas))
            )
    return out


def _blast(chain: Chain, senders: list[Wallet], signed: list[tuple[int, int, str]], batch: int) -> dict[str, Any]:
    """Sends every pre-signed tx as fast as the node accepts them, waits until all are mined, checks receipts."""
    rpc = chain.rpc
    start_block = int(rpc.call("eth_blockNumber"), 16)
    hashes: list[str] = []
    t0 = time.monotonic()
    for j in range(0, len(signed), batch):
        hashes += rpc.batch([("eth_sendRawTransaction", [raw]) for _, _, raw in signed[j : j + batch]])
    t_sent = time.monotonic()
    targets: dict[str, int] = {}
    for i, nonce, _ in signed:
        targets[senders[i].address] = max(targets.get(senders[i].address, 0), nonce + 1)
    deadline = time.monotonic() + 60
    nudges, last_progress, last_total = 0, time.monotonic(), -1
    while True:
        if time.monotonic() > deadline:
            counts = rpc.batch([("eth_getTransactionCount", [a, "latest"]) for a in targets])
            lag = {a: t - int(c, 16) for (a, t), c in zip(targets.items(), counts, strict=True) if int(c, 16) < t}
            raise RpcError(
                f"benchmark transactions not mined within 60 s; missing per sender {lag}; "
                f"txpool {rpc.call('txpool_status')}"
            )
        counts = rpc.batch([("eth_getTransactionCount", [a, "latest"]) for a in targets])
        if all(int(c, 16) >= targets[a] for c, a in zip(counts, targets, strict=True)):
            break
        total = sum(int(c, 16) for c in counts)
        if total != last_total:
            last_total, last_progress = total, time.monotonic()
        elif time.monotonic() - last_progress > 0.5:
            # anvil's automine sometimes leaves ready transactions in the pool after a burst until the next
            # one arrives; an explicit evm_mine flushes them (counted and reported)
            rpc.call("evm_mine")
            nudges += 1
            last_progress = time.monotonic()
        time.sleep(0.005)
    t_mined = time.monotonic()
    receipts = []
    for j in range(0, len(hashes), 500):
        receipts += rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes[j : j + 500]])
    failed = sum(1 for r in receipts if r is None or int(r["status"], 16) != 1)
    if failed:
        raise RpcError(f"{failed} of {len(receipts)} benchmark transactions failed or are missing")
    gas = [int(r["gasUsed"], 16) for r in receipts]
    blocks = {int(r["blockNumber"], 16) for r in receipts}
    end_block = int(rpc.call("eth_blockNumber"), 16)
    total = t_mined - t0
    return {
        "txs": len(signed),
        "send_s": round(t_sent - t0, 3),
        "total_s": round(total, 3),
        "tx_per_s": len(signed) / total,
        "send_per_s": round(len(signed) / (t_sent - t0), 1),
        "mean_gas": sum(gas) / len(gas),
        "min_gas": min(gas),
        "max_gas": max(gas),
        "blocks": len(blocks),
        "blocks_mined": end_block - start_block,
        "max_txs_per_block": max(sum(1 for r in receipts if int(r["blockNumber"], 16) == b) for b in blocks),
        "gas_per_s": round(sum(gas) / total),
        "evm_mine_nudges": nudges,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--txs", type=int, default=2000, help="pre-signed splits per contract (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating ledger/reference rounds (median kept)")
    parser.add_argument("--senders", type=int, default=16, help="members sending splits, each from its own note")
    parser.add_argument("--batch", type=int, default=10, help="eth_sendRawTransaction calls per HTTP request")
    parser.add_argument("--out", type=Path, default=BENCH_DIR, help="where results.json and RESULTS.md go")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SECTIONS,
        default=SECTIONS,
        help="sections to run (default all; others keep their figures from the existing results.json)",
    )
    bench_service.add_arguments(parser)
    bench_endurance.add_arguments(parser)
    args = parser.parse_args()
    args.requests = {1: 30, 8: 200, 32: 400}  # service: splits per concurrency level
    if args.rounds * (args.txs // args.senders) >= 500:
        parser.error("at most 499 splits per sender over all rounds: the ledger caps live notes per receivable at 500")
    started = time.monotonic()
    previous = args.out / "results.json"
    results: dict[str, Any] = {}
    if set(args.only) != set(SECTIONS) and previous.exists():
        results = {k: v for k, v in json.loads(previous.read_text()).items() if k != "environment"}
    if "gas" in args.only:
        results.update(run(args))
    if "service" in args.only:
        results.update(bench_service.run(args))
    if "endurance" in args.only:
        results.update(bench_endurance.run(args))
    if "reads" in args.only:
        results.update(bench_reads.run_section())
    if "indexer" in args.only:
        results.update(bench_indexer.run_section())
    results["runtime_s"] = round(time.monotonic() - started, 1)
    results["sections_run"] = args.only
    write_reports(results, args.out)
    log(f"done in {results['runtime_s']}s; wrote {args.out / 'results.json'} and {args.out / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
