"""A lean JSON-RPC client for the write path's hot calls (pre-flight, send, nonce, fees, head).

web3.py spends most of a call's CPU outside the network: middleware, request and result formatters,
`requests`' per-call session merging. On the service's split path that was about a quarter of a request's
CPU (profiled with py-spy, see docs/performance-history.md). The calls here are the handful the signer makes per
transaction; they go over one keep-alive connection per thread and return the node's JSON as is (hex strings).
web3 stays in use for everything else (receipts with decoded logs, contract reads, deployment).

Errors: an answer with an `error` member raises `RpcError` (code, message, data); no answer at all (refused,
reset, timed out) raises `RpcTransportError`, an `OSError` like the transport errors web3's HTTP provider
raises, so callers handle both the same way.
"""

from __future__ import annotations

import functools
import itertools
import json
import select
import socket
import ssl
import threading
import weakref
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import urlsplit

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from httptools import HttpParserError, HttpResponseParser
from web3 import Web3
from web3.datastructures import AttributeDict
from web3.types import TxReceipt

from chain.node.errors import ChainUnavailableError

_RECV = 65536  # bytes asked of one `recv`: most answers fit in one (a block's receipts take a few)


class RpcError(Exception):
    """The node answered with a JSON-RPC error."""

    def __init__(self, method: str, code: int | None, message: str, data: Any = None) -> None:
        super().__init__(f"{method}: {message}")
        self.method = method
        self.code = code
        self.message = message
        self.data = data

    @property
    def revert_data(self) -> str | None:
        """Hex revert data when the error is a reverted call (anvil, geth, Besu put it in `data`)."""
        data = self.data
        if isinstance(data, dict):
            data = data.get("data") or data.get("result")
        if isinstance(data, str):
            if data.startswith("Reverted "):
                data = data.split(" ", 1)[1]
            if data.startswith("0x"):
                return data
        return None

    @property
    def is_revert(self) -> bool:
        return self.code == 3 or "revert" in self.message.lower() or self.revert_data is not None


class RpcTransportError(ConnectionError):
    """The node did not answer (connection refused or reset, timeout, malformed answer)."""


def result_of(method: str, answer: Any) -> Any:
    """The `result` of a JSON-RPC answer; raises `RpcError` for an `error` member."""
    if not isinstance(answer, Mapping):
        raise RpcTransportError(f"{method}: unexpected answer {answer!r}"[:300])
    error = answer.get("error")
    if error is not None:
        if isinstance(error, Mapping):
            raise RpcError(method, error.get("code"), str(error.get("message", "")), error.get("data"))
        raise RpcError(method, None, str(error))
    return answer.get("result")


