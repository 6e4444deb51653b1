"""Shared by the devchain-mode, endurance and service benchmarks: a devchain with the suite deployed,
split senders holding big notes, pre-signed raw splits, and a blast that times every transaction.

Latency of a raw transaction = the moment a poller (its own HTTP session, every ~5 ms) first sees the
sender's mined nonce pass it, minus the moment its batch was posted. anvil's RSS comes from
/proc/<pid>/status (VmRSS).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.settings import Settings
from bench.rpc import MAX_FEE, TIP, Rpc, RpcError, Wallet, calldata, checked_receipts, minted_ids
from chain.devnet.devchain import DevChain, free_port
from chain.node.roles import Roles
from scripts.runtime import Ledger, prepare_ledger

# The benchmarks' one definition of these (bench/__main__.py and bench/indexer.py import them from here).
CORE, SUPPLIER, FINANCIER = int(Roles.CORE_ENTERPRISE), int(Roles.SUPPLIER), int(Roles.FINANCIER)
FACE = 100_000_00  # 100,000.00 in minor units, as in tests/contracts/Base.t.sol
RAW_SPLIT = FACE // 500  # S-3: no note below face / cap (500 live notes a receivable): 499 splits leave exactly this
TENOR = 90 * 24 * 3600
SPLIT_SIG = "transferFrom(uint256,address,uint256)"
ADMIT_SIG = "admit(address,uint8,bytes32,uint64,uint128)"
ISSUE_SIG = "issue(address,uint128,address,uint64,bytes32)"
SPLIT_GAS = 200_000  # a split uses ~90-110k; the limit only has to cover it
MAX_SPLITS_PER_NOTE = 499  # the ledger caps live notes per receivable at 500


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (VmRSS), 0.0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def mining_label(block_time: float | None) -> str:
    """How a devchain with this block time mines, in words for the reports."""
    return "automine (a block per transaction)" if not block_time else f"interval mining every {block_time:g} s"


def cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; 0.0 if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def anvil_pid(devchain: DevChain) -> int:
    if devchain.pid is None:
        raise RpcError("anvil is not running")
    return devchain.pid


@dataclass
class Workload:
    """A deployed suite on a node (`url`: the devchain, or a consortium node when `devchain` is None) and
    `senders`, each holding `notes_per_sender` notes of FACE."""

    url: str
    devchain: DevChain | None
    ledger: Ledger
    rpc: Rpc
    chain_id: int
    notes: str
    recipient: Wallet
    senders: list[Wallet]
    sender_notes: list[list[int]]
    setup_block: int
    used: dict[int, int] = field(default_factory=dict)  # note id -> splits signed from it

    @property
    def anvil(self) -> DevChain:
        """The devchain this workload runs on (raises on a consortium node)."""
        if self.devchain is None:
            raise RpcError("this workload runs on a consortium node, not on anvil")
        return self.devchain

    @property
    def pid(self) -> int:
        return anvil_pid(self.anvil)

    def head(self) -> int:
        """The chain's latest block number."""
        return int(self.rpc.call("eth_blockNumber"), 16)

    def wait_for_head(self, block: int, poll: float = 0.1) -> None:
        """Returns once the chain has mined up to `block` (the devchain keeps mining empty blocks)."""
        while self.head() < block:
            time.sleep(poll)

    def send_wait(self, wallet: Wallet, to: str, data: str, gas: int = 1_000_000) -> dict[str, Any]:
        return self.send_all([(wallet, to, data)], gas, timeout=60)[0]

    def send_all(
        self, txs: list[tuple[Wallet, str, str]], gas: int = 1_000_000, timeout: float = 120
    ) -> list[dict[str, Any]]:
        """Sends setup transactions pipelined (nonces in order) and returns their successful receipts."""
        hashes = [self.rpc.call("eth_sendRawTransaction", w.sign(self.chain_id, to, data, gas)) for w, to, data in txs]
        receipts = []
        deadline = time.monotonic() + timeout
        for tx_hash in hashes:
            while (receipt := self.rpc.call("eth_getTransactionReceipt", tx_hash)) is None:
                if time.monotonic() > deadline:
                    raise RpcError(f"no receipt for {tx_hash}")
                time.sleep(0.005)
            if int(receipt["status"], 16) != 1:
                raise RpcError(f"setup transaction {tx_hash} reverted")
            receipts.append(dict(receipt))
        return receipts

    def presign(self, count: int, value: int = RAW_SPLIT) -> list[tuple[int, int, str]]:
        """`count` splits round-robin over the senders (each from its least-used note): [(sender, nonce, raw)]."""
        out = []
        for k in range(count):
            i = k % len(self.senders)
            note = min(self.sender_notes[i], key=lambda n: self.used.get(n, 0))
            if self.used.get(note, 0) >= MAX_SPLITS_PER_NOTE:
                raise ValueError("not enough notes for this many splits: raise notes_per_sender")
            self.used[note] = self.used.get(note, 0) + 1
            w = self.senders[i]
            data = calldata(SPLIT_SIG, note, self.recipient.address, value)  # S-3: value >= face / cap; 499 fit
            out.append((i, w.nonce, w.sign(self.chain_id, self.notes, data, SPLIT_GAS)))
        return out


