"""`python -m bench.indexer [--ops 20000]`: indexer catch-up from block 0 over a chain with many operations.

A fresh anvil (DevChain defaults) in a temp dir, the suite deployed by `prepare_ledger`; `--senders` suppliers
are admitted and each issued a receivable, then every supplier splits its note to the other suppliers in turn
(pre-signed raw transactions with consecutive nonces, sent in batched JSON-RPC requests, in waves that are
mined before the next wave is sent). Then a fresh SQLite read model catches up from the deployment block with
`chain.indexer.Indexer.sync()`, timed: events stored per second. The read model is checked afterwards
(every live note's value sums to the receivables' face values, `holding_totals` equals a GROUP BY over notes).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.settings import Settings
from bench.rpc import Rpc, RpcError, Wallet, calldata, minted_ids, wait_receipt
from chain.devchain import DevChain, free_port
from chain.indexer import Indexer
from chain.runtime import Ledger, prepare_ledger
from chain.store import EventRecord, HoldingTotal, Note, Receivable, make_engine

CORE, SUPPLIER = 1, 2
FACE = 100_000_00
TENOR = 90 * 24 * 3600
SPLIT_SIG = "transferFrom(uint256,address,uint256)"
MAX_SPLITS_PER_NOTE = 480  # the ledger caps live notes per receivable at 500
WAVE = 300  # transactions in the pool at once (anvil automine stalls with many pending: issue 8)


def log(msg: str) -> None:
    print(f"[bench.indexer {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _send(rpc: Rpc, chain_id: int, wallet: Wallet, to: str, data: str, gas: int = 1_000_000) -> dict[str, Any]:
    tx_hash = rpc.call("eth_sendRawTransaction", wallet.sign(chain_id, to, data, gas))
    receipt = wait_receipt(rpc, tx_hash)
    if int(receipt["status"], 16) != 1:
        raise RpcError(f"setup transaction {tx_hash} reverted")
    return receipt


def _wait_mined(rpc: Rpc, targets: dict[str, int], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    last, last_change = -1, time.monotonic()
    while True:
        counts = [int(c, 16) for c in rpc.batch([("eth_getTransactionCount", [a, "latest"]) for a in targets])]
        if all(c >= t for c, t in zip(counts, targets.values(), strict=True)):
            return
        if time.monotonic() > deadline:
            raise RpcError(f"transactions not mined within {timeout}s")
        if sum(counts) != last:
            last, last_change = sum(counts), time.monotonic()
        elif time.monotonic() - last_change > 0.5:
            rpc.call("evm_mine")  # automine can leave ready transactions after a burst; nudge it
            last_change = time.monotonic()
        time.sleep(0.01)


def build_chain(ledger: Ledger, url: str, ops: int, senders: int) -> dict[str, Any]:
    """Admits `senders` suppliers, issues each a receivable, then sends `ops` splits across them."""
    rpc = Rpc(url)
    chain_id = int(rpc.call("eth_chainId"), 16)
    registry = ledger.deployment.address("MemberRegistry")
    notes = ledger.deployment.address("ReceivableNotes")
    cash = ledger.deployment.address("CashToken")
    operator = Wallet(ledger.operator)
    core = Wallet.from_label("indexer-core")
    suppliers = [Wallet.from_label(f"indexer-supplier-{i}") for i in range(senders)]
    for w in (operator, core, *suppliers):
        rpc.call("anvil_setBalance", w.address, hex(10**22))
        w.nonce = int(rpc.call("eth_getTransactionCount", w.address, "pending"), 16)
    started = time.monotonic()
    admit = "admit(address,uint8,bytes32,uint64,uint128)"
    _send(rpc, chain_id, operator, registry, calldata(admit, core.address, CORE, b"\x11" * 32, 1, 10**15))
    for i, w in enumerate(suppliers):
        _send(rpc, chain_id, operator, registry, calldata(admit, w.address, SUPPLIER, b"\x11" * 32, 100 + i, 0))
    issue = "issue(address,uint128,address,uint64,bytes32)"
    maturity = int(rpc.call("eth_getBlockByNumber", "latest", False)["timestamp"], 16) + TENOR
    note_of = []
    for i, w in enumerate(suppliers):
        invoice = (7_000_000 + i).to_bytes(32, "big")
        receipt = _send(rpc, chain_id, core, notes, calldata(issue, w.address, FACE, cash, maturity, invoice))
        note_of.append(minted_ids(receipt)[0])
    per_sender = min(MAX_SPLITS_PER_NOTE, -(-ops // senders))
    signed: list[tuple[Wallet, int, str]] = []
    t_sign = time.monotonic()
    for k in range(per_sender):
        for i, w in enumerate(suppliers):
            to = suppliers[(i + 1 + k % (senders - 1)) % senders].address
            data = calldata(SPLIT_SIG, note_of[i], to, 1_000 + k)
            signed.append((w, w.nonce, w.sign(chain_id, notes, data, 250_000)))
    sign_s = time.monotonic() - t_sign
    log(f"signed {len(signed):,} splits in {sign_s:.1f}s; sending in waves of {WAVE}")
    t_send = time.monotonic()
    for start in range(0, len(signed), WAVE):
        wave = signed[start : start + WAVE]
        for j in range(0, len(wave), 20):
            rpc.batch([("eth_sendRawTransaction", [raw]) for _, _, raw in wave[j : j + 20]])
        targets: dict[str, int] = {}
        for w, nonce, _ in wave:
            targets[w.address] = max(targets.get(w.address, 0), nonce + 1)
        _wait_mined(rpc, targets)
    send_s = time.monotonic() - t_send
    head = int(rpc.call("eth_blockNumber"), 16)
    setup = 1 + 2 * senders
    return {
        "operations": setup + len(signed),
        "splits": len(signed),
        "setup_txs": setup,
        "senders": senders,
        "blocks": head - ledger.deployment.block + 1,
        "build_s": round(time.monotonic() - started, 1),
        "splits_per_s": round(len(signed) / send_s, 1),
    }


def catch_up(ledger: Ledger, db_path: Path, range_size: int = 2_000) -> dict[str, Any]:
    """A fresh SQLite read model indexed from the deployment block to the head, timed; then checked."""
    engine = make_engine(f"sqlite:///{db_path}")
    indexer = Indexer(engine, ledger.w3, ledger.deployment, ledger.artifacts, range_size=range_size)
    head = int(ledger.w3.eth.block_number)
    t0 = time.monotonic()
    indexer.sync(head)
    elapsed = time.monotonic() - t0
    with Session(engine) as session:
        events = int(session.scalar(select(func.count(EventRecord.id))) or 0)
        live_value = int(session.scalar(select(func.sum(Note.value)).where(Note.live.is_(True))) or 0)
        faces = int(session.scalar(select(func.sum(Receivable.face_value))) or 0)
        total_notes = int(session.scalar(select(func.sum(HoldingTotal.count))) or 0)
        live_notes = int(session.scalar(select(func.count(Note.id)).where(Note.live.is_(True))) or 0)
    engine.dispose()
    if live_value != faces or total_notes != live_notes:
        raise RuntimeError(f"read model inconsistent: value {live_value} vs {faces}, notes {total_notes}/{live_notes}")
    return {
        "events": events,
        "blocks": head - ledger.deployment.block + 1,
        "seconds": round(elapsed, 2),
        "events_per_s": round(events / elapsed, 1),
        "range_size": range_size,
        "live_notes": live_notes,
    }


def run_section(ops: int = 20_000, senders: int = 42) -> dict[str, Any]:
    """The `python -m bench` section: its own fresh devchain; results under `indexer` + `indexer_events_per_s`."""
    with tempfile.TemporaryDirectory(prefix="scf-bench-indexer-") as tmp:
        data_dir = Path(tmp)
        devchain = DevChain(data_dir=data_dir, port=free_port())
        devchain.start()
        try:
            settings = Settings(data_dir=data_dir, rpc_port=devchain.port, api_port=free_port())  # type: ignore[call-arg]
            ledger = prepare_ledger(settings)
            log(f"building a chain of {ops:,}+ operations on {devchain.url}")
            chain = build_chain(ledger, devchain.url, ops, senders)
            log(f"chain: {chain}")
            result = catch_up(ledger, data_dir / "catchup.db")
            log(
                f"catch-up: {result['events']:,} events over {result['blocks']:,} blocks in {result['seconds']}s "
                f"= {result['events_per_s']:,.0f} events/s"
            )
        finally:
            devchain.stop()
    return {"indexer": {"chain": chain, "catch_up": result}, "indexer_events_per_s": result["events_per_s"]}


def markdown(results: dict[str, Any]) -> list[str]:
    section = results.get("indexer")
    if not section:
        return []
    chain, cu = section["chain"], section["catch_up"]
    return [
        "## Indexer catch-up",
        "",
        f"A fresh devchain (DevChain defaults) with {chain['operations']:,} operations: {chain['setup_txs']} setup"
        f" transactions (admissions, one receivable per supplier) and {chain['splits']:,} splits by"
        f" {chain['senders']} suppliers to one another (pre-signed, sent in waves of {WAVE}; built in"
        f" {chain['build_s']} s, {chain['splits_per_s']:,.0f} splits/s). A fresh SQLite read model then catches up"
        f" from the deployment block (`Indexer.sync()`, ranges of {cu['range_size']:,} blocks), timed; afterwards"
        " live values are checked against face values and `holding_totals` against the notes.",
        "",
        "| events | blocks | seconds | **events/s** | live notes |",
        "|---:|---:|---:|---:|---:|",
        f"| {cu['events']:,} | {cu['blocks']:,} | {cu['seconds']} | **{cu['events_per_s']:,.0f}** |"
        f" {cu['live_notes']:,} |",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.indexer", description=__doc__)
    parser.add_argument("--ops", type=int, default=20_000, help="splits to send (default 20000)")
    parser.add_argument("--senders", type=int, default=42, help="suppliers, each splitting its own note")
    args = parser.parse_args()
    results = run_section(args.ops, args.senders)
    print("\n".join(markdown(results)))


if __name__ == "__main__":
    main()
