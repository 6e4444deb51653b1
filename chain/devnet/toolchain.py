"""Locates the toolchain: solc (native when it matches the pragma, else the solc-js shim) and Foundry."""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

from chain.node.artifacts import PROJECT_ROOT
from chain.node.errors import ToolchainError

NODE_MODULES = PROJECT_ROOT / "node_modules"
SOLC_SHIM = PROJECT_ROOT / "tools" / "solc" / "solc"
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
SOLC_VERSION = "0.8.30"  # the version the contracts' pragma (^0.8.30) is built and tested with

_VERSION_RE = re.compile(r"Version:\s*(\d+)\.(\d+)\.(\d+)")


def solc_version(binary: Path | str) -> tuple[int, int, int] | None:
    """Returns the (major, minor, patch) a solc binary reports, or None when it does not answer."""
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION_RE.search(out)
    if not match:
        return None
    return int(match[1]), int(match[2]), int(match[3])


def _matches_pragma(version: tuple[int, int, int]) -> bool:
    # pragma ^0.8.30: >= 0.8.30 and < 0.9.0
    return version[0] == 0 and version[1] == 8 and version[2] >= 30


def require_node() -> Path:
    """Returns node's path, or raises naming what to install."""
    node = shutil.which("node")
    if node is None:
        raise ToolchainError(
            "node is not installed: install Node.js 20+ and npm (e.g. `apt-get install nodejs npm`), "
            "then run `npm ci` in the project root"
        )
    return Path(node)


@cache
def find_solc() -> Path:
    """A native solc on PATH when its version satisfies ^0.8.30, else the repository's solc-js shim."""
    native = shutil.which("solc")
    if native and Path(native).resolve() != SOLC_SHIM.resolve():
        version = solc_version(native)
        if version and _matches_pragma(version):
            return Path(native)
    require_node()
    if not (NODE_MODULES / "solc" / "package.json").exists():
        raise ToolchainError(f"solc-js is not installed: run `npm ci` in {PROJECT_ROOT}")
    return SOLC_SHIM


def find_tool(name: str) -> Path:
    """Finds a Foundry binary (anvil, forge, cast) under node_modules, else on PATH."""
    bundled = NODE_MODULES / "@foundry-rs" / f"{name}-linux-amd64" / "bin" / name
    if bundled.exists():
        return bundled
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    raise ToolchainError(
        f"{name} is not installed: run `npm ci` in {PROJECT_ROOT} (it installs @foundry-rs/{name}-linux-amd64)"
    )
