"""docs/errors.md lists every custom error of the deployed contracts with its selector (generated from the
compiled ABIs by scripts/abi_export.py), and the published ABIs carry the errors."""

from __future__ import annotations

from chain.devnet.compile import compile_contracts
from scripts.abi_export import DEPLOYED, DOC, documented_section, error_signatures, render_selectors


def test_errors_doc_matches_the_compiled_abis() -> None:
    artifacts = compile_contracts()
    documented = documented_section(DOC.read_text())
    assert documented == render_selectors(artifacts), "run: python -m scripts.abi_export"
    signatures = error_signatures(artifacts)
    assert "NotAMember(address)" in signatures
    assert "| `0xc74f99ae` | `NotAMember(address)` |" in documented
    for signature in signatures:
        assert f"`{signature}`" in documented


def test_every_deployed_contract_declares_its_errors_in_its_abi() -> None:
    artifacts = compile_contracts()
    for name in DEPLOYED:
        assert any(e.get("type") == "error" for e in artifacts[name].abi), name
    assert "MemberRotating(uint32)" in error_signatures(artifacts)
    assert error_signatures(artifacts)["NoteUnderRecourse(uint256,uint256)"] == ["Settlement"]
