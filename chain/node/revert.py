"""Turns contract revert data into `ContractRevertError`s with the error's name and decoded arguments.

The contracts revert with custom errors (DESIGN.md: no revert strings), so the raw data a node returns
is a 4-byte selector plus ABI-encoded arguments. The API must show a user *which* rule was broken and
with what values, so the decoder keeps a selector table built from every ABI the project compiles
(`build/contracts/*.json`) and decodes the arguments with eth-abi. Solidity's built-in `Error(string)`
and `Panic(uint256)` are decoded too; anything else is still reported, as error "Unknown" with the raw
data, so no revert is ever swallowed.

How web3 8 surfaces revert data (web3/_utils/error_formatters_utils.py): `eth_call` and
`eth_estimateGas` raise `ContractLogicError` or a subclass (`ContractCustomError`,
`ContractPanicError`) whose `.data` is the hex revert data (a dict on some nodes, `None` when the
revert carried no data). A *mined* transaction only has `status == 0` in its receipt, so its reason is
recovered where it ran: from the node's trace of it, else by simulating it after its block's earlier
transactions (`RevertDecoder.from_receipt`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.abi import abi_to_signature, function_signature_to_4byte_selector, get_abi_input_types
from web3 import Web3
from web3.types import TxReceipt

from chain.node.errors import ScfError
from chain.node.rpc import JsonRpc, ProviderRpc, RpcError, rpc_for

if TYPE_CHECKING:
    from chain.node.artifacts import Artifact

JsonValue = int | str | bool | list["JsonValue"] | dict[str, "JsonValue"] | None

ERROR_STRING_SELECTOR = "0x08c379a0"  # Error(string), what `revert("...")` and `require(c, "...")` produce
PANIC_SELECTOR = "0x4e487b71"  # Panic(uint256), what checked arithmetic, assert, bounds checks produce

# https://docs.soliditylang.org/en/latest/control-structures.html#panic-via-assert-and-error-via-require
PANIC_REASONS: dict[int, str] = {
    0x00: "generic compiler panic",
    0x01: "assertion failed",
    0x11: "arithmetic underflow or overflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "corrupt storage byte array",
    0x31: "pop on an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory or array too large",
    0x51: "call to an uninitialised internal function",
}

_INTERFACE_NAME = re.compile(r"^I[A-Z]")


class ContractRevertError(ScfError):
    """A contract call or transaction reverted; carries the decoded error so the API can explain it.

    `arguments` holds the custom error's arguments by name (JSON-friendly: ints, checksummed
    addresses, 0x-hex bytes, lists, dicts for structs). It is not called `args` because
    `BaseException.args` is the exception's constructor tuple and coerces whatever is assigned to it.
    """

    def __init__(
        self,
        *,
        error: str,
        arguments: dict[str, JsonValue],
        raw: str,
        selector: str | None = None,
        signature: str | None = None,
        contract: str | None = None,
        reason: str | None = None,
        tx_hash: str | None = None,
    ) -> None:
        self.error = error
        self.arguments = arguments
        self.raw = raw
        self.selector = selector
        self.signature = signature
        self.contract = contract
        self.reason = reason
        self.tx_hash = tx_hash
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{self.contract}." if self.contract else ""
        if self.error == "Unknown":
            what = f"reverted with unrecognised data {self.raw[:74] or '0x'}"
        else:
            shown = ", ".join(f"{name}={value!r}" for name, value in self.arguments.items())
            what = f"reverted with {where}{self.error}({shown})"
        if self.reason and self.error == "Panic":
            what += f": {self.reason}"
        return f"transaction {self.tx_hash} {what}" if self.tx_hash else f"contract call {what}"

    def as_dict(self) -> dict[str, JsonValue]:
        """The fields an RFC 9457 problem document carries as its `contract_error` extension."""
        return {
            "contract": self.contract,
            "error": self.error,
            "args": self.arguments,
            "selector": self.selector,
            "signature": self.signature,
            "reason": self.reason,
            "raw": self.raw,
            "tx_hash": self.tx_hash,
        }


@dataclass(frozen=True)
class ErrorSpec:
    """One custom error from the ABIs: how to decode it and which contracts declare it."""

    name: str
    signature: str
    selector: str
    inputs: tuple[Mapping[str, Any], ...]
    types: tuple[str, ...]  # canonical ABI types, structs as "(uint128,bool)", for eth-abi
    contracts: tuple[str, ...]


def _json_value(value: Any, abi_input: Mapping[str, Any]) -> JsonValue:
    """Converts one eth-abi decoded value into JSON-friendly Python, guided by its ABI description."""
    abi_type = str(abi_input["type"])
    if abi_type.endswith("]"):
        element = {**abi_input, "type": abi_type[: abi_type.rindex("[")]}
        return [_json_value(item, element) for item in value]
    if abi_type == "tuple":
        components = abi_input.get("components", [])
        return {
            str(component.get("name") or f"_{i}"): _json_value(item, component)
            for i, (component, item) in enumerate(zip(components, value, strict=True))
        }
    if abi_type == "address":
        return Web3.to_checksum_address(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, bool | int | str):
        return value
    return str(value)


def _hex(data: bytes | str | None) -> str:
    if data is None:
        return "0x"
    if isinstance(data, bytes):
        return "0x" + data.hex()
    text = data.strip()
    return text if text.startswith("0x") else "0x" + text


class RevertDecoder:
    """Maps revert data to `ContractRevertError` using a selector table from contract ABIs."""

    def __init__(
        self, abis: Mapping[str, Sequence[Mapping[str, Any]]], addresses: Mapping[str, str] | None = None
    ) -> None:
        """`abis`: contract name -> ABI; `addresses`: deployed address -> contract name (optional)."""
        found: dict[str, tuple[Mapping[str, Any], str, list[str]]] = {}
        # Two contracts may declare one signature with different argument names (OrderBook's
        # NotLienholder(orderId, caller), ReceivableNotes' NotLienholder(noteId, caller)): keep each
        # contract's names, used when the reverting contract is known.
        self._inputs_by_contract: dict[tuple[str, str], tuple[Mapping[str, Any], ...]] = {}
        for contract_name in sorted(abis):
            for entry in abis[contract_name]:
                if entry.get("type") != "error":
                    continue
                signature = abi_to_signature(entry)  # type: ignore[arg-type]
                selector = "0x" + function_signature_to_4byte_selector(signature).hex()
                self._inputs_by_contract[(selector, contract_name)] = tuple(entry.get("inputs", []))
                if selector not in found:
                    found[selector] = (entry, signature, [])
                if found[selector][1] == signature and contract_name not in found[selector][2]:
                    found[selector][2].append(contract_name)
        self.errors: dict[str, ErrorSpec] = {
            selector: ErrorSpec(
                name=str(entry["name"]),
                signature=signature,
                selector=selector,
                inputs=tuple(entry.get("inputs", [])),
                types=tuple(get_abi_input_types(entry)),  # type: ignore[arg-type]
                contracts=tuple(contracts),
            )
            for selector, (entry, signature, contracts) in found.items()
        }
        self.addresses: dict[str, str] = {}
        for address, name in (addresses or {}).items():
            self.register(address, name)

    @classmethod
    def from_build_dir(cls, build_dir: Path | None = None) -> RevertDecoder:
        """Reads every artifact `chain.devnet.compile` wrote; an absent folder gives a decoder of built-ins only."""
        if build_dir is None:
            from chain.node.artifacts import BUILD_DIR

            build_dir = BUILD_DIR
        abis: dict[str, list[dict[str, Any]]] = {}
        for path in sorted(build_dir.glob("*.json")):
            data = json.loads(path.read_text())
            if isinstance(data, dict) and isinstance(data.get("abi"), list):
                abis[str(data.get("contractName", path.stem))] = data["abi"]
        return cls(abis)

    @classmethod
    def from_artifacts(
        cls, artifacts: Mapping[str, Artifact], addresses: Mapping[str, str] | None = None
    ) -> RevertDecoder:
        """From loaded artifacts (e.g. `Ledger.artifacts`) and deployed addresses by contract name."""
        abis = {name: artifact.abi for name, artifact in artifacts.items()}
        return cls(abis, {address: name for name, address in (addresses or {}).items()})

    def register(self, address: str, contract: str) -> None:
        """Names the contract deployed at `address`, so reverts of calls to it name it."""
        self.addresses[address.lower()] = contract

    def contract_at(self, address: str | None) -> str | None:
        return self.addresses.get(address.lower()) if address else None

    def decode(
        self,
        data: bytes | str | None,
        *,
        contract: str | None = None,
        address: str | None = None,
        tx_hash: str | None = None,
    ) -> ContractRevertError:
        """Decodes revert `data` of a call to `contract` (or the contract registered at `address`)."""
        raw = _hex(data)
        target = contract or self.contract_at(address)
        payload = bytes.fromhex(raw[2:]) if len(raw) % 2 == 0 else b""
        if len(payload) < 4:
            return ContractRevertError(error="Unknown", arguments={}, raw=raw, contract=target, tx_hash=tx_hash)
        selector = "0x" + payload[:4].hex()
        body = payload[4:]
        try:
            if selector == ERROR_STRING_SELECTOR:
                (message,) = abi_decode(["string"], body)
                return ContractRevertError(
                    error="Error",
                    arguments={"message": message},
                    raw=raw,
                    selector=selector,
                    signature="Error(string)",
                    contract=target,
                    reason=message,
                    tx_hash=tx_hash,
                )
            if selector == PANIC_SELECTOR:
                (code,) = abi_decode(["uint256"], body)
                return ContractRevertError(
                    error="Panic",
                    arguments={"code": code},
                    raw=raw,
                    selector=selector,
                    signature="Panic(uint256)",
                    contract=target,
                    reason=PANIC_REASONS.get(code, f"panic code {code:#x}"),
                    tx_hash=tx_hash,
                )
            spec = self.errors.get(selector)
            if spec is not None:
                values = abi_decode(spec.types, body)
                inputs = self._inputs_by_contract.get((selector, target or ""), spec.inputs)
                arguments = {
                    str(abi_input.get("name") or f"_{i}"): _json_value(value, abi_input)
                    for i, (abi_input, value) in enumerate(zip(inputs, values, strict=True))
                }
                return ContractRevertError(
                    error=spec.name,
                    arguments=arguments,
                    raw=raw,
                    selector=selector,
                    signature=spec.signature,
                    contract=self._declaring_contract(spec, target),
                    tx_hash=tx_hash,
                )
        except DecodingError:
            pass  # data that claims a known selector but does not decode: report it raw below
        return ContractRevertError(
            error="Unknown", arguments={}, raw=raw, selector=selector, contract=target, tx_hash=tx_hash
        )

    @staticmethod
    def _declaring_contract(spec: ErrorSpec, target: str | None) -> str | None:
        """The called contract when it declares the error, else the (non-interface) contract that does."""
        if target in spec.contracts:
            return target
        concrete = [name for name in spec.contracts if not _INTERFACE_NAME.match(name)]
        candidates = concrete or list(spec.contracts)
        return candidates[0] if candidates else target

    def from_exception(
        self,
        exc: BaseException,
        *,
        contract: str | None = None,
        address: str | None = None,
        tx_hash: str | None = None,
    ) -> ContractRevertError:
        """Decodes the revert behind a web3 `ContractLogicError` (from eth_call / eth_estimateGas)."""
        if isinstance(exc, ContractRevertError):
            return exc
        return self.decode(revert_data(exc), contract=contract, address=address, tx_hash=tx_hash)

    def from_receipt(
        self,
        w3: Web3,
        receipt: TxReceipt,
        *,
        contract: str | None = None,
        rpc: JsonRpc | ProviderRpc | None = None,
    ) -> ContractRevertError:
        """Explains a mined transaction with status 0 at its real position in its block.

        Several transactions share a block on interval mining (0.5 s) and on a consortium network, so the state
        before the block is not the state the transaction ran on: the loser of a race for one note passes a
        replay there and fails only after the winner, earlier in the same block. In order:

        1. `debug_traceTransaction` (callTracer, top call only): the node re-executes the block up to and
           including the transaction and returns its revert data (anvil; geth and Besu with the debug API);
        2. `eth_simulateV1` on the parent block with the block's earlier transactions first, then this one,
           under the block's number and timestamp (nodes without the debug API that have eth_simulateV1);
        3. `eth_call` on the parent block: exact only when no earlier transaction of the block changed the
           outcome; a replay that does not revert is reported as error "Unknown" rather than guessed.
        """
        rpc = rpc if rpc is not None else rpc_for(w3)
        tx_hash = _hex(bytes(receipt["transactionHash"]))
        tx = rpc.call("eth_getTransactionByHash", tx_hash) or {}
        to = tx.get("to")
        target = contract or self.contract_at(to)
        gas = int(tx.get("gas") or "0x0", 16)
        if gas and int(receipt["gasUsed"]) >= gas:
            return ContractRevertError(
                error="OutOfGas",
                arguments={"gas": gas},
                raw="0x",
                contract=target,
                reason="the transaction used all the gas it was given",
                tx_hash=tx_hash,
            )
        for explain in (self._by_trace, self._by_simulation):
            data = explain(rpc, tx_hash, tx, receipt)
            if data is not None:
                return self.decode(data, contract=contract, address=to, tx_hash=tx_hash)
        return self._by_replay(rpc, tx, receipt, contract=contract, tx_hash=tx_hash)

    @staticmethod
    def _by_trace(rpc: JsonRpc | ProviderRpc, tx_hash: str, tx: Mapping[str, Any], receipt: TxReceipt) -> str | None:
        """The revert data from the node's own re-execution of the block (None: no debug API, or no revert)."""
        options = {"tracer": "callTracer", "tracerConfig": {"onlyTopCall": True}}
        try:
            frame = rpc.call("debug_traceTransaction", tx_hash, options)
        except RpcError:
            return None  # the node does not offer the debug API (or this tracer)
        if not isinstance(frame, dict) or not frame.get("error"):
            return None
        return _hex(frame.get("output") or "0x")

    @staticmethod
    def _by_simulation(
        rpc: JsonRpc | ProviderRpc, tx_hash: str, tx: Mapping[str, Any], receipt: TxReceipt
    ) -> str | None:
        """The revert data of the transaction simulated after its block's earlier transactions (None: the node
        has no eth_simulateV1, or the simulation did not revert)."""
        number = int(receipt["blockNumber"])
        position = int(receipt["transactionIndex"])
        try:
            block = rpc.call("eth_getBlockByNumber", hex(number), True) or {}
            earlier = [t for t in block.get("transactions") or () if int(t["transactionIndex"], 16) < position]
            calls = [_as_call(t) for t in (*earlier, tx)]
            overrides = {"number": hex(number), "time": block.get("timestamp", "0x0")}
            payload = {"blockStateCalls": [{"blockOverrides": overrides, "calls": calls}], "validation": False}
            result = rpc.call("eth_simulateV1", payload, hex(number - 1))
        except RpcError:
            return None
        try:
            outcome = result[0]["calls"][-1]
        except (IndexError, KeyError, TypeError):
            return None
        if int(str(outcome.get("status", "0x1")), 16) == 1:
            return None
        error = outcome.get("error")
        data = error.get("data") if isinstance(error, dict) else None
        return _hex(data or outcome.get("returnData") or "0x")

    def _by_replay(
        self,
        rpc: JsonRpc | ProviderRpc,
        tx: Mapping[str, Any],
        receipt: TxReceipt,
        *,
        contract: str | None,
        tx_hash: str,
    ) -> ContractRevertError:
        to = tx.get("to")
        try:
            rpc.call("eth_call", _as_call(tx), hex(int(receipt["blockNumber"]) - 1))
        except RpcError as exc:
            if exc.is_revert:
                return self.decode(exc.revert_data, contract=contract, address=to, tx_hash=tx_hash)
        return ContractRevertError(
            error="Unknown",
            arguments={},
            raw="0x",
            contract=contract or self.contract_at(to),
            reason="the transaction reverted on chain, and the node can neither trace it nor replay it where it ran",
            tx_hash=tx_hash,
        )


def _as_call(tx: Mapping[str, Any]) -> dict[str, Any]:
    """A mined transaction (node JSON) as the call object of eth_call / eth_simulateV1."""
    call: dict[str, Any] = {"from": tx["from"], "data": tx.get("input") or "0x", "value": tx.get("value") or "0x0"}
    if tx.get("gas"):
        call["gas"] = tx["gas"]
    if tx.get("to"):
        call["to"] = tx["to"]
    return call


def revert_data(exc: BaseException) -> str | None:
    """The hex revert data inside a web3 exception, in the shapes different nodes return it."""
    data: Any = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data") or data.get("result")
    if data is None:
        response = getattr(exc, "rpc_response", None)
        error = response.get("error") if isinstance(response, dict) else None
        data = error.get("data") if isinstance(error, dict) else None
    if isinstance(data, str):
        if data.startswith("Reverted "):  # Hardhat/Ganache style prefix
            data = data.split(" ", 1)[1]
        if data.startswith("0x"):
            return str(data)
    return None
