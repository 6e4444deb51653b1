"""Chain reads of the verification endpoints in JSON-RPC batches over a keep-alive HTTP client.

web3's contract calls cost about 4 ms of Python each (issue 8: ~250 calls/s); the same eth_call in a JSON-RPC
batch costs a fraction of that. `ChainReader` pins a block with one request and then reads several views at
that block in one batch; a view that reverts comes back as the decoded `ContractRevertError`, as web3's would.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from chain.node.abi import abi_type
from chain.node.contracts import ContractWrapper
from chain.node.errors import HistoricalStateUnavailableError, is_historical_state_missing
from chain.node.revert import ContractRevertError
from chain.node.rpc import JsonRpc


class ChainReadError(RuntimeError):
    """The node did not answer a batch as JSON-RPC says it must."""


def call_failure(error: Any, block: int, what: str) -> Exception:
    """What to raise for an eth_call answer whose error carries no revert data (the node could not run the call):
    the node no longer keeps the block's state, or another node error."""
    message = str(error.get("message")) if isinstance(error, dict) else str(error)
    if is_historical_state_missing(message):
        return HistoricalStateUnavailableError(block, message)
    return ChainReadError(f"{what}: {error}")


def _checksummed(value: Any, param: dict[str, Any]) -> Any:
    """eth-abi gives lowercase addresses; web3 (and so the rest of the code) checksummed ones."""
    if param["type"] == "address":
        return to_checksum_address(value)
    if param["type"] == "tuple":
        return tuple(_checksummed(v, c) for v, c in zip(value, param["components"], strict=True))
    return value


@dataclass(frozen=True)
class _View:
    selector: bytes
    inputs: list[str]
    outputs: list[dict[str, Any]]


@dataclass(frozen=True)
class ViewCall:
    contract: ContractWrapper
    signature: str  # e.g. "note(uint256)"
    args: tuple[Any, ...]


class ChainReader:
    def __init__(self, rpc_url: str, timeout: float = 10.0) -> None:
        self.rpc_url = rpc_url
        # chain.node.rpc's urllib3 keep-alive pool: no proxy or netrc lookups, a fraction of httpx's Python per request
        self.rpc = JsonRpc(rpc_url, timeout)
        self._views: dict[tuple[str, str], _View] = {}

    def _view(self, contract: ContractWrapper, signature: str) -> _View:
        key = (contract.address, signature)
        view = self._views.get(key)
        if view is None:
            abi = contract.handle.get_function_by_signature(signature).abi
            view = _View(
                selector=bytes(keccak(text=signature)[:4]),
                inputs=[abi_type(p) for p in abi["inputs"]],
                outputs=list(abi["outputs"]),
            )
            self._views[key] = view
        return view

    def block(self, identifier: str | int) -> dict[str, Any] | None:
        """The header of `identifier` ("latest" or a number) as the node sends it (hex strings); None past the head."""
        tag = identifier if isinstance(identifier, str) else hex(identifier)
        request = {"jsonrpc": "2.0", "id": 0, "method": "eth_getBlockByNumber", "params": [tag, False]}
        (answer,) = self.rpc.batch([request])
        if "error" in answer:
            raise ChainReadError(f"eth_getBlockByNumber: {answer['error']}")
        result: dict[str, Any] | None = answer.get("result")
        return result

    def calls(self, calls: list[ViewCall], block: int) -> list[tuple[Any, ...] | ContractRevertError]:
        """Every call at `block` in one batch: each result is the view's decoded outputs (a one-struct view: the
        struct's fields), or the decoded revert."""
        payload = []
        for i, call in enumerate(calls):
            view = self._view(call.contract, call.signature)
            data = view.selector + abi_encode(view.inputs, list(call.args))
            params = [{"to": call.contract.address, "data": "0x" + data.hex()}, hex(block)]
            payload.append({"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": params})
        out: list[tuple[Any, ...] | ContractRevertError] = []
        for call, answer in zip(calls, self.rpc.batch(payload), strict=True):
            view = self._view(call.contract, call.signature)
            if "error" in answer:
                error = answer["error"]
                if not isinstance(error, dict) or "data" not in error:
                    raise call_failure(error, block, call.signature)
                out.append(call.contract.decoder.decode(error["data"], contract=call.contract.NAME))
                continue
            raw = bytes.fromhex(str(answer["result"])[2:])
            values = abi_decode([abi_type(p) for p in view.outputs], raw)
            decoded = tuple(_checksummed(v, p) for v, p in zip(values, view.outputs, strict=True))
            if len(view.outputs) == 1 and view.outputs[0]["type"] == "tuple":
                decoded = decoded[0]
            out.append(decoded)
        return out


_readers: dict[str, ChainReader] = {}
_readers_lock = threading.Lock()


def chain_reader(rpc_url: str) -> ChainReader:
    """One reader (one keep-alive connection pool) per node URL for the process."""
    with _readers_lock:
        reader = _readers.get(rpc_url)
        if reader is None:
            reader = _readers[rpc_url] = ChainReader(rpc_url)
        return reader
