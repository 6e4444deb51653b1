"""chain.node.reader against the session anvil and the deployed contracts: each typed read answers what web3's
contract call answers at the same block, reverts and empty answers fail as web3's do, the proof bundle is the
web3 path's and verifies, and a node that does not answer is an OSError."""

from __future__ import annotations

import socket
import uuid
from typing import Any

import pytest
from eth_account import Account
from web3.exceptions import BadFunctionCallOutput

from api.settings import Settings
from chain.node.client import contract, fund_on_devchain
from chain.node.contracts import Contracts, ReceivableNotes
from chain.node.proofs import fetch_note_proof, verify_note_proof
from chain.node.reader import ChainReader, ViewCall
from chain.node.revert import ContractRevertError, RevertDecoder
from chain.node.roles import Roles
from chain.node.rpc import RpcTransportError
from chain.node.tx import send
from scripts.runtime import Ledger


@pytest.fixture(scope="module")
def contracts(ledger: Ledger) -> Contracts:
    addresses = {name: c.address for name, c in ledger.deployment.contracts.items()}
    decoder = RevertDecoder.from_artifacts(ledger.artifacts, addresses)
    return Contracts.build(lambda name: contract(ledger.w3, ledger.deployment, ledger.artifacts, name), decoder)


@pytest.fixture(scope="module")
def world(ledger: Ledger, contracts: Contracts) -> dict[str, Any]:
    """A core enterprise and a supplier, and a receivable issued to the supplier (its first note)."""
    members = []
    for roles in (Roles.CORE_ENTERPRISE, Roles.SUPPLIER):
        account = Account.create()
        registry = contracts.members.handle
        fn = registry.functions.admit(account.address, int(roles), b"\x22" * 32, 0, 10**12)
        send(ledger.w3, ledger.operator, fn.build_transaction({"from": ledger.operator.address}))
        fund_on_devchain(ledger.w3, account.address)
        members.append((account, int(registry.functions.memberIdOf(account.address).call())))
    (core, _core_id), (supplier, supplier_id) = members
    notes = contracts.notes.handle
    maturity = int(ledger.w3.eth.get_block("latest")["timestamp"]) + 30 * 86_400
    invoice = bytes.fromhex(uuid.uuid4().hex * 2)
    fn = notes.functions.issue(supplier.address, 700_000, ledger.deployment.address("CashToken"), maturity, invoice)
    receipt = send(ledger.w3, core, fn.build_transaction({"from": core.address}))
    block = int(receipt["blockNumber"])
    note_id = int(notes.functions.noteCount().call(block_identifier=block))
    return {"block": block, "note_id": note_id, "invoice": invoice, "supplier_id": supplier_id}


def test_headers_are_the_nodes(settings: Settings, ledger: Ledger, world: dict[str, Any]) -> None:
    reader = ChainReader(settings.effective_rpc_url)
    block = world["block"]
    header = reader.header(block)
    web3_header = ledger.w3.eth.get_block(block)
    assert header is not None
    assert header.number == block
    assert header.hash == "0x" + bytes(web3_header["hash"]).hex()
    assert header.timestamp == int(web3_header["timestamp"])
    assert header.state_root == "0x" + bytes(web3_header["stateRoot"]).hex()
    head = reader.head()
    assert head >= block
    assert reader.header(head + 1000) is None  # past the head
    both = reader.headers([block, block - 1, head + 1000])
    assert sorted(both) == [block - 1, block]  # the one past the head is left out
    assert both[block] == header


def test_latest_is_read_once_within_its_age_and_never_below_at_least(settings: Settings, ledger: Ledger) -> None:
    reader = ChainReader(settings.effective_rpc_url)
    first = reader.latest(max_age=3600)
    assert first == reader.header(first.number)
    ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    assert reader.latest(max_age=3600) == first  # within its age: the header read before, the node not asked
    newer = reader.latest(max_age=3600, at_least=first.number + 1)  # a later block wanted: read again
    assert newer.number > first.number
    assert newer == reader.header(newer.number)
    ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    assert reader.latest(max_age=0).number > newer.number  # too old: read again


