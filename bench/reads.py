"""`python -m bench.reads`: read latency through the API with 100k and 1M notes in the read model.

Method: a fresh devchain (the product's configuration, `scripts.runtime.make_devchain`) with the suite deployed; the
API runs as `scf serve` in a subprocess (`bench.service.Server`, its background indexer on). Real members, a
receivable and a few split notes are made through the API, so GET /v1/verify/notes/{id} reads real notes from the
chain. The API is stopped, the read model is filled synthetically with bulk INSERTs (the driver's executemany) of
members, receivables, notes and their `holding_totals` (computed while generating the notes, with the receivables'
obligor and maturity copied in as the projections do) with a skew: one big holder with 18% of all notes, four with
3% each, the rest spread over 5,000 holders; 5,000 receivables of 20 obligors with maturities from 30 days past to
400 days ahead; 10% pledged, 10% not live. The API is started again and `--clients` concurrent HTTP clients (one
keep-alive connection each, threads of this process) send `--requests` requests per case; p50/p99 latency, requests
per second and the API process's CPU time per request (`cpu_ms_per_req`, read from /proc; the background indexer
included). Then the fill is extended to 1M notes and measured again. SQLite always; PostgreSQL when SCF_BENCH_PG_URL
is set (a database the benchmark may wipe: every table of the schema is dropped first), vacuumed and analysed after
each fill (`settle`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from sqlalchemy import Connection, Engine, Table, delete, func, insert, select, text
from sqlalchemy.orm import Session

from api.bootstrap import OPERATOR_KEY_FILE, ensure_operator_api_key
from api.settings import Settings
from bench.service import Server, tree_cpu_s
from chain.devnet.devchain import free_port
from chain.readmodel.indexer import read_checkpoint
from chain.readmodel.store import (
    Base,
    HoldingTotal,
    Member,
    Note,
    Receivable,
    create_schema,
    ensure_database,
    make_engine,
    table,
)
from scripts.runtime import Ledger, make_devchain, prepare_ledger

DAY = 86_400
SLOTS = 5_000
OBLIGORS = 20
HOLDERS = 5_000
MEMBER_BASE = 100_000  # synthetic member ids (real members are admitted first, with small ids)
SLOT_BASE = 10_000_000  # synthetic receivable ids
NOTE_BASE = 10**12  # synthetic note ids
BIG, MID = MEMBER_BASE + 1, [MEMBER_BASE + 2 + i for i in range(4)]
TYPICAL = MEMBER_BASE + 100 + 7


def log(msg: str) -> None:
    print(f"[bench.reads {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------------------------------ the fill
class Filler:
    """Synthetic rows appended to a read model; `holding_totals` kept equal to a GROUP BY over the notes."""

    def __init__(self, engine: Engine, now: int) -> None:
        self.engine = engine
        self.rng = random.Random(8)
        self.notes = 0
        self.totals: dict[tuple[int, int, int], list[int]] = defaultdict(lambda: [0, 0])
        members = [
            {
                "id": MEMBER_BASE + i,
                "account": "0x" + f"{MEMBER_BASE + i:040x}",
                "roles": 2,
                "status": "active",
                "kyc_hash": "0x" + "11" * 32,
                "group_id": 0,
                "credit_limit": 0,
                "outstanding": 0,
                "default_count": 0,
                "issuance_blocked": False,
                "admitted_block": 1,
                "admitted_tx": "00" * 32,
            }
            for i in range(1, 100 + HOLDERS + 1)
        ]
        receivables = [
            {
                "id": SLOT_BASE + slot,
                "obligor_id": MEMBER_BASE + 100 + HOLDERS + 1 + slot % OBLIGORS,
                "creditor_id": MEMBER_BASE + 100 + slot % HOLDERS,
                "face_value": 10**12,
                "cash_token": "0x" + "00" * 20,
                "maturity": now + self.rng.randint(-30, 400) * DAY,
                "invoice_hash": f"0x{SLOT_BASE + slot:064x}",
                "order_id": None,
                "status": "active",
                "first_note_id": NOTE_BASE + slot,
                "issued_block": 1,
                "issued_tx": "00" * 32,
            }
            for slot in range(SLOTS)
        ]
        obligors = [
            {**members[0], "id": MEMBER_BASE + 100 + HOLDERS + 1 + i, "account": "0x" + f"{9 * 10**9 + i:040x}"}
            for i in range(OBLIGORS)
        ]
        self.terms = {int(r["id"]): (int(r["obligor_id"]), int(r["maturity"])) for r in receivables}  # type: ignore[arg-type]
        with engine.begin() as conn:
            conn.execute(insert(table(Member)), members + obligors)
            conn.execute(insert(table(Receivable)), receivables)

    def _holder(self, roll: float) -> int:
        if roll < 0.18:
            return BIG
        if roll < 0.30:
            return MID[int((roll - 0.18) / 0.03)]
        return MEMBER_BASE + 100 + self.rng.randrange(HOLDERS)

    def grow(self, to_notes: int, chunk: int = 50_000) -> float:
        """Appends notes up to `to_notes` and rewrites the synthetic `holding_totals`; returns seconds."""
        started = time.monotonic()
        rng = self.rng
        while self.notes < to_notes:
            rows = []
            for _ in range(min(chunk, to_notes - self.notes)):
                note_id = NOTE_BASE + self.notes
                self.notes += 1
                holder = self._holder(rng.random())
                slot = SLOT_BASE + rng.randrange(SLOTS)
                lien = MEMBER_BASE + 2 if rng.random() < 0.1 else 0
                live = rng.random() < 0.9
                value = rng.randint(100, 10**7)
                rows.append((note_id, slot, holder, value, None, lien, live, 1, "00" * 32))
                if live:
                    total = self.totals[(holder, slot, lien)]
                    total[0] += 1
                    total[1] += value
            with self.engine.begin() as conn:
                _insert_rows(conn, table(Note), NOTE_COLUMNS, rows)
        totals = [(h, s, lien, c, v, *self.terms[s]) for (h, s, lien), (c, v) in self.totals.items()]
        with self.engine.begin() as conn:
            conn.execute(delete(table(HoldingTotal)).where(table(HoldingTotal).c.holder_id >= MEMBER_BASE))
            for start in range(0, len(totals), chunk):
                _insert_rows(conn, table(HoldingTotal), TOTAL_COLUMNS, totals[start : start + chunk])
        return time.monotonic() - started


NOTE_COLUMNS = (
    "id",
    "slot_id",
    "holder_id",
    "value",
    "parent_id",
    "lienholder_id",
    "live",
    "created_block",
    "created_tx",
)
TOTAL_COLUMNS = ("holder_id", "slot_id", "lienholder_id", "count", "value", "obligor_id", "maturity")


def _insert_rows(conn: Connection, target: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """The driver's executemany over plain tuples (SQLAlchemy's per-row dicts cost more than the inserts here)."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {target.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    conn.exec_driver_sql(sql, rows)


