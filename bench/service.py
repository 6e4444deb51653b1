"""`python -m bench.service` (and a section of `python -m bench`): splits through the HTTP API against the raw
ceiling measured on the same chain in the same run.

Setup: a fresh devchain with the product's defaults (DevChain via `scripts.runtime.make_devchain`, i.e. the
mining mode `Settings.block_time` selects), the suite deployed, then the API served by a real uvicorn in a
subprocess exactly as `scf serve` runs it. Through the API (operator key): a core enterprise, `--suppliers`
suppliers and a recipient are admitted (the service holds their keys: key custody), the core issues each
supplier a big receivable. Each client thread is bound to one supplier (client k -> supplier k mod S) and
posts `POST /v1/notes/{id}/split` with its own Idempotency-Key over a keep-alive connection; a 201 means the
split is mined and indexed (read-your-writes). Latency = request sent to response read, per request.

Raw ceiling in the same run: `--raw` pre-signed raw splits from S other members straight to the node
(bench.workload.blast), on the same chain after the service phases, with the server stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from api.bootstrap import OPERATOR_KEY_FILE
from api.settings import Settings
from bench.workload import blast, log, percentile, rss_mb, start_workload
from chain.devnet.devchain import free_port

BENCH_DIR = Path(__file__).resolve().parent
OUT = BENCH_DIR / "service.json"


class Server:
    """`scf serve` in a subprocess (uvicorn, the app factory, the background indexer)."""

    def __init__(self, data_dir: Path, rpc_port: int, extra_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "SCF_DATA_DIR": str(data_dir),
            "SCF_RPC_PORT": str(rpc_port),
            "SCF_API_PORT": str(self.port),
            **(extra_env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

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


def _ok(response: httpx.Response, status: int) -> dict[str, Any]:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    return body


def populate(url: str, operator_key: str, suppliers: int) -> tuple[list[tuple[str, int]], int]:
    """Admits a core, the suppliers and a recipient through the API; issues each supplier a receivable.
    Returns [(supplier API key, note id)] and the recipient's member id."""
    auth = {"Authorization": f"Bearer {operator_key}"}
    with httpx.Client(base_url=url, timeout=120, headers=auth) as op:

        def admit(roles: list[str], **extra: Any) -> dict[str, Any]:
            body = {"roles": roles, "kyc_hash": "0x" + uuid.uuid4().hex * 2, **extra}
            return _ok(op.post("/v1/members", json=body), 201)

        core = admit(["core_enterprise"], credit_limit="100000000.00")
        recipient = admit(["supplier"])
        admitted = [admit(["supplier"]) for _ in range(suppliers)]
    maturity = (date.today() + timedelta(days=90)).isoformat()
    holders = []
    with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {core['api_key']}"}) as c:
        for s in admitted:
            body = {
                "creditor_id": s["member"]["id"],
                "face_value": "1000000.00",
                "maturity": maturity,
                "invoice_hash": "0x" + uuid.uuid4().hex * 2,
            }
            holders.append((s["api_key"], _ok(c.post("/v1/receivables", json=body), 201)["first_note_id"]))
    return holders, int(recipient["member"]["id"])


