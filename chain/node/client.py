"""Web3 connection and typed contract handles built from the deployment record and artifacts."""

from __future__ import annotations

import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from web3 import Web3
from web3.contract import Contract
from web3.middleware import ExtraDataToPOAMiddleware
from web3.providers.rpc import HTTPProvider
from web3.providers.rpc.utils import check_if_retry_on_failure
from web3.types import RPCEndpoint

from chain.node.artifacts import Artifact
from chain.node.deployment import Deployment

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


RETRY_PAUSE = 0.1  # seconds before the second try of a call the node refused or dropped (doubled after each)


class BoundedHTTPProvider(HTTPProvider):
    """web3's HTTP provider with one time budget per call, its retries included.

    web3's own retries (5 tries of any read on a connection error or a timeout, each with the full timeout)
    stacked: a node answering in 12 s held `GET /v1/cash/balance` for 51.9 s at a 10 s timeout before its 503.
    Here a call gets `budget` seconds in all: each try waits at most for what is left of it, a timeout is not
    tried again (it used the time), and a refused or dropped connection (a node restarting, a stale keep-alive
    connection) is tried again, up to `attempts` tries, only for the reads web3 retries (never a send) and only
    while time is left. The caller sees the last error (a `requests` exception: 503 `chain-unavailable`)."""

    def __init__(self, endpoint_uri: str, budget: float, attempts: int, session: requests.Session) -> None:
        super().__init__(
            endpoint_uri, request_kwargs={"timeout": budget}, session=session, exception_retry_configuration=None
        )
        self.budget = budget
        self.attempts = max(1, attempts)

    def _make_request(self, method: RPCEndpoint, request_data: bytes) -> bytes:
        deadline = time.monotonic() + self.budget
        kwargs: dict[str, Any] = dict(self.get_request_kwargs())
        retry = check_if_retry_on_failure(method)
        pause = RETRY_PAUSE
        uri = self.endpoint_uri
        assert uri is not None  # set by HTTPProvider.__init__
        for attempt in range(1, self.attempts + 1):
            kwargs["timeout"] = max(deadline - time.monotonic(), 0.001)
            try:
                answer: bytes = self._request_session_manager.make_post_request(uri, request_data, **kwargs)
                return answer
            except requests.Timeout:  # (a connect timeout included) the budget is spent
                raise
            except requests.ConnectionError:
                if not retry or attempt == self.attempts or time.monotonic() + pause >= deadline:
                    raise
            time.sleep(pause)
            pause *= 2
        raise AssertionError("unreachable: the last try returns or raises")


def connect(rpc_url: str, timeout: float = 10.0, attempts: int = 3) -> Web3:
    """A Web3 over HTTP whose calls take at most `timeout` seconds each, retries included (BoundedHTTPProvider)."""
    w3 = Web3(BoundedHTTPProvider(rpc_url, timeout, attempts, http_session()))
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
