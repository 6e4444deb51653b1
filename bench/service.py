"""`python -m bench.service` (and a section of `python -m bench`): splits through the HTTP API against the raw
ceiling measured on the same chain in the same run.

Setup: a fresh devchain with the product's defaults (DevChain via `scripts.runtime.make_devchain`, i.e. the
mining mode `Settings.block_time` selects), the suite deployed, then the API served by a real uvicorn in a
subprocess exactly as `scf serve` runs it. Through the API (operator key): a core enterprise, `--suppliers`
suppliers and a recipient are admitted (the service holds their keys: key custody), the core issues one
100,000.00 receivable (bench.workload.FACE) per client of the largest level, round-robin over the suppliers.
Client k posts `POST /v1/notes/{id}/split` of 200.00 (RAW_SPLIT = face / 500, S-3: a note carries 499) from
note k with its own Idempotency-Key over a keep-alive connection; a 201 means the split is mined and indexed
(read-your-writes). Latency = request sent to response read, per request.

The clients are asyncio (aiohttp, web3's own HTTP client) in this process, so 128 clients cost one event loop;
its CPU per split is reported beside the server's. Levels with a request count (`requests`: 1, 8, 32 clients)
send that many splits; the others (128) run for `--duration` seconds, each client sending until then.

Server CPU per split: user + system time from /proc/<pid>/stat of the server process and its descendants (the API
and its indexer thread are one process), the delta over a level's drive divided by the splits answered;
`api_cpu_ms_per_split` is the median over the levels without failed requests.

Floor in the same run (bench.floor): a bare FastAPI route that signs and sends the same split (no database,
indexer, audit or wait for the block), served by uvicorn as `scf serve` serves the API, driven by the same client
at the same levels (a request count everywhere: it answers after the send), its CPU per split counted the same way;
its senders split their second notes, the raw ceiling their first.

Raw ceiling in the same run: `--raw` pre-signed raw splits from S other members straight to the node
(bench.workload.blast), on the same chain after the service phases, with the server stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from api.bootstrap import OPERATOR_KEY_FILE
from api.settings import Settings
from bench.workload import (
    FACE,
    MAX_SPLITS_PER_NOTE,
    RAW_SPLIT,
    Workload,
    blast,
    cpu_s,
    log,
    percentile,
    rss_mb,
    start_workload,
)
from chain.devnet.devchain import free_port

BENCH_DIR = Path(__file__).resolve().parent
OUT = BENCH_DIR / "service.json"
SPLIT_VALUE = f"{RAW_SPLIT / 100:.2f}"  # S-3: at least face / 500 (a note's live-note cap), so 499 splits fit
FACE_VALUE = f"{FACE / 100:.2f}"
PROFILE_RATE = 200  # py-spy samples per second
TARGET_API_CPU_MS = 6.0  # issue 24: server CPU per split, median
TARGET_SPLITS_PER_S_128 = 150.0  # 128 clients, sustained for 60 s
TARGET_P99_MS_128 = 1500.0  # 3 blocks of 0.5 s


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) of `root` and its descendants so far, a py-spy profiler among them left out."""
    parents: dict[int, int] = {}
    comms: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        comm, rest = text[text.index("(") + 1 : text.rindex(")")], text.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = int(rest[1])
        comms[int(entry.name)] = comm
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(cpu_s(pid) for pid in tree if comms.get(pid) != "py-spy")