def start_workload(
    data_dir: Path,
    *,
    block_time: float | None,
    extra_args: list[str] | None = None,
    senders: int = 8,
    notes_per_sender: int = 1,
    state_history: int | None = None,
) -> Workload:
    """Starts anvil with the given mining flags, deploys the suite, admits and funds the senders."""
    devchain = DevChain(data_dir=data_dir, port=free_port(), block_time=block_time, extra_args=extra_args or [])
    if state_history is not None:
        devchain.state_history = state_history
    devchain.start()
    try:
        settings = Settings(data_dir=data_dir, rpc_port=devchain.port, api_port=free_port())
        return populate(devchain.url, prepare_ledger(settings), devchain, senders, notes_per_sender)
    except BaseException:
        devchain.stop()
        raise


def populate(
    url: str, ledger: Ledger, devchain: DevChain | None, senders: int = 8, notes_per_sender: int = 1, label: str = "wl"
) -> Workload:
    """Admits a core, a recipient and the senders on the deployed `ledger`; the core issues each sender its notes.
    Gas money: anvil_setBalance on the devchain; on a consortium node (devchain None) the operator's transfers."""
    rpc = Rpc(url)
    chain_id = int(rpc.call("eth_chainId"), 16)
    registry = ledger.deployment.address("MemberRegistry")
    notes = ledger.deployment.address("ReceivableNotes")
    cash = ledger.deployment.address("CashToken")
    operator = Wallet(ledger.operator)
    core, recipient = Wallet.from_label(f"{label}-core"), Wallet.from_label(f"{label}-recipient")
    wallets = [Wallet.from_label(f"{label}-sender-{i}") for i in range(senders)]
    everyone = (operator, core, recipient, *wallets)
    if devchain is not None:
        for w in everyone:
            rpc.call("anvil_setBalance", w.address, hex(10**22))
    else:
        operator.nonce = int(rpc.call("eth_getTransactionCount", operator.address, "pending"), 16)
        _fund(rpc, chain_id, operator, [w.address for w in everyone[1:]], 10**21)
    for w in everyone:
        w.nonce = int(rpc.call("eth_getTransactionCount", w.address, "pending"), 16)
    wl = Workload(url, devchain, ledger, rpc, chain_id, notes, recipient, wallets, [], 0)
    kyc = b"\x11" * 32
    wl.send_wait(operator, registry, calldata(ADMIT_SIG, core.address, CORE, kyc, 1, 10**15))
    wl.send_wait(operator, registry, calldata(ADMIT_SIG, recipient.address, FINANCIER, kyc, 2, 0))
    wl.send_all(
        [(operator, registry, calldata(ADMIT_SIG, w.address, SUPPLIER, kyc, 10 + i, 0)) for i, w in enumerate(wallets)]
    )
    now = int(rpc.call("eth_getBlockByNumber", "latest", False)["timestamp"], 16)
    for i, w in enumerate(wallets):
        issues = [
            (
                core,
                notes,
                calldata(ISSUE_SIG, w.address, FACE, cash, now + TENOR, (10_000 * (i + 1) + j).to_bytes(32, "big")),
            )
            for j in range(notes_per_sender)
        ]
        wl.sender_notes.append([n for r in wl.send_all(issues) for n in minted_ids(r)])
    wl.setup_block = int(rpc.call("eth_blockNumber"), 16)
    return wl


def _fund(rpc: Rpc, chain_id: int, payer: Wallet, addresses: list[str], wei: int, timeout: float = 120) -> None:
    """Plain value transfers from `payer` (a chain without anvil_setBalance), all mined before returning."""
    hashes = []
    for address in addresses:
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": chain_id,
            "nonce": payer.nonce,
            "to": address,
            "value": wei,
            "gas": 21_000,
            "maxFeePerGas": MAX_FEE,
            "maxPriorityFeePerGas": TIP,
        }
        payer.nonce += 1
        raw = "0x" + bytes(payer.account.sign_transaction(tx).raw_transaction).hex()
        hashes.append(rpc.call("eth_sendRawTransaction", raw))
    deadline = time.monotonic() + timeout
    for tx_hash in hashes:
        while rpc.call("eth_getTransactionReceipt", tx_hash) is None:
            if time.monotonic() > deadline:
                raise RpcError(f"funding transfer {tx_hash} not mined within {timeout:.0f} s")
            time.sleep(0.05)


