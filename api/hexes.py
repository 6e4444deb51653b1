"""Transaction and block hashes in API answers: always 0x-prefixed lower-case hex, whatever they came from.

The read model stores hashes as the indexer read them (without 0x), web3's `HexBytes.hex()` has no 0x, JSON-RPC
answers have it: every answer field that holds a hash is typed `TxHash` (or passes through `prefixed`), so a
client sees one form everywhere (and can pass it to any node's `eth_getTransactionReceipt` as it is).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def prefixed(value: str | bytes) -> str:
    """`ab12…` / `0xAB12…` / raw bytes -> `0xab12…`."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return "0x" + value.lower().removeprefix("0x")


TxHash = Annotated[str, AfterValidator(prefixed)]
"""A transaction or block hash field of an answer model: normalised to 0x-prefixed lower-case hex."""