def test_typed_views_answer_what_web3_answers(
    settings: Settings, ledger: Ledger, contracts: Contracts, world: dict[str, Any]
) -> None:
    reader = ChainReader(settings.effective_rpc_url)
    block, note_id = world["block"], world["note_id"]
    note = reader.note(contracts.notes, note_id, block)
    assert note == contracts.notes.note(note_id, block=block)
    assert note.holder_id == world["supplier_id"] and note.value == 700_000
    receivable = reader.receivable(contracts.notes, note.slot_id, block)
    assert receivable == contracts.notes.receivable(note.slot_id, block=block)
    member = reader.member(contracts.members, note.holder_id, block)
    assert member == contracts.members.member(note.holder_id, block=block)  # checksummed address, bytes32
    assert reader.note_terms(contracts.notes, contracts.members, note, block) == (receivable, member)
    assert reader.slot_of_invoice(contracts.notes, world["invoice"], block) == note.slot_id
    assert reader.slot_of_invoice(contracts.notes, b"\x01" * 32, block) == 0
    assert reader.loan_of_order(contracts.financing, 2**40, block) == 0
    # before the issue the note is unknown: its view reverts with the contract's error, as web3's call does
    with pytest.raises(ContractRevertError) as caught:
        reader.note(contracts.notes, note_id, block - 1)
    assert caught.value.error == "UnknownNote"
    with pytest.raises(ContractRevertError) as web3_caught:
        contracts.notes.note(note_id, block=block - 1)
    assert web3_caught.value.error == caught.value.error


def test_notes_in_batches(settings: Settings, ledger: Ledger, contracts: Contracts, world: dict[str, Any]) -> None:
    reader = ChainReader(settings.effective_rpc_url)
    block, note_id = world["block"], world["note_id"]
    ids = [note_id, note_id + 10_000, *range(1, note_id)]
    found = reader.notes_at(contracts.notes.address, ids, block, batch_size=2)  # several batches
    assert found[note_id + 10_000] is None  # the chain does not know it
    live = 0
    for i in [note_id, *range(1, note_id)]:
        # The session chain is shared: other modules' notes may be burned by then (merged, or emptied by a move).
        try:
            expected = contracts.notes.note(i, block=block)
        except ContractRevertError as exc:
            assert exc.error == "UnknownNote", exc
            expected = None
        assert found[i] == expected, i
        live += expected is not None
    assert live >= 1  # this module's note at least
    assert reader.notes_at(contracts.notes.address, [note_id], block - 1) == {note_id: None}


def test_a_view_of_an_address_without_code_fails_as_web3_does(
    settings: Settings, ledger: Ledger, contracts: Contracts
) -> None:
    empty = Account.create().address
    nowhere = ReceivableNotes(ledger.w3.eth.contract(address=empty, abi=contracts.notes.handle.abi))
    reader = ChainReader(settings.effective_rpc_url)
    block = reader.head()
    with pytest.raises(BadFunctionCallOutput):
        nowhere.note(1, block=block)
    with pytest.raises(BadFunctionCallOutput):
        reader.view(ViewCall(nowhere, "noteCount()", ()), block)


def test_note_proof_is_the_web3_paths_bundle_and_verifies(
    settings: Settings, ledger: Ledger, contracts: Contracts, world: dict[str, Any]
) -> None:
    reader = ChainReader(settings.effective_rpc_url)
    layout = ledger.artifacts["ReceivableNotes"].storage_layout
    header = reader.header(world["block"])
    assert header is not None
    bundle = reader.note_proof(contracts.notes.address, world["note_id"], layout, header)
    assert bundle == fetch_note_proof(ledger.w3, contracts.notes.address, world["note_id"], layout, world["block"])
    proven = verify_note_proof(bundle, bytes.fromhex(header.state_root[2:]))
    assert (proven.holder_id, proven.value) == (world["supplier_id"], 700_000)


def test_a_node_that_does_not_answer_is_an_os_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    reader = ChainReader(f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(RpcTransportError) as caught:
        reader.header("latest")
    assert isinstance(caught.value, OSError)