def blast(wl: Workload, signed: list[tuple[int, int, str]], batch: int = 10, timeout: float = 180) -> dict[str, Any]:
    """Sends the pre-signed txs as fast as the node takes them; times each to its mining; checks receipts.

    On anvil, if nothing is mined for 0.5 s while transactions are outstanding, an `evm_mine` nudges it (counted):
    anvil's automine can leave ready transactions in the pool after a burst. A consortium node is never nudged
    (its signers seal a block per period)."""
    url = wl.url
    sender_rpc, poll_rpc = Rpc(url), Rpc(url)
    addresses = [w.address for w in wl.senders]
    first = {i: n for i, n, _ in reversed(signed)}
    targets: dict[int, int] = {}
    for i, nonce, _ in signed:
        targets[i] = max(targets.get(i, 0), nonce + 1)
    sent_at: dict[tuple[int, int], float] = {}
    mined_at: dict[tuple[int, int], float] = {}
    state: dict[str, Any] = {"nudges": 0, "error": ""}
    start_block = int(poll_rpc.call("eth_blockNumber"), 16)

    def poll() -> None:
        seen = dict(first)
        last_progress, deadline = time.monotonic(), time.monotonic() + timeout
        while True:
            order = list(targets)
            counts = poll_rpc.batch([("eth_getTransactionCount", [addresses[i], "latest"]) for i in order])
            now = time.monotonic()
            progressed = False
            for i, c in zip(order, counts, strict=True):
                c = int(c, 16)
                for n in range(seen[i], min(c, targets[i])):
                    mined_at[(i, n)] = now
                    progressed = True
                seen[i] = max(seen[i], c)
            if all(seen[i] >= targets[i] for i in order):
                return
            if progressed:
                last_progress = now
            elif wl.devchain is not None and now - last_progress > 0.5 and len(sent_at) == len(signed):
                poll_rpc.call("evm_mine")
                state["nudges"] += 1
                last_progress = now
            if now > deadline:
                missing = {i: targets[i] - seen[i] for i in order if seen[i] < targets[i]}
                state["error"] = (
                    f"not all mined within {timeout:.0f} s: unmined per sender {missing} "
                    f"with txpool {poll_rpc.call('txpool_status')} (transactions dropped by the node)"
                )
                return
            time.sleep(0.005)

    poller = threading.Thread(target=poll, daemon=True)
    hashes: list[str] = []
    t0 = time.monotonic()
    poller.start()
    for j in range(0, len(signed), batch):
        chunk = signed[j : j + batch]
        posted = time.monotonic()
        hashes += sender_rpc.batch([("eth_sendRawTransaction", [raw]) for _, _, raw in chunk])
        for i, nonce, _ in chunk:
            sent_at[(i, nonce)] = posted
    t_sent = time.monotonic()
    poller.join()
    if state["error"]:
        raise RpcError(state["error"])
    t_mined = max(mined_at.values())
    receipts = checked_receipts(sender_rpc, hashes, "split transactions")
    latencies = [(mined_at[k] - sent_at[k]) * 1000 for k in sent_at]
    block_txs: dict[int, int] = {}
    block_gas: dict[int, int] = {}
    for r in receipts:
        b = int(r["blockNumber"], 16)
        block_txs[b] = block_txs.get(b, 0) + 1
        block_gas[b] = block_gas.get(b, 0) + int(r["gasUsed"], 16)
    blocks = set(block_txs)
    total = t_mined - t0
    return {
        "txs": len(signed),
        "total_s": round(total, 3),
        "tx_per_s": round(len(signed) / total, 1),
        "send_per_s": round(len(signed) / (t_sent - t0), 1),
        "latency_p50_ms": round(percentile(latencies, 50), 1),
        "latency_p99_ms": round(percentile(latencies, 99), 1),
        "blocks_with_txs": len(blocks),
        "blocks_mined": int(poll_rpc.call("eth_blockNumber"), 16) - start_block,
        "evm_mine_nudges": state["nudges"],
        "max_txs_per_block": max(block_txs.values()),
        "txs_per_block": [block_txs[b] for b in sorted(block_txs)],
        "split_gas_per_block_max": max(block_gas.values()),
        # which blocks after the start held the splits (a gap = blocks sealed without any of them)
        "tx_block_offsets": [b - start_block for b in sorted(block_txs)],
        "mean_gas": round(statistics.fmean(int(r["gasUsed"], 16) for r in receipts)),
    }


def sequential(wl: Workload, count: int) -> dict[str, Any]:
    """`count` splits one at a time (send, wait for the receipt, next): the latency of a lone write."""
    signed = wl.presign(count)
    latencies = []
    for _i, _nonce, raw in signed:
        t = time.monotonic()
        tx_hash = wl.rpc.call("eth_sendRawTransaction", raw)
        deadline = t + 30
        while wl.rpc.call("eth_getTransactionReceipt", tx_hash) is None:
            if time.monotonic() > deadline:
                raise RpcError(f"lone split {tx_hash} not mined within 30 s")
            time.sleep(0.002)
        latencies.append((time.monotonic() - t) * 1000)
    return {
        "txs": count,
        "latency_p50_ms": round(percentile(latencies, 50), 1),
        "latency_p99_ms": round(percentile(latencies, 99), 1),
    }
