"""Load over real HTTP: 50 concurrent clients doing mixed splits, transfers and sales, nothing lost.

A private world (anvil, deployed suite, SQLite read model, uvicorn on a free port). Two scenarios:
- one member: 50 clients all act for the same supplier (its account signs every transaction);
- many members: 50 clients, each for a supplier of its own.
Each client sends its requests one after the other, each with an Idempotency-Key; a `409 request-in-flight`, a
503 or a transport error is retried with the same key until a definite answer comes back. Then:
- every request got a 2xx answer, and no 5xx was ever the final answer;
- each sender's nonces on chain are contiguous, one transaction per write;
- every note's value and holder on chain (and in the read model) and every cash balance on chain equal the
  ledger computed here from the plan and the answers (split and sale values are known in advance; a sale's
  price is what its answer says, and the cash that moved on chain must equal the sum of those prices).
The same run measures the chain's raw ceiling (pre-signed splits sent straight to anvil, bench/rpc.py) and
prints both. Two sizes (tests/stress/harness.py SIZES): "fast" in `make test` (50 clients x 2 requests per
scenario, 20 raw splits per sender), "long" in `make stress` (50 x 10, 100 raw splits per sender).
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from web3 import Web3
from web3.contract import Contract

from api.amounts import format_amount, parse_amount
from bench.rpc import Rpc, RpcError, Wallet, calldata, minted_ids
from chain.node.client import contract
from tests.conftest import PrivateWorld, private_world, random_hash, with_mint_ceiling
from tests.stress.harness import SIZES

CLIENTS = 50
TIER2 = 5  # members that receive split and transferred value
RETRYABLE_409 = "request-in-flight"
MAX_ATTEMPTS = 40
SPLIT = parse_amount("200.00")  # S-3: a 100,000.00 receivable's notes hold at least face / 500
SALE = parse_amount("200.00")
RESULTS: dict[str, dict[str, Any]] = {}


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    seconds: float  # from the first send to the definite answer
    retries: int
    transient: list[int]  # statuses (or 0 for a transport error) that were retried


@dataclass
class Op:
    kind: str  # split, sale, transfer
    member: str
    path: str
    body: dict[str, Any]
    note_id: int  # the note split, sold from or transferred
    to: str = ""  # the receiving member (split, transfer)
    answer: Answer | None = None


@dataclass
class Party:
    id: int
    account: str
    key: str


@dataclass
class Scenario:
    name: str
    parties: dict[str, Party] = field(default_factory=dict)
    ops: list[list[Op]] = field(default_factory=list)  # one sequence per client


class Api:
    """HTTP clients per API key (one connection pool each), and the retrying sender."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()

    def client(self, key: str) -> httpx.Client:
        with self._lock:
            if key not in self._clients:
                limits = httpx.Limits(max_connections=CLIENTS + 5)
                self._clients[key] = httpx.Client(
                    base_url=self.url, timeout=120, limits=limits, headers={"Authorization": f"Bearer {key}"}
                )
            return self._clients[key]

    def close(self) -> None:
        for c in self._clients.values():
            c.close()

    def send(self, key: str, path: str, body: dict[str, Any]) -> Answer:
        """POST with an Idempotency-Key, retried with the same key until the answer is definite."""
        idem = f"load-{uuid.uuid4()}"
        transient: list[int] = []
        started = time.monotonic()
        for attempt in range(MAX_ATTEMPTS):
            try:
                response = self.client(key).post(path, json=body, headers={"Idempotency-Key": idem})
            except httpx.TransportError:
                transient.append(0)
            else:
                retry = response.status_code == 503 or (
                    response.status_code == 409 and response.json().get("type", "").endswith(RETRYABLE_409)
                )
                if not retry:
                    return Answer(response.status_code, response.json(), time.monotonic() - started, attempt, transient)
                transient.append(response.status_code)
            time.sleep(min(0.1 * (attempt + 1), 1.0))
        raise AssertionError(f"POST {path}: no definite answer after {MAX_ATTEMPTS} attempts ({transient})")

    def must(self, key: str, path: str, body: dict[str, Any], status: int) -> dict[str, Any]:
        answer = self.send(key, path, body)
        assert answer.status == status, f"POST {path}: {answer.status} {answer.body}"
        return answer.body


