"""Deploys the contract suite and writes the deployment record `<data dir>/deployments/<chainId>.json`.

Idempotent: when a record exists, every recorded address still holds the recorded code and the
compiled creation code is unchanged, the deployment is reused. Otherwise the suite is deployed again
and the previous record is archived beside it (never silently overwritten).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.node.artifacts import Artifact
from chain.node.deployment import DeployedContract, Deployment, load_deployment, record_path
from chain.node.errors import DeploymentError
from chain.node.tx import send

# Deploy order and constructor arguments: "@admin" is the deployer, other names are earlier contracts.
SUITE: list[tuple[str, list[str]]] = [
    ("MemberRegistry", ["@admin"]),
    ("CashToken", ["MemberRegistry"]),
    ("ReceivableNotes", ["MemberRegistry", "@metadata"]),
    ("OrderBook", ["MemberRegistry", "ReceivableNotes"]),
    ("Financing", ["MemberRegistry", "ReceivableNotes", "OrderBook", "CashToken"]),
    ("Settlement", ["MemberRegistry", "ReceivableNotes", "CashToken", "Financing"]),
]
# Contracts the registry trusts to call the ledger hooks (accounting, ledger moves).
LEDGER_CONTRACTS = ["CashToken", "ReceivableNotes", "OrderBook", "Financing", "Settlement"]


def _keccak_hex(data: bytes | str) -> str:
    return Web3.keccak(hexstr=data if isinstance(data, str) else data.hex()).hex()


def deployment_is_live(w3: Web3, deployment: Deployment, artifacts: dict[str, Artifact]) -> bool:
    """True when every recorded contract's code is on chain unchanged and built from today's sources."""
    wanted = [name for name, _ in SUITE if name in artifacts]
    if sorted(wanted) != sorted(deployment.contracts):
        return False
    for name in wanted:
        recorded = deployment.contracts[name]
        if recorded.creation_code_hash != _keccak_hex(artifacts[name].bytecode):
            return False
        code = bytes(w3.eth.get_code(Web3.to_checksum_address(recorded.address)))
        if not code or Web3.keccak(code).hex() != recorded.code_hash:
            return False
    return True


def deploy_suite(
    w3: Web3,
    deployer: LocalAccount,
    artifacts: dict[str, Artifact],
    data_dir: Path,
    *,
    force: bool = False,
    metadata_base_uri: str = "",
) -> tuple[Deployment, bool]:
    """Returns (deployment, reused). Deploys whatever part of the suite has been compiled.

    `metadata_base_uri` is fixed in ReceivableNotes at deploy (its tokenURI, slotURI and contractURI are read
    under it; "" for none): the service passes its own `/v1/metadata/` (`SCF_METADATA_BASE_URI`)."""
    fixed: dict[str, object] = {"@admin": deployer.address, "@metadata": metadata_base_uri}
    chain_id = w3.eth.chain_id
    existing = load_deployment(data_dir, chain_id)
    if existing is not None and not force and deployment_is_live(w3, existing, artifacts):
        return existing, True

    deployed: dict[str, DeployedContract] = {}
    for name, ctor in SUITE:
        artifact = artifacts.get(name)
        if artifact is None or artifact.bytecode in ("0x", ""):
            continue
        args = [fixed[a] if a in fixed else deployed[a].address for a in ctor if a in fixed or a in deployed]
        if len(args) != len(ctor):
            missing = [a for a in ctor if a not in fixed and a not in deployed]
            raise DeploymentError(f"cannot deploy {name}: missing {', '.join(missing)}")
        factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        tx = factory.constructor(*args).build_transaction({"from": deployer.address, "nonce": 0, "gas": 1})
        tx.pop("gas")
        tx.pop("nonce")
        receipt = send(w3, deployer, tx)
        address = receipt["contractAddress"]
        if address is None:
            raise DeploymentError(f"{name}: receipt has no contract address")
        code = bytes(w3.eth.get_code(address))
        deployed[name] = DeployedContract(
            name=name,
            address=address,
            code_hash=Web3.keccak(code).hex(),
            creation_code_hash=_keccak_hex(artifact.bytecode),
            tx_hash=receipt["transactionHash"].hex(),
            block=int(receipt["blockNumber"]),
        )

    if "MemberRegistry" in deployed:
        registry = w3.eth.contract(
            address=Web3.to_checksum_address(deployed["MemberRegistry"].address), abi=artifacts["MemberRegistry"].abi
        )
        for name in LEDGER_CONTRACTS:
            if name in deployed:
                send(
                    w3,
                    deployer,
                    registry.functions.setLedgerContract(deployed[name].address, True).build_transaction(
                        {"from": deployer.address}
                    ),
                )

    if not deployed:
        raise DeploymentError("nothing to deploy: no compiled contract of the suite was found")
    first_block = min(c.block for c in deployed.values())
    deployment = Deployment(
        chain_id=chain_id,
        deployer=deployer.address,
        block=first_block,
        block_hash=w3.eth.get_block(first_block)["hash"].hex(),
        contracts=deployed,
    )
    path = record_path(data_dir, chain_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.rename(path.with_name(f"{chain_id}.superseded-{int(time.time())}.json"))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(deployment.to_json(), indent=2))
    tmp.replace(path)
    return deployment, False