class Server:
    """`scf serve` in a subprocess (uvicorn, the app factory, the background indexer). `workers`: reader processes
    beside the writer (`scf serve --workers N`, SCF_WORKERS); their CPU counts with `tree_cpu_s(pid)`."""

    def __init__(
        self, data_dir: Path, rpc_port: int, extra_env: dict[str, str] | None = None, workers: int = 0
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "SCF_DATA_DIR": str(data_dir),
            "SCF_RPC_PORT": str(rpc_port),
            "SCF_API_PORT": str(self.port),
            "SCF_WORKERS": str(workers),
            **(extra_env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("the server is not running")
        return self.process.pid

    def command(self) -> list[str]:
        return [sys.executable, "-c", "from scripts.cli import main; main()", "serve"]

    # `python -c` puts the working directory first on sys.path: run in the tree this bench belongs to, so a
    # bench run from another checkout (an A/B against a git worktree) serves that checkout's code, not whatever
    # tree the shell was in or the editable install points at.
    cwd = BENCH_DIR.parent

    def start(self, prefix: list[str] | None = None, timeout: float = 60.0) -> Server:
        log_file = (self.data_dir / "api.log").open("ab")
        self.process = subprocess.Popen(
            (prefix or []) + self.command(), env=self.env, stdout=log_file, stderr=subprocess.STDOUT, cwd=self.cwd
        )
        log_file.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"scf serve exited: {(self.data_dir / 'api.log').read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"scf serve did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn shuts down cleanly; py-spy writes its profile
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class FloorServer(Server):
    """bench.floor (a bare FastAPI route that signs and sends a split) in a subprocess, for the workload's senders:
    sender i's bearer token is `floor-i`."""

    def __init__(self, data_dir: Path, wl: Workload) -> None:
        keys = {f"floor-{i}": "0x" + bytes(w.account.key).hex() for i, w in enumerate(wl.senders)}
        super().__init__(data_dir, wl.anvil.port)
        self.env.update(
            {
                "SCF_FLOOR_PORT": str(self.port),
                "SCF_FLOOR_RPC_URL": wl.url,
                "SCF_FLOOR_NOTES": wl.notes,
                "SCF_FLOOR_RECIPIENT": wl.recipient.address,
                "SCF_FLOOR_KEYS": json.dumps(keys),
            }
        )

    def command(self) -> list[str]:
        return [sys.executable, "-m", "bench.floor"]


def _ok(response: httpx.Response, status: int) -> dict[str, Any]:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    return body


def populate(
    url: str, operator_key: str, suppliers: int, notes: int | None = None
) -> tuple[list[tuple[str, int]], int]:
    """Admits a core, the suppliers and a recipient through the API; the core issues `notes` receivables of FACE
    (default one per supplier), round-robin over the suppliers. Returns [(supplier API key, note id)] and the
    recipient's member id."""
    auth = {"Authorization": f"Bearer {operator_key}"}
    with httpx.Client(base_url=url, timeout=120, headers=auth) as op:

        def admit(roles: list[str], **extra: Any) -> dict[str, Any]:
            body = {"roles": roles, "kyc_hash": "0x" + uuid.uuid4().hex * 2, **extra}
            return _ok(op.post("/v1/members", json=body), 201)

        core = admit(["core_enterprise"], credit_limit="100000000.00")
        recipient = admit(["supplier"])
        admitted = [admit(["supplier"]) for _ in range(suppliers)]
    maturity = (date.today() + timedelta(days=90)).isoformat()
    with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {core['api_key']}"}) as c:

        def issue(k: int) -> tuple[str, int]:
            s = admitted[k % suppliers]
            body = {
                "creditor_id": s["member"]["id"],
                "face_value": FACE_VALUE,
                "maturity": maturity,
                "invoice_hash": "0x" + uuid.uuid4().hex * 2,
            }
            return s["api_key"], _ok(c.post("/v1/receivables", json=body), 201)["first_note_id"]

        with ThreadPoolExecutor(16) as pool:  # each issue waits for its block: 16 at a time
            holders = list(pool.map(issue, range(notes or suppliers)))
    return holders, int(recipient["member"]["id"])


def drive(
    url: str,
    holders: list[tuple[str, int]],
    recipient: int,
    clients: int,
    requests: int,
    *,
    duration: float | None = None,
    server_pid: int | None = None,
) -> dict[str, Any]:
    """`requests` splits over `clients` asyncio clients (or, with `duration`, as many as they send in that many
    seconds); client k keeps one connection and posts from note k mod len(holders). With `server_pid`, that
    server's CPU per split (its process tree); always this process's (the load generator's)."""
    return asyncio.run(_drive(url, holders, recipient, clients, requests, duration, server_pid))


async def _drive(
    url: str,
    holders: list[tuple[str, int]],
    recipient: int,
    clients: int,
    requests: int,
    duration: float | None,
    server_pid: int | None,
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    per_client = [requests // clients + (1 if k < requests % clients else 0) for k in range(clients)]
    deadline = None if duration is None else time.monotonic() + duration

    timeout = aiohttp.ClientTimeout(total=120)

    async def client(k: int) -> None:
        key, note = holders[k % len(holders)]
        connector = aiohttp.TCPConnector(limit=1)  # one keep-alive connection per client
        auth = {"Authorization": f"Bearer {key}"}
        async with aiohttp.ClientSession(url, headers=auth, connector=connector, timeout=timeout) as c:
            sent = 0
            while time.monotonic() < deadline if deadline is not None else sent < per_client[k]:
                sent += 1
                t = time.monotonic()
                async with c.post(
                    f"/v1/notes/{note}/split",
                    json={"to": recipient, "value": SPLIT_VALUE},
                    headers={"Idempotency-Key": f"bench-{uuid.uuid4()}"},
                ) as r:
                    body = await r.read()
                elapsed = (time.monotonic() - t) * 1000
                if r.status == 201:
                    latencies.append(elapsed)
                else:
                    errors.append(f"{r.status} {body[:200].decode(errors='replace')}")

    lags: list[int] = []
    done = asyncio.Event()

    async def sample_lag() -> None:  # the indexer's lag behind the head under this load, from /health
        async with aiohttp.ClientSession(url, timeout=aiohttp.ClientTimeout(total=10)) as c:
            while not done.is_set():
                await asyncio.sleep(0.25)
                try:
                    async with c.get("/health") as r:
                        lag = (await r.json()).get("indexer", {}).get("lagBlocks")
                except (TimeoutError, aiohttp.ClientError, ValueError, AttributeError):
                    continue
                if lag is not None:
                    lags.append(int(lag))

    sampler = asyncio.create_task(sample_lag())
    cpu0, server0 = time.process_time(), tree_cpu_s(server_pid) if server_pid else 0.0
    t0 = time.monotonic()
    await asyncio.gather(*(client(k) for k in range(clients)))
    total = time.monotonic() - t0
    server_cpu = tree_cpu_s(server_pid) - server0 if server_pid else 0.0
    own_cpu = time.process_time() - cpu0
    done.set()
    await sampler
    ok = len(latencies)
    return {
        "clients": clients,
        "requests": ok + len(errors) if duration is not None else requests,
        "duration_s": duration,
        "ok": ok,
        "errors": len(errors),
        "first_errors": errors[:3],
        "total_s": round(total, 2),
        "req_per_s": round(ok / total, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "server_cpu_ms_per_split": round(1000 * server_cpu / ok, 2) if server_pid and ok else None,
        "server_cpu_pct": round(100 * server_cpu / total, 1) if server_pid else None,
        "loadgen_cpu_ms_per_split": round(1000 * own_cpu / ok, 2) if ok else None,
        "loadgen_cpu_pct": round(100 * own_cpu / total, 1),
        "loadavg": loadavg(),
        "indexer_lag_samples": len(lags),
        "indexer_lag_blocks_p50": percentile([float(x) for x in lags], 50) if lags else None,
        "indexer_lag_blocks_max": max(lags) if lags else None,
    }


def _phase_log(who: str, r: dict[str, Any]) -> None:
    log(
        f"{who}: {r['clients']} clients: {r['ok']}/{r['requests']} ok in {r['total_s']:.1f}s = {r['req_per_s']:.0f}"
        f" req/s, p50/p95/p99 {r['p50_ms']:.0f}/{r['p95_ms']:.0f}/{r['p99_ms']:.0f} ms, errors {r['errors']},"
        f" server CPU {r['server_cpu_ms_per_split']} ms/split, load generator {r['loadgen_cpu_ms_per_split']}"
        f" ms/split ({r['loadgen_cpu_pct']}% of a core), load {r['loadavg']}"
        + (f" e.g. {r['first_errors'][0]}" if r["first_errors"] else "")
    )


def run_floor(data_dir: Path, wl: Workload, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The floor at the service's levels: each of the workload's senders splits its second note through
    bench.floor; afterwards the raw ceiling's presign leaves those notes alone and the nonces are re-read."""
    floor = FloorServer(data_dir, wl).start()
    holders = [(f"floor-{i}", notes[1]) for i, notes in enumerate(wl.sender_notes)]
    try:
        drive(floor.url, holders, 0, 4, 8)  # warm-up
        phases = []
        for clients in args.clients:
            r = drive(floor.url, holders, 0, clients, args.requests.get(clients, clients * 10), server_pid=floor.pid)
            _phase_log("floor", r)
            phases.append(r)
    finally:
        floor.stop()
    for (_, note), w in zip(holders, wl.senders, strict=True):
        wl.used[note] = MAX_SPLITS_PER_NOTE
        w.nonce = int(wl.rpc.call("eth_getTransactionCount", w.address, "pending"), 16)
    return phases


def _profiler(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling the running server (and any child) 200 times a second until interrupted, the thread that holds
    the GIL only (Python on CPU: a thread waiting, or in SQLite or a syscall with the GIL released, is not sampled);
    collapsed stacks to `out` (summarised by bench.profile_parts)."""
    command = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "-o", str(out)]
    command += ["--format", "raw", "--rate", str(PROFILE_RATE), "--subprocesses", "--gil"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)  # attached before the first request
    return process


def _profile_summary(out: Path, r: dict[str, Any]) -> dict[str, Any]:
    """Where the level's CPU went: the profile's parts (bench.profile_parts), and how much of the server's CPU
    (/proc) the GIL-holding samples account for (the rest ran with the GIL released: SQLite, fsync, sockets)."""
    from bench.profile_parts import markdown, samples, summarise

    parts, waiting = summarise(out)
    python_s = samples(out) / PROFILE_RATE
    cpu = (r["server_cpu_ms_per_split"] or 0) * r["ok"] / 1000
    log(
        f"profile of the {r['clients']}-client level ({out}):\n" + "\n".join(markdown(parts)) + f"\nPython holding"
        f" the GIL: {python_s:.1f} s of {cpu:.1f} s of server CPU; waiting samples left out: {waiting}%"
    )
    return {"parts": parts, "python_gil_s": round(python_s, 1), "server_cpu_s": round(cpu, 1), "waiting_pct": waiting}


def _first_failure(text: str) -> str:
    """The first log record and the end of its traceback (the frames that raised and the exception)."""
    lines = text.splitlines()
    for i, line in enumerate(lines[2:], start=2):
        if line and not line.startswith((" ", "Traceback", "During handling", "The above exception")):
            return "\n".join([lines[0], "...", *lines[max(1, i - 12) : i + 1]])
    return "\n".join(lines[:40])


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 2) if present else None


def run(args: argparse.Namespace, profile_out: Path | None = None) -> dict[str, Any]:
    settings = Settings()  # the product's defaults (env SCF_BLOCK_TIME respected)
    duration = getattr(args, "duration", 60.0)
    with tempfile.TemporaryDirectory(prefix="scf-service-") as tmp:
        data_dir = Path(tmp)
        log(f"service: devchain block_time={settings.block_time}, deploying")
        wl = start_workload(data_dir, block_time=settings.block_time, senders=args.suppliers, notes_per_sender=2)
        server: Server | None = None
        try:
            server = Server(data_dir, wl.anvil.port)
            server.start()
            operator_key = (data_dir / OPERATOR_KEY_FILE).read_text().strip()
            holders, recipient = populate(
                server.url, operator_key, args.suppliers, max([args.suppliers, *args.clients])
            )
            drive(server.url, holders, recipient, 4, 8)  # warm-up: connections, contracts, caches
            phases = []
            for clients in args.clients:
                timed = clients not in args.requests
                n = args.requests.get(clients, 0)
                rss_before = rss_mb(wl.pid)
                log_offset = (data_dir / "api.log").stat().st_size
                profiler = (
                    _profiler(server.pid, profile_out) if profile_out and clients == args.profile_clients else None
                )
                r = drive(
                    server.url,
                    holders,
                    recipient,
                    clients,
                    n,
                    duration=duration if timed else None,
                    server_pid=server.pid,
                )
                if profiler is not None and profile_out is not None:  # py-spy writes the stacks when interrupted
                    profiler.send_signal(signal.SIGINT)
                    profiler.wait(timeout=60)
                    r["profile"] = _profile_summary(profile_out, r)
                r["anvil_rss_mb"] = [rss_before, rss_mb(wl.pid)]
                phases.append(r)
                _phase_log("service", r)
                if r["errors"]:  # the server's own account of its first failure in this level
                    text = (data_dir / "api.log").read_bytes()[log_offset:].decode(errors="replace")
                    at = max(0, min((i for i in (text.find("Traceback"), text.find("ERROR")) if i >= 0), default=0))
                    failure = _first_failure(text[at:])
                    log("service: server log at the first failure:\n" + failure)
                    r["server_failure"] = failure.splitlines()[-1][:300]  # the exception the server logged
                log(f"service: indexer lag p50/max {r['indexer_lag_blocks_p50']}/{r['indexer_lag_blocks_max']} blocks")
            server.stop()  # the floor and the raw ceiling run on the same chain without the service competing
            floor = run_floor(data_dir, wl, args)
            raw = blast(wl, wl.presign(args.raw))
            log(f"service: raw ceiling {raw['tx_per_s']:.0f} tx/s ({args.raw} splits, {args.suppliers} senders)")
        except RuntimeError:
            api_log = data_dir / "api.log"
            if api_log.exists():
                log("service failed; end of the server log:\n" + api_log.read_text(errors="replace")[-4000:])
            raise
        finally:
            if server is not None:
                server.stop()
            wl.anvil.stop()
    best = max(phases, key=lambda p: p["req_per_s"])
    results: dict[str, Any] = {
        "service": {
            "block_time": settings.block_time,
            "suppliers": args.suppliers,
            "notes": len(holders),
            "duration_s": duration,
            "raw": raw,
            "phases": phases,
            "floor": floor,
            "loadavg_end": loadavg(),
            "profiled": profile_out is not None,  # that level's CPU figures include py-spy's pauses
            "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        },
        "service_splits_per_s": best["req_per_s"],
        "service_raw_splits_per_s": raw["tx_per_s"],
        "service_over_raw": round(best["req_per_s"] / raw["tx_per_s"], 2),
        "write_p99_ms": max(p["p99_ms"] for p in phases),
        "indexer_lag_blocks_max": max((p["indexer_lag_blocks_max"] or 0) for p in phases),
        # a level with failed requests (a pool timeout after 30 s) says nothing about a split's cost: left out
        "api_cpu_ms_per_split": _median([p["server_cpu_ms_per_split"] for p in phases if not p["errors"]]),
        "floor_cpu_ms_per_split": _median([p["server_cpu_ms_per_split"] for p in floor if not p["errors"]]),
    }
    for p in phases:
        if p["clients"] == 128:
            results["service_splits_per_s_128"] = p["req_per_s"]
            results["write_p99_ms_128"] = p["p99_ms"]
            results["write_p50_ms_128"] = p["p50_ms"]
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suppliers", type=int, default=8, help="members splitting through the API")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32, 128], help="concurrency levels")
    parser.add_argument(
        "--duration",
        type=float,
        default=60.0,
        help="seconds a level without a request count (128 clients) runs (default 60)",
    )
    parser.add_argument("--raw", type=int, default=2000, help="raw splits for the same-run ceiling")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.service", description=__doc__)
    add_arguments(parser)
    parser.add_argument(
        "--profile",
        type=Path,
        help="sample the server with py-spy during one level's drive; collapsed stacks go here (bench.profile_parts)",
    )
    parser.add_argument("--profile-clients", type=int, default=32, help="the level profiled (default 32)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.requests = {1: 30, 8: 200, 32: 400}
    results = run(args, args.profile)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "service"}, indent=2))


if __name__ == "__main__":
    main()
