"""Web3 connection and typed contract handles built from the deployment record and artifacts."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from web3 import Web3
from web3.contract import Contract
from web3.middleware import ExtraDataToPOAMiddleware

from chain.compile import Artifact
from chain.deploy import Deployment

DEV_BALANCE_WEI = 10**24  # 1,000,000 ETH of gas money on a local devchain
MEMBER_GAS_WEI = 10**20  # gas money the operator sends a member's new account on a network (geth, Besu)


# Middleware the service never needs: it signs locally and sends raw transactions (no eth_sendTransaction to
# fill in gas, gas price or a chain id for), and passes no ENS names. `validation` alone made an extra
# eth_chainId round trip before every eth_call and eth_estimateGas (profiled on the split path).
_UNUSED_MIDDLEWARE = ("validation", "ens_name_to_address", "gas_price_strategy", "gas_estimate")
POOL_MAXSIZE = 64  # keep-alive connections to the node: one per concurrent request thread, no reconnects


def http_session() -> requests.Session:
    """A keep-alive session for JSON-RPC: a pool sized for the API's worker threads, and no environment
    lookups per request (`trust_env` makes requests read ~/.netrc and proxy settings on every call)."""
    session = requests.Session()
    session.trust_env = False
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_MAXSIZE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def connect(rpc_url: str, timeout: float = 10.0) -> Web3:
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}, session=http_session()))
    for name in _UNUSED_MIDDLEWARE:
        if name in w3.middleware_onion:
            w3.middleware_onion.remove(name)
    accept_poa_headers(w3)
    return w3


def accept_poa_headers(w3: Web3) -> None:
    """Clique and QBFT headers carry signers and seals in `extraData` (longer than the 32 bytes web3 accepts):
    the field is moved to `proofOfAuthorityData`. Harmless on anvil."""
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)


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
