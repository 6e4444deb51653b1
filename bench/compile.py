"""Compiles the bench-only reference contracts (Solv ERC-3525, plain OZ ERC-20) like chain/devnet/compile.py."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import solcx

from chain.devnet.compile import SETTINGS
from chain.devnet.toolchain import NODE_MODULES, find_solc
from chain.node.artifacts import PROJECT_ROOT
from chain.node.errors import CompileError

SOURCE = "bench/contracts/ReferenceNotes.sol"
SOLV = "node_modules/@solvprotocol/erc-3525/"
# compiled output keyed by everything that goes into it (solc binary, settings, every source file read):
# compiling the Solv package takes 10-25 s on this machine, and the bytecode does not change between runs
CACHE_DIR = Path(tempfile.gettempdir()) / "scf-bench-compile-cache"


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
    solc = find_solc()
    key = hashlib.sha256(json.dumps(standard_input, sort_keys=True).encode())
    key.update(solc.read_bytes())
    solc_js = NODE_MODULES / "solc" / "package.json"  # the version behind the solc-js shim, when that is used
    if solc_js.exists():
        key.update(solc_js.read_bytes())
    for lib in (NODE_MODULES / "@solvprotocol" / "erc-3525", NODE_MODULES / "@openzeppelin" / "contracts"):
        for path in sorted(lib.rglob("*.sol")):
            key.update(path.as_posix().encode() + path.read_bytes())
    cached = CACHE_DIR / f"{key.hexdigest()}.json"
    if cached.exists():
        return dict(json.loads(cached.read_text()))
    output = solcx.compile_standard(
        standard_input,
        base_path=str(PROJECT_ROOT),
        allow_paths=[str(PROJECT_ROOT), str(NODE_MODULES)],
        solc_binary=str(solc),
    )
    errors = [e["formattedMessage"] for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError(errors)
    artifacts = {
        name: {"abi": data["abi"], "bytecode": "0x" + data["evm"]["bytecode"]["object"]}
        for name, data in output["contracts"][SOURCE].items()
    }
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_text(json.dumps(artifacts))
    tmp.replace(cached)
    return artifacts
