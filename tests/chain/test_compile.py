from __future__ import annotations

import json
from pathlib import Path

import pytest
import solcx

from chain.compile import BUILD_DIR, STAMP_FILE, compile_contracts
from chain.errors import CompileError
from chain.toolchain import SOLC_SHIM, find_solc, solc_version

SUITE = ["MemberRegistry", "CashToken", "ReceivableNotes", "OrderBook", "Financing", "Settlement"]


def test_solc_shim_answers_version_like_native_solc() -> None:
    assert solc_version(SOLC_SHIM) == (0, 8, 30)
    assert find_solc().exists()


def test_compile_writes_artifacts_for_the_suite() -> None:
    artifacts = compile_contracts()
    for name in SUITE:
        assert name in artifacts, f"{name} missing from {sorted(artifacts)}"
        art = artifacts[name]
        assert art.bytecode.startswith("0x") and len(art.bytecode) > 100
        assert any(item.get("type") == "constructor" for item in art.abi)
        assert art.storage_layout.get("storage"), f"{name} has no storage layout"
        on_disk = json.loads((BUILD_DIR / f"{name}.json").read_text())
        assert on_disk["abi"] == art.abi


def test_compile_skips_unchanged_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    first = compile_contracts()
    stamp = BUILD_DIR / STAMP_FILE
    before = stamp.stat().st_mtime_ns

    def must_not_run(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the compiler ran although no source changed")

    monkeypatch.setattr(solcx, "compile_standard", must_not_run)
    again = compile_contracts()
    assert stamp.stat().st_mtime_ns == before
    assert again == first


def test_compile_error_is_reported_with_the_compiler_message(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "Broken.sol").write_text("pragma solidity ^0.8.30; contract Broken { function f( }")
    with pytest.raises(CompileError) as info:
        compile_contracts(src, tmp_path / "out")
    assert "ParserError" in str(info.value)
    assert not (tmp_path / "out").exists()
