"""Note proofs against the session anvil: a real note verifies; tampering fails; past blocks stay provable."""

from __future__ import annotations

import copy
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.node.client import contract, fund_on_devchain
from chain.node.proofs import (
    NodeUnreachableError,
    ProofError,
    decode_note_word,
    fetch_note_proof,
    note_storage_slot,
    notes_base_slot,
    verify_note_proof,
    verify_proof_file,
)
from chain.node.roles import Roles
from chain.node.tx import send
from scripts.runtime import Ledger

CORE, SUPPLIER = int(Roles.CORE_ENTERPRISE), int(Roles.SUPPLIER)


def _admit(ledger: Ledger, roles: int, credit_limit: int = 0) -> tuple[LocalAccount, int]:
    registry = contract(ledger.w3, ledger.deployment, ledger.artifacts, "MemberRegistry")
    account: LocalAccount = Account.create()
    fn = registry.functions.admit(account.address, roles, b"\x11" * 32, 0, credit_limit)
    send(ledger.w3, ledger.operator, fn.build_transaction({"from": ledger.operator.address}))
    fund_on_devchain(ledger.w3, account.address)
    return account, int(registry.functions.memberIdOf(account.address).call())


def _layout(ledger: Ledger) -> dict[str, Any]:
    return ledger.artifacts["ReceivableNotes"].storage_layout


@pytest.fixture(scope="module")
def issued(ledger: Ledger) -> dict[str, Any]:
    """A receivable of 5,000.00 issued by a core enterprise to a supplier (first note)."""
    core, _ = _admit(ledger, CORE, credit_limit=10**12)
    supplier, supplier_id = _admit(ledger, SUPPLIER)
    other, other_id = _admit(ledger, SUPPLIER)
    notes = contract(ledger.w3, ledger.deployment, ledger.artifacts, "ReceivableNotes")
    maturity = int(ledger.w3.eth.get_block("latest")["timestamp"]) + 30 * 86_400
    invoice = bytes.fromhex(uuid.uuid4().hex * 2)
    fn = notes.functions.issue(supplier.address, 500_000, ledger.deployment.address("CashToken"), maturity, invoice)
    receipt = send(ledger.w3, core, fn.build_transaction({"from": core.address}))
    note_id = int(notes.functions.noteCount().call(block_identifier=receipt["blockNumber"]))
    return {
        "notes": notes,
        "note_id": note_id,
        "block": int(receipt["blockNumber"]),
        "supplier": supplier,
        "supplier_id": supplier_id,
        "other": other,
        "other_id": other_id,
    }


def test_storage_slot_and_word_decode_match_the_chain(ledger: Ledger, issued: dict[str, Any]) -> None:
    slot = note_storage_slot(_layout(ledger), issued["note_id"])
    word = int.from_bytes(ledger.w3.eth.get_storage_at(issued["notes"].address, slot), "big")
    decoded = decode_note_word(word)
    view = issued["notes"].functions.note(issued["note_id"]).call()
    assert (decoded["holderId"], decoded["lienholderId"], decoded["slotId"], decoded["value"]) == tuple(view[:4])
    assert decoded["parentId"] == view[4] == 0


def test_proof_of_a_real_note_verifies(ledger: Ledger, issued: dict[str, Any], tmp_path: Path) -> None:
    bundle = fetch_note_proof(ledger.w3, issued["notes"].address, issued["note_id"], _layout(ledger), issued["block"])
    bundle = json.loads(json.dumps(bundle))  # survives JSON
    root = bytes(ledger.w3.eth.get_block(issued["block"])["stateRoot"])
    # the verifier pins the mapping's slot from the compiled contract it trusts, not from the bundle
    verified = verify_note_proof(bundle, root, base_slot=notes_base_slot(_layout(ledger)))
    assert verified.holder_id == issued["supplier_id"]
    assert verified.value == 500_000
    assert verified.block_number == issued["block"]
    assert verified.note_id == issued["note_id"]

    path = tmp_path / "proof.json"
    path.write_text(json.dumps(bundle))
    assert verify_proof_file(path, ledger.w3.provider.endpoint_uri).value == 500_000  # type: ignore[attr-defined]


