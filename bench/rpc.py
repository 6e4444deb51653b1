"""Minimal raw JSON-RPC client, calldata encoding and local signing for the benchmarks."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import requests
import rlp
from coincurve import PrivateKey
from eth_abi.abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from chain.node.abi import signature_types

TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
MAX_FEE = 50 * 10**9  # anvil's base fee starts at 1 gwei and falls in automine (blocks far below target)
TIP = 10**9


class RpcError(RuntimeError):
    pass


def calldata(signature: str, *args: Any) -> str:
    """`signature` like "transferFrom(uint256,address,uint256)"."""
    return "0x" + (keccak(text=signature)[:4] + encode(signature_types(signature), list(args))).hex()


class Rpc:
    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self._id = 0

    def call(self, method: str, *params: Any) -> Any:
        self._id += 1
        body = self.session.post(
            self.url, json={"jsonrpc": "2.0", "id": self._id, "method": method, "params": list(params)}, timeout=120
        ).json()
        if "error" in body:
            raise RpcError(f"{method}: {body['error']}")
        return body["result"]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """One HTTP request carrying several calls; results in call order (errors raise)."""
        payload: Any = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        answers = self.session.post(self.url, json=payload, timeout=300).json()
        by_id = {a["id"]: a for a in answers}
        out = []
        for i in range(len(calls)):
            a = by_id[i]
            if "error" in a:
                raise RpcError(f"{calls[i][0]}: {a['error']}")
            out.append(a["result"])
        return out


@dataclass
class Wallet:
    """A locally held key with a tracked nonce."""

    account: LocalAccount
    nonce: int = 0
    _key: PrivateKey | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return str(self.account.address)

    @classmethod
    def from_label(cls, label: str) -> Wallet:
        return cls(Account.from_key(keccak(text=f"scf-bench:{label}")))

    def sign(self, chain_id: int, to: str | None, data: str, gas: int) -> str:
        """An EIP-1559 transaction signed locally: RLP and secp256k1 (coincurve) directly, about 10x faster
        than eth-account's dict validation (the same bytes: checked by tests/unit/test_bench_signing.py)."""
        if self._key is None:
            self._key = PrivateKey(bytes(self.account.key))
        fields: list[Any] = [
            chain_id,
            self.nonce,
            TIP,
            MAX_FEE,
            gas,
            bytes.fromhex(to[2:]) if to is not None else b"",
            0,
            bytes.fromhex(data[2:]),
            [],
        ]
        signature = self._key.sign_recoverable(keccak(b"\x02" + rlp.encode(fields)), hasher=None)
        r, s, v = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big"), signature[64]
        self.nonce += 1
        return "0x02" + bytes(rlp.encode([*fields, v, r, s])).hex()

    def sign_reference(self, chain_id: int, to: str | None, data: str, gas: int) -> str:
        """The same transaction signed by eth-account (the slow path `sign` is checked against)."""
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": chain_id,
            "nonce": self.nonce,
            "data": data,
            "gas": gas,
            "maxFeePerGas": MAX_FEE,
            "maxPriorityFeePerGas": TIP,
            "value": 0,
        }
        if to is not None:
            tx["to"] = to_checksum_address(to)
        self.nonce += 1
        return "0x" + bytes(self.account.sign_transaction(tx).raw_transaction).hex()


def wait_receipt(rpc: Rpc, tx_hash: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        receipt = rpc.call("eth_getTransactionReceipt", tx_hash)
        if receipt is not None:
            return dict(receipt)
        if time.monotonic() > deadline:
            raise RpcError(f"no receipt for {tx_hash} within {timeout}s")
        time.sleep(0.01)


def checked_receipts(rpc: Rpc, hashes: list[str], what: str, batch: int = 500) -> list[Any]:
    """The receipts of `hashes` in JSON-RPC batches of `batch`; raises RpcError unless every one exists with
    status 1 (`what` names the transactions in the message)."""
    receipts: list[Any] = []
    for j in range(0, len(hashes), batch):
        receipts += rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes[j : j + batch]])
    failed = sum(1 for r in receipts if r is None or int(r["status"], 16) != 1)
    if failed:
        raise RpcError(f"{failed} of {len(receipts)} {what} failed or are missing")
    return receipts


def minted_ids(receipt: dict[str, Any]) -> list[int]:
    """Token ids minted in the receipt (ERC-721 Transfer from the zero address)."""
    ids = []
    for log in receipt["logs"]:
        topics = log["topics"]
        if len(topics) == 4 and topics[0] == TRANSFER_TOPIC and int(topics[1], 16) == 0:
            ids.append(int(topics[3], 16))
    return ids


def intrinsic_gas(data_hex: str) -> int:
    """21,000 + calldata (4 gas per zero byte, 16 per non-zero byte)."""
    data = bytes.fromhex(data_hex[2:])
    return 21_000 + sum(4 if b == 0 else 16 for b in data)


def event_topic(receipt: dict[str, Any], signature: str, index: int = 1) -> int:
    """The `index`-th topic (an indexed argument) of the first log of event `signature` in the receipt."""
    topic0 = "0x" + keccak(text=signature).hex()
    for log in receipt["logs"]:
        if log["topics"] and log["topics"][0] == topic0:
            return int(log["topics"][index], 16)
    raise RpcError(f"no {signature} event in {receipt['transactionHash']}")