# ------------------------------------------------------------------------------------------ the server
def api_server(settings: Settings, workers: int = 0) -> Server:
    """`scf serve` in a subprocess (bench.service.Server) on this run's chain and database, up to 120 s to start;
    with `workers`, one writer process and that many reader processes (`SCF_WORKERS`)."""
    extra = {"SCF_DATABASE_URL": settings.effective_database_url, "SCF_WORKERS": str(workers)}
    return Server(settings.data_dir, settings.rpc_port, extra_env=extra).start(timeout=120)


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    return body


def make_real_notes(url: str, operator_key: str, splits: int) -> list[int]:
    """A core enterprise, two suppliers and a receivable through the API; the first supplier splits its note to
    the second `splits` times."""
    op = httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {operator_key}"})
    core = _ok(
        op.post(
            "/v1/members",
            json={"roles": ["core_enterprise"], "kyc_hash": "0x" + "21" * 32, "credit_limit": "1000000.00"},
        ),
        201,
    )
    supplier = _ok(op.post("/v1/members", json={"roles": ["supplier"], "kyc_hash": "0x" + "22" * 32}), 201)
    # a split goes to another member (a transfer to oneself is refused)
    tier2 = _ok(op.post("/v1/members", json={"roles": ["supplier"], "kyc_hash": "0x" + "23" * 32}), 201)
    core_client = httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {core['api_key']}"})
    sup_client = httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {supplier['api_key']}"})
    maturity = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 120 * DAY))
    body = {
        "creditor_id": supplier["member"]["id"],
        "face_value": "100000.00",
        "maturity": maturity,
        "invoice_hash": "0x" + os.urandom(32).hex(),
    }
    receivable = _ok(core_client.post("/v1/receivables", json=body), 201)
    ids = [int(receivable["first_note_id"])]
    for _ in range(splits):
        split = {"to": tier2["member"]["id"], "value": "200.00"}  # S-3: at least face / 500
        result = _ok(sup_client.post(f"/v1/notes/{ids[0]}/split", json=split), 201)
        ids.append(int(result["new_note"]["id"]))
    for client in (op, core_client, sup_client):
        client.close()
    return ids


