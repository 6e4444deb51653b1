"""The deployment record `<data dir>/deployments/<chainId>.json`: where the suite lives (written by deploy)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chain.node.errors import DeploymentError


@dataclass(frozen=True)
class DeployedContract:
    name: str
    address: str
    code_hash: str
    creation_code_hash: str
    tx_hash: str
    block: int


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    deployer: str
    block: int
    block_hash: str
    contracts: dict[str, DeployedContract]

    def address(self, name: str) -> str:
        return self.contracts[name].address

    def to_json(self) -> dict[str, Any]:
        return {
            "chainId": self.chain_id,
            "deployer": self.deployer,
            "block": self.block,
            "blockHash": self.block_hash,
            "contracts": {
                c.name: {
                    "address": c.address,
                    "codeHash": c.code_hash,
                    "creationCodeHash": c.creation_code_hash,
                    "txHash": c.tx_hash,
                    "block": c.block,
                }
                for c in self.contracts.values()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        return cls(
            chain_id=int(data["chainId"]),
            deployer=data["deployer"],
            block=int(data["block"]),
            block_hash=data["blockHash"],
            contracts={
                name: DeployedContract(
                    name=name,
                    address=c["address"],
                    code_hash=c["codeHash"],
                    creation_code_hash=c["creationCodeHash"],
                    tx_hash=c["txHash"],
                    block=int(c["block"]),
                )
                for name, c in data["contracts"].items()
            },
        )


def record_path(data_dir: Path, chain_id: int) -> Path:
    return data_dir / "deployments" / f"{chain_id}.json"


def load_deployment(data_dir: Path, chain_id: int) -> Deployment | None:
    path = record_path(data_dir, chain_id)
    if not path.exists():
        return None
    try:
        return Deployment.from_json(json.loads(path.read_text()))
    except (ValueError, KeyError) as exc:
        raise DeploymentError(f"deployment record {path} is unreadable: {exc}") from exc
