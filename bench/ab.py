"""`python -m bench.ab BEFORE AFTER`: an A/B of two versions of the API that can see a change of a few percent on a
shared, noisy machine.

Why: this machine's speed moves by 30-60% from one half hour to the next, so two probes run minutes apart (one per
version) cannot see a change smaller than that; the unchanged `GET /v1/notes/{id}` has measured 2.4 and 3.9 ms of
server CPU ten minutes apart. Here both versions run at the same time, on the same chain, and share the machine's
phase:

- **reads**: one read model (`bench.reads`: real notes made through the API, then a synthetic fill to `--notes`),
  copied; server A serves the copy of version BEFORE, server B the other copy with version AFTER; each client
  thread sends its requests to A and B in turn (A, B, then B, A, ...). Per case and client count: p50 / p99 of
  each side and each server's CPU per request (user + system from /proc, its background indexer included). SQLite
  files by default; `--backend postgresql` (with SCF_BENCH_PG_ADMIN_URL) fills a PostgreSQL database of this run
  and gives B a copy of it (`CREATE DATABASE ... TEMPLATE`); PostgreSQL's own CPU is in neither server's figure.
- **writes**: one data dir with 16 suppliers admitted and issued a receivable through the API, copied; both
  servers run at once, `--clients` client threads each, A's on suppliers 0-7 and B's on 8-15 (so the two never
  sign for one account), each posting splits for `--rounds` rounds. Per round: each server's CPU per split, p50
  / p99, splits/s. Each server also indexes the other's splits, alike for both.

BEFORE and AFTER are git revisions (a temporary worktree is made for each, removed afterwards) or paths of
existing checkouts. Both run the API code of their version against the contracts, `node_modules` and virtual
environment of this checkout (linked into the worktrees): the chain is deployed once, from this checkout's build.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from api.bootstrap import OPERATOR_KEY_FILE
from api.settings import Settings
from bench import reads as bench_reads
from bench.service import Server, populate
from bench.workload import percentile, start_workload
from chain.devnet.devchain import free_port
from scripts.runtime import make_devchain

ROOT = Path(__file__).resolve().parent.parent
LINKED = ("node_modules", "build", ".venv")  # what a bare worktree lacks to run the API


def log(msg: str) -> None:
    print(f"[bench.ab {time.strftime('%H:%M:%S')}] {msg}", flush=True)


@contextmanager
def checkout(version: str) -> Iterator[Path]:
    """A path of `version`: an existing directory as is, else a temporary git worktree of that revision."""
    if Path(version).is_dir():
        yield Path(version).resolve()
        return
    tree = Path(tempfile.mkdtemp(prefix="scf-ab-")) / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), version], check=True)
    try:
        for name in LINKED:
            if (ROOT / name).exists() and not (tree / name).exists():
                (tree / name).symlink_to(ROOT / name)
        yield tree
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(tree.parent, ignore_errors=True)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server(tree: Path, data_dir: Path, rpc_port: int, database_url: str | None = None) -> Server:
    url = database_url or f"sqlite:///{data_dir / 'scf.db'}"
    server = Server(data_dir, rpc_port, extra_env={"SCF_DATABASE_URL": url})
    server.cwd = tree  # the version's API code (python -c puts the working directory first on sys.path)
    return server.start(timeout=120)


def _pid(server: Server) -> int:
    assert server.process is not None
    return server.process.pid


def _run_both(threads: list[threading.Thread], a: Server, b: Server) -> dict[str, float]:
    """Runs the client threads to the end; the CPU seconds each server spent meanwhile."""
    before = {"a": _cpu_s(_pid(a)), "b": _cpu_s(_pid(b))}
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"a": _cpu_s(_pid(a)) - before["a"], "b": _cpu_s(_pid(b)) - before["b"]}


# ------------------------------------------------------------------------------------------------ reads
def run_reads(
    before: Path, after: Path, notes: int, requests: int, pg_admin: str | None = None
) -> list[dict[str, Any]]:
    """With `pg_admin` (an admin URL of a PostgreSQL server), the read model is a PostgreSQL database made for this
    run, copied for B as a template (`CREATE DATABASE ... TEMPLATE`), both dropped at the end; else SQLite files."""
    tmp = Path(tempfile.mkdtemp(prefix="scf-ab-reads-"))
    a_dir = tmp / "a"
    a_dir.mkdir()
    names = (f"scf_ab_reads_{os.getpid()}_a", f"scf_ab_reads_{os.getpid()}_b")
    a_url = _pg_database(pg_admin, names[0]) if pg_admin else None
    settings = Settings(data_dir=a_dir, rpc_port=free_port(), api_port=free_port(), database_url=a_url)
    devchain = make_devchain(settings)
    devchain.start()
    try:
        ledger, engine, key, real = bench_reads.seed(settings, 20)
        now = int(ledger.w3.eth.get_block("latest")["timestamp"])
        log(f"filling the read model to {notes:,} notes")
        bench_reads.Filler(engine, now).grow(notes)
        bench_reads.settle(engine)
        engine.dispose()
        b_dir = tmp / "b"
        shutil.copytree(a_dir, b_dir)
        b_url = _pg_database(pg_admin, names[1], template=names[0]) if pg_admin else None
        server_a = _server(before, a_dir, settings.rpc_port, a_url)
        server_b = _server(after, b_dir, settings.rpc_port, b_url)
        try:
            rows = []
            for case, paths in bench_reads.read_cases(notes, real).items():
                for clients in (1, 4):
                    databases = (pg_admin, {"a": names[0], "b": names[1]}) if pg_admin else None
                    row = _interleave(server_a, server_b, key, paths, requests, clients, databases)
                    rows.append({"case": case, "clients": clients, **row})
                    log(f"{case} x{clients}: {row}")
            return rows
        finally:
            server_a.stop()
            server_b.stop()
    finally:
        devchain.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        if pg_admin:
            for name in names:
                _pg_admin_run(pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_database(admin: str, name: str, template: str | None = None) -> str:
    """A new, empty PostgreSQL database `name` (or a copy of `template`) on the server of `admin`; its URL."""
    _pg_admin_run(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin_run(admin, f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


def _pg_admin_run(admin: str, statement: str) -> None:
    engine = create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def _interleave(
    a: Server,
    b: Server,
    key: str,
    paths: list[str],
    requests: int,
    clients: int,
    databases: tuple[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """With `databases` (the admin URL and each side's PostgreSQL database), also the CPU of each side's database
    backends per request (`db_cpu_ms_per_req`, from /proc: the server runs on this machine)."""
    latencies: dict[str, list[float]] = {"a": [], "b": []}
    errors: list[str] = []
    lock = threading.Lock()
    auth = {"Authorization": f"Bearer {key}"}

    def client(offset: int) -> None:
        sides = {name: httpx.Client(base_url=s.url, timeout=60, headers=auth) for name, s in (("a", a), ("b", b))}
        mine: dict[str, list[float]] = {"a": [], "b": []}
        try:
            for side in sides.values():  # warm: connections, caches
                for i in range(20):
                    side.get(paths[i % len(paths)])
            for i in range(requests // clients):
                for name in ("a", "b") if (i + offset) % 2 == 0 else ("b", "a"):
                    started = time.perf_counter()
                    response = sides[name].get(paths[(i + offset) % len(paths)])
                    mine[name].append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        with lock:
                            errors.append(f"{name}: {response.status_code} {response.text[:200]}")
        finally:
            for side in sides.values():
                side.close()
        with lock:
            for name, values in mine.items():
                latencies[name] += values

    backends = {side: _backends_cpu_s(databases[0], name) for side, name in databases[1].items()} if databases else {}
    spent = _run_both([threading.Thread(target=client, args=(k,)) for k in range(clients)], a, b)
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. {errors[0]}")
    row: dict[str, Any] = {}
    for name in ("a", "b"):
        row[f"{name}_p50_ms"] = round(percentile(latencies[name], 50), 2)
        row[f"{name}_p99_ms"] = round(percentile(latencies[name], 99), 2)
        row[f"{name}_cpu_ms_per_req"] = round(1000 * spent[name] / len(latencies[name]), 2)
        if databases:
            before, after = backends[name], _backends_cpu_s(databases[0], databases[1][name])
            used = sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
            row[f"{name}_db_cpu_ms_per_req"] = round(1000 * used / len(latencies[name]), 2)
    return row


def _backends_cpu_s(admin: str, database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to `database` (a backend that started later counts
    from zero; one that ended meanwhile is lost)."""
    engine = create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            pids = conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": database}).all()
    finally:
        engine.dispose()
    found = {}
    for pid in pids:
        try:
            found[int(pid)] = _cpu_s(int(pid))
        except OSError:  # ended meanwhile
            continue
    return found


# ------------------------------------------------------------------------------------------------ writes
def run_writes(before: Path, after: Path, clients: int, rounds: int, splits: int) -> list[dict[str, Any]]:
    tmp = Path(tempfile.mkdtemp(prefix="scf-ab-writes-"))
    a_dir = tmp / "a"
    a_dir.mkdir()
    workload = start_workload(a_dir, block_time=Settings().block_time, senders=1)
    try:
        port = workload.anvil.port
        first = _server(before, a_dir, port)
        key = (a_dir / OPERATOR_KEY_FILE).read_text().strip()
        holders, recipient = populate(first.url, key, 16)
        first.stop()
        b_dir = tmp / "b"
        shutil.copytree(a_dir, b_dir, ignore=shutil.ignore_patterns("anvil*", "*.state*"))
        server_a, server_b = _server(before, a_dir, port), _server(after, b_dir, port)
        try:
            _drive_both(server_a, server_b, holders, recipient, clients, 3)  # warm
            rows = []
            for number in range(rounds):
                row = {"round": number + 1, **_drive_both(server_a, server_b, holders, recipient, clients, splits)}
                rows.append(row)
                log(f"writes round {number + 1}: {row}")
            return rows
        finally:
            server_a.stop()
            server_b.stop()
    finally:
        workload.anvil.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _drive_both(
    a: Server, b: Server, holders: list[tuple[str, int]], recipient: int, clients: int, splits: int
) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {"a": [], "b": []}
    errors: list[str] = []
    lock = threading.Lock()

    finished: dict[str, float] = {}

    def client(name: str, url: str, supplier: int) -> None:
        key, note = holders[supplier]
        with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {key}"}) as http:
            for _ in range(splits):
                started = time.monotonic()
                response = http.post(
                    f"/v1/notes/{note}/split",
                    json={"to": recipient, "value": "200.00"},  # S-3: at least face / cap
                    headers={"Idempotency-Key": f"ab-{uuid.uuid4()}"},
                )
                with lock:
                    if response.status_code == 201:
                        latencies[name].append((time.monotonic() - started) * 1000)
                    else:
                        errors.append(f"{name}: {response.status_code} {response.text[:200]}")
        with lock:
            finished[name] = max(finished.get(name, 0.0), time.monotonic())

    threads = [threading.Thread(target=client, args=("a", a.url, k % 8)) for k in range(clients)]
    threads += [threading.Thread(target=client, args=("b", b.url, 8 + k % 8)) for k in range(clients)]
    started = time.monotonic()
    spent = _run_both(threads, a, b)
    if errors:
        raise RuntimeError(f"{len(errors)} splits failed, e.g. {errors[0]}")
    row: dict[str, Any] = {}
    for name in ("a", "b"):
        done = len(latencies[name])
        row[f"{name}_cpu_ms_per_split"] = round(1000 * spent[name] / done, 1)
        row[f"{name}_p50_ms"] = round(percentile(latencies[name], 50))
        row[f"{name}_p99_ms"] = round(percentile(latencies[name], 99))
        row[f"{name}_splits_per_s"] = round(done / (finished[name] - started), 1)  # until its last client ended
    return row


# ------------------------------------------------------------------------------------------------ report
def _ratio(before: float, after: float) -> str:
    return f"{after / before:.2f}" if before else "-"


def markdown(
    before: str, after: str, reads: list[dict[str, Any]], writes: list[dict[str, Any]], backend: str = "sqlite"
) -> list[str]:
    lines = [f"A = {before}, B = {after}, run at the same time (`python -m bench.ab`; reads on {backend}).", ""]
    if reads:
        lines += [
            "| case | clients | A p50 / p99 ms | B p50 / p99 ms | A CPU ms/req | B CPU ms/req | B/A CPU |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in reads:
            lines.append(
                f"| {r['case']} | {r['clients']} | {r['a_p50_ms']} / {r['a_p99_ms']} | {r['b_p50_ms']} / "
                f"{r['b_p99_ms']} | {r['a_cpu_ms_per_req']} | {r['b_cpu_ms_per_req']} | "
                f"{_ratio(r['a_cpu_ms_per_req'], r['b_cpu_ms_per_req'])} |"
            )
        if reads and "a_db_cpu_ms_per_req" in reads[0]:
            lines += [
                "",
                "PostgreSQL's backends (CPU ms per request, each side's database):",
                "",
                "| case | clients | A database CPU | B database CPU | B/A |",
                "|---|---:|---:|---:|---:|",
            ]
            for r in reads:
                a_db, b_db = r["a_db_cpu_ms_per_req"], r["b_db_cpu_ms_per_req"]
                lines.append(f"| {r['case']} | {r['clients']} | {a_db} | {b_db} | {_ratio(a_db, b_db)} |")
        lines.append("")
    if writes:
        lines += [
            "| round | A CPU ms/split | B CPU ms/split | A p50 / p99 ms | B p50 / p99 ms | A / B splits/s |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for w in writes:
            lines.append(
                f"| {w['round']} | {w['a_cpu_ms_per_split']} | {w['b_cpu_ms_per_split']} | {w['a_p50_ms']} / "
                f"{w['a_p99_ms']} | {w['b_p50_ms']} / {w['b_p99_ms']} | {w['a_splits_per_s']} / "
                f"{w['b_splits_per_s']} |"
            )
        a_cpu = statistics.median(w["a_cpu_ms_per_split"] for w in writes)
        b_cpu = statistics.median(w["b_cpu_ms_per_split"] for w in writes)
        lines += ["", f"Median CPU per split: A {a_cpu:.2f} ms, B {b_cpu:.2f} ms (B/A {_ratio(a_cpu, b_cpu)})."]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", help="git revision or checkout path (server A)")
    parser.add_argument("after", help="git revision or checkout path (server B)")
    parser.add_argument("--only", choices=("reads", "writes"), help="run one half")
    parser.add_argument("--notes", type=int, default=100_000, help="read model size for the reads (default 100k)")
    parser.add_argument("--requests", type=int, default=600, help="requests per side, case and client count")
    parser.add_argument("--clients", type=int, default=16, help="write clients per server (default 16)")
    parser.add_argument("--rounds", type=int, default=4, help="write rounds (default 4)")
    parser.add_argument("--splits", type=int, default=10, help="splits per write client per round (default 10)")
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the reads' read model: postgresql needs SCF_BENCH_PG_ADMIN_URL (what tools/postgres.sh prints)",
    )
    args = parser.parse_args()
    pg_admin = os.environ.get("SCF_BENCH_PG_ADMIN_URL") if args.backend == "postgresql" else None
    if args.backend == "postgresql" and not pg_admin:
        parser.error("--backend postgresql: set SCF_BENCH_PG_ADMIN_URL to an admin URL (bash tools/postgres.sh)")
    with checkout(args.before) as before, checkout(args.after) as after:
        reads = run_reads(before, after, args.notes, args.requests, pg_admin) if args.only != "writes" else []
        writes = run_writes(before, after, args.clients, args.rounds, args.splits) if args.only != "reads" else []
    print("\n".join(markdown(args.before, args.after, reads, writes, args.backend)))


if __name__ == "__main__":
    main()
