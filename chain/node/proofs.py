"""Merkle-Patricia proofs of a receivable note: fetch with eth_getProof, verify without trusting the service.

A note is one storage word of ReceivableNotes: `mapping(uint256 noteId => NoteWord) private _notes`, with
NoteWord {uint32 holderId; uint32 lienholderId; uint96 value; uint48 slotId; uint48 parentId} packed from the
low-order bytes up. Its storage slot is keccak256(abi.encode(noteId, baseSlot)).

A *bundle* (a JSON-serialisable dict) carries the block header fields (number, hash, stateRoot), the account
proof of the contract, the storage proof of the note's slot, and the note fields claimed. `verify_note_proof`
checks the account proof against a state root, the storage proof against the proven account's storageRoot,
and that the claimed fields equal the proven word. `verify_proof_file` takes the state root from an RPC node
of the verifier's choosing, not from the bundle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import rlp
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from trie.hexary import HexaryTrie
from web3 import Web3
from web3.types import BlockIdentifier

from chain.node.client import accept_poa_headers
from chain.node.errors import ScfError

BUNDLE_VERSION = 1
NOTES_VARIABLE = "_notes"
NOTE_FIELDS: tuple[tuple[str, int], ...] = (
    ("holderId", 32),
    ("lienholderId", 32),
    ("value", 96),
    ("slotId", 48),
    ("parentId", 48),
)


class ProofError(ScfError):
    """A note proof is malformed, does not verify, or does not match the claimed note."""


class NodeUnreachableError(ProofError):
    """The node the proof is checked against did not answer (refused, DNS, timeout): nothing was checked."""

    def __init__(self, rpc_url: str, reason: str) -> None:
        self.rpc_url = rpc_url
        self.reason = reason
        super().__init__(f"node unreachable at {rpc_url} ({reason})")


@dataclass(frozen=True)
class VerifiedNote:
    """A note's storage word proven against a block's state root."""

    address: str
    note_id: int
    block_number: int
    block_hash: str
    state_root: str
    holder_id: int
    lienholder_id: int
    value: int
    slot_id: int
    parent_id: int


# ------------------------------------------------------------------------------------ layout and word


def notes_base_slot(layout: dict[str, Any]) -> int:
    """The base slot of `_notes` in a compiler storageLayout."""
    for entry in layout.get("storage", []):
        if entry.get("label") == NOTES_VARIABLE:
            return int(entry["slot"])
    raise ProofError(f"the storage layout has no `{NOTES_VARIABLE}` variable")


def slot_for(note_id: int, base_slot: int) -> int:
    if note_id < 0 or note_id >= 2**256:
        raise ProofError(f"note id {note_id} is out of range")
    return int.from_bytes(keccak(note_id.to_bytes(32, "big") + base_slot.to_bytes(32, "big")), "big")


def note_storage_slot(layout: dict[str, Any], note_id: int) -> int:
    """keccak256(abi.encode(noteId, baseSlot)) for the `_notes` mapping of the given storageLayout."""
    return slot_for(note_id, notes_base_slot(layout))


def decode_note_word(word: int) -> dict[str, int]:
    """The NoteWord fields packed low-to-high in one storage word."""
    if word < 0 or word >= 2**256:
        raise ProofError("a storage word must fit in 256 bits")
    out: dict[str, int] = {}
    shift = 0
    for name, bits in NOTE_FIELDS:
        out[name] = (word >> shift) & ((1 << bits) - 1)
        shift += bits
    return out


# ------------------------------------------------------------------------------------ fetching


def _hex(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, int):
        return hex(value)
    return str(value)


def _rpc(w3: Web3, method: str, params: list[Any]) -> Any:
    response = w3.provider.make_request(method, params)  # type: ignore[arg-type]
    if "error" in response:
        raise ProofError(f"{method} failed: {response['error']}")
    return response.get("result")


def fetch_note_proof(
    w3: Web3, address: str, note_id: int, layout: dict[str, Any], block: BlockIdentifier = "latest"
) -> dict[str, Any]:
    """eth_getProof of the note's storage slot at `block`, with the block header fields and the decoded note."""
    base_slot = notes_base_slot(layout)
    header = w3.eth.get_block(block)
    number = int(header["number"])
    proof = _rpc(w3, "eth_getProof", note_proof_request(address, note_id, base_slot, number))
    return note_proof_bundle(
        address, note_id, base_slot, number, _hex(header["hash"]), _hex(header["stateRoot"]), proof
    )


