from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from chain.devnet.devchain import DevChain, free_port
from scripts.runtime import Ledger, prepare_ledger
from tests.conftest import ServerThread, make_settings, needs_sqlite, wait_until


def test_health_reports_chain_and_deployment(http: httpx.Client, ledger: Ledger) -> None:
    # A server that has just started is `degraded` (`indexer-lag`) until its first pass reaches the head: the
    # session's chain may already be many blocks past the deployment (an earlier test file mined them).
    wait_until(lambda: http.get("/health").json()["reasons"] == [], "the indexer's first pass to reach the head")
    response = http.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["reasons"] == []
    assert body["chain"]["chainId"] == 31337
    assert body["chain"]["latestBlock"] >= ledger.deployment.block
    assert body["chain"]["latestBlockTimestamp"] > 1_700_000_000  # the chain's clock, unix seconds
    assert body["deployment"]["contracts"]["ReceivableNotes"] == ledger.deployment.address("ReceivableNotes")


def test_health_reports_the_indexers_lag(http: httpx.Client, ledger: Ledger) -> None:
    # the first pass may be running
    wait_until(lambda: http.get("/health").json()["indexer"]["indexedBlock"] is not None, "a first indexer pass")
    body = http.get("/health").json()
    indexed, lag = body["indexer"]["indexedBlock"], body["indexer"]["lagBlocks"]
    assert indexed >= ledger.deployment.block
    assert lag == body["chain"]["latestBlock"] - indexed
    assert lag >= 0


def test_openapi_docs_are_served(http: httpx.Client) -> None:
    assert http.get("/docs").status_code == 200
    assert "/health" in http.get("/openapi.json").json()["paths"]


def test_health_is_503_problem_when_the_chain_dies(tmp_path: Path) -> None:
    chain = DevChain(data_dir=tmp_path, port=free_port()).start()
    settings = make_settings(tmp_path, chain.port)
    prepare_ledger(settings)
    with ServerThread(settings) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/health").status_code == 200
        chain.stop()
        response = client.get("/health")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"].endswith("/chain-unavailable")
        assert problem["status"] == 503
        assert str(chain.port) in problem["detail"]


def test_unknown_path_is_a_problem_json_404(http: httpx.Client) -> None:
    response = http.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/not-found")


def test_the_service_root_leads_to_the_console_and_names_the_docs(http: httpx.Client) -> None:
    response = http.get("/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/app/"
    assert 'href="/docs"' in response.text and 'href="/app/"' in response.text
    assert http.get("/", follow_redirects=True).status_code == 200  # the console's page


def _codes(body: dict[str, Any]) -> set[str]:
    return {reason["code"] for reason in body["reasons"]}


def _until(client: httpx.Client, wanted: Callable[[dict[str, Any]], bool], timeout: float = 90) -> dict[str, Any]:
    """The first `/health` body (a 200) for which `wanted` holds, polled until a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/health")
        assert response.status_code == 200, response.text  # degraded is a 200 with the reasons, not a 503
        body: dict[str, Any] = response.json()
        if wanted(body):
            return body
        assert time.monotonic() < deadline, f"/health never got there: {body}"
        time.sleep(0.2)


@needs_sqlite  # the fault is a write lock held on the SQLite file
def test_health_is_degraded_during_a_database_fault_and_a_stalled_head(tmp_path: Path) -> None:
    chain = DevChain(data_dir=tmp_path, port=free_port(), block_time=0.5).start()  # interval mining (the pacer)
    try:
        settings = make_settings(
            tmp_path, chain.port, block_time=0.5, db_busy_timeout=0.5, health_max_lag_blocks=4, health_max_head_age=3
        )
        prepare_ledger(settings)
        with ServerThread(settings) as server, httpx.Client(base_url=server.url, timeout=10) as client:
            # the indexer caught up, blocks keep coming
            _until(client, lambda body: body["status"] == "ok" and body["indexer"]["indexedBlock"] is not None)

            # A database fault: another connection holds SQLite's write lock, the indexer's writes time out.
            holder = sqlite3.connect(settings.data_dir / "scf.db", isolation_level=None, timeout=30)
            try:
                holder.execute("BEGIN IMMEDIATE")
                body = _until(client, lambda body: {"database-write-failed", "indexer-lag"} <= _codes(body))
                assert body["status"] == "degraded"
                failed = next(r for r in body["reasons"] if r["code"] == "database-write-failed")
                assert "locked" in failed["detail"], failed
                assert body["indexer"]["lagBlocks"] > 4
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            body = _until(client, lambda body: body["status"] == "ok")  # the lock is gone: the indexer catches up
            assert body["reasons"] == []

            # A stalled head: the pacer, the devchain's block clock, stops; anvil mines nothing on its own.
            pacer = chain._pacer
            assert pacer is not None
            os.kill(pacer.pid, signal.SIGSTOP)
            try:
                body = _until(client, lambda body: "head-stalled" in _codes(body))
                assert body["status"] == "degraded"
                assert body["chain"]["headAgeSeconds"] >= 3  # the age, rounded to 0.1 s, passed the 3 s bound
                assert "indexer-lag" not in _codes(body)  # the read model is at the (still) head
            finally:
                os.kill(pacer.pid, signal.SIGCONT)
            _until(client, lambda body: body["status"] == "ok")  # blocks again
    finally:
        chain.stop()


def test_an_idle_automine_chain_is_not_a_stalled_head(settings: Any, ledger: Ledger, tmp_path: Path) -> None:
    # the session chain automines: no transaction, no block, and that is no fault however long it lasts
    quick = make_settings(settings.data_dir, settings.rpc_port, block_time=0.5, health_max_head_age=0.5)
    with ServerThread(quick) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        body = _until(client, lambda body: body["chain"]["headAgeSeconds"] > 1 and body["indexer"]["lagBlocks"] == 0)
        assert "head-stalled" not in _codes(body)
        assert body["status"] == "ok", body
