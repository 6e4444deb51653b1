"""Web3 connection and typed contract handles built from the deployment record and artifacts."""

from __future__ import annotations

from web3 import Web3
from web3.contract import Contract

from chain.compile import Artifact
from chain.deploy import Deployment

DEV_BALANCE_WEI = 10**24  # 1,000,000 ETH of gas money on a local devchain


def connect(rpc_url: str, timeout: float = 10.0) -> Web3:
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))


def is_devchain(w3: Web3) -> bool:
    """True for anvil (the web3_clientVersion starts with 'anvil')."""
    try:
        return str(w3.client_version).lower().startswith("anvil")
    except Exception:  # any RPC failure means "not a devchain we control"
        return False


def fund_on_devchain(w3: Web3, address: str, wei: int = DEV_BALANCE_WEI) -> None:
    """Gives `address` gas money on anvil (a real permissioned network funds accounts its own way)."""
    if w3.eth.get_balance(Web3.to_checksum_address(address)) < wei // 2:
        w3.provider.make_request("anvil_setBalance", [address, hex(wei)])  # type: ignore[arg-type]


def contract(w3: Web3, deployment: Deployment, artifacts: dict[str, Artifact], name: str) -> Contract:
    return w3.eth.contract(address=Web3.to_checksum_address(deployment.address(name)), abi=artifacts[name].abi)