def note_proof_request(address: str, note_id: int, base_slot: int, number: int) -> list[Any]:
    """The params of the eth_getProof that proves the note's storage word at block `number`."""
    slot_hex = "0x" + slot_for(note_id, base_slot).to_bytes(32, "big").hex()
    return [to_checksum_address(address), [slot_hex], hex(number)]


def note_proof_bundle(
    address: str, note_id: int, base_slot: int, number: int, block_hash: str, state_root: str, proof: dict[str, Any]
) -> dict[str, Any]:
    """The bundle of an eth_getProof answer (`proof`) for the note's slot at block `number` (hash, stateRoot)."""
    slot_hex = "0x" + slot_for(note_id, base_slot).to_bytes(32, "big").hex()
    storage = proof["storageProof"][0]
    word = int(str(storage["value"]), 16)
    return {
        "version": BUNDLE_VERSION,
        "address": to_checksum_address(address),
        "noteId": note_id,
        "baseSlot": base_slot,
        "slot": slot_hex,
        "block": {"number": number, "hash": block_hash, "stateRoot": state_root},
        "account": {
            "nonce": int(str(proof["nonce"]), 16),
            "balance": int(str(proof["balance"]), 16),
            "storageHash": str(proof["storageHash"]),
            "codeHash": str(proof["codeHash"]),
        },
        "accountProof": [str(node) for node in proof["accountProof"]],
        "storageProof": [str(node) for node in storage["proof"]],
        "storageValue": hex(word),
        "note": decode_note_word(word),
    }


# ------------------------------------------------------------------------------------ verifying


def _bytes(value: Any, what: str, length: int | None = None) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ProofError(f"{what} must be a 0x-prefixed hex string")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError as exc:
        raise ProofError(f"{what} is not valid hex") from exc
    if length is not None and len(raw) != length:
        raise ProofError(f"{what} must be {length} bytes, got {len(raw)}")
    return raw


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProofError(f"{what} must be a non-negative integer")
    return value


def _proof_nodes(nodes: Any, what: str) -> list[Any]:
    if not isinstance(nodes, list) or not nodes:
        raise ProofError(f"{what} must be a non-empty list of hex nodes")
    try:
        return [rlp.decode(_bytes(node, what)) for node in nodes]
    except rlp.DecodingError as exc:
        raise ProofError(f"{what} has a node that is not valid RLP") from exc


def _prove(root: bytes, key: bytes, nodes: list[Any], what: str) -> bytes:
    try:
        value: bytes = HexaryTrie.get_from_proof(root, key, nodes)  # type: ignore[no-untyped-call]
    except ProofError:
        raise
    except Exception as exc:  # BadTrieProof, malformed nodes: all mean "does not verify"
        raise ProofError(f"the {what} does not verify against root 0x{root.hex()}: {exc}") from exc
    return value


