"""chain/node/rpc.py against a real anvil: answers, errors, and receipts shaped exactly like web3's."""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from chain.devnet.devchain import DevChain, free_port
from chain.node.rpc import JsonRpc, ProviderRpc, RpcError, RpcTransportError, format_receipt
from scripts.runtime import Ledger
from tests.conftest import wait_until


def _in_threads(ask: Callable[[int], None], count: int) -> None:
    """Runs `ask(0)` ... `ask(count - 1)` each on a thread of its own, and waits for all of them."""
    threads = [threading.Thread(target=ask, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


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

    _in_threads(ask, 8)
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


# ------------------------------------------------------------------------ the transport, byte by byte

_ANSWER = b'{"jsonrpc":"2.0","id":1,"result":"0x7a69"}'


def _http(body: bytes, status: str = "200 OK", *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status}", "Content-Type: application/json", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class _RawNode:
    """A real TCP server on 127.0.0.1 speaking HTTP by hand: it reads each request (head and Content-Length body),
    counts it, and sends back `script(n)`, n counting requests over every connection from 1: raw bytes (a list:
    one `sendall` each, which the client mostly reads apart), `None` to close the connection without an answer, or
    `...` to keep the connection open and never answer. It counts the connections it accepts."""

    def __init__(self, script: Any) -> None:
        self.script = script
        self.requests: list[bytes] = []
        self.accepted = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._held: list[socket.socket] = []
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while True:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = reader.readline()
                    if not line:
                        return
                    head += line
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                body = reader.read(length)
                with self._lock:
                    self.requests.append(body)
                    n = len(self.requests)
                answer = self.script(n)
                if answer is None:
                    return
                if answer is ...:
                    self._held.append(conn)
                    return
                for part in answer if isinstance(answer, list) else [answer]:
                    conn.sendall(part)
        except OSError:
            return
        finally:
            if conn not in self._held:
                reader.close()
                conn.close()

    def close(self) -> None:
        self._listener.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def raw_node() -> Any:
    nodes: list[_RawNode] = []

    def make(script: Any) -> _RawNode:
        nodes.append(_RawNode(script))
        return nodes[-1]

    yield make
    for node in nodes:
        node.close()


def test_a_request_the_node_took_without_answering_is_never_sent_again(raw_node: Any) -> None:
    """The second request is read by the node, which then closes the connection (a reused one) without a word: the
    call raises and nothing is resent (libcurl, for one, resends there: a raw transaction would reach the node
    twice). The next call opens a new connection."""
    node = raw_node(lambda n: None if n == 2 else _http(_ANSWER))
    rpc = JsonRpc(node.url, timeout=5)
    assert rpc.call("eth_chainId") == "0x7a69"
    with pytest.raises(RpcTransportError):
        rpc.call("eth_sendRawTransaction", "0x02f8")
    assert [json.loads(body)["method"] for body in node.requests] == ["eth_chainId", "eth_sendRawTransaction"]
    assert rpc.call("eth_chainId") == "0x7a69"
    assert len(node.requests) == 3 and node.accepted == 2


def test_a_node_that_never_answers_is_a_transport_error_after_the_timeout(raw_node: Any) -> None:
    node = raw_node(lambda n: ...)
    rpc = JsonRpc(node.url, timeout=0.5)
    with pytest.raises(RpcTransportError, match="no answer"):
        rpc.call("eth_sendRawTransaction", "0x02f8")
    wait_until(lambda: node.requests, "the node to have read the request")  # its thread may lag on a busy machine
    assert len(node.requests) == 1  # sent once, not again after the timeout


def test_answers_in_pieces_chunked_or_after_an_interim_answer_are_read_whole(raw_node: Any) -> None:
    result = "0x" + "ab" * 5000
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": result}).encode()
    chunked = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunks = [body[i : i + 777] for i in range(0, len(body), 777)]
    scripts = {
        1: [_http(body)[:10], _http(body)[10:100], _http(body)[100:]],  # head and body cut anywhere
        2: [chunked, *(b"%x\r\n%b\r\n" % (len(c), c) for c in chunks), b"0\r\n\r\n"],
        3: [b"HTTP/1.1 100 Continue\r\n\r\n", _http(body)],
    }
    node = raw_node(lambda n: scripts[n])
    rpc = JsonRpc(node.url, timeout=5)
    assert [rpc.call("eth_call") for _ in scripts] == [result] * 3
    assert node.accepted == 1  # each answer was read to its end: the connection stayed usable


def test_an_answer_that_closes_the_connection_is_followed_by_a_new_one(raw_node: Any) -> None:
    node = raw_node(lambda n: _http(_ANSWER, "200 OK", "Connection: close") if n == 1 else _http(_ANSWER))
    rpc = JsonRpc(node.url, timeout=5)
    assert [rpc.call("eth_chainId") for _ in range(3)] == ["0x7a69"] * 3
    assert node.accepted == 2  # the first connection was not reused after its "Connection: close"


def test_http_errors_and_garbage_are_transport_errors_and_a_json_error_body_is_an_rpc_error(raw_node: Any) -> None:
    error = b'{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"rate limited"}}'
    scripts = {
        1: _http(b"Bad Gateway", "502 Bad Gateway"),
        2: _http(error, "429 Too Many Requests"),
        3: _http(b"<html>not json</html>"),
        4: b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
        5: _http(_ANSWER),
    }
    node = raw_node(lambda n: scripts[n])
    rpc = JsonRpc(node.url, timeout=5)
    with pytest.raises(RpcTransportError, match="HTTP 502"):
        rpc.call("eth_blockNumber")
    with pytest.raises(RpcError) as limited:
        rpc.call("eth_blockNumber")
    assert (limited.value.code, limited.value.message) == (-32005, "rate limited")
    with pytest.raises(RpcTransportError, match="not JSON"):
        rpc.call("eth_blockNumber")
    with pytest.raises(RpcTransportError, match="no answer"):
        rpc.call("eth_blockNumber")
    assert rpc.call("eth_chainId") == "0x7a69"  # after the garbage, a new connection
    assert node.accepted == 2


def test_a_large_answer_from_anvil_comes_back_whole_in_every_thread(ledger: Ledger) -> None:
    """512 KiB through anvil's identity precompile (1 MiB of hex each way: anvil refuses a request twice that): an
    answer of many TCP segments, read whole, by 4 threads at once."""
    rpc = JsonRpc(ledger.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    identity = "0x0000000000000000000000000000000000000004"
    wrong: list[object] = []

    def ask(thread: int) -> None:
        data = "0x" + bytes([thread]).hex() * (1 << 19)
        for _ in range(3):
            try:
                answer = rpc.call("eth_call", {"to": identity, "data": data}, "latest")
            except Exception as exc:  # reported by the assertion below, not lost in the thread
                wrong.append(exc)
            else:
                if answer != data:
                    wrong.append((thread, len(answer)))

    _in_threads(ask, 4)
    assert wrong == []


def test_a_node_that_stops_is_a_transport_error_and_is_used_again_once_it_is_back(tmp_path: Path) -> None:
    """A real anvil stopped and started again on the same port: the call while it is down raises, the call after it
    is back answers (the client's kept connection to the old process is dropped, not an error)."""
    chain = DevChain(data_dir=tmp_path, port=free_port())
    chain.start()
    try:
        rpc = JsonRpc(chain.url, timeout=5)
        assert int(rpc.call("eth_chainId"), 16) == chain.chain_id
        chain.stop()
        with pytest.raises(RpcTransportError):
            rpc.call("eth_chainId")
        chain.start()
        assert int(rpc.call("eth_chainId"), 16) == chain.chain_id
    finally:
        chain.stop()


FIXTURES = Path(__file__).parent / "fixtures"  # tls-node-*.pem: a self-signed cert for 127.0.0.1, valid 2000-2100


def test_https_checks_the_nodes_certificate(monkeypatch: pytest.MonkeyPatch) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    server.drop_idle = False  # type: ignore[attr-defined]
    server.daemon_threads = True
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(FIXTURES / "tls-node-cert.pem", FIXTURES / "tls-node-key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(RpcTransportError, match="CERTIFICATE_VERIFY_FAILED"):
            JsonRpc(url, timeout=5).call("eth_chainId")  # not signed by a CA the client trusts
        monkeypatch.setenv("SSL_CERT_FILE", str(FIXTURES / "tls-node-cert.pem"))  # read by create_default_context
        rpc = JsonRpc(url, timeout=5)
        assert [rpc.call("eth_chainId") for _ in range(3)] == ["0x7a69"] * 3
    finally:
        server.shutdown()
        server.server_close()