# ------------------------------------------------------------------------------------------ the load
def measure(
    url: str, key: str, paths: list[str], requests: int, clients: int, pid: int | None = None
) -> dict[str, Any]:
    """`requests` GETs cycling over `paths`, spread over `clients` asyncio clients (aiohttp, one keep-alive
    connection each, one event loop in this process); every answer must be 200. With the server's `pid`, also
    its CPU time per request (`cpu_ms_per_req`: user + system time of the server process and its children (the
    reader processes of `scf serve --workers N`) over the run, the background indexer included, divided by the
    requests): on a shared machine latency follows the load, CPU per request much less. `client_cpu_ms_per_req`
    is this process's own CPU per request (the load generator's cost, on the same cores)."""
    return asyncio.run(_measure(url, key, paths, requests, clients, pid))


async def _measure(
    url: str, key: str, paths: list[str], requests: int, clients: int, pid: int | None
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    timeout = aiohttp.ClientTimeout(total=60)
    auth = {"Authorization": f"Bearer {key}"}
    sessions = [
        aiohttp.ClientSession(url, headers=auth, connector=aiohttp.TCPConnector(limit=1), timeout=timeout)
        for _ in range(clients)
    ]

    async def get(session: aiohttp.ClientSession, path: str) -> tuple[int, bytes]:
        async with session.get(path) as response:
            return response.status, await response.read()

    async def client(session: aiohttp.ClientSession, share: int, offset: int) -> None:
        for i in range(share):
            path = paths[(offset + i) % len(paths)]
            t0 = time.perf_counter()
            status, body = await get(session, path)
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                errors.append(f"{path}: {status} {body[:200].decode(errors='replace')}")

    try:
        await asyncio.gather(*(get(s, paths[0]) for s in sessions))  # warm every connection
        cpu0, own0 = tree_cpu_s(pid) if pid else 0.0, time.process_time()
        t0 = time.perf_counter()
        await asyncio.gather(*(client(s, requests // clients, i * 7) for i, s in enumerate(sessions)))
        elapsed = time.perf_counter() - t0
        cpu, own = (tree_cpu_s(pid) - cpu0 if pid else 0.0), time.process_time() - own0
    finally:
        for s in sessions:
            await s.close()
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. {errors[0]}")
    latencies.sort()
    return {
        "requests": len(latencies),
        "clients": clients,
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2),
        "req_per_s": round(len(latencies) / elapsed, 1),
        "cpu_ms_per_req": round(cpu * 1000 / len(latencies), 2) if pid else None,
        "client_cpu_ms_per_req": round(own * 1000 / len(latencies), 2),
    }


def settle(engine: Engine) -> None:
    """On PostgreSQL, `VACUUM (ANALYZE)` of the database after a fill: the state autovacuum keeps a database in that
    grew to this size over time (planner statistics, the visibility map that lets an index-only scan skip the
    heap). Without it autovacuum worked through the new rows while the first cases were measured (on 5 Dec at
    19:32 UTC it vacuumed and analysed `notes` and `holding_totals` during the 1M holdings_big case). SQLite: nothing
    (the service never runs ANALYZE there; its planner works without statistics)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))


def _reset(url: str) -> None:
    """Drops every table of the schema (a PostgreSQL database handed to the benchmark)."""
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    engine.dispose()


def seed(settings: Settings, splits: int) -> tuple[Ledger, Engine, str, list[int]]:
    """On the devchain of `settings` (started): the suite deployed, the schema, the operator's API key, and `splits`
    real notes made through the API (`scf serve` started and stopped again) and indexed. Returns the ledger, the
    read model's engine, the operator key and the real notes' ids."""
    ledger = prepare_ledger(settings)
    engine = make_engine(settings.effective_database_url)
    create_schema(engine)
    data_dir = settings.data_dir
    key = ensure_operator_api_key(engine, data_dir) or (data_dir / OPERATOR_KEY_FILE).read_text().strip()
    api = api_server(settings)
    try:
        real = make_real_notes(api.url, key, splits)
        head = int(ledger.w3.eth.block_number)
        deadline = time.monotonic() + 60
        while True:  # the read model has the real notes
            cp = read_checkpoint(engine)
            if cp is not None and cp[0] >= head:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the API's indexer did not catch up")
            time.sleep(0.2)
    finally:
        api.stop()
    return ledger, engine, key, real


def read_cases(size: int, real: list[int]) -> dict[str, list[str]]:
    """The measured requests per case (the paths a case cycles over) for a read model of `size` synthetic notes."""
    return {
        "holdings_big": [f"/v1/verify/holdings/{BIG}"],
        "holdings_typical": [f"/v1/verify/holdings/{TYPICAL + i}" for i in range(50)],
        "note": [f"/v1/notes/{NOTE_BASE + (i * 7919) % size}" for i in range(200)],
        "verify_note": [f"/v1/verify/notes/{n}" for n in real],
    }


def _profiler(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling the server's thread that holds the GIL (Python on CPU; SQLite and socket waits run with it
    released and are not sampled: without `--gil` py-spy counts the idle event loop and waiting threads as active)
    until interrupted; collapsed stacks to `out` (`python -m bench.profile_parts`). py-spy is not a dependency
    (`.venv/bin/pip install py-spy`); its pauses add to the profiled run's CPU figures."""
    command = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "-o", str(out)]
    command += ["--format", "raw", "--rate", "200", "--gil"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)  # attached before the first request
    return process


def measure_case(
    url: str, key: str, paths: list[str], requests: int, clients: int, pid: int | None, profile: Path | None
) -> dict[str, Any]:
    """`measure`, with py-spy on the server meanwhile when `profile` names a file."""
    if profile is None or pid is None:
        return measure(url, key, paths, requests, clients, pid)
    profiler = _profiler(pid, profile)
    try:
        return measure(url, key, paths, requests, clients, pid)
    finally:
        profiler.send_signal(signal.SIGINT)  # py-spy writes the stacks when interrupted
        profiler.wait(timeout=60)


def run_backend(
    name: str,
    database_url: str | None,
    sizes: list[int],
    requests: int,
    clients: int,
    splits: int,
    workers: int = 0,
    profile_dir: Path | None = None,
    cases: list[str] | None = None,
) -> dict[str, Any]:
    only = set(cases or [])
    with tempfile.TemporaryDirectory(prefix="scf-bench-reads-") as tmp:
        data_dir = Path(tmp)
        settings = Settings(data_dir=data_dir, rpc_port=free_port(), api_port=free_port(), database_url=database_url)
        if database_url:
            _reset(database_url)
        devchain = make_devchain(settings)
        devchain.start()
        try:
            ledger, engine, key, real = seed(settings, splits)
            now = int(ledger.w3.eth.get_block("latest")["timestamp"])
            filler = Filler(engine, now)
            results: dict[str, Any] = {"backend": name, "real_notes": len(real), "workers": workers, "sizes": {}}
            for size in sizes:
                fill_s = filler.grow(size)
                settle(engine)
                with Session(engine) as session:
                    big = int(
                        session.scalar(select(func.sum(HoldingTotal.count)).where(HoldingTotal.holder_id == BIG)) or 0
                    )
                    big_rows = int(
                        session.scalar(
                            select(func.count()).select_from(HoldingTotal).where(HoldingTotal.holder_id == BIG)
                        )
                        or 0
                    )
                    typical = int(
                        session.scalar(select(func.sum(HoldingTotal.count)).where(HoldingTotal.holder_id == TYPICAL))
                        or 0
                    )
                log(f"{name}: {size:,} synthetic notes filled in {fill_s:.1f}s (big holder {big:,} live notes)")
                chosen = {c: p for c, p in read_cases(size, real).items() if not only or c in only}
                api = api_server(settings, workers)
                try:
                    pid = api.process.pid if api.process else None
                    measured = {
                        case: measure_case(
                            api.url, key, paths, requests, clients, pid, _profile_file(profile_dir, name, size, case)
                        )
                        for case, paths in chosen.items()
                    }
                    # one client alone: the latency of a request that does not queue behind others on the GIL
                    single = {case: measure(api.url, key, paths, requests, 1, pid) for case, paths in chosen.items()}
                finally:
                    api.stop()
                for case, m in measured.items():
                    log(
                        f"{name} {size:,}: {case}: p50 {m['p50_ms']} ms, p99 {m['p99_ms']} ms, {m['req_per_s']} req/s, "
                        f"server CPU {m['cpu_ms_per_req']} ms/req"
                    )
                results["sizes"][str(size)] = {
                    "fill_s": round(fill_s, 1),
                    "big_holder_notes": big,
                    "big_holder_rows": big_rows,
                    "typical_holder_notes": typical,
                    **measured,
                    "one_client": single,
                }
            engine.dispose()
        finally:
            devchain.stop()
    return results


def _profile_file(profile_dir: Path | None, backend: str, size: int, case: str) -> Path | None:
    if profile_dir is None:
        return None
    profile_dir.mkdir(parents=True, exist_ok=True)
    return profile_dir / f"{backend}-{size}-{case}.txt"


# issue 24's read targets: 1M notes, 4 clients, p99 (ms), and the server's CPU per read (ms)
TARGET_P99_MS = {"holdings_typical": 25.0, "holdings_big": 50.0, "verify_note": 25.0}
TARGET_CPU_MS_PER_READ = 3.0
# results.json keys of the 1M-note, 4-client figures (SQLite; PostgreSQL's carry a `_postgresql` suffix)
P99_KEYS = {
    "holdings_typical": "holdings_p99_ms_1m_4clients",
    "holdings_big": "holdings_big_p99_ms_1m_4clients",
    "verify_note": "verify_p99_ms_1m_4clients",
}
CPU_KEY = "read_cpu_ms_per_req_1m_4clients"  # the most CPU of a typical read (typical holdings, note, verify)
BENCH_DATABASE = "scf_bench_reads"
DEFAULT_WORKERS = os.cpu_count() or 1  # readers on every core (`scf serve --workers N`)


def pg_bench_url(env: dict[str, str] | None = None) -> str | None:
    """The PostgreSQL database the read benchmark may wipe: SCF_BENCH_PG_URL as given, or a database of its own
    (`scf_bench_reads`, created when missing) on the server of the admin URL SCF_BENCH_PG_ADMIN_URL (what
    tools/postgres.sh prints; `make bench` passes it); None without either."""
    env = dict(os.environ) if env is None else env
    if env.get("SCF_BENCH_PG_URL"):
        return env["SCF_BENCH_PG_URL"]
    admin = env.get("SCF_BENCH_PG_ADMIN_URL")
    if not admin:
        return None
    return ensure_database(admin, BENCH_DATABASE)


def run_section(
    sizes: list[int] | None = None,
    requests: int = 200,
    clients: int = 4,
    workers: int = DEFAULT_WORKERS,
    profile_dir: Path | None = None,
    cases: list[str] | None = None,
    backends_wanted: list[str] | None = None,
) -> dict[str, Any]:
    """The `python -m bench` section: results under `reads`, plus issue 24's keys (`holdings_p99_ms_1m_4clients`
    and friends, SQLite; `_postgresql` for PostgreSQL when a database is given) and the older
    `holdings_p99_ms_1m` ones."""
    sizes = sizes or [100_000, 1_000_000]
    backends: list[tuple[str, str | None]] = [("sqlite", None)]
    pg = pg_bench_url()
    if pg:
        backends.append(("postgresql", pg))
    backends = [(n, u) for n, u in backends if not backends_wanted or n in backends_wanted]
    out: dict[str, Any] = {"reads": {"clients": clients, "requests": requests, "workers": workers, "backends": []}}
    for name, url in backends:
        run = run_backend(name, url, sizes, requests, clients, 20, workers, profile_dir, cases)
        out["reads"]["backends"].append(run)
    every_case = set(read_cases(1, []))
    for backend in out["reads"]["backends"]:
        at_1m = backend["sizes"].get("1000000")
        if not at_1m or not every_case <= set(at_1m):  # a partial run (--cases) claims no target figure
            continue
        suffix = "" if backend["backend"] == "sqlite" else f"_{backend['backend']}"
        for case, key in P99_KEYS.items():
            out[key + suffix] = at_1m[case]["p99_ms"]
        cpu = [at_1m[case]["cpu_ms_per_req"] for case in ("holdings_typical", "note", "verify_note")]
        if all(c is not None for c in cpu):
            out[CPU_KEY + suffix] = max(cpu)
    first = out["reads"]["backends"][0] if out["reads"]["backends"] else None
    sqlite = first["sizes"].get("1000000") if first and first["backend"] == "sqlite" else None
    if sqlite and every_case <= set(sqlite):
        out["holdings_p99_ms_1m"] = max(sqlite["holdings_big"]["p99_ms"], sqlite["holdings_typical"]["p99_ms"])
        out["verify_note_p99_ms_1m"] = sqlite["verify_note"]["p99_ms"]
        alone = sqlite.get("one_client", {})
        if alone:
            out["holdings_p99_ms_1m_one_client"] = max(
                alone["holdings_big"]["p99_ms"], alone["holdings_typical"]["p99_ms"]
            )
            out["verify_note_p99_ms_1m_one_client"] = alone["verify_note"]["p99_ms"]
    return out


def target_lines(results: dict[str, Any]) -> list[str]:
    """Issue 24's read targets against this run's 1M-note figures, per backend (measured / target)."""
    section = results.get("reads")
    if not section:
        return []
    lines = [
        "| backend | figure (results.json key) | measured | target | met? | measured / target |",
        "|---|---|---:|---|---|---:|",
    ]
    for backend in section["backends"]:
        if "1000000" not in backend["sizes"]:
            continue
        name = backend["backend"]
        suffix = "" if name == "sqlite" else f"_{name}"
        for case, key in P99_KEYS.items():
            value, target = results.get(key + suffix), TARGET_P99_MS[case]
            lines.append(
                f"| {name} | {case}, p99 (`{key + suffix}`) | {value} ms | < {target:g} ms |"
                f"{_verdict(value, target, below=True)} |"
            )
        value = results.get(CPU_KEY + suffix)
        lines.append(
            f"| {name} | server CPU per read, the most of typical holdings, note and verify (`{CPU_KEY + suffix}`) |"
            f" {value} ms | <= {TARGET_CPU_MS_PER_READ:g} ms |{_verdict(value, TARGET_CPU_MS_PER_READ)} |"
        )
    return lines if len(lines) > 2 else []


def _verdict(value: float | None, target: float, below: bool = False) -> str:
    """Met when `value` is at most `target` (strictly below it with `below`: "p99 < 25 ms")."""
    if value is None:
        return " - | - "
    met = value < target if below else value <= target
    return f" {'**met**' if met else '**not met**'} | {value / target:.2f}"


def markdown(results: dict[str, Any]) -> list[str]:
    section = results.get("reads")
    if not section:
        return []
    lines = [
        "## Reads through the API (100k and 1M notes)",
        "",
        "The read model is filled synthetically (bulk INSERTs of members, receivables, notes and their",
        "`holding_totals`, with skew: one holder with 18% of the notes, four with 3%, the rest over 5,000 holders;",
        "5,000 receivables of 20 obligors; 10% pledged, 10% not live) next to real notes made through the API.",
        "The API runs as `scf serve` in a subprocess against a running devchain with the deployed suite;",
        f"{section['clients']} concurrent keep-alive clients (asyncio, aiohttp, in the bench's process) send"
        f" {section['requests']} GETs per case; the API runs"
        + (
            f" as one writer and {section['workers']} reader processes (`scf serve --workers {section['workers']}`)."
            if section.get("workers")
            else " as one process."
        ),
        "`verify_note` is GET /v1/verify/notes/{id} on real notes (it reads the chain, not the read model);",
        "`note` is GET /v1/notes/{id} on synthetic notes; holdings: GET /v1/verify/holdings/{member} for the big",
        "holder and for 50 typical holders. Shared 2-core machine under load from other work: latencies are noisy;",
        "`server CPU ms/req` is the CPU time of the API's processes over the case (the background indexer and",
        "every reader process included) per request; `client CPU` is the load generator's own, on the same cores.",
        "",
        "The last two columns: the same case with one client alone (no queueing behind other requests).",
        "",
        "| backend | notes | case | holder's live notes (aggregate rows) | p50 ms | **p99 ms** | req/s"
        " | server CPU ms/req | client CPU ms/req | 1 client p50 ms | 1 client **p99 ms** |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for backend in section["backends"]:
        for size, row in backend["sizes"].items():
            for case in ("holdings_big", "holdings_typical", "note", "verify_note"):
                if case not in row:  # a partial run (--cases)
                    continue
                m = row[case]
                held = (
                    f"{row['big_holder_notes']:,} ({row['big_holder_rows']:,})"
                    if case == "holdings_big"
                    else f"~{row['typical_holder_notes']:,}"
                    if case == "holdings_typical"
                    else ""
                )
                one = row.get("one_client", {}).get(case)
                alone = f" {one['p50_ms']} | **{one['p99_ms']}** |" if one else "  |  |"
                lines.append(
                    f"| {backend['backend']} | {int(size):,} | {case} | {held} | {m['p50_ms']} | **{m['p99_ms']}** |"
                    f" {m['req_per_s']:,} | {m.get('cpu_ms_per_req') or ''} |"
                    f" {m.get('client_cpu_ms_per_req', '')} |{alone}"
                )
    lines.append("")
    targets = target_lines(results)
    if targets:
        lines += ["Issue 24's read targets (1M notes, 4 clients):", "", *targets, ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reads", description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000", help="note counts, comma-separated")
    parser.add_argument("--requests", type=int, default=200, help="requests per case (200: a p99 of 2 samples)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument(
        "--workers", type=int, default=DEFAULT_WORKERS, help="reader processes beside the writer (0: one process)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample the server with py-spy during each case's clients run: DIR/<backend>-<size>-<case>.txt "
        "(python -m bench.profile_parts FILE); the profiled runs' CPU figures include py-spy's pauses; "
        "use it with --workers 0 (py-spy samples the one server process, not a supervisor's children)",
    )
    parser.add_argument("--cases", help="only these cases, comma-separated (holdings_big,holdings_typical,note,...)")
    parser.add_argument("--backends", help="only these backends, comma-separated (sqlite, postgresql)")
    args = parser.parse_args()
    results = run_section(
        [int(s) for s in args.sizes.split(",")],
        args.requests,
        args.clients,
        args.workers,
        args.profile,
        args.cases.split(",") if args.cases else None,
        args.backends.split(",") if args.backends else None,
    )
    print("\n".join(markdown(results)))
    for key, value in results.items():
        if key != "reads":
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