class _Connection:
    """One keep-alive HTTP/1.1 connection to the node and its response parser (httptools: llhttp, in C).

    A request is written with one `sendall`; the answer is read with `recv` and fed to the parser until it reports
    the message complete (Content-Length or chunked, as the parser reads them). The parser's Python callbacks are two
    (`on_body`, `on_message_complete`): the status line and headers stay in C."""

    __slots__ = ("__weakref__", "_poll", "body", "closed", "complete", "keep_alive", "parser", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.parser = HttpResponseParser(self)
        self.body: list[bytes] = []
        self.complete = False
        self.keep_alive = False
        self.closed = False
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN)

    def on_body(self, chunk: bytes) -> None:
        self.body.append(chunk)

    def on_message_complete(self) -> None:
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()  # here: the parser forgets the answer's headers after it

    def dropped(self) -> bool:
        """Readable while idle: the node closed it (or sent what nobody asked for). Either way it is not reused."""
        return bool(self._poll.poll(0))

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Sends `request` and reads its answer: (status, body). Raises `OSError` (refused, reset, timed out, the
        node closed the connection before answering) or `HttpParserError` (not HTTP)."""
        self.sock.sendall(request)
        parser = self.parser
        while True:
            self.body = []
            self.complete = False
            while not self.complete:
                data = self.sock.recv(_RECV)
                if not data:
                    raise ConnectionResetError("the node closed the connection before it answered")
                parser.feed_data(data)
            status = parser.get_status_code()
            if not 100 <= status < 200:  # an interim answer (100 Continue) is followed by the real one
                break
        if not self.keep_alive:
            self.close()
        body = self.body
        return status, body[0] if len(body) == 1 else b"".join(body)

    def close(self) -> None:
        self.closed = True
        self.sock.close()


class JsonRpc:
    """Thread-safe: each thread keeps its own keep-alive connection to the node (a socket and httptools' parser).

    `http.client` (round 6) was still about 14% of a split's CPU in a profile (its header parser goes through the
    `email` package; a file object per response), and urllib3's pool before it more (checking a connection out and
    in, timeout and retry objects, a response wrapper). Here a call is one `sendall` and, for an answer of one TCP
    segment, one `recv`: about 20-45 against 105-150 us of client CPU a small call (`python -m bench.transport`,
    which measures both and pycurl; docs/performance.md, round 10 of a split's CPU). An answer must say its length
    (Content-Length or chunked, as every node does): one delimited by the connection's close is read as no answer.

    A connection the node closed while idle is noticed before reuse (readable while idle, as urllib3's pool checks)
    and reopened before anything is written on it. A call that gets no answer raises `RpcTransportError` and drops
    its connection. Nothing is ever sent twice: once a request is written it is not retried, whatever the call (a
    send with no answer is the signer's to resolve: the transaction may or may not have reached the node). libcurl
    (pycurl) was measured too: it resends a request written on a reused connection that closes without answering.
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self.url = url
        self.timeout = timeout
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._ssl = ssl.create_default_context() if parts.scheme == "https" else None
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._ssl is not None else 80)
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {host}{f':{parts.port}' if parts.port else ''}\r\n"
            "Content-Type: application/json\r\nAccept-Encoding: identity\r\nContent-Length: "
        ).encode()
        self._local = threading.local()  # .connection: this thread's
        self._open: weakref.WeakSet[_Connection] = weakref.WeakSet()  # every thread's, for close()
        self._open_lock = threading.Lock()
        self._ids = itertools.count(1)

    def _connect(self) -> _Connection:
        sock = socket.create_connection((self._host, self._port), timeout=self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._ssl is not None:
                sock = self._ssl.wrap_socket(sock, server_hostname=self._host)
        except BaseException:
            sock.close()
            raise
        connection = _Connection(sock)
        self._local.connection = connection
        with self._open_lock:
            self._open.add(connection)
        return connection

    def _post(self, payload: Any, method: str) -> Any:
        body = json.dumps(payload, separators=(",", ":")).encode()
        request = b"%b%d\r\n\r\n%b" % (self._head, len(body), body)
        connection: _Connection | None = getattr(self._local, "connection", None)
        try:
            if connection is None or connection.closed:
                connection = self._connect()
            elif connection.dropped():
                connection.close()  # nothing was written on it: a new connection, not a retry
                connection = self._connect()
            status, data = connection.exchange(request)
        except (OSError, HttpParserError) as exc:
            if connection is not None:
                connection.close()
            raise RpcTransportError(f"{method}: no answer from {self.url}: {exc}") from exc
        if status >= 400 and not data.startswith((b"{", b"[")):
            raise RpcTransportError(f"{method}: HTTP {status} from {self.url}")
        try:
            return json.loads(data)
        except ValueError as exc:
            raise RpcTransportError(f"{method}: not JSON from {self.url}") from exc

    def call(self, method: str, *params: Any) -> Any:
        answer = self._post({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}, method)
        return result_of(method, answer)

    def batch(self, payload: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One JSON-RPC batch request (integer ids); the node's answers in id order, each as sent (`result` or
        `error`: see `result_of`). Raises RpcTransportError unless there is one answer per request."""
        method = str(payload[0]["method"]) if payload else "batch"
        answers = self._post(payload, method)
        if not isinstance(answers, list) or len(answers) != len(payload):
            raise RpcTransportError(f"{method}: the node did not answer the batch: {answers!r}"[:300])
        return sorted(answers, key=lambda answer: int(answer["id"]))

    def calls(self, *calls: tuple[str, list[Any]]) -> list[Any]:
        """Several calls in one round trip (a JSON-RPC batch, answered in order); their results. Raises `RpcError`
        for the first call the node answered with an error."""
        if len(calls) <= 1:
            return [self.call(method, *params) for method, params in calls]
        payload = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        return [result_of(m, answer) for (m, _), answer in zip(calls, self.batch(payload), strict=True)]

    def close(self) -> None:
        """Closes every thread's connection (a later call opens a new one)."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            connection.close()


class ProviderRpc:
    """`JsonRpc.call` over a web3 provider that is not plain HTTP (IPC, a test provider)."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    def call(self, method: str, *params: Any) -> Any:
        return result_of(method, self.w3.provider.make_request(method, list(params)))  # type: ignore[arg-type]

    def calls(self, *calls: tuple[str, list[Any]]) -> list[Any]:
        """`JsonRpc.calls` one call at a time (in order)."""
        return [self.call(method, *params) for method, params in calls]


def rpc_for(w3: Web3, timeout: float = 10.0) -> JsonRpc | ProviderRpc:
    """The lean JSON-RPC client for the node behind `w3` (its own pool), or its provider when not HTTP."""
    url = getattr(w3.provider, "endpoint_uri", None)
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        return JsonRpc(url, timeout)
    return ProviderRpc(w3)


_shared: dict[tuple[str, float], JsonRpc] = {}
_shared_lock = threading.Lock()


def shared_rpc(url: str, timeout: float = 10.0) -> JsonRpc:
    """One keep-alive pool per node URL and timeout for the process, for occasional callers (`/health`, the
    devchain's start and stop) that would otherwise build a client per call."""
    with _shared_lock:
        client = _shared.get((url, timeout))
        if client is None:
            client = _shared[(url, timeout)] = JsonRpc(url, timeout)
        return client


# ---------------------------------------------------------------------------------------------- receipts

_INT_FIELDS = frozenset(
    {
        "blockNumber",
        "transactionIndex",
        "logIndex",
        "status",
        "gasUsed",
        "cumulativeGasUsed",
        "effectiveGasPrice",
        "type",
        "blobGasUsed",
        "blobGasPrice",
    }
)
_BYTES_FIELDS = frozenset({"transactionHash", "blockHash", "logsBloom", "data", "root"})
_ADDRESS_FIELDS = frozenset({"from", "to", "contractAddress", "address"})


@functools.lru_cache(maxsize=4096)
def _checksum(address: str) -> ChecksumAddress:
    return to_checksum_address(address)


def _format_entry(raw: Mapping[str, Any]) -> AttributeDict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None:
            out[key] = None
        elif key in _INT_FIELDS:
            out[key] = int(value, 16) if isinstance(value, str) else int(value)
        elif key in _BYTES_FIELDS:
            out[key] = HexBytes(value)
        elif key in _ADDRESS_FIELDS:
            out[key] = _checksum(value)
        elif key == "topics":
            out[key] = [HexBytes(t) for t in value]
        elif key == "logs":
            out[key] = [_format_entry(entry) for entry in value]
        else:
            out[key] = value
    return AttributeDict(out)


def format_receipt(raw: Mapping[str, Any]) -> TxReceipt:
    """A node's raw receipt in the shape web3's `get_transaction_receipt` returns (ints, HexBytes, checksum
    addresses, AttributeDicts), for `contract.events.X().process_receipt` and the other receipt readers;
    without web3's generic formatter pipeline (the checksum of the few contract addresses is cached)."""
    return cast(TxReceipt, _format_entry(raw))


__all__ = [
    "JsonRpc",
    "ProviderRpc",
    "RpcError",
    "RpcTransportError",
    "format_receipt",
    "result_of",
    "rpc_for",
    "shared_rpc",
]


def rpc_call(url: str, method: str, params: list[object] | None = None, timeout: float = 2.0) -> object:
    """One JSON-RPC call over HTTP; raises ChainUnavailableError when the node does not answer. Over the
    process's shared keep-alive pool for the URL: a client per call (httpx.post) built an SSL context each time,
    loading the CA bundle, about 10 ms of CPU per `/health` (perf; docs/performance-history.md, round 4)."""
    try:
        return shared_rpc(url, timeout).call(method, *(params or []))
    except RpcTransportError as exc:
        raise ChainUnavailableError(f"no JSON-RPC answer from {url}: {exc}") from exc
    except RpcError as exc:
        raise ChainUnavailableError(f"{method} failed at {url}: {exc.message}") from exc
