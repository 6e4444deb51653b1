from __future__ import annotations

import time
from pathlib import Path

import httpx

from chain.devchain import DevChain, free_port
from chain.runtime import Ledger, prepare_ledger
from tests.conftest import ServerThread, make_settings


def test_health_reports_chain_and_deployment(http: httpx.Client, ledger: Ledger) -> None:
    response = http.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["chain"]["chainId"] == 31337
    assert body["chain"]["latestBlock"] >= ledger.deployment.block
    assert body["chain"]["latestBlockTimestamp"] > 1_700_000_000  # the chain's clock, unix seconds
    assert body["deployment"]["contracts"]["ReceivableNotes"] == ledger.deployment.address("ReceivableNotes")


def test_health_reports_the_indexers_lag(http: httpx.Client, ledger: Ledger) -> None:
    deadline = time.monotonic() + 30
    indexer = http.get("/health").json()["indexer"]
    while indexer["indexedBlock"] is None and time.monotonic() < deadline:  # the first pass may be running
        time.sleep(0.2)
        indexer = http.get("/health").json()["indexer"]
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
