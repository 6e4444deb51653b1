"""Compiles the bench-only reference contracts (Solv ERC-3525, plain OZ ERC-20) like chain/compile.py."""

from __future__ import annotations

from typing import Any

import solcx

from chain.compile import SETTINGS
from chain.errors import CompileError
from chain.toolchain import NODE_MODULES, PROJECT_ROOT, find_solc

SOURCE = "bench/contracts/ReferenceNotes.sol"
SOLV = "node_modules/@solvprotocol/erc-3525/"


def compile_reference() -> dict[str, dict[str, Any]]:
    """Returns {name: {"abi": ..., "bytecode": "0x..."}} for ReferenceNotes and ReferenceToken."""
    settings = dict(SETTINGS)
    settings["remappings"] = [
        f"@solvprotocol/erc-3525/={SOLV}",
        # the Solv package pins its own OpenZeppelin 4 (as in foundry.toml)
        f"{SOLV}:@openzeppelin/contracts/={SOLV}node_modules/@openzeppelin/contracts/",
        "@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/",
    ]
    settings["outputSelection"] = {"*": {"*": ["abi", "evm.bytecode.object"]}}
    standard_input = {
        "language": "Solidity",
        "sources": {SOURCE: {"content": (PROJECT_ROOT / SOURCE).read_text()}},
        "settings": settings,
    }
    output = solcx.compile_standard(
        standard_input,
        base_path=str(PROJECT_ROOT),
        allow_paths=[str(PROJECT_ROOT), str(NODE_MODULES)],
        solc_binary=str(find_solc()),
    )
    errors = [e["formattedMessage"] for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError(errors)
    return {
        name: {"abi": data["abi"], "bytecode": "0x" + data["evm"]["bytecode"]["object"]}
        for name, data in output["contracts"][SOURCE].items()
    }
