"""Typed reads of the ledger at one block: headers, contract views and note proofs, in JSON-RPC batches.

The one path the verification side reads the chain by. Pin a block with `header` ("latest" or a number), then
read at its number: each read returns a typed result (a `BlockHeader`, the contract's struct dataclass from
`chain.node.contracts`, an id, a proof bundle). web3's contract calls cost about 4 ms of Python each (issue 8:
~250 calls/s); the same eth_call in a JSON-RPC batch over a keep-alive connection costs a fraction of that.

How a read fails, for every method:
- the node does not answer (refused, reset, timeout): `RpcTransportError` (an `OSError`);
- the node no longer keeps the block's state: `HistoricalStateUnavailableError`;
- the node answers a request with another error: `ChainReadError`;
- a view reverts: the decoded `ContractRevertError` (raised by the typed views, returned by `calls`);
- a view answers nothing (no code at the address at the block): web3's `BadFunctionCallOutput`, as web3 would;
- the node has no proof of a note: `ProofError` (`note_proof`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3.exceptions import BadFunctionCallOutput

from chain.node.abi import abi_type
from chain.node.contracts import (
    ContractWrapper,
    Financing,
    Loan,
    Member,
    MemberRegistry,
    Note,
    Order,
    OrderBook,
    Purchase,
    Receivable,
    ReceivableNotes,
)
from chain.node.errors import HistoricalStateUnavailableError, is_historical_state_missing
from chain.node.proofs import ProofError, note_proof_bundle, note_proof_request, notes_base_slot
from chain.node.revert import ContractRevertError
from chain.node.rpc import JsonRpc, shared_rpc

T = TypeVar("T")

NOTES_BATCH = 200  # eth_calls per JSON-RPC batch of `notes_at`
NOTES_TIMEOUT = 30.0  # seconds for one such batch
_NOTE_SELECTOR = bytes(keccak(text="note(uint256)")[:4])
_NOTE_TYPES = ["(uint32,uint32,uint256,uint256,uint256)"]


class ChainReadError(RuntimeError):
    """The node did not answer a request as JSON-RPC says it must."""


def call_failure(error: Any, block: int, what: str) -> Exception:
    """What to raise for an eth_call answer whose error carries no revert data (the node could not run the call):
    the node no longer keeps the block's state, or another node error."""
    message = str(error.get("message")) if isinstance(error, dict) else str(error)
    if is_historical_state_missing(message):
        return HistoricalStateUnavailableError(block, message)
    return ChainReadError(f"{what}: {error}")


