"""The Reverter test contract (tests/chain/fixtures/Reverter.sol): compiled once per session, deployed per use.

Chain-layer tests use it instead of the ledger contracts so they do not depend on contract work in progress.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from chain.devnet.compile import compile_contracts
from chain.node.artifacts import Artifact
from chain.node.client import fund_on_devchain
from chain.node.tx import send

FIXTURES = Path(__file__).parent / "fixtures"


def compile_reverter(out: Path) -> Artifact:
    """Compiles the fixture into `out`; compile_contracts skips the work when `out` is already current."""
    return compile_contracts(src=FIXTURES, out=out)["Reverter"]


def funded_account(w3: Web3) -> LocalAccount:
    account: LocalAccount = Account.create()
    fund_on_devchain(w3, account.address)
    return account


def deploy_reverter(w3: Web3, artifact: Artifact) -> Contract:
    deployer = funded_account(w3)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = send(w3, deployer, {"data": factory.constructor().data_in_transaction})
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)


def call_data(contract: Contract, function: str, *args: Any) -> dict[str, Any]:
    """The `to`/`data` of a call, as a transaction dict for the queue."""
    return {"to": contract.address, "data": contract.encode_abi(function, args=list(args))}


@contextmanager
def mining_paused(w3: Web3) -> Iterator[None]:
    """Turns anvil's automine off; turning it back on mines whatever waits in the pool."""
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        yield
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]


def mine(w3: Web3) -> None:
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def in_pool(w3: Web3, tx_hash: str) -> bool:
    """True once the node knows the transaction (pending or mined)."""
    result = w3.provider.make_request("eth_getTransactionByHash", [tx_hash])  # type: ignore[arg-type]
    return result.get("result") is not None
