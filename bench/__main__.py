"""`python -m bench`: gas of the ledger's operations against the Solv ERC-3525 reference, and the raw
transaction ceiling of the devchain, measured two ways: pre-signed splits streamed while the chain mines, and
a pre-filled pool mined block by block (the gas-bound ceiling). Other sections: service, consortium (the service
and the raw ceiling on a 4-validator geth Clique network), endurance, reads, indexer (`--only` runs some; the
others keep their figures from the existing results.json).

The gas section runs on a fresh anvil (DevChain defaults and `Settings.block_time`, as the product starts it)
on a free port in a temp dir; the reference is deployed on the same chain in the same run. Results:
bench/results.json (with each section's wall time in `section_s`) and bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.settings import Settings
from bench import consortium as bench_consortium
from bench import endurance as bench_endurance
from bench import indexer as bench_indexer
from bench import reads as bench_reads
from bench import service as bench_service
from bench.compile import compile_reference
from bench.report import write_reports
from bench.rpc import (
    Rpc,
    RpcError,
    Wallet,
    calldata,
    checked_receipts,
    event_topic,
    intrinsic_gas,
    minted_ids,
    wait_receipt,
)
from bench.workload import (
    ADMIT_SIG,
    CORE,
    FACE,
    FINANCIER,
    ISSUE_SIG,
    RAW_SPLIT,
    SPLIT_SIG,
    SUPPLIER,
    TENOR,
    cpu_s,
    mining_label,
)
from chain.devnet.devchain import DevChain, free_port
from scripts.runtime import prepare_ledger

BLOCK_GAS = 30_000_000

MERGE_SIG = "transferFrom(uint256,uint256,uint256)"
WHOLE_SIG = "transferFrom(address,address,uint256)"
MEMBER_ID_SIG = "memberIdOf(address)"
PROPOSE_SIG = "propose(address,uint128,address,bytes32,uint64)"
ACCEPT_SIG = "accept(uint256,uint128,uint64,bytes32)"
OFFER_SIG = "makeOffer(uint256,uint96,uint32,bool,uint64)"
LEND_SIG = "lend(uint256,uint96,uint32,uint64)"
ORDER_ACCEPTED = "OrderAccepted(uint256,uint256,uint256)"
OFFER_MADE = "OfferMade(uint256,uint256,uint32,uint96,uint32,bool,uint64)"
LOAN_OPENED = "LoanOpened(uint256,uint256,uint32,uint32,uint96,uint32,uint64)"
RECEIVABLE_ISSUED = "ReceivableIssued(uint256,uint32,uint32,uint256,uint128,address,uint64,bytes32,uint256)"
SETTLE_NOTES = (1, 10, 50)  # settlement batch sizes; the per-note gas is taken between the first and the last
SETTLE_NOTE = 2_000_00  # value of each settled note (as Settlement.t.sol's gas test)

BENCH_DIR = Path(__file__).resolve().parent
SECTIONS = ["gas", "bulk", "service", "consortium", "endurance", "reads", "indexer"]  # gas = gas table, raw ceiling
BULK_SIG = "splitBatch(uint256,address[],uint256[])"
BULK_RECIPIENTS = 30  # the issue's bulk payment: a tier-1 supplier pays 30 tier-2 suppliers out of one note
BULK_TARGET = 0.6  # gas per recipient at most this share of one split to a new holder


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

    def send_all(self, txs: list[tuple[Wallet, str, str]], gas: int = 1_000_000) -> list[dict[str, Any]]:
        """Sends independent transactions pipelined (each sender's nonces in list order, 50 per HTTP request)
        and returns their receipts in order; raises if any reverted."""
        raws = [w.sign(self.chain_id, to, data, gas) for w, to, data in txs]
        hashes: list[str] = []
        for j in range(0, len(raws), 50):
            hashes += self.rpc.batch([("eth_sendRawTransaction", [raw]) for raw in raws[j : j + 50]])
        receipts = [wait_receipt(self.rpc, h) for h in hashes]
        for (_, to, data), receipt in zip(txs, receipts, strict=True):
            if int(receipt["status"], 16) != 1:
                raise RpcError(f"tx {receipt['transactionHash']} to {to} reverted (data {data[:10]})")
        return receipts

    def deploy(self, wallet: Wallet, bytecode: str) -> str:
        receipt = self.send(wallet, None, bytecode, gas=8_000_000)  # type: ignore[arg-type]
        return str(receipt["contractAddress"])

    def timestamp(self) -> int:
        return int(self.rpc.call("eth_getBlockByNumber", "latest", False)["timestamp"], 16)


def gas_of(receipt: dict[str, Any]) -> int:
    return int(receipt["gasUsed"], 16)


def measure(
    rows: dict[str, dict[str, int]], key: str, chain: Chain, wallet: Wallet, to: str, data: str, gas: int = 1_000_000
) -> dict[str, Any]:
    receipt = chain.send(wallet, to, data, gas)
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
    results["gas_section_s"] = round(time.monotonic() - started, 1)
    return results


@dataclass
class Suite:
    """The deployed ledger and reference contracts on one chain, and the wallets that act on them."""

    chain: Chain
    registry: str
    notes: str
    cash: str
    orders: str
    financing: str
    settlement: str
    ref: str
    ref_token: str
    operator: Wallet
    deployer: Wallet
    core: Wallet
    supplier: Wallet
    bank: Wallet
    bank2: Wallet
    newcomer: Wallet
    senders: list[Wallet]
    holders: list[Wallet]


def _deploy(devchain: DevChain, data_dir: Path, args: argparse.Namespace) -> Suite:
    log(f"anvil on {devchain.url}; compiling and deploying the suite (prepare_ledger)")
    settings = Settings(data_dir=data_dir, rpc_port=devchain.port, api_port=free_port())
    ledger = prepare_ledger(settings)
    log("compiling the reference contracts (Solv ERC-3525, OpenZeppelin ERC-20)")
    ref_artifacts = compile_reference()
    chain = Chain(devchain.url)
    operator = Wallet(ledger.operator)
    deployer = Wallet.from_label("reference-deployer")
    core, supplier, bank, bank2, newcomer = (Wallet.from_label(n) for n in ("core", "supplier", "bank", "bank2", "new"))
    senders = [Wallet.from_label(f"sender-{i}") for i in range(args.senders)]
    holders = [Wallet.from_label(f"holder-{i}") for i in range(max(SETTLE_NOTES))]
    chain.fund(operator, deployer, core, supplier, bank, bank2, newcomer, *senders, *holders)
    d = ledger.deployment
    suite = Suite(
        chain,
        d.address("MemberRegistry"),
        d.address("ReceivableNotes"),
        d.address("CashToken"),
        d.address("OrderBook"),
        d.address("Financing"),
        d.address("Settlement"),
        chain.deploy(deployer, ref_artifacts["ReferenceNotes"]["bytecode"]),
        chain.deploy(deployer, ref_artifacts["ReferenceToken"]["bytecode"]),
        operator,
        deployer,
        core,
        supplier,
        bank,
        bank2,
        newcomer,
        senders,
        holders,
    )
    # members (pipelined: one block or two): the core enterprise, suppliers, financiers; the settlement
    # holders are financiers so a bank can give each the 1.00 of cash the Foundry settlement gas test gives them
    kyc = b"\x11" * 32
    admits = [(operator, suite.registry, calldata(ADMIT_SIG, core.address, CORE, kyc, 1, 10**15))]
    admits += [
        (operator, suite.registry, calldata(ADMIT_SIG, w.address, SUPPLIER, kyc, 10 + i, 0))
        for i, w in enumerate([supplier, *senders])
    ]
    admits += [
        (operator, suite.registry, calldata(ADMIT_SIG, w.address, FINANCIER, kyc, 5 + i, 0))
        for i, w in enumerate([bank, bank2, *holders])
    ]
    chain.send_all(admits)
    # S-5: a financier mints only up to the ceiling an operator set (0 until set); the bank mints every deposit below
    bank_id = int(
        chain.rpc.call("eth_call", {"to": suite.registry, "data": calldata(MEMBER_ID_SIG, bank.address)}, "latest"), 16
    )
    chain.send(operator, suite.cash, calldata("setMintCeiling(uint32,uint128)", bank_id, 2**127))
    # cash: banks hold deposits, the core enterprise holds cash to fund its receivables, the supplier some to
    # pay a loan's interest, every settlement holder 1.00 (its balance slot is warm, as in Settlement.t.sol)
    mint = "mint(address,uint256,bytes32)"
    chain.send_all(
        [
            (bank, suite.cash, calldata(mint, bank.address, 10**12, b"\x02" * 32)),
            (bank, suite.cash, calldata(mint, core.address, 10**12, b"\x03" * 32)),
            (bank, suite.cash, calldata(mint, supplier.address, 10**9, b"\x04" * 32)),
            *[
                (bank, suite.cash, calldata(mint, h.address, 1_00, (5000 + i).to_bytes(32, "big")))
                for i, h in enumerate(holders)
            ],
            (deployer, suite.ref_token, calldata("mint(address,uint256)", bank.address, 10**12)),
        ]
    )
    return suite


def _gas_table(s: Suite, rows: dict[str, dict[str, int]]) -> None:
    chain, supplier, bank, bank2, core = s.chain, s.supplier, s.bank, s.bank2, s.core
    kyc = b"\x11" * 32
    # measured: a supplier with KYC hash and group, no credit line (as test_gas_admitMember)
    measure(rows, "admit", chain, s.operator, s.registry, calldata(ADMIT_SIG, s.newcomer.address, SUPPLIER, kyc, 9, 0))

    log("gas table: issue / mint, split, merge, whole transfer, lock, ERC-20 transfer")
    maturity = chain.timestamp() + TENOR
    r = measure(
        rows, "issue", chain, core, s.notes, calldata(ISSUE_SIG, supplier.address, FACE, s.cash, maturity, b"\x01" * 32)
    )
    note_id = minted_ids(r)[0]
    r = measure(
        rows, "ref_mint", chain, s.deployer, s.ref, calldata("mint(address,uint256,uint256)", supplier.address, 1, FACE)
    )
    ref_id = minted_ids(r)[0]

    # a sibling note held by the same supplier (split to self), then a split to a member holding nothing
    r = measure(
        rows, "split_to_self", chain, supplier, s.notes, calldata(SPLIT_SIG, note_id, supplier.address, 10_000_00)
    )
    sibling = minted_ids(r)[0]
    r = measure(
        rows, "ref_split_to_self", chain, supplier, s.ref, calldata(SPLIT_SIG, ref_id, supplier.address, 10_000_00)
    )
    ref_sibling = minted_ids(r)[0]
    measure(rows, "split", chain, supplier, s.notes, calldata(SPLIT_SIG, note_id, bank.address, 5_000_00))
    measure(rows, "ref_split", chain, supplier, s.ref, calldata(SPLIT_SIG, ref_id, bank.address, 5_000_00))
    measure(rows, "merge", chain, supplier, s.notes, calldata(MERGE_SIG, sibling, note_id, 5_000_00))
    measure(rows, "ref_merge", chain, supplier, s.ref, calldata(MERGE_SIG, ref_sibling, ref_id, 5_000_00))
    whole = calldata(WHOLE_SIG, supplier.address, bank2.address, sibling)
    measure(rows, "whole_transfer", chain, supplier, s.notes, whole)
    ref_whole = calldata(WHOLE_SIG, supplier.address, bank2.address, ref_sibling)
    measure(rows, "ref_whole_transfer", chain, supplier, s.ref, ref_whole)
    measure(rows, "lock", chain, supplier, s.notes, calldata("lock(uint256,address)", note_id, bank.address))

    # ERC-20: the ledger's permissioned CashToken against a plain OpenZeppelin 5 ERC20 (bank holds both)
    transfer = "transfer(address,uint256)"
    newcomer = s.newcomer.address
    measure(rows, "cash_transfer_new", chain, bank, s.cash, calldata(transfer, newcomer, 1_000_00))
    measure(rows, "ref_erc20_transfer_new", chain, bank, s.ref_token, calldata(transfer, newcomer, 1_000_00))
    measure(rows, "cash_transfer", chain, bank, s.cash, calldata(transfer, newcomer, 1_000_00))
    measure(rows, "ref_erc20_transfer", chain, bank, s.ref_token, calldata(transfer, newcomer, 1_000_00))

    log("gas table: order steps, factoring (offer, accept), order loan, repay")
    # the order lifecycle of test_gas_orderLifecycle: propose, confirm, deliver, accept (issues the receivable)
    due = chain.timestamp() + 60 * 24 * 3600
    propose = calldata(PROPOSE_SIG, core.address, FACE, s.cash, b"\x21" * 32, due)
    order_id = minted_ids(measure(rows, "order_propose", chain, supplier, s.orders, propose))[0]
    measure(rows, "order_confirm", chain, core, s.orders, calldata("confirm(uint256)", order_id))
    measure(rows, "order_deliver", chain, supplier, s.orders, calldata("deliver(uint256)", order_id))
    accept = calldata(ACCEPT_SIG, order_id, FACE, chain.timestamp() + TENOR, b"\x22" * 32)
    r = measure(rows, "order_accept", chain, core, s.orders, accept)
    order_note = event_topic(r, ORDER_ACCEPTED, 3)
    # factoring (test_gas_factoringAccept): the bank offers 20,000.00 of the order's note, the supplier accepts
    # (a partial purchase: a split to the bank and the price in cash to the supplier)
    offer = calldata(OFFER_SIG, order_note, 20_000_00, 800, False, chain.timestamp() + 24 * 3600)
    offer_id = event_topic(measure(rows, "factoring_offer", chain, bank, s.financing, offer), OFFER_MADE)
    measure(rows, "factoring_accept", chain, supplier, s.financing, calldata("acceptOffer(uint256)", offer_id))
    # order loan (test_gas_orderLoan): a confirmed order pledged to the bank, the bank lends 50,000.00
    propose = calldata(PROPOSE_SIG, core.address, FACE, s.cash, b"\x23" * 32, due)
    loan_order = minted_ids(chain.send(supplier, s.orders, propose))[0]
    chain.send(core, s.orders, calldata("confirm(uint256)", loan_order))
    pledge = calldata("pledge(uint256,address)", loan_order, bank.address)
    measure(rows, "order_pledge", chain, supplier, s.orders, pledge)
    lend = calldata(LEND_SIG, loan_order, 50_000_00, 600, chain.timestamp() + 30 * 24 * 3600)
    loan_id = event_topic(measure(rows, "order_loan", chain, bank, s.financing, lend), LOAN_OPENED)
    measure(rows, "repay", chain, supplier, s.financing, calldata("repay(uint256)", loan_id))


def run_bulk(args: argparse.Namespace) -> dict[str, Any]:
    """Bulk payment gas: on a fresh devchain, a supplier pays BULK_RECIPIENTS members that hold no note yet out of
    one note (`splitBatch`, one transaction), and splits once to another such member (the single split it is
    compared with, measured the same way in the same run)."""
    with tempfile.TemporaryDirectory(prefix="scf-bench-bulk-") as tmp:
        data_dir = Path(tmp)
        devchain = DevChain(data_dir=data_dir, port=free_port(), block_time=Settings().block_time)
        devchain.start()
        try:
            s = _deploy(devchain, data_dir, args)
            return _bulk_gas(s)
        finally:
            devchain.stop()


def _bulk_gas(s: Suite) -> dict[str, Any]:
    chain = s.chain
    rows: dict[str, dict[str, int]] = {}
    payees = [Wallet.from_label(f"bulk-payee-{i}") for i in range(BULK_RECIPIENTS + 1)]
    kyc = b"\x11" * 32
    chain.send_all(
        [
            (s.operator, s.registry, calldata(ADMIT_SIG, w.address, SUPPLIER, kyc, 100 + i, 0))
            for i, w in enumerate(payees)
        ]
    )
    issue = calldata(ISSUE_SIG, s.supplier.address, FACE, s.cash, chain.timestamp() + TENOR, b"\x31" * 32)
    note_id = minted_ids(chain.send(s.core, s.notes, issue))[0]
    log(f"bulk payment: {BULK_RECIPIENTS} recipients out of note {note_id}, and one split, each to a new holder")
    split = calldata(SPLIT_SIG, note_id, payees[-1].address, 1_000_00)
    measure(rows, "split", chain, s.supplier, s.notes, split)
    values = [1_000_00 + i for i in range(BULK_RECIPIENTS)]
    bulk = calldata(BULK_SIG, note_id, [w.address for w in payees[:BULK_RECIPIENTS]], values)
    receipt = measure(rows, "bulk", chain, s.supplier, s.notes, bulk, gas=5_000_000)
    if len(minted_ids(receipt)) != BULK_RECIPIENTS:
        raise RpcError(f"bulk payment minted {len(minted_ids(receipt))} notes, not {BULK_RECIPIENTS}")
    per_recipient = rows["bulk"]["gas"] / BULK_RECIPIENTS
    ratio = per_recipient / rows["split"]["gas"]
    log(
        f"bulk payment: {rows['bulk']['gas']:,} gas, {per_recipient:,.0f} per recipient = {ratio:.3f} x a split"
        f" ({rows['split']['gas']:,}); target <= {BULK_TARGET}"
    )
    return {
        "bulk": {"recipients": BULK_RECIPIENTS, "target_ratio": BULK_TARGET, "gas": rows},
        "bulk_gas_per_recipient": round(per_recipient),
        "bulk_split_gas": rows["split"]["gas"],
        "bulk_per_recipient_over_split": round(ratio, 3),
    }


def _prepare_settlement(s: Suite) -> dict[int, tuple[int, list[int]]]:
    """Per batch size N: a fully funded receivable of N notes of 2,000.00, one per holder (as Settlement.t.sol's
    gas test: the first holder is the creditor and splits one note to each other holder). {N: (slot, note ids)}"""
    chain = s.chain
    maturity = chain.timestamp() + TENOR
    issues = chain.send_all(
        [
            (
                s.core,
                s.notes,
                calldata(
                    ISSUE_SIG, s.holders[0].address, n * SETTLE_NOTE, s.cash, maturity, (7000 + n).to_bytes(32, "big")
                ),
            )
            for n in SETTLE_NOTES
        ]
    )
    firsts = {
        n: (event_topic(r, RECEIVABLE_ISSUED), minted_ids(r)[0]) for n, r in zip(SETTLE_NOTES, issues, strict=True)
    }
    splits = [
        (s.holders[0], s.notes, calldata(SPLIT_SIG, firsts[n][1], s.holders[i].address, SETTLE_NOTE))
        for n in SETTLE_NOTES
        for i in range(1, n)
    ]
    receipts = iter(chain.send_all(splits))
    out = {}
    for n in SETTLE_NOTES:
        slot, first = firsts[n]
        out[n] = (slot, [first, *(minted_ids(next(receipts))[0] for _ in range(1, n))])
    fund = "fund(uint256,uint256)"
    chain.send_all([(s.core, s.settlement, calldata(fund, slot, n * SETTLE_NOTE)) for n, (slot, _) in out.items()])
    return out


def _settle(s: Suite, slots: dict[int, tuple[int, list[int]]], rows: dict[str, dict[str, int]]) -> dict[str, Any]:
    """After maturity, a keeper settles each receivable's N notes in one transaction."""
    chain = s.chain
    chain.rpc.call("evm_increaseTime", TENOR + 60)
    per_n = {}
    for n, (slot, ids) in slots.items():
        receipt = chain.send(s.bank2, s.settlement, calldata("settle(uint256,uint256[])", slot, ids), gas=12_000_000)
        per_n[n] = gas_of(receipt)
        rows[f"settle_{n}"] = {
            "gas": gas_of(receipt),
            "execution_gas": gas_of(receipt) - intrinsic_gas(calldata("settle(uint256,uint256[])", slot, ids)),
        }
    big = max(per_n)
    marginal = (per_n[big] - per_n[1]) / (big - 1)
    log(f"settle: gas by batch size {per_n}; per note (gas({big}) - gas(1)) / {big - 1} = {marginal:.0f}")
    return {
        "settle": {
            "gas_by_notes": {str(n): g for n, g in per_n.items()},
            "gas_per_note_average": {str(n): round(g / n) for n, g in per_n.items()},
            "per_note_method": f"(gas({big}) - gas(1)) / ({big} - 1), as tests/contracts/Settlement.t.sol",
        },
        "settle_gas_per_note": round(marginal),
    }


def _run_on(devchain: DevChain, data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    s = _deploy(devchain, data_dir, args)
    chain = s.chain
    rows: dict[str, dict[str, int]] = {}
    _gas_table(s, rows)
    log(f"settlement: receivables of {', '.join(map(str, SETTLE_NOTES))} notes, funded")
    settle_slots = _prepare_settlement(s)

    # ---------------------------------------------------------------- raw chain ceiling
    ledger_notes, ref_notes = [], []
    maturity = chain.timestamp() + TENOR
    setup = []
    for i, w in enumerate(s.senders):
        issue = calldata(ISSUE_SIG, w.address, FACE, s.cash, maturity, (1000 + i).to_bytes(32, "big"))
        setup.append((s.core, s.notes, issue))
        setup.append((s.deployer, s.ref, calldata("mint(address,uint256,uint256)", w.address, 2, FACE)))
    receipts = chain.send_all(setup)
    ledger_notes = [minted_ids(r)[0] for r in receipts[0::2]]
    ref_notes = [minted_ids(r)[0] for r in receipts[1::2]]
    contracts = {"ledger": (ledger_notes, s.notes), "reference": (ref_notes, s.ref)}
    block_gas_limit = int(chain.rpc.call("eth_getBlockByNumber", "latest", False)["gasLimit"], 16)
    # calibration: one split of the raw run's kind per contract (a sender's note to the bank, a repeat recipient);
    # each round sends whole blocks' worth (about args.txs), so no round ends on a part-filled block that
    # would cost one contract a larger share of an interval than the other
    raw_gas, per_block, counts = {}, {}, {}
    for name, (note_ids, target) in contracts.items():
        receipt = chain.send(s.senders[0], target, calldata(SPLIT_SIG, note_ids[0], s.bank.address, RAW_SPLIT))
        raw_gas[name] = gas_of(receipt)
        # anvil packs a transaction while its gas limit (_presign's) fits in what the block has left
        per_block[name] = (block_gas_limit - _tx_gas_limit(raw_gas[name])) // raw_gas[name] + 1
        counts[name] = max(1, round(args.txs / per_block[name])) * per_block[name]
    log(
        f"raw ceiling: {args.senders} senders; per round {counts['ledger']} ledger splits"
        f" ({counts['ledger'] // per_block['ledger']} blocks of {per_block['ledger']}) and {counts['reference']}"
        f" reference splits ({counts['reference'] // per_block['reference']} blocks of {per_block['reference']})"
    )

    rounds: dict[str, list[dict[str, Any]]] = {"ledger": [], "reference": []}
    sign_s, n_signed = 0.0, 0
    for rnd in range(args.rounds):
        # alternate which contract goes first so drift in the shared machine's load hits both alike;
        # each batch is signed just before it is sent (nonces follow the send order; signing is not timed)
        order = ["ledger", "reference"] if rnd % 2 == 0 else ["reference", "ledger"]
        for name in order:
            note_ids, target = contracts[name]
            t = time.monotonic()
            signed = _presign(chain, s.senders, note_ids, target, s.bank.address, counts[name], raw_gas[name])
            sign_s += time.monotonic() - t
            n_signed += len(signed)
            r = _blast(chain, s.senders, signed, args.batch, block_gas_limit, devchain.pid)
            # gas-bound: the round used no more blocks than its whole blocks' worth, plus one for the phase of
            # the interval (the first block is mined while the burst is still arriving)
            r["blocks_at_gas_limit"] = counts[name] // per_block[name]
            r["gas_bound"] = r["blocks"] <= r["blocks_at_gas_limit"] + 1
            rounds[name].append(r)
            log(
                f"round {rnd + 1} {name}: {r['txs']} splits in {r['total_s']:.2f}s = {r['tx_per_s']:.0f} tx/s, "
                f"sent in {r['send_s']:.2f}s ({r['send_per_s']:.0f}/s); {r['blocks']} blocks, up to "
                f"{r['max_txs_per_block']} tx/block, fullest block {r['max_block_fill']:.0%} of the gas limit; CPU "
                f"while sending: anvil {r['anvil_cpu_while_sending_s']:.1f}s, "
                f"sender {r['sender_cpu_while_sending_s']:.1f}s"
            )
    log(f"signed {n_signed} txs in {sign_s:.1f}s ({n_signed / sign_s:.0f}/s)")
    raw = {name: _median_round(rs) for name, rs in rounds.items()}

    # ---------------------------------------------------------------- gas-bound ceiling: a pre-filled pool
    # mining paused (evm_setIntervalMining 0), the pool filled with enough splits for args.full_blocks full
    # blocks, then each block mined by evm_mine and timed: txs per full block and the node's time to build one.
    prefilled = {}
    chain.rpc.call("evm_setIntervalMining", 0)
    for name in ("ledger", "reference"):
        note_ids, target = contracts[name]
        count = (per_block[name] + 1) * args.full_blocks  # a few more than full blocks: the last one part-filled
        signed = _presign(chain, s.senders, note_ids, target, s.bank.address, count, raw_gas[name])
        prefilled[name] = _prefill_and_mine(chain, signed, args.batch, block_gas_limit, devchain.block_time or 0.0)
        p = prefilled[name]
        log(
            f"pre-filled pool, {name}: {p['txs']} splits accepted at {p['accept_per_s']:.0f}/s (no mining); "
            f"full blocks hold {p['txs_per_full_block']:.0f} splits ({p['full_block_fill']:.0%} of the gas limit), "
            f"built in {p['build_ms_median']:.0f} ms (median; max {p['build_ms_max']:.0f}); ceiling at the "
            f"{devchain.block_time:g} s interval: {p['ceiling_tx_per_s']:.0f} tx/s ({p['bound']})"
        )
    chain.rpc.call("evm_setAutomine", True)  # the settlement below needs blocks; its gas does not depend on mining

    results: dict[str, Any] = {"gas": rows}
    results.update(_settle(s, settle_slots, rows))
    for key, row in rows.items():
        results[f"{key}_gas"] = row["gas"]
    interval = devchain.block_time or 0.0
    results.update(
        {
            "raw": raw,
            "raw_rounds": rounds,
            "raw_prefilled": prefilled,
            "raw_splits_per_s": round(raw["ledger"]["tx_per_s"], 1),
            "ref_raw_splits_per_s": round(raw["reference"]["tx_per_s"], 1),
            "raw_ratio_measured": round(raw["ledger"]["tx_per_s"] / raw["reference"]["tx_per_s"], 2),
            "gas_bound_splits_per_s": round(prefilled["ledger"]["ceiling_tx_per_s"], 1),
            "ref_gas_bound_splits_per_s": round(prefilled["reference"]["ceiling_tx_per_s"], 1),
            "raw_ratio_gas_bound": round(
                prefilled["ledger"]["ceiling_tx_per_s"] / prefilled["reference"]["ceiling_tx_per_s"], 2
            ),
            "raw_config": {
                "senders": args.senders,
                "txs": counts,
                "splits_per_block": per_block,
                "rounds": args.rounds,
                "batch": args.batch,
                "full_blocks": args.full_blocks,
                "transport": "batched JSON-RPC eth_sendRawTransaction over one HTTP keep-alive session",
                "mining": mining_label(devchain.block_time)
                + (
                    f" (evm_mine pacer; anvil --no-mining --prune-history {devchain.state_history})"
                    if devchain.block_time
                    else ""
                )
                + f", --state-interval {devchain.state_interval} (DevChain defaults)",
                "block_time": interval,
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


def _tx_gas_limit(measured_gas: int) -> int:
    return int(measured_gas * 1.5) + 50_000


def _presign(
    chain: Chain,
    senders: list[Wallet],
    note_ids: list[int],
    to: str,
    recipient: str,
    count: int,
    measured_gas: int,
) -> list[tuple[int, int, str]]:
    """`count` splits round-robin over the senders, each with consecutive nonces: [(sender index, nonce, raw tx)]."""
    gas = _tx_gas_limit(measured_gas)
    out = []
    for k in range(count):
        i = k % len(senders)
        data = calldata(SPLIT_SIG, note_ids[i], recipient, RAW_SPLIT)  # S-3: at least face / cap
        out.append((i, senders[i].nonce, senders[i].sign(chain.chain_id, to, data, gas)))
    return out


def _blast(
    chain: Chain,
    senders: list[Wallet],
    signed: list[tuple[int, int, str]],
    batch: int,
    block_gas_limit: int,
    anvil_pid: int | None = None,
) -> dict[str, Any]:
    """Sends every pre-signed tx as fast as the node accepts them, waits until all are mined, checks receipts."""
    rpc = chain.rpc
    start_block = int(rpc.call("eth_blockNumber"), 16)
    hashes: list[str] = []
    anvil_cpu0, own_cpu0 = cpu_s(anvil_pid), time.process_time()
    t0 = time.monotonic()
    for j in range(0, len(signed), batch):
        hashes += rpc.batch([("eth_sendRawTransaction", [raw]) for _, _, raw in signed[j : j + batch]])
    t_sent = time.monotonic()
    anvil_cpu_sent, own_cpu_sent = cpu_s(anvil_pid), time.process_time()
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
        mined = sum(int(c, 16) for c in counts)
        if mined != last_total:
            last_total, last_progress = mined, time.monotonic()
        elif time.monotonic() - last_progress > 0.5:
            # anvil's automine sometimes leaves ready transactions in the pool after a burst until the next
            # one arrives; an explicit evm_mine flushes them (counted and reported)
            rpc.call("evm_mine")
            nudges += 1
            last_progress = time.monotonic()
        time.sleep(0.005)
    t_mined = time.monotonic()
    anvil_cpu1 = cpu_s(anvil_pid)
    receipts = checked_receipts(rpc, hashes, "benchmark transactions")
    gas = [int(r["gasUsed"], 16) for r in receipts]
    block_gas: dict[int, int] = {}
    block_txs: dict[int, int] = {}
    for r, g in zip(receipts, gas, strict=True):
        b = int(r["blockNumber"], 16)
        block_gas[b] = block_gas.get(b, 0) + g
        block_txs[b] = block_txs.get(b, 0) + 1
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
        "blocks": len(block_gas),
        "blocks_mined": end_block - start_block,
        "max_txs_per_block": max(block_txs.values()),
        "txs_per_block": [block_txs[b] for b in sorted(block_txs)],
        "max_block_fill": round(max(block_gas.values()) / block_gas_limit, 3),
        "mean_block_fill": round(sum(block_gas.values()) / len(block_gas) / block_gas_limit, 3),
        "gas_per_s": round(sum(gas) / total),
        "evm_mine_nudges": nudges,
        # CPU while sending (anvil: intake and any block it built meanwhile; the sender: JSON-RPC only) and in all
        "anvil_cpu_s": round(anvil_cpu1 - anvil_cpu0, 2),
        "anvil_cpu_while_sending_s": round(anvil_cpu_sent - anvil_cpu0, 2),
        "sender_cpu_while_sending_s": round(own_cpu_sent - own_cpu0, 2),
    }


def _prefill_and_mine(
    chain: Chain, signed: list[tuple[int, int, str]], batch: int, block_gas_limit: int, interval: float
) -> dict[str, Any]:
    """With mining paused: sends every pre-signed tx into the pool (timed: the node's intake alone), then mines
    block after block with evm_mine (each call timed: the node building one block) until the pool is empty.
    The blocks before the last are full (gas-bound); the chain's ceiling at the product's interval is
    txs per full block / max(interval, build time): gas-bound when a full block is built within the interval."""
    rpc = chain.rpc
    hashes: list[str] = []
    t0 = time.monotonic()
    for j in range(0, len(signed), batch):
        hashes += rpc.batch([("eth_sendRawTransaction", [raw]) for _, _, raw in signed[j : j + batch]])
    accept_s = time.monotonic() - t0
    blocks: list[dict[str, Any]] = []
    while int(rpc.call("txpool_status")["pending"], 16) > 0:
        t = time.monotonic()
        rpc.call("evm_mine")
        build_ms = (time.monotonic() - t) * 1000
        block = rpc.call("eth_getBlockByNumber", "latest", False)
        blocks.append(
            {"txs": len(block["transactions"]), "gas_used": int(block["gasUsed"], 16), "build_ms": round(build_ms, 1)}
        )
        if len(blocks) > 100:
            raise RpcError("pre-filled pool did not drain in 100 blocks")
    checked_receipts(rpc, hashes, "pre-filled transactions")  # every one mined with status 1
    full = blocks[:-1] if len(blocks) > 1 else blocks
    per_block = sum(b["txs"] for b in full) / len(full)
    # the median full block: one slow block (another process on the shared cores) does not decide the bound
    build_s = statistics.median(b["build_ms"] for b in full) / 1000
    period = max(interval, build_s)
    return {
        "txs": len(signed),
        "accept_s": round(accept_s, 3),
        "accept_per_s": round(len(signed) / accept_s, 1),
        "blocks": blocks,
        "full_blocks": len(full),
        "txs_per_full_block": round(per_block, 1),
        "full_block_fill": round(sum(b["gas_used"] for b in full) / len(full) / block_gas_limit, 3),
        "build_ms_median": round(build_s * 1000, 1),
        "build_ms_min": min(b["build_ms"] for b in full),
        "build_ms_max": max(b["build_ms"] for b in full),
        "ceiling_tx_per_s": round(per_block / period, 1) if period else 0.0,
        "bound": "gas-bound: a full block is built within the interval"
        if build_s <= interval
        else "CPU-bound: building a full block takes longer than the interval",
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--txs", type=int, default=2000, help="pre-signed splits per contract (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating ledger/reference rounds (median kept)")
    parser.add_argument("--senders", type=int, default=16, help="members sending splits, each from its own note")
    parser.add_argument("--batch", type=int, default=10, help="eth_sendRawTransaction calls per HTTP request")
    parser.add_argument(
        "--full-blocks", type=int, default=3, help="full blocks' worth of splits in the pre-filled (gas-bound) run"
    )
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
    # a ledger split costs > 80k gas, so a block holds < 375: a round sends at most args.txs + half a block
    # (rounded to whole blocks), the pre-filled run full_blocks x (a block + 1), the calibration 1
    most = BLOCK_GAS // 80_000
    per_sender = ((args.txs + most // 2 + 1) * args.rounds + (most + 1) * args.full_blocks + 1) / args.senders
    if per_sender + 2 >= 500:
        parser.error("at most 499 splits per sender over all rounds: the ledger caps live notes per receivable at 500")
    started = time.monotonic()
    previous = args.out / "results.json"
    results: dict[str, Any] = {}
    if set(args.only) != set(SECTIONS) and previous.exists():
        results = {k: v for k, v in json.loads(previous.read_text()).items() if k != "environment"}
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "gas": lambda: run(args),
        "bulk": lambda: run_bulk(args),
        "service": lambda: bench_service.run(args),
        "consortium": lambda: bench_consortium.run(args),
        "endurance": lambda: bench_endurance.run(args),
        "reads": bench_reads.run_section,
        "indexer": bench_indexer.run_section,
    }
    # per-section wall time; a partial run (--only) keeps the other sections' times from the results it merges
    section_s: dict[str, float] = dict(results.get("section_s", {}))
    for name in SECTIONS:
        if name in args.only:
            t = time.monotonic()
            results.update(runners[name]())
            section_s[name] = round(time.monotonic() - t, 1)
            log(f"section {name}: {section_s[name]:.0f} s")
    results["section_s"] = {k: section_s[k] for k in SECTIONS if k in section_s}
    section_s = results["section_s"]
    results["runtime_s"] = round(time.monotonic() - started, 1)
    results["sections_run"] = args.only
    log(
        "section times: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in section_s.items())
        + f"; this run {results['runtime_s']:.0f} s"
    )
    write_reports(results, args.out)
    log(f"done in {results['runtime_s']}s; wrote {args.out / 'results.json'} and {args.out / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
