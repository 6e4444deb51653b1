from __future__ import annotations

import json
from pathlib import Path

import pytest
import solcx

from chain.devnet.compile import compile_contracts
from chain.devnet.toolchain import SOLC_SHIM, find_solc, solc_version
from chain.node.artifacts import BUILD_DIR, STAMP_FILE
from chain.node.errors import CompileError

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


# Opcodes after London that Clique (geth 1.13) and Besu's London networks refuse: PUSH0 (Shanghai),
# TLOAD/TSTORE/MCOPY (Cancun). BLOBHASH and BLOBBASEFEE (0x49, 0x4a) are left out: solc emits them only for
# blobhash()/block.blobbasefee, which the suite never uses, and the data solc appends after the code (constants
# it copies with CODECOPY) holds such bytes, which a linear scan cannot tell from code.
POST_LONDON = {0x5F: "PUSH0", 0x5C: "TLOAD", 0x5D: "TSTORE", 0x5E: "MCOPY"}


def _opcodes(code_hex: str) -> list[int]:
    """The opcodes of EVM bytecode, skipping PUSH1..PUSH32 immediates (the metadata tail included, harmlessly)."""
    code = bytes.fromhex(code_hex.removeprefix("0x"))
    ops, i = [], 0
    while i < len(code):
        op = code[i]
        ops.append(op)
        i += 1 + (op - 0x5F if 0x60 <= op <= 0x7F else 0)
    return ops


def test_suite_bytecode_runs_on_a_london_evm() -> None:
    """One bytecode for anvil, geth Clique and Besu: no opcode introduced after London."""
    for name, art in compile_contracts().items():
        if name not in SUITE:
            continue
        # the CBOR metadata at the end of the runtime code is data, not code: cut it off by its length suffix
        runtime = bytes.fromhex(art.deployed_bytecode.removeprefix("0x"))
        body = runtime[: -(int.from_bytes(runtime[-2:], "big") + 2)]
        found = {POST_LONDON[op] for op in _opcodes(body.hex()) if op in POST_LONDON}
        assert not found, f"{name} uses {sorted(found)}: not available on a London EVM"


def test_opcode_scan_sees_push0() -> None:
    """The scan above can fail: PUSH0 between PUSH immediates is found, an 0x5f inside an immediate is not."""
    assert 0x5F in _opcodes("60015f")
    assert 0x5F not in _opcodes("605f00")
