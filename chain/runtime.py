"""Brings the ledger up for the service: connect (or start the devchain), compile, keys, deploy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from web3 import Web3

from api.settings import Settings
from chain.client import connect, fund_on_devchain, is_devchain
from chain.compile import Artifact, compile_contracts
from chain.deploy import Deployment, deploy_suite
from chain.devchain import DevChain
from chain.keystore import load_or_create_key

OPERATOR_KEY = "operator"


@dataclass
class Ledger:
    w3: Web3
    operator: LocalAccount
    artifacts: dict[str, Artifact]
    deployment: Deployment
    reused: bool
    operator_created: bool


def make_devchain(settings: Settings) -> DevChain:
    return DevChain(
        data_dir=settings.data_dir,
        port=settings.rpc_port,
        chain_id=settings.chain_id,
        block_time=settings.block_time,
        host=settings.rpc_host,
        state_interval=settings.state_interval,
        state_history=settings.state_history,
    )


def prepare_ledger(settings: Settings, log: Callable[[str], None] = lambda _msg: None) -> Ledger:
    """Compiles, loads or creates the operator key, funds it on a devchain and deploys (or reuses)."""
    log("compiling contracts")
    artifacts = compile_contracts()
    w3 = connect(settings.effective_rpc_url, settings.rpc_timeout)
    operator, created = load_or_create_key(settings.data_dir, OPERATOR_KEY, settings.key_passphrase)
    if created:
        log(f"created operator key {operator.address} (encrypted in {settings.data_dir}/keys)")
    if is_devchain(w3):
        fund_on_devchain(w3, operator.address)
    log("deploying contracts")
    deployment, reused = deploy_suite(
        w3, operator, artifacts, settings.data_dir, metadata_base_uri=settings.effective_metadata_base_uri
    )
    return Ledger(w3, operator, artifacts, deployment, reused, created)
