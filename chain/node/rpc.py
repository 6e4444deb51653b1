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
import http.client
import itertools
import json
import ssl
import threading
import weakref
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import urlsplit

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from urllib3.util import wait_for_read
from web3 import Web3
from web3.datastructures import AttributeDict
from web3.types import TxReceipt

from chain.node.errors import ChainUnavailableError

_HEADERS = {"Content-Type": "application/json"}


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


class JsonRpc:
    """Thread-safe: each thread keeps its own keep-alive connection to the node (stdlib `http.client`).

    urllib3's pool cost about 80 us of CPU a call over a bare connection (checking a connection out and in, its
    timeout and retry objects, its response wrapper): 211 against 114 us for an `eth_chainId`. A connection the
    node closed while idle is noticed before reuse (as urllib3 does) and reopened; a call that gets no answer
    raises `RpcTransportError` and drops its connection. Nothing is retried: a send with no answer is the
    signer's to resolve (the transaction may or may not have reached the node).
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self.url = url
        self.timeout = timeout
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._local = threading.local()  # .connection: this thread's
        self._open: weakref.WeakSet[http.client.HTTPConnection] = weakref.WeakSet()  # every thread's, for close()
        self._open_lock = threading.Lock()
        self._ids = itertools.count(1)

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            if self._https:
                connection = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                connection = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
            self._local.connection = connection
            with self._open_lock:
                self._open.add(connection)
        elif connection.sock is not None and wait_for_read(connection.sock, timeout=0.0):
            connection.close()  # readable while idle: the node closed it (the next request opens a new one)
        return connection

    def _post(self, payload: Any, method: str) -> Any:
        body = json.dumps(payload, separators=(",", ":")).encode()
        connection = self._connection()
        try:
            connection.request("POST", self.path, body=body, headers=_HEADERS)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise RpcTransportError(f"{method}: no answer from {self.url}: {exc}") from exc
        if response.status >= 400 and not data.startswith((b"{", b"[")):
            raise RpcTransportError(f"{method}: HTTP {response.status} from {self.url}")
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
