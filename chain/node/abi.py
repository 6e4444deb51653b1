"""ABI vocabulary: the six deployed contracts, canonical parameter types and signatures (eth-abi / eth-utils).

Shared by `scripts/abi_export.py` (build/abi and the selector table of docs/errors.md) and `GET /v1/abi`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from eth_abi.grammar import TupleType
from eth_abi.grammar import parse as parse_type
from eth_typing import ChecksumAddress
from eth_utils.abi import collapse_if_tuple, function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address
from eth_utils.hexadecimal import decode_hex

DEPLOYED = ["MemberRegistry", "CashToken", "ReceivableNotes", "OrderBook", "Financing", "Settlement"]


def abi_type(param: Mapping[str, Any]) -> str:
    """The canonical type of an ABI parameter, tuples spelled out as in selectors: `(uint128,bool)[]`."""
    return str(collapse_if_tuple(dict(param)))


def error_signature(entry: dict[str, Any]) -> str:
    """`NotAMember(address)` for the ABI entry of that error."""
    return f"{entry['name']}({','.join(abi_type(p) for p in entry['inputs'])})"


def signature_types(signature: str) -> list[str]:
    """The argument types of a signature: 'f(uint256,(address,bool)[],bytes32)' -> ['uint256', '(address,bool)[]',
    'bytes32'] (eth-abi's type grammar parses the list as one tuple type; parsed once per signature)."""
    return list(_signature_types(signature))


@lru_cache(maxsize=1024)
def _signature_types(signature: str) -> tuple[str, ...]:
    start = signature.find("(")
    if start < 0 or not signature.endswith(")"):
        raise ValueError(f"not a function signature: {signature!r}")
    if start == len(signature) - 2:  # `memberCount()`: the grammar has no empty tuple
        return ()
    arguments = parse_type(signature[start:])
    if not isinstance(arguments, TupleType):  # pragma: no cover - `(...)` always parses as a tuple
        raise ValueError(f"not a function signature: {signature!r}")
    return tuple(component.to_type_str() for component in arguments.components)


@lru_cache(maxsize=1024)
def selector(signature: str) -> bytes:
    """The 4-byte selector of a function or error signature, computed once per signature."""
    return bytes(function_signature_to_4byte_selector(signature))


@lru_cache(maxsize=4096)
def checksum_address(value: str) -> ChecksumAddress:
    """`to_checksum_address`, computed once per spelling: the write path checksums the same few contract and member
    addresses on every call (a keccak each)."""
    return to_checksum_address(value)


def hex_bytes(value: bytes | str) -> bytes:
    """The bytes of a hex string (with or without 0x) or of a bytes-like value (a node's topics, data, calldata)."""
    return decode_hex(value) if isinstance(value, str) else bytes(value)


def selector_of(signature: str) -> str:
    """`0xc74f99ae` for `NotAMember(address)`."""
    return "0x" + function_signature_to_4byte_selector(signature).hex()
