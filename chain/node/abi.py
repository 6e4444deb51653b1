"""The six deployed contracts' ABIs as clients see them: the contract list and custom-error signatures.

Shared by `scripts/abi_export.py` (build/abi and the selector table of docs/errors.md) and `GET /v1/abi`.
"""

from __future__ import annotations

from typing import Any

from eth_utils.abi import function_signature_to_4byte_selector

DEPLOYED = ["MemberRegistry", "CashToken", "ReceivableNotes", "OrderBook", "Financing", "Settlement"]


def abi_type(param: dict[str, Any]) -> str:
    """The canonical type of an ABI parameter (tuples spelled out, as in selectors)."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(abi_type(c) for c in param["components"])
        return f"({inner}){kind[5:]}"
    return kind


def error_signature(entry: dict[str, Any]) -> str:
    """`NotAMember(address)` for the ABI entry of that error."""
    return f"{entry['name']}({','.join(abi_type(p) for p in entry['inputs'])})"


def selector_of(signature: str) -> str:
    """`0xc74f99ae` for `NotAMember(address)`."""
    return "0x" + function_signature_to_4byte_selector(signature).hex()