@dataclass(frozen=True)
class BlockHeader:
    """The fields of a block header the verification answers use (hashes as the node sends them: 0x, lowercase)."""

    number: int
    hash: str
    timestamp: int
    state_root: str

    @classmethod
    def from_rpc(cls, raw: Mapping[str, Any]) -> BlockHeader:
        return cls(
            number=int(str(raw["number"]), 16),
            hash=str(raw["hash"]),
            timestamp=int(str(raw["timestamp"]), 16),
            state_root=str(raw["stateRoot"]),
        )


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
    """Thread-safe: keep-alive connections to one node (`chain_reader` keeps one reader per URL for the process)."""

    def __init__(self, rpc_url: str, timeout: float = 10.0) -> None:
        self.rpc_url = rpc_url
        # chain.node.rpc: a keep-alive connection per thread, no proxy or netrc lookups, a fraction of httpx's Python
        self.rpc = JsonRpc(rpc_url, timeout)
        self._views: dict[tuple[str, str], _View] = {}
        self._latest: tuple[float, BlockHeader] | None = None  # (monotonic time the read began, the header)

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

    def _request(self, method: str, params: list[Any]) -> Any:
        """One request's `result`; an error answer raises ChainReadError."""
        (answer,) = self.rpc.batch([{"jsonrpc": "2.0", "id": 0, "method": method, "params": params}])
        if "error" in answer:
            raise ChainReadError(f"{method}: {answer['error']}")
        return answer.get("result")

    # ------------------------------------------------------------------------------------------ blocks

    def header(self, identifier: str | int) -> BlockHeader | None:
        """The header of `identifier` ("latest" or a number); None past the head."""
        tag = identifier if isinstance(identifier, str) else hex(identifier)
        raw = self._request("eth_getBlockByNumber", [tag, False])
        return BlockHeader.from_rpc(raw) if raw is not None else None

    def latest(self, max_age: float, at_least: int = 0) -> BlockHeader:
        """The node's latest header as this reader last read it, when that read began at most `max_age` seconds ago
        and the header is block `at_least` or later; else the header read again (`header("latest")`). Many readers
        asking within `max_age` share one eth_getBlockByNumber."""
        seen = self._latest
        started = time.monotonic()
        if seen is not None and started - seen[0] <= max_age and seen[1].number >= at_least:
            return seen[1]
        header = self.header("latest")
        if header is None:
            raise ChainReadError("eth_getBlockByNumber: the node has no latest block")
        self._latest = (started, header)
        return header

    def headers(self, numbers: Iterable[int]) -> dict[int, BlockHeader]:
        """The headers of `numbers` in one batch (blocks past the head are left out)."""
        wanted = sorted(set(numbers))
        if not wanted:
            return {}
        payload = [
            {"jsonrpc": "2.0", "id": i, "method": "eth_getBlockByNumber", "params": [hex(n), False]}
            for i, n in enumerate(wanted)
        ]
        found: dict[int, BlockHeader] = {}
        for number, answer in zip(wanted, self.rpc.batch(payload), strict=True):
            if "error" in answer:
                raise ChainReadError(f"eth_getBlockByNumber: {answer['error']}")
            if answer.get("result") is not None:
                found[number] = BlockHeader.from_rpc(answer["result"])
        return found

    def head(self) -> int:
        """The number of the node's latest block."""
        return int(str(self._request("eth_blockNumber", [])), 16)

    # ------------------------------------------------------------------------------------------ views

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
            types = [abi_type(p) for p in view.outputs]
            if not raw and types:  # no code at the address at that block
                raise BadFunctionCallOutput(
                    f"Could not decode contract function call to {call.signature} with return data: b'', "
                    f"output_types: {types}"
                )
            values = abi_decode(types, raw)
            decoded = tuple(_checksummed(v, p) for v, p in zip(values, view.outputs, strict=True))
            if len(view.outputs) == 1 and view.outputs[0]["type"] == "tuple":
                decoded = decoded[0]
            out.append(decoded)
        return out

    def view(self, call: ViewCall, block: int) -> tuple[Any, ...]:
        """One view's decoded outputs at `block`; a revert raises the decoded ContractRevertError."""
        (result,) = self.calls([call], block)
        if isinstance(result, ContractRevertError):
            raise result
        return result

    def _struct(self, make: Callable[..., T], call: ViewCall, block: int) -> T:
        return make(*self.view(call, block))

    def note(self, notes: ReceivableNotes, note_id: int, block: int) -> Note:
        return self._struct(Note, ViewCall(notes, "note(uint256)", (note_id,)), block)

    def receivable(self, notes: ReceivableNotes, slot_id: int, block: int) -> Receivable:
        return self._struct(Receivable, ViewCall(notes, "receivable(uint256)", (slot_id,)), block)

    def slot_of_invoice(self, notes: ReceivableNotes, invoice_hash: bytes, block: int) -> int:
        """The receivable that tokenised the invoice (0: none)."""
        return int(self.view(ViewCall(notes, "slotOfInvoice(bytes32)", (invoice_hash,)), block)[0])

    def member(self, members: MemberRegistry, member_id: int, block: int) -> Member:
        return self._struct(Member, ViewCall(members, "member(uint32)", (member_id,)), block)

    @staticmethod
    def _terms_calls(notes: ReceivableNotes, members: MemberRegistry, slot_id: int, holder_id: int) -> list[ViewCall]:
        return [
            ViewCall(notes, "receivable(uint256)", (slot_id,)),
            ViewCall(members, "member(uint32)", (holder_id,)),
        ]

    @staticmethod
    def _terms(terms: Any, holder: Any) -> tuple[Receivable, Member]:
        """The decoded outputs of `_terms_calls` as records; a revert of either raises it."""
        if isinstance(terms, ContractRevertError):
            raise terms
        if isinstance(holder, ContractRevertError):
            raise holder
        return Receivable(*terms), Member(*holder)

    def note_terms(
        self, notes: ReceivableNotes, members: MemberRegistry, note: Note, block: int
    ) -> tuple[Receivable, Member]:
        """The note's receivable and its holder's member record at `block`, in one batch."""
        return self._terms(*self.calls(self._terms_calls(notes, members, note.slot_id, note.holder_id), block))

    def note_and_terms(
        self,
        notes: ReceivableNotes,
        members: MemberRegistry,
        note_id: int,
        expected: tuple[int, int] | None,
        block: int,
    ) -> tuple[Note, tuple[Receivable, Member] | None]:
        """The note at `block`, and with `expected` (the receivable and holder the note is thought to have, e.g. from
        the read model) that receivable and that member read in the same batch: returned when the chain's note has
        exactly those, else None (read them with `note_terms`). A note the chain does not know raises its revert."""
        calls = [ViewCall(notes, "note(uint256)", (note_id,))]
        if expected is not None:
            calls += self._terms_calls(notes, members, *expected)
        found = self.calls(calls, block)
        if isinstance(found[0], ContractRevertError):
            raise found[0]
        note = Note(*found[0])
        if expected is None or (note.slot_id, note.holder_id) != expected:
            return note, None
        return note, self._terms(found[1], found[2])

    def order(self, orders: OrderBook, order_id: int, block: int) -> Order:
        return self._struct(Order, ViewCall(orders, "order(uint256)", (order_id,)), block)

    def holder_of_order(self, orders: OrderBook, order_id: int, block: int) -> int:
        return int(self.view(ViewCall(orders, "holderOf(uint256)", (order_id,)), block)[0])

    def loan_of_order(self, financing: Financing, order_id: int, block: int) -> int:
        """The order's active loan (0: none)."""
        return int(self.view(ViewCall(financing, "loanOfOrder(uint256)", (order_id,)), block)[0])

    def loan(self, financing: Financing, loan_id: int, block: int) -> Loan:
        return self._struct(Loan, ViewCall(financing, "loan(uint256)", (loan_id,)), block)

    def purchase(self, financing: Financing, purchase_id: int, block: int) -> Purchase:
        return self._struct(Purchase, ViewCall(financing, "purchase(uint256)", (purchase_id,)), block)

    def notes_at(
        self, notes_address: str, note_ids: list[int], block: int, *, batch_size: int = NOTES_BATCH
    ) -> dict[int, Note | None]:
        """`note(id)` of each note at `block`, in JSON-RPC batches of `batch_size` eth_calls (over the process's
        pool with a longer timeout); None for a note the chain does not know (the call reverts)."""
        found: dict[int, Note | None] = {}
        rpc = shared_rpc(self.rpc_url, NOTES_TIMEOUT)
        for start in range(0, len(note_ids), batch_size):
            chunk = note_ids[start : start + batch_size]
            payload: list[dict[str, Any]] = [
                {
                    "jsonrpc": "2.0",
                    "id": i,
                    "method": "eth_call",
                    "params": [
                        {"to": notes_address, "data": "0x" + (_NOTE_SELECTOR + note_id.to_bytes(32, "big")).hex()},
                        hex(block),
                    ],
                }
                for i, note_id in enumerate(chunk)
            ]
            for answer in rpc.batch(payload):
                note_id = chunk[int(answer["id"])]
                error = answer.get("error")
                if error is not None and (not isinstance(error, dict) or "data" not in error):  # not a revert
                    raise call_failure(error, block, f"note({note_id}) at block {block}")
                result = answer.get("result")
                if not result or result == "0x":  # the call reverted (UnknownNote): the chain does not know the note
                    found[note_id] = None
                    continue
                ((holder, lien, slot, value, parent),) = abi_decode(_NOTE_TYPES, bytes.fromhex(result[2:]))
                found[note_id] = Note(int(holder), int(lien), int(slot), int(value), int(parent))
        return found

    # ------------------------------------------------------------------------------------------ proofs

    def note_proof(
        self, notes_address: str, note_id: int, layout: dict[str, Any], header: BlockHeader
    ) -> dict[str, Any]:
        """The eth_getProof bundle of the note's storage word at the block of `header` (`chain.node.proofs`)."""
        base_slot = notes_base_slot(layout)
        request = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "eth_getProof",
            "params": note_proof_request(notes_address, note_id, base_slot, header.number),
        }
        (answer,) = self.rpc.batch([request])
        if "error" in answer:
            raise ProofError(f"eth_getProof failed: {answer['error']}")
        proof: dict[str, Any] = answer["result"]
        return note_proof_bundle(
            notes_address, note_id, base_slot, header.number, header.hash, header.state_root, proof
        )


_readers: dict[str, ChainReader] = {}
_readers_lock = threading.Lock()


def chain_reader(rpc_url: str) -> ChainReader:
    """One reader (one keep-alive connection pool) per node URL for the process."""
    with _readers_lock:
        reader = _readers.get(rpc_url)
        if reader is None:
            reader = _readers[rpc_url] = ChainReader(rpc_url)
        return reader
