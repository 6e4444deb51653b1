"""`/health` keeps the node's constant facts (chain id, automine) and the deployment record's summary between calls
(api/health.py): a load balancer's poll costs one JSON-RPC call, a stat and the checkpoint read. The caches must not
hide a change: another node behind the same URL, a node that stopped, a new deployment record."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import api.health
from api.main import create_app
from api.settings import Settings
from chain.devnet.devchain import DevChain, free_port
from chain.node.deployment import record_path
from scripts.runtime import prepare_ledger
from tests.api.test_slow_node import SlowProxy
from tests.conftest import ServerThread, make_settings


@pytest.fixture
def long_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    """The facts are kept for the whole test: what is asked again below is asked because of a change, not a clock."""
    monkeypatch.setattr(api.health, "NODE_FACTS_TTL", 3600.0, raising=False)


@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[DevChain]:
    chain = DevChain(data_dir=tmp_path, port=free_port()).start()
    try:
        prepare_ledger(make_settings(tmp_path, chain.port))
        yield chain
    finally:
        chain.stop()


def _health(client: httpx.Client) -> httpx.Response:
    return client.get("/health")


def test_health_asks_the_node_only_for_its_latest_block_while_the_facts_are_fresh(
    tmp_path: Path, deployed: DevChain, long_ttl: None
) -> None:
    with SlowProxy(deployed.url) as proxy:
        settings = make_settings(tmp_path, deployed.port, rpc_url=proxy.url)
        with ServerThread(settings) as server, httpx.Client(base_url=server.url, timeout=10) as client:
            assert _health(client).json()["status"] == "ok"
            proxy.slow_down(0)  # clears the counts
            for _ in range(5):
                body = _health(client).json()
                assert body["status"] == "ok" and body["chain"]["chainId"] == 31337
            assert proxy.received["anvil_getAutomine"] == 0  # only /health asks it: not once in 5 calls
            assert proxy.received["eth_getBlockByNumber"] >= 5  # the latest block, every call


def test_another_node_behind_the_same_url_and_a_stopped_node_are_seen_on_the_next_call(
    tmp_path: Path, deployed: DevChain, long_ttl: None
) -> None:
    other = DevChain(data_dir=tmp_path / "other", port=free_port(), chain_id=31338).start()  # a younger chain
    try:
        with SlowProxy(deployed.url) as proxy:
            settings = make_settings(tmp_path, deployed.port, rpc_url=proxy.url)
            with ServerThread(settings) as server, httpx.Client(base_url=server.url, timeout=10) as client:
                assert _health(client).json()["chain"]["chainId"] == 31337

                proxy.upstream = other.url  # replaced: its head is below the one seen, so its facts are asked
                body = _health(client).json()
                assert body["chain"]["chainId"] == 31338
                assert "no-deployment" in {reason["code"] for reason in body["reasons"]}
                assert body["deployment"] is None

                other.stop()
                response = _health(client)
                assert response.status_code == 503  # a stopped node: the very next call
                assert response.json()["type"].endswith("/chain-unavailable")

                proxy.upstream = deployed.url  # its head is above the last one seen: the failure made it ask again
                body = _health(client).json()
                assert body["chain"]["chainId"] == 31337
                assert body["deployment"] is not None
    finally:
        other.stop()


def test_the_deployment_record_is_read_again_when_its_file_changes(tmp_path: Path, deployed: DevChain) -> None:
    settings = make_settings(tmp_path, deployed.port)
    path = record_path(tmp_path, 31337)
    record = json.loads(path.read_text())
    old = record["contracts"]["ReceivableNotes"]["address"]
    # another address of the same length, so the file's size stays the same
    new = old[:-1] + ("0" if old[-1] != "0" else "1")
    with ServerThread(settings) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        assert _health(client).json()["deployment"]["contracts"]["ReceivableNotes"] == old
        stat = path.stat()

        # the same (mtime, size): not read again, the summary is the one kept
        path.write_text(path.read_text().replace(old, new))
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert path.stat().st_size == stat.st_size
        assert _health(client).json()["deployment"]["contracts"]["ReceivableNotes"] == old

        # a new deployment writes the file: its mtime moves, and the next call shows it
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert _health(client).json()["deployment"]["contracts"]["ReceivableNotes"] == new

        record["block"] = int(record["block"]) + 1000  # bigger, same mtime: the size alone tells it changed
        path.write_text(json.dumps(record, indent=4))
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert _health(client).json()["deployment"]["block"] == record["block"]

        path.unlink()  # no record at all
        body = _health(client).json()
        assert body["deployment"] is None
        assert "no-deployment" in {reason["code"] for reason in body["reasons"]}


def test_health_is_matched_before_most_routes(settings: Settings) -> None:
    # a request's path is matched against the routes in order: the polled /health after the splits' router (the
    # busiest, tests/unit/test_route_order.py), not behind 100 others
    tried = 0
    for route in create_app(settings, background_indexer=False).routes:
        router = getattr(route, "original_router", None)  # FastAPI 0.16x: an included router is one entry
        paths = (
            [getattr(inner, "path", "") for inner in router.routes]
            if router is not None
            else [getattr(route, "path", "")]
        )
        if "/health" in paths:
            break
        tried += len(paths)
    assert tried <= 15, f"{tried} routes are tried before /health"
