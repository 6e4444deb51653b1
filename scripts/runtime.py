"""Brings the ledger up for the service (tool side): start the devchain or a geth network, compile, keys, deploy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3 import Web3

from api.settings import Settings
from chain.devnet.compile import compile_contracts
from chain.devnet.deploy import deploy_suite
from chain.devnet.devchain import DevChain
from chain.devnet.geth import ensure_geth
from chain.devnet.network import DEFAULT_CHAIN_ID, Network, org_names
from chain.node.artifacts import Artifact
from chain.node.client import connect, fund_on_devchain, is_devchain
from chain.node.deployment import Deployment
from chain.node.keystore import OPERATOR_KEY, load_or_create_key
from chain.node.rpc import rpc_call


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


def bring_up(
    root: Path,
    validators: int = 4,
    *,
    chain_id: int = DEFAULT_CHAIN_ID,
    use_netns: bool | None = None,
    passphrase: str = "scf-dev-passphrase",
    scrypt_n: int = 2**18,
    log: Callable[[str], None] = lambda _msg: None,
) -> Network:
    """`scf network up`: geth built (cached), keys and genesis, the nodes started and peered, the suite deployed
    from the operator's service key through its node, the contract addresses in the record."""
    geth = ensure_geth(log)
    net = Network(root)
    operator, _created = load_or_create_key(net.service_dir, OPERATOR_KEY, passphrase)
    log(f"keys, genesis and nodes for {', '.join(org_names(validators))} in {net.root}")
    net.create(
        org_names(validators),
        operator_account=operator.address,
        chain_id=chain_id,
        use_netns=use_netns,
        scrypt_n=scrypt_n,
        geth=geth,
    )
    try:
        log(f"starting {validators} geth nodes ({net._rec.mode})")
        net.start(geth)
        want = min(validators - 1, 3)
        net.wait(
            lambda: all(int(str(rpc_call(n.rpc_url, "net_peerCount")), 16) >= want for n in net.nodes),
            60,
            "the nodes to peer",
        )
        net.settle(geth, log=log)  # past the start's competing blocks (and a Clique deadlock they can cause)
        log("deploying the contract suite through the operator's node")
        settings = Settings(data_dir=net.service_dir, rpc_url=net.operator_rpc, key_passphrase=passphrase)
        ledger = prepare_ledger(settings, log=log)
        net._rec.contracts = {name: c.address for name, c in ledger.deployment.contracts.items()}
        net.save()
    except BaseException:
        net.stop()
        raise
    return net
