"""The compiled contracts the service loads: `build/contracts/<Name>.json`, written by `chain.devnet.compile`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = PROJECT_ROOT / "build" / "contracts"
STAMP_FILE = ".inputs-sha256"


@dataclass(frozen=True)
class Artifact:
    """One compiled contract."""

    name: str
    source: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    storage_layout: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> Artifact:
        data = json.loads(path.read_text())
        return cls(
            name=data["contractName"],
            source=data["sourceName"],
            abi=data["abi"],
            bytecode=data["bytecode"],
            deployed_bytecode=data["deployedBytecode"],
            storage_layout=data.get("storageLayout", {}),
        )


def load_artifacts(out: Path = BUILD_DIR) -> dict[str, Artifact]:
    return {p.stem: Artifact.load(p) for p in sorted(out.glob("*.json"))}