def test_tampered_bundles_fail(ledger: Ledger, issued: dict[str, Any]) -> None:
    bundle = fetch_note_proof(ledger.w3, issued["notes"].address, issued["note_id"], _layout(ledger), issued["block"])
    root = bytes(ledger.w3.eth.get_block(issued["block"])["stateRoot"])

    value_changed = copy.deepcopy(bundle)
    value_changed["note"]["value"] += 1
    with pytest.raises(ProofError, match="value"):
        verify_note_proof(value_changed, root)

    for key in ("accountProof", "storageProof"):
        flipped = copy.deepcopy(bundle)
        node = bytearray(bytes.fromhex(flipped[key][-1][2:]))
        node[len(node) // 2] ^= 0x01
        flipped[key][-1] = "0x" + node.hex()
        with pytest.raises(ProofError):
            verify_note_proof(flipped, root)

    with pytest.raises(ProofError, match="state root"):
        verify_note_proof(bundle, b"\x42" * 32)
    wrong_root = copy.deepcopy(bundle)
    wrong_root["block"]["stateRoot"] = "0x" + "42" * 32
    with pytest.raises(ProofError):
        verify_note_proof(wrong_root)

    other_note = copy.deepcopy(bundle)
    other_note["noteId"] += 1
    with pytest.raises(ProofError, match="slot"):
        verify_note_proof(other_note, root)

    for broken in ({}, {"version": 1}, {**bundle, "accountProof": "nope"}, {**bundle, "slot": "0xzz"}):
        with pytest.raises(ProofError):
            verify_note_proof(broken, root)


def test_proof_file_errors_are_proof_errors(ledger: Ledger, issued: dict[str, Any], tmp_path: Path) -> None:
    url: str = ledger.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    with pytest.raises(ProofError, match="cannot read"):
        verify_proof_file(tmp_path / "missing.json", url)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ProofError, match="not JSON"):
        verify_proof_file(bad, url)
    bundle = fetch_note_proof(ledger.w3, issued["notes"].address, issued["note_id"], _layout(ledger), issued["block"])
    bundle["block"]["hash"] = "0x" + "00" * 32
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(bundle))
    with pytest.raises(ProofError, match="hash"):
        verify_proof_file(forged, url)
    with pytest.raises(ProofError, match="not of"):
        verify_proof_file(forged, url, expected_address=ledger.deployment.address("CashToken"))
    with pytest.raises(NodeUnreachableError, match=re.escape("node unreachable at http://127.0.0.1:9")):
        verify_proof_file(forged, "http://127.0.0.1:9", timeout=2)  # a ProofError too: nothing was checked
    with pytest.raises(ProofError, match="cannot fetch block 99999999"):
        missing = json.loads(json.dumps(bundle))
        missing["block"]["number"] = 99_999_999
        forged.write_text(json.dumps(missing))
        verify_proof_file(forged, url)


def test_past_block_proof_still_shows_the_old_value(ledger: Ledger, issued: dict[str, Any]) -> None:
    notes, note_id, supplier = issued["notes"], issued["note_id"], issued["supplier"]
    before = int(ledger.w3.eth.block_number)
    old_value = int(notes.functions.note(note_id).call(block_identifier=before)[3])
    fn = notes.get_function_by_signature("transferFrom(uint256,address,uint256)")(
        note_id, Web3.to_checksum_address(issued["other"].address), 100_000
    )
    send(ledger.w3, supplier, fn.build_transaction({"from": supplier.address}))
    assert int(notes.functions.note(note_id).call()[3]) == old_value - 100_000

    old = fetch_note_proof(ledger.w3, notes.address, note_id, _layout(ledger), before)
    old_root = bytes(ledger.w3.eth.get_block(before)["stateRoot"])
    assert verify_note_proof(old, old_root).value == old_value
    new = fetch_note_proof(ledger.w3, notes.address, note_id, _layout(ledger), "latest")
    assert verify_note_proof(new).value == old_value - 100_000
    # the old bundle does not verify against the new state root
    with pytest.raises(ProofError):
        verify_note_proof(old, bytes.fromhex(new["block"]["stateRoot"][2:]))


def test_cli_verify_proof_accepts_a_real_proof_and_rejects_a_tampered_one(
    ledger: Ledger, issued: dict[str, Any], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from scripts.cli import app

    bundle = fetch_note_proof(ledger.w3, issued["notes"].address, issued["note_id"], _layout(ledger), issued["block"])
    rpc = ledger.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    good = tmp_path / "good.json"
    good.write_text(json.dumps(bundle))
    runner = CliRunner()
    result = runner.invoke(app, ["verify-proof", str(good), "--rpc", rpc, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["value"] == 500_000
    tampered = json.loads(json.dumps(bundle))
    tampered["note"]["value"] = 999_999
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(tampered))
    rejected = runner.invoke(app, ["verify-proof", str(bad), "--rpc", rpc])
    assert rejected.exit_code == 1
    assert "proof rejected" in rejected.output
    assert "Traceback" not in rejected.output


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_verify_proof_uses_the_service_record_and_names_an_unreachable_node(
    ledger: Ledger, issued: dict[str, Any], tmp_path: Path
) -> None:
    """Without --rpc the node is the one `scf up` recorded in the data dir (non-default ports need no variable);
    a node that does not answer is reported as unreachable (exit 2), not as a rejected proof."""
    from typer.testing import CliRunner

    from scripts.cli import app
    from scripts.client import write_service_record

    bundle = fetch_note_proof(ledger.w3, issued["notes"].address, issued["note_id"], _layout(ledger), issued["block"])
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(bundle))
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    rpc = ledger.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    write_service_record(data_dir, api_url="http://127.0.0.1:1", rpc_url=rpc)
    env: dict[str, str | None] = {"SCF_DATA_DIR": str(data_dir), "SCF_RPC_URL": None, "SCF_RPC_PORT": None}
    env["SCF_RPC_HOST"] = None
    runner = CliRunner()
    result = runner.invoke(app, ["verify-proof", str(path), "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["checked_against"] == rpc

    gone = f"http://127.0.0.1:{_closed_port()}"
    write_service_record(data_dir, api_url="http://127.0.0.1:1", rpc_url=gone)
    result = runner.invoke(app, ["verify-proof", str(path)], env=env)
    assert result.exit_code == 2, result.output
    assert f"node unreachable at {gone}" in result.output
    assert "rejected" not in result.output
    result = runner.invoke(app, ["verify-proof", str(path), "--rpc", gone], env={**env, "SCF_DATA_DIR": None})
    assert result.exit_code == 2 and f"node unreachable at {gone}" in result.output, result.output
