"""Sends signed transactions: EIP-1559 fees, gas estimation, receipt waiting with a timeout.

The service's per-account nonce queue builds on this; deploy and admin scripts use it directly.
"""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import TxParams, TxReceipt

from chain.node.errors import DeploymentError


def fee_params(w3: Web3) -> dict[str, int]:
    """EIP-1559 fees: tip from the node (0 on a free-gas permissioned chain) and twice the base fee as cap."""
    block = w3.eth.get_block("latest")
    base_fee = int(block.get("baseFeePerGas", 0) or 0)
    try:
        tip = int(w3.eth.max_priority_fee)
    except Exception:  # nodes without eth_maxPriorityFeePerGas
        tip = 0
    return {"maxFeePerGas": 2 * base_fee + tip, "maxPriorityFeePerGas": tip}


def send(w3: Web3, account: LocalAccount, tx: TxParams | dict[str, Any], *, timeout: float = 60.0) -> TxReceipt:
    """Signs and sends `tx` from `account`, waits for its receipt; raises if it reverted."""
    params: dict[str, Any] = dict(tx)
    params.setdefault("from", account.address)
    params.setdefault("chainId", w3.eth.chain_id)
    params.setdefault("nonce", w3.eth.get_transaction_count(account.address, "pending"))
    if "gasPrice" not in params:
        for key, value in fee_params(w3).items():
            params.setdefault(key, value)
    if "gas" not in params:
        params["gas"] = int(w3.eth.estimate_gas(params) * 1.2) + 10_000  # type: ignore[arg-type]
    signed = account.sign_transaction(params)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout)
    if receipt["status"] != 1:
        raise DeploymentError(f"transaction {tx_hash.hex()} reverted")
    return receipt
