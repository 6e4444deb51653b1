"""Compiles `contracts/` with py-solc-x (standard JSON) into `build/contracts/<Name>.json` artifacts.

Same optimizer settings as foundry.toml, so gas measured by forge matches what the service deploys.
Work is skipped when the sources, the compiler and the settings are unchanged.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import solcx
from solcx.exceptions import SolcError

from chain.devnet.toolchain import CONTRACTS_DIR, NODE_MODULES, find_solc, solc_version
from chain.node.artifacts import BUILD_DIR, STAMP_FILE, Artifact, load_artifacts
from chain.node.errors import CompileError

SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "london",
    "remappings": [f"@openzeppelin/contracts/={NODE_MODULES / '@openzeppelin' / 'contracts'}/"],
    "outputSelection": {
        "*": {
            "*": [
                "abi",
                "evm.bytecode.object",
                "evm.deployedBytecode.object",
                "evm.methodIdentifiers",
                "metadata",
                "storageLayout",
            ]
        }
    },
}


def source_files(src: Path = CONTRACTS_DIR) -> list[Path]:
    return sorted(p for p in src.rglob("*.sol") if p.is_file())


def _inputs_digest(sources: dict[str, str], compiler: Path) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(SETTINGS, sort_keys=True).encode())
    h.update(str(solc_version(compiler)).encode())
    # the imported library's version (OpenZeppelin is pinned in package.json; another version is another input)
    oz_package = NODE_MODULES / "@openzeppelin" / "contracts" / "package.json"
    if oz_package.exists():
        h.update(oz_package.read_bytes())
    for name in sorted(sources):
        h.update(name.encode())
        h.update(hashlib.sha256(sources[name].encode()).digest())
    return h.hexdigest()


def _solc_messages(exc: SolcError) -> list[str]:
    """The compiler's own formatted messages, without py-solc-x's dump of the command and stdout."""
    try:
        errors = json.loads(exc.stdout_data or "{}").get("errors", [])
    except ValueError:
        errors = []
    messages = [e["formattedMessage"] for e in errors if e.get("severity") == "error"]
    return messages or [exc.message if hasattr(exc, "message") else str(exc)]


def compile_contracts(src: Path = CONTRACTS_DIR, out: Path = BUILD_DIR, *, force: bool = False) -> dict[str, Artifact]:
    """Compiles every contract under `src`; returns artifacts by contract name.

    Interfaces and libraries without bytecode are written too (their ABI is useful for decoding).
    """
    files = source_files(src)
    sources = {str(p.relative_to(src.parent)): p.read_text() for p in files}
    compiler = find_solc()
    digest = _inputs_digest(sources, compiler)
    stamp = out / STAMP_FILE
    if not force and stamp.exists() and stamp.read_text().strip() == digest:
        return load_artifacts(out)

    standard_input = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": SETTINGS,
    }
    try:
        output = solcx.compile_standard(
            standard_input,
            base_path=str(src.parent),
            allow_paths=[str(src.parent), str(NODE_MODULES)],
            solc_binary=str(compiler),
        )
    except SolcError as exc:
        raise CompileError(_solc_messages(exc)) from exc
    errors = [e["formattedMessage"] for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError(errors)

    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    for source_name, contracts in output.get("contracts", {}).items():
        if source_name not in sources:
            continue  # dependencies (OpenZeppelin) are not artifacts of ours
        for name, data in contracts.items():
            artifact = {
                "contractName": name,
                "sourceName": source_name,
                "abi": data["abi"],
                "bytecode": "0x" + data["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
                "methodIdentifiers": data["evm"].get("methodIdentifiers", {}),
                "storageLayout": data.get("storageLayout", {}),
                "metadata": data.get("metadata", ""),
            }
            (out / f"{name}.json").write_text(json.dumps(artifact, indent=1))
    stamp.write_text(digest)
    return load_artifacts(out)


def main() -> None:  # pragma: no cover - convenience entry point
    artifacts = compile_contracts(force=True)
    print(f"compiled {len(artifacts)} contracts into {BUILD_DIR}")


if __name__ == "__main__":  # pragma: no cover
    main()