def drive(url: str, holders: list[tuple[str, int]], recipient: int, clients: int, requests: int) -> dict[str, Any]:
    """`requests` splits over `clients` threads; each thread keeps one connection and one supplier."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    per_client = [requests // clients + (1 if k < requests % clients else 0) for k in range(clients)]

    def client(k: int) -> None:
        key, note = holders[k % len(holders)]
        with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {key}"}) as c:
            for _ in range(per_client[k]):
                t = time.monotonic()
                r = c.post(
                    f"/v1/notes/{note}/split",
                    json={"to": recipient, "value": "200.00"},  # S-3: at least face / cap
                    headers={"Idempotency-Key": f"bench-{uuid.uuid4()}"},
                )
                elapsed = (time.monotonic() - t) * 1000
                with lock:
                    if r.status_code == 201:
                        latencies.append(elapsed)
                    else:
                        errors.append(f"{r.status_code} {r.text[:200]}")

    lags: list[int] = []
    done = threading.Event()

    def sample_lag() -> None:  # the indexer's lag behind the head under this load, from /health
        with httpx.Client(base_url=url, timeout=10) as c:
            while not done.wait(0.25):
                try:
                    lag = c.get("/health").json().get("indexer", {}).get("lagBlocks")
                except (httpx.HTTPError, ValueError):
                    continue
                if lag is not None:
                    lags.append(int(lag))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    sampler = threading.Thread(target=sample_lag)
    t0 = time.monotonic()
    sampler.start()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    total = time.monotonic() - t0
    done.set()
    sampler.join()
    return {
        "clients": clients,
        "requests": requests,
        "ok": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:3],
        "total_s": round(total, 2),
        "req_per_s": round(len(latencies) / total, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "indexer_lag_samples": len(lags),
        "indexer_lag_blocks_p50": percentile([float(x) for x in lags], 50) if lags else None,
        "indexer_lag_blocks_max": max(lags) if lags else None,
    }


def run(args: argparse.Namespace, profile_out: Path | None = None) -> dict[str, Any]:
    settings = Settings()  # the product's defaults (env SCF_BLOCK_TIME respected)
    with tempfile.TemporaryDirectory(prefix="scf-service-") as tmp:
        data_dir = Path(tmp)
        log(f"service: devchain block_time={settings.block_time}, deploying")
        wl = start_workload(data_dir, block_time=settings.block_time, senders=args.suppliers)
        server: Server | None = None
        try:
            server = Server(data_dir, wl.anvil.port)
            prefix = None
            if profile_out is not None:
                prefix = [str(Path(sys.executable).parent / "py-spy"), "record", "-o", str(profile_out)]
                prefix += ["--format", "raw", "--rate", "200", "--subprocesses", "--"]
            server.start(prefix)
            operator_key = (data_dir / OPERATOR_KEY_FILE).read_text().strip()
            holders, recipient = populate(server.url, operator_key, args.suppliers)
            drive(server.url, holders, recipient, 4, 8)  # warm-up: connections, contracts, caches
            phases = []
            for clients in args.clients:
                n = args.requests.get(clients, clients * 10)
                rss_before = rss_mb(wl.pid)
                r = drive(server.url, holders, recipient, clients, n)
                r["anvil_rss_mb"] = [rss_before, rss_mb(wl.pid)]
                phases.append(r)
                log(
                    f"service: {clients} clients: {r['ok']}/{n} ok in {r['total_s']:.1f}s = {r['req_per_s']:.0f} req/s,"
                    f" p50/p95/p99 {r['p50_ms']:.0f}/{r['p95_ms']:.0f}/{r['p99_ms']:.0f} ms, errors {r['errors']},"
                    f" indexer lag p50/max {r['indexer_lag_blocks_p50']}/{r['indexer_lag_blocks_max']} blocks"
                    + (f" e.g. {r['first_errors'][0]}" if r["first_errors"] else "")
                )
            server.stop()  # the raw ceiling runs on the same chain without the service competing for the CPU
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
    return {
        "service": {
            "block_time": settings.block_time,
            "suppliers": args.suppliers,
            "raw": raw,
            "phases": phases,
        },
        "service_splits_per_s": best["req_per_s"],
        "service_raw_splits_per_s": raw["tx_per_s"],
        "service_over_raw": round(best["req_per_s"] / raw["tx_per_s"], 2),
        "write_p99_ms": max(p["p99_ms"] for p in phases),
        "indexer_lag_blocks_max": max((p["indexer_lag_blocks_max"] or 0) for p in phases),
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suppliers", type=int, default=8, help="members splitting through the API")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32], help="concurrency levels")
    parser.add_argument("--raw", type=int, default=2000, help="raw splits for the same-run ceiling")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.service", description=__doc__)
    add_arguments(parser)
    parser.add_argument("--profile", type=Path, help="run the server under py-spy; collapsed stacks go here")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.requests = {1: 30, 8: 200, 32: 400}
    results = run(args, args.profile)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "service"}, indent=2))


if __name__ == "__main__":
    main()
