"""The paths the moved modules compute from their own location still name the checkout's folders."""

from __future__ import annotations

from pathlib import Path

from chain.devnet import geth, toolchain
from chain.node import artifacts

REPO = Path(__file__).resolve().parents[2]


def test_project_paths_are_the_checkouts() -> None:
    assert (REPO / "pyproject.toml").is_file()
    assert artifacts.PROJECT_ROOT == REPO
    assert artifacts.BUILD_DIR == REPO / "build" / "contracts"
    assert toolchain.PROJECT_ROOT == REPO and toolchain.CONTRACTS_DIR == REPO / "contracts"
    assert toolchain.CONTRACTS_DIR.is_dir() and toolchain.SOLC_SHIM == REPO / "tools" / "solc" / "solc"
    assert geth.REPO_ROOT == REPO
