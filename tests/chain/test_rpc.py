"""chain/node/rpc.py against a real anvil: answers, errors, and receipts shaped exactly like web3's."""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any

import pytest
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from chain.devnet.devchain import free_port
from chain.node.rpc import JsonRpc, ProviderRpc, RpcError, RpcTransportError, format_receipt
from scripts.runtime import Ledger


def test_call_returns_the_nodes_result(ledger: Ledger) -> None:
    rpc = JsonRpc(ledger.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    assert int(rpc.call("eth_chainId"), 16) == ledger.w3.eth.chain_id
    assert int(rpc.call("eth_blockNumber"), 16) >= 1


def test_errors_carry_code_message_and_revert_data(ledger: Ledger) -> None:
    rpc = JsonRpc(ledger.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    with pytest.raises(RpcError) as refused:
        rpc.call("eth_sendRawTransaction", "0x1234")
    assert refused.value.message and not refused.value.is_revert
    with pytest.raises(RpcError) as unknown:
        rpc.call("no_such_method")
    assert unknown.value.code is not None


def test_batch_answers_come_back_in_id_order_with_each_error_in_place(ledger: Ledger) -> None:
    rpc = JsonRpc(ledger.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    answers = rpc.batch(
        [
            {"jsonrpc": "2.0", "id": 2, "method": "eth_chainId", "params": []},
            {"jsonrpc": "2.0", "id": 0, "method": "eth_blockNumber", "params": []},
            {"jsonrpc": "2.0", "id": 1, "method": "no_such_method", "params": []},
        ]
    )
    assert [a["id"] for a in answers] == [0, 1, 2]
    assert int(answers[0]["result"], 16) >= 1 and "error" in answers[1]
    assert int(answers[2]["result"], 16) == ledger.w3.eth.chain_id


def test_no_node_is_a_transport_error() -> None:
    rpc = JsonRpc(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(RpcTransportError):
        rpc.call("eth_blockNumber")
    with pytest.raises(OSError):  # what the signer catches as "no answer"
        rpc.call("eth_blockNumber")


def test_format_receipt_equals_web3s_receipt(ledger: Ledger) -> None:
    w3 = ledger.w3
    rpc = JsonRpc(w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    compared = 0
    for number in range(1, w3.eth.block_number + 1):
        for entry in w3.eth.get_block(number)["transactions"]:
            tx_hash = HexBytes(entry)  # type: ignore[arg-type]  # hashes, not full transactions, by default
            raw = rpc.call("eth_getTransactionReceipt", tx_hash.to_0x_hex())
            ours = format_receipt(raw)
            theirs = w3.eth.get_transaction_receipt(tx_hash)
            assert dict(ours) == dict(theirs)
            assert [dict(entry) for entry in ours["logs"]] == [dict(entry) for entry in theirs["logs"]]
            compared += 1 if theirs["logs"] else 0
    assert compared >= 3  # the deployment's transactions emit events


def test_provider_fallback_answers_like_json_rpc(ledger: Ledger) -> None:
    """The signer's client for nodes that are not plain HTTP goes through web3's provider, same results and errors."""
    fallback = ProviderRpc(ledger.w3)
    assert int(fallback.call("eth_chainId"), 16) == ledger.w3.eth.chain_id
    with pytest.raises(RpcError) as refused:
        fallback.call("eth_sendRawTransaction", "0x1234")
    assert refused.value.message and not refused.value.is_revert


@pytest.mark.parametrize("client", ["json", "provider"])
def test_calls_answer_in_order_in_one_round_trip_and_raise_the_first_error(ledger: Ledger, client: str) -> None:
    """`calls` (the indexer's two round trips per pass): results in the order asked, on both clients alike."""
    w3 = ledger.w3
    rpc = JsonRpc(w3.provider.endpoint_uri) if client == "json" else ProviderRpc(w3)  # type: ignore[attr-defined]
    head = w3.eth.block_number
    number, block, chain_id = rpc.calls(
        ("eth_blockNumber", []), ("eth_getBlockByNumber", [hex(head), False]), ("eth_chainId", [])
    )
    assert int(number, 16) >= head and int(block["number"], 16) == head and int(chain_id, 16) == w3.eth.chain_id
    assert block["hash"] == w3.eth.get_block(head)["hash"].to_0x_hex()
    assert rpc.calls() == [] and rpc.calls(("eth_getBlockByNumber", [hex(head + 10_000), False])) == [None]
    with pytest.raises(RpcError) as refused:
        rpc.calls(("eth_chainId", []), ("no_such_method", []), ("eth_sendRawTransaction", ["0x1234"]))
    assert refused.value.method == "no_such_method"


def test_threads_share_a_client_and_each_gets_its_own_answers(ledger: Ledger) -> None:
    """One JsonRpc for every request thread (a keep-alive connection each): no answer goes to another caller."""
    rpc = JsonRpc(ledger.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    wrong: list[str] = []

    def ask(thread: int) -> None:
        for i in range(40):
            data = "0x" + f"{thread:04x}{i:04x}"
            if rpc.call("web3_sha3", data) != "0x" + keccak(hexstr=data).hex():
                wrong.append(data)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
    rpc.close()
    assert int(rpc.call("eth_chainId"), 16) == ledger.w3.eth.chain_id  # closed: the next call connects again


class _Node(http.server.ThreadingHTTPServer):
    """A real HTTP server answering JSON-RPC over keep-alive (HTTP/1.1) that counts the connections it accepts and,
    with `drop_idle`, closes each connection once it has answered on it, without saying so (as a node does with
    a connection idle past its keep-alive timeout)."""

    daemon_threads = True

    def __init__(self, drop_idle: bool) -> None:
        self.drop_idle = drop_idle
        self.accepted = 0
        self.dropped = threading.Semaphore(0)
        super().__init__(("127.0.0.1", 0), _Answer)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self.dropped.release()


class _Answer(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Node

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": "0x7a69"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = self.server.drop_idle

    def log_message(self, *_args: Any) -> None:
        pass


def _serving(drop_idle: bool) -> tuple[_Node, threading.Thread]:
    node = _Node(drop_idle)
    thread = threading.Thread(target=node.serve_forever, daemon=True)
    thread.start()
    return node, thread


def test_one_thread_keeps_one_connection_and_each_thread_has_its_own() -> None:
    node, _thread = _serving(drop_idle=False)
    try:
        rpc = JsonRpc(f"http://127.0.0.1:{node.server_address[1]}")
        assert [rpc.call("eth_chainId") for _ in range(5)] == ["0x7a69"] * 5
        assert node.accepted == 1  # keep-alive: five calls, one connection
        others = [threading.Thread(target=rpc.call, args=("eth_chainId",)) for _ in range(3)]
        for other in others:
            other.start()
        for other in others:
            other.join()
        assert node.accepted == 4
    finally:
        node.shutdown()
        node.server_close()


def test_a_connection_the_node_closed_while_idle_is_opened_again_not_an_error() -> None:
    node, _thread = _serving(drop_idle=True)
    try:
        rpc = JsonRpc(f"http://127.0.0.1:{node.server_address[1]}", timeout=5)
        for n in range(1, 4):
            assert rpc.call("eth_chainId") == "0x7a69"
            assert node.dropped.acquire(timeout=10)  # the node has closed this connection: the next call reconnects
            assert node.accepted == n
    finally:
        node.shutdown()
        node.server_close()