def verify_note_proof(
    bundle: dict[str, Any], state_root: bytes | None = None, *, base_slot: int | None = None
) -> VerifiedNote:
    """Verifies a bundle from `fetch_note_proof` against `state_root` (default: the bundle's own stateRoot).

    Pass the state root from a source you trust (your own node's header for the block); `base_slot`, when
    given, pins the `_notes` mapping's slot instead of taking it from the bundle.
    """
    if not isinstance(bundle, dict):
        raise ProofError("a proof bundle must be a JSON object")
    try:
        if bundle.get("version") != BUNDLE_VERSION:
            raise ProofError(f"unsupported proof bundle version {bundle.get('version')!r}")
        address = to_checksum_address(_bytes(bundle["address"], "address", 20))
        note_id = _int(bundle["noteId"], "noteId")
        bundle_base = _int(bundle["baseSlot"], "baseSlot")
        block = bundle["block"]
        if not isinstance(block, dict):
            raise ProofError("block must be an object")
        number = _int(block["number"], "block.number")
        block_hash = _bytes(block["hash"], "block.hash", 32)
        claimed_root = _bytes(block["stateRoot"], "block.stateRoot", 32)
        slot = _bytes(bundle["slot"], "slot", 32)
        claimed = bundle["note"]
        if not isinstance(claimed, dict):
            raise ProofError("note must be an object")
        account_nodes = _proof_nodes(bundle["accountProof"], "accountProof")
        storage_nodes = _proof_nodes(bundle["storageProof"], "storageProof")
    except KeyError as exc:
        raise ProofError(f"the proof bundle lacks the field {exc.args[0]!r}") from exc

    if base_slot is not None and bundle_base != base_slot:
        raise ProofError(f"the bundle's mapping slot {bundle_base} is not the `_notes` slot {base_slot}")
    if int.from_bytes(slot, "big") != slot_for(note_id, bundle_base):
        raise ProofError(f"the proven storage slot is not note {note_id}'s slot")
    root = claimed_root if state_root is None else state_root
    if not isinstance(root, bytes | bytearray) or len(root) != 32:
        raise ProofError("a state root must be 32 bytes")
    root = bytes(root)
    if root != claimed_root:
        raise ProofError(f"the bundle's stateRoot 0x{claimed_root.hex()} is not the trusted state root 0x{root.hex()}")

    account_rlp = _prove(root, keccak(_bytes(bundle["address"], "address", 20)), account_nodes, "account proof")
    if not account_rlp:
        raise ProofError(f"the account {address} does not exist in the state at block {number}")
    try:
        account = rlp.decode(account_rlp)
        _nonce, _balance, storage_root, _code_hash = account
    except (rlp.DecodingError, ValueError, TypeError) as exc:
        raise ProofError("the proven account is not an RLP [nonce, balance, storageRoot, codeHash]") from exc
    if not isinstance(storage_root, bytes) or len(storage_root) != 32:
        raise ProofError("the proven account's storageRoot is not 32 bytes")

    value_rlp = _prove(bytes(storage_root), keccak(slot), storage_nodes, "storage proof")
    try:
        word = int.from_bytes(rlp.decode(value_rlp), "big") if value_rlp else 0
    except (rlp.DecodingError, TypeError) as exc:
        raise ProofError("the proven storage value is not valid RLP") from exc
    proven = decode_note_word(word)
    if proven["holderId"] == 0:
        raise ProofError(f"note {note_id} does not exist at block {number}")
    for name, _bits in NOTE_FIELDS:
        if claimed.get(name) != proven[name]:
            raise ProofError(f"the bundle claims {name}={claimed.get(name)!r} but the chain proves {proven[name]}")
    if "storageValue" in bundle and bundle["storageValue"] != hex(word):
        raise ProofError(f"the bundle claims storageValue {bundle['storageValue']} but the chain proves {hex(word)}")
    return VerifiedNote(
        address=address,
        note_id=note_id,
        block_number=number,
        block_hash="0x" + block_hash.hex(),
        state_root="0x" + root.hex(),
        holder_id=proven["holderId"],
        lienholder_id=proven["lienholderId"],
        value=proven["value"],
        slot_id=proven["slotId"],
        parent_id=proven["parentId"],
    )


def load_bundle(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ProofError(f"cannot read the proof file {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ProofError(f"the proof file {path} is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ProofError(f"the proof file {path} does not hold a JSON object")
    return data


def verify_proof_file(
    path: str | Path, rpc_url: str, *, expected_address: str | None = None, timeout: float = 10.0
) -> VerifiedNote:
    """Verifies a bundle file against the header of its block as served by the node at `rpc_url`.

    `expected_address`, when given, must be the ReceivableNotes contract the bundle proves a note of.
    Raises ProofError (with a message fit for a CLI) on anything that does not check out.
    """
    bundle = load_bundle(path)
    if expected_address is not None and str(bundle.get("address", "")).lower() != expected_address.lower():
        raise ProofError(f"the bundle proves a note of {bundle.get('address')}, not of {expected_address}")
    block = bundle.get("block")
    if not isinstance(block, dict) or not isinstance(block.get("number"), int):
        raise ProofError("the proof bundle lacks block.number")
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
    accept_poa_headers(w3)  # a Clique or QBFT node's headers
    try:
        header = w3.eth.get_block(int(block["number"]))
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise NodeUnreachableError(rpc_url, type(exc).__name__) from exc
    except Exception as exc:  # an unknown block, an error answer: cannot check
        raise ProofError(f"cannot fetch block {block['number']} from {rpc_url}: {exc}") from exc
    node_hash = _hex(header["hash"])
    if str(block.get("hash", "")).lower() != node_hash.lower():
        raise ProofError(
            f"block {block['number']} at {rpc_url} has hash {node_hash}, not the bundle's {block.get('hash')}"
        )
    return verify_note_proof(bundle, bytes(header["stateRoot"]))