def _parallel(jobs: list[Any], fn: Any, workers: int = 8) -> list[Any]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, jobs))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateWorld]:
    with private_world(Path(tmp_path_factory.mktemp("load"))) as w:
        yield w


@pytest.fixture(scope="module")
def api(world: PrivateWorld) -> Iterator[Api]:
    client = Api(world.server.url)
    yield client
    client.close()


def _admit(api: Api, op_key: str, names: list[str], roles: list[str], **extra: str) -> dict[str, Party]:
    def admit(name: str) -> tuple[str, Party]:
        admission = with_mint_ceiling(roles, {"roles": roles, "kyc_hash": random_hash(), **extra})
        body = api.must(op_key, "/v1/members", admission, 201)
        return name, Party(body["member"]["id"], Web3.to_checksum_address(body["member"]["account"]), body["api_key"])

    return dict(_parallel(names, admit))


def _issue(api: Api, core: Party, creditor: Party, face: str) -> int:
    body = {
        "creditor_id": creditor.id,
        "face_value": face,
        "maturity": (date.today() + timedelta(days=90)).isoformat(),
        "invoice_hash": random_hash(),
    }
    return int(api.must(core.key, "/v1/receivables", body, 201)["first_note_id"])


def _plan(api: Api, world: PrivateWorld, name: str, one_member: bool, max_live: int, requests: int) -> Scenario:
    """Members, notes and offers through the API; then each client's sequence of requests (kinds interleaved)."""
    s = Scenario(name)
    op_key = world.operator_key
    s.parties |= _admit(api, op_key, ["core"], ["core_enterprise"], credit_limit="1000000000.00")
    sellers = ["seller"] if one_member else [f"seller{i}" for i in range(CLIENTS)]
    s.parties |= _admit(api, op_key, sellers + [f"tier2_{i}" for i in range(TIER2)], ["supplier"])
    s.parties |= _admit(api, op_key, ["bank"], ["financier"])
    core, bank = s.parties["core"], s.parties["bank"]
    api.must(bank.key, "/v1/cash/mint", {"member_id": bank.id, "amount": "10000000.00", "reference": name}, 201)

    kinds = [[("split", "sale", "transfer")[(c + r) % 3] for r in range(requests)] for c in range(CLIENTS)]
    seller_of = [sellers[0] if one_member else sellers[c] for c in range(CLIENTS)]
    # main notes: each takes the splits and sales of some clients, within the contract's live-note cap per slot
    per_main = max(1, (max_live - 2) // requests)
    mains = {c: c // per_main if one_member else c for c in range(CLIENTS)}
    main_ids = _parallel(
        sorted(set(mains.values())),
        lambda m: _issue(api, core, s.parties[seller_of[m * per_main] if one_member else sellers[m]], "100000.00"),
    )
    transfers = [(c, r) for c in range(CLIENTS) for r in range(requests) if kinds[c][r] == "transfer"]
    whole = dict(
        zip(
            transfers,
            _parallel(transfers, lambda cr: _issue(api, core, s.parties[seller_of[cr[0]]], "10.00")),
            strict=True,
        )
    )

    def offer(cr: tuple[int, int]) -> int:
        note = main_ids[mains[cr[0]]]
        body = {
            "note_id": note,
            "value": format_amount(SALE),
            "rate_bps": 500,
            "recourse": False,
            "expires_at": (date.today() + timedelta(days=5)).isoformat(),
        }
        return int(api.must(bank.key, "/v1/financing/offers", body, 201)["id"])

    sales = [(c, r) for c in range(CLIENTS) for r in range(requests) if kinds[c][r] == "sale"]
    offers = dict(zip(sales, _parallel(sales, offer), strict=True))
    for c in range(CLIENTS):
        seq = []
        for r, kind in enumerate(kinds[c]):
            main, to = main_ids[mains[c]], f"tier2_{(c + r) % TIER2}"
            if kind == "split":
                body = {"to": s.parties[to].id, "value": format_amount(SPLIT)}
                seq.append(Op(kind, seller_of[c], f"/v1/notes/{main}/split", body, main, to))
            elif kind == "sale":
                seq.append(Op(kind, seller_of[c], f"/v1/financing/offers/{offers[(c, r)]}/accept", {}, main))
            else:
                note = whole[(c, r)]
                seq.append(Op(kind, seller_of[c], f"/v1/notes/{note}/transfer", {"to": s.parties[to].id}, note, to))
        s.ops.append(seq)
    return s


def _run(api: Api, s: Scenario) -> float:
    """Every client's sequence in its own thread, all at once; returns the wall time."""

    def client(seq: list[Op]) -> None:
        for op in seq:
            op.answer = api.send(s.parties[op.member].key, op.path, op.body)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(client, s.ops))
    return time.monotonic() - started


@dataclass
class Expected:
    values: dict[int, int] = field(default_factory=dict)
    holders: dict[int, str] = field(default_factory=dict)
    cash: dict[str, int] = field(default_factory=dict)  # change per member
    txs: dict[str, int] = field(default_factory=dict)  # transactions per member


def _sender_nonces(world: PrivateWorld, first_block: int, accounts: set[str]) -> dict[str, list[int]]:
    w3 = world.ledger.w3
    nonces: dict[str, list[int]] = {a: [] for a in accounts}
    for number in range(first_block, w3.eth.block_number + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            sender = tx["from"]  # type: ignore[index]
            if sender in nonces:
                nonces[sender].append(int(tx["nonce"]))  # type: ignore[index]
    return nonces


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@pytest.mark.chain
@pytest.mark.parametrize("long", SIZES)
@pytest.mark.parametrize("one_member", [True, False], ids=["one-member", "many-members"])
def test_concurrent_clients_lose_nothing(world: PrivateWorld, api: Api, one_member: bool, long: bool) -> None:
    requests = 10 if long else 2  # per client
    ledger = world.ledger
    notes = contract(ledger.w3, ledger.deployment, ledger.artifacts, "ReceivableNotes")
    cash = contract(ledger.w3, ledger.deployment, ledger.artifacts, "CashToken")
    max_live = int(notes.functions.maxLiveNotesPerSlot().call()) or 10_000
    name = ("one-member" if one_member else "many-members") + (" (long)" if long else "")
    s = _plan(api, world, name, one_member, max_live, requests)
    members = {op.member for seq in s.ops for op in seq} | {"bank"}
    accounts = {s.parties[m].account: m for m in members}
    cash_before = {m: int(cash.functions.balanceOf(s.parties[m].account).call()) for m in members}
    nonce_before = {a: ledger.w3.eth.get_transaction_count(a) for a in accounts}  # type: ignore[arg-type]
    first_block = ledger.w3.eth.block_number + 1
    expected_before = _expected_values_before(s, notes)

    wall = _run(api, s)

    ops = [op for seq in s.ops for op in seq]
    answers = [op.answer for op in ops if op.answer is not None]
    assert len(answers) == len(ops) == CLIENTS * requests
    failed = [
        (op.kind, op.path, op.answer.status, op.answer.body) for op in ops if op.answer and op.answer.status >= 300
    ]
    assert not failed, failed[:5]
    e = _apply(s, expected_before)

    # nonces: contiguous per sender, exactly one transaction per write, nothing from the bank during the run
    nonces = _sender_nonces(world, first_block, set(accounts))
    for account, member in accounts.items():
        sent = sorted(nonces[account])
        assert sent == list(range(nonce_before[account], nonce_before[account] + len(sent))), (member, sent)
        assert len(sent) == e.txs.get(member, 0), (member, len(sent), e.txs.get(member, 0))

    # notes on chain and in the read model, cash on chain
    op_client = api.client(world.operator_key)
    for note_id, value in e.values.items():
        holder = s.parties[e.holders[note_id]]
        assert int(notes.get_function_by_signature("balanceOf(uint256)")(note_id).call()) == value, note_id
        assert Web3.to_checksum_address(notes.functions.ownerOf(note_id).call()) == holder.account, note_id
        read = op_client.get(f"/v1/notes/{note_id}").json()
        assert (parse_amount(read["value"]), read["holder_id"]) == (value, holder.id), read
    for member in members:
        now = int(cash.functions.balanceOf(s.parties[member].account).call())
        assert now - cash_before[member] == e.cash.get(member, 0), member

    latencies = [a.seconds for a in answers]
    RESULTS[s.name] = {
        "requests": len(answers),
        "retried": sum(1 for a in answers if a.retries),
        "transient_5xx": sum(1 for a in answers for t in a.transient if t >= 500),
        "per_s": len(answers) / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "wall_s": wall,
    }


def _expected_values_before(s: Scenario, notes: Contract) -> Expected:
    """Each touched note's value and holder before the run, read from the chain."""
    e = Expected()
    for op in (op for seq in s.ops for op in seq):
        if op.note_id not in e.values:
            e.values[op.note_id] = int(notes.get_function_by_signature("balanceOf(uint256)")(op.note_id).call())
            e.holders[op.note_id] = op.member
    return e


def _apply(s: Scenario, e: Expected) -> Expected:
    """The ledger after the run: the state before it plus each request's planned effect and answer."""
    created: list[int] = []
    for op in (op for seq in s.ops for op in seq):
        assert op.answer is not None
        body = op.answer.body
        e.txs[op.member] = e.txs.get(op.member, 0) + 1
        if op.kind == "split":
            new = int(body["new_note"]["id"])
            e.values[op.note_id] -= SPLIT
            e.values[new], e.holders[new] = SPLIT, op.to
            created.append(new)
        elif op.kind == "sale":
            new, price = int(body["note_id"]), parse_amount(body["price"])
            assert body["financier_id"] == s.parties["bank"].id and parse_amount(body["value"]) == SALE, body
            e.values[op.note_id] -= SALE
            e.values[new], e.holders[new] = SALE, "bank"
            e.cash[op.member] = e.cash.get(op.member, 0) + price
            e.cash["bank"] = e.cash.get("bank", 0) - price
            created.append(new)
        else:
            assert body["holder_id"] == s.parties[op.to].id, body
            e.holders[op.note_id] = op.to
    assert len(created) == len(set(created)), "a note id was answered twice"
    return e


# ------------------------------------------------------------------ raw ceiling, measured in the same run

RAW_SENDERS = 10
CORE_ROLE, SUPPLIER_ROLE = 1, 2
ADMIT = "admit(address,uint8,bytes32,uint64,uint128)"
ISSUE = "issue(address,uint128,address,uint64,bytes32)"
SPLIT_SIG = "transferFrom(uint256,address,uint256)"


def _send(rpc: Rpc, chain_id: int, wallet: Wallet, to: str, data: str, gas: int = 1_000_000) -> dict[str, Any]:
    tx_hash = rpc.call("eth_sendRawTransaction", wallet.sign(chain_id, to, data, gas))
    for _ in range(2000):
        receipt = rpc.call("eth_getTransactionReceipt", tx_hash)
        if receipt is not None:
            assert int(receipt["status"], 16) == 1, f"raw setup tx {data[:10]} reverted"
            return dict(receipt)
        time.sleep(0.01)
    raise RpcError(f"no receipt for {tx_hash}")


RAW_FACE = 10**12  # minor units of each sender's note
RAW_SPLIT = RAW_FACE // 500  # S-3: a split is at least face / cap (500 live notes a receivable)


def _raw_ceiling(world: PrivateWorld, splits: int) -> dict[str, Any]:
    """Pre-signed splits by RAW_SENDERS accounts sent straight to anvil (batched JSON-RPC), until all are mined."""
    ledger = world.ledger
    rpc = Rpc(world.chain.url)
    chain_id = int(rpc.call("eth_chainId"), 16)
    registry, notes, cash = (ledger.deployment.address(n) for n in ("MemberRegistry", "ReceivableNotes", "CashToken"))
    operator = Wallet(ledger.operator)
    core = Wallet.from_label(f"load-core-{uuid.uuid4()}")
    senders = [Wallet.from_label(f"load-sender-{uuid.uuid4()}") for _ in range(RAW_SENDERS)]
    for w in [operator, core, *senders]:
        rpc.call("anvil_setBalance", w.address, hex(10**22))
        w.nonce = int(rpc.call("eth_getTransactionCount", w.address, "pending"), 16)
    kyc = b"\x22" * 32
    _send(rpc, chain_id, operator, registry, calldata(ADMIT, core.address, CORE_ROLE, kyc, 7_000, 10**15))
    maturity = int(rpc.call("eth_getBlockByNumber", "latest", False)["timestamp"], 16) + 90 * 86400
    note_ids = []
    for i, w in enumerate(senders):
        _send(rpc, chain_id, operator, registry, calldata(ADMIT, w.address, SUPPLIER_ROLE, kyc, 7_001 + i, 0))
        invoice = uuid.uuid4().bytes * 2
        receipt = _send(rpc, chain_id, core, notes, calldata(ISSUE, w.address, RAW_FACE, cash, maturity, invoice))
        note_ids.append(minted_ids(receipt)[0])
    probe = {
        "from": senders[0].address,
        "to": notes,
        "data": calldata(SPLIT_SIG, note_ids[0], senders[1].address, RAW_SPLIT),
    }
    gas = int(rpc.call("eth_estimateGas", probe), 16)
    signed = [
        w.sign(
            chain_id,
            notes,
            calldata(SPLIT_SIG, note_ids[i], senders[(i + 1) % RAW_SENDERS].address, RAW_SPLIT + k),
            gas * 2,
        )
        for k in range(splits)
        for i, w in enumerate(senders)
    ]
    targets = {w.address: w.nonce for w in senders}
    started = time.monotonic()
    hashes: list[str] = []
    for j in range(0, len(signed), 100):
        hashes += rpc.batch([("eth_sendRawTransaction", [raw]) for raw in signed[j : j + 100]])
    deadline, last, stalled = time.monotonic() + 120, -1, time.monotonic()
    while True:
        counts = [int(c, 16) for c in rpc.batch([("eth_getTransactionCount", [a, "latest"]) for a in targets])]
        if all(c >= t for c, t in zip(counts, targets.values(), strict=True)):
            break
        assert time.monotonic() < deadline, "raw splits not mined within 120 s"
        if sum(counts) != last:
            last, stalled = sum(counts), time.monotonic()
        elif time.monotonic() - stalled > 0.5:
            rpc.call("evm_mine")  # anvil's automine can leave ready transactions in the pool after a burst
            stalled = time.monotonic()
        time.sleep(0.005)
    seconds = time.monotonic() - started
    receipts = []
    for j in range(0, len(hashes), 200):
        receipts += rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes[j : j + 200]])
    assert all(r is not None and int(r["status"], 16) == 1 for r in receipts), "a raw split failed"
    return {"requests": len(signed), "per_s": len(signed) / seconds, "wall_s": seconds}


@pytest.mark.chain
@pytest.mark.parametrize("long", SIZES)
def test_raw_ceiling_and_report(world: PrivateWorld, capsys: pytest.CaptureFixture[str], long: bool) -> None:
    """Runs after the scenarios (the operator's raw transactions would confuse the service's signer mid-run)."""
    splits = 100 if long else 20  # per sender
    raw = _raw_ceiling(world, splits)
    assert raw["requests"] == RAW_SENDERS * splits
    RESULTS["raw chain (pre-signed splits)" + (" (long)" if long else "")] = raw
    lines = [f"{'load':<30} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'retried':>7} {'503s':>5}"]
    for name, r in RESULTS.items():
        p50, p99 = (f"{r[k]:.0f}" if k in r else "-" for k in ("p50_ms", "p99_ms"))
        retried, transient = (str(r.get(k, "-")) for k in ("retried", "transient_5xx"))
        lines.append(f"{name:<30} {r['requests']:>8} {r['per_s']:>8.1f} {p50:>8} {p99:>8} {retried:>7} {transient:>5}")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
