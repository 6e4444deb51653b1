"""A slow node: reads that need the chain end with 503 chain-unavailable within one call's budget
(SCF_RPC_TIMEOUT, retries included), not after web3's stacked retries (a 12 s node held a balance read for
51.9 s). A real proxy in front of a real anvil delays the node's answers."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

from chain.devnet.devchain import DevChain, free_port
from chain.node.client import connect
from tests.conftest import ServerThread, admitted, chain_world, make_settings, ok, problem


class SlowProxy:
    """Forwards JSON-RPC POSTs to `upstream` after `delay` seconds; counts the requests it received by method."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.delay = 0.0
        self.drop = 0  # requests still to drop (connection closed, no answer)
        self.drop_method = ""  # drop every request with a call of this method
        self.received: Counter[str] = Counter()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                payload: Any = json.loads(body)
                with proxy._lock:
                    for call in payload if isinstance(payload, list) else [payload]:
                        proxy.received[str(call.get("method"))] += 1
                    delay = proxy.delay
                    drop, proxy.drop = proxy.drop > 0, max(proxy.drop - 1, 0)
                    calls = payload if isinstance(payload, list) else [payload]
                    drop = drop or any(call.get("method") == proxy.drop_method for call in calls)
                if drop:
                    self.close_connection = True  # no answer at all: the client sees the connection dropped
                    return
                time.sleep(delay)
                request = urllib.request.Request(
                    proxy.upstream, data=body, headers={"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request, timeout=30) as answer:
                    data = answer.read()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up waiting
                    pass

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *_args: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def slow_down(self, delay: float) -> None:
        with self._lock:
            self.delay = delay
            self.received.clear()

    def __enter__(self) -> SlowProxy:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_slow_node_makes_a_chain_read_fail_fast_with_chain_unavailable(tmp_path: Path) -> None:
    with chain_world(tmp_path) as world, SlowProxy(world.chain.url) as proxy:
        settings = make_settings(
            world.settings.data_dir, world.chain.port, rpc_url=proxy.url, rpc_timeout=1.0, rpc_attempts=3
        )
        with (
            ServerThread(settings) as server,
            admitted(server.url, world.operator_key, [("fin", ["financier"], {})]) as parties,
        ):
            client = parties["fin"].client
            assert ok(client.get("/v1/cash/balance"))["balance"] == "0.00"  # a fast node: answered

            proxy.slow_down(4.0)  # every answer 4 s late: beyond the 1 s budget of a call
            started = time.monotonic()
            response = client.get("/v1/cash/balance")
            elapsed = time.monotonic() - started
            body = problem(response, 503, "chain-unavailable")
            print(f"slow node: 503 after {elapsed:.2f} s, {proxy.received['eth_call']} eth_call sent")
            assert "did not answer" in body["detail"]
            # a timed-out call is not tried again (web3's own retries sent it 5 times, 5 timeouts in a row)
            assert proxy.received["eth_call"] == 1
            proxy.slow_down(0.0)
            assert ok(client.get("/v1/cash/balance"))["balance"] == "0.00"  # the node is back: answered again


def test_verification_reads_after_the_pinned_block_fail_as_chain_unavailable(tmp_path: Path) -> None:
    """The block is pinned, then the node stops answering eth_call: every verification answers 503
    chain-unavailable (the reads through chain.node.reader, as web3's did), never a 500."""
    with chain_world(tmp_path) as world, SlowProxy(world.chain.url) as proxy:
        settings = make_settings(
            world.settings.data_dir, world.chain.port, rpc_url=proxy.url, rpc_timeout=1.0, rpc_attempts=3
        )
        invoice = "/v1/verify/invoice?hash=0x" + "ab" * 32
        with (
            ServerThread(settings) as server,
            httpx.Client(
                base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {world.operator_key}"}
            ) as client,
        ):
            assert ok(client.get(invoice))["tokenised"] is False  # the node answers
            proxy.drop_method = "eth_call"
            for path in (invoice, "/v1/verify/members/1", "/v1/verify/orders/1", "/v1/verify/notes/1"):
                body = problem(client.get(path), 503, "chain-unavailable")
                assert "did not answer" in body["detail"] or "failed" in body["detail"], body
            assert proxy.received["eth_getBlockByNumber"] >= 4  # each pinned its block first
            proxy.drop_method = ""
            assert ok(client.get(invoice))["tokenised"] is False  # the node is back


def test_a_dropped_connection_is_tried_again_up_to_the_attempts(devchain: DevChain) -> None:
    with SlowProxy(devchain.url) as proxy:
        w3 = connect(proxy.url, timeout=10.0, attempts=3)
        proxy.drop = 2
        assert w3.eth.block_number >= 0  # two dropped tries, the third answered
        assert proxy.received["eth_blockNumber"] == 3
        proxy.slow_down(0.0)
        proxy.drop = 3
        with pytest.raises(requests.ConnectionError):
            w3.eth.get_block_number()
        assert proxy.received["eth_blockNumber"] == 3  # never more than the attempts
