"""Revert decoding against a real anvil: custom errors with arguments, Error(string), Panic, mined reverts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from chain.devnet.devchain import DevChain
from chain.node.artifacts import Artifact
from chain.node.client import connect
from chain.node.revert import ContractRevertError, RevertDecoder
from chain.node.rpc import rpc_for
from chain.node.signer import QueueSettings, SignedTx, TransactionQueue
from tests.chain.reverter import call_data, compile_reverter, deploy_reverter, funded_account, mining_paused

pytestmark = pytest.mark.chain

KYC_HASH = "0x" + Web3.keccak(text="kyc").hex().removeprefix("0x")


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    return compile_reverter(tmp_path_factory.getbasetemp() / "reverter-build")


@pytest.fixture(scope="module")
def w3(devchain: DevChain) -> Iterator[Web3]:
    yield connect(devchain.url)


@pytest.fixture(scope="module")
def reverter(w3: Web3, artifact: Artifact) -> Contract:
    return deploy_reverter(w3, artifact)


@pytest.fixture(scope="module")
def decoder(artifact: Artifact, reverter: Contract) -> RevertDecoder:
    return RevertDecoder({"Reverter": artifact.abi}, addresses={reverter.address: "Reverter"})


def _revert_of(decoder: RevertDecoder, reverter: Contract, function: str, *args: object) -> ContractRevertError:
    """Calls `function` with eth_call and decodes the web3 exception it raises."""
    with pytest.raises(ContractLogicError) as info:
        getattr(reverter.functions, function)(*args).call()
    return decoder.from_exception(info.value, address=reverter.address)


def test_custom_error_with_arguments_is_decoded(decoder: RevertDecoder, reverter: Contract) -> None:
    member = Web3.to_checksum_address("0x" + "ab" * 20)
    error = _revert_of(decoder, reverter, "requireMember", member)
    assert error.contract == "Reverter"
    assert error.error == "NotMember"
    assert error.arguments == {"account": member, "kycHash": KYC_HASH}
    assert error.signature == "NotMember(address,bytes32)"
    assert error.selector == "0x" + Web3.keccak(text="NotMember(address,bytes32)")[:4].hex().removeprefix("0x")
    assert error.raw.startswith(error.selector)
    assert "NotMember" in str(error)


def test_struct_array_and_string_arguments_are_json_friendly(decoder: RevertDecoder, reverter: Contract) -> None:
    error = _revert_of(decoder, reverter, "overLimit")
    assert error.error == "OverLimit"
    assert error.arguments == {"limit": {"cap": 10, "active": True}, "amounts": [5, 7], "note": "too much"}
    json.dumps(error.as_dict())  # the API puts it into a problem document


def test_estimate_gas_revert_is_decoded(w3: Web3, decoder: RevertDecoder, reverter: Contract) -> None:
    caller = funded_account(w3)
    with pytest.raises(ContractLogicError) as info:
        w3.eth.estimate_gas({"from": caller.address, **call_data(reverter, "pay", 5), "value": 3})  # type: ignore[typeddict-item]
    error = decoder.from_exception(info.value, address=reverter.address)
    assert (error.error, error.arguments) == ("InsufficientValue", {"needed": 5, "available": 3})


def test_error_string_is_decoded(decoder: RevertDecoder, reverter: Contract) -> None:
    error = _revert_of(decoder, reverter, "closed")
    assert (error.error, error.arguments, error.reason) == ("Error", {"message": "market closed"}, "market closed")
    assert error.selector == "0x08c379a0"


@pytest.mark.parametrize(
    ("function", "args", "code", "reason"),
    [("divide", (1, 0), 0x12, "division or modulo by zero"), ("decrement", (0,), 0x11, "arithmetic underflow")],
)
def test_panic_is_decoded_with_its_reason(
    decoder: RevertDecoder, reverter: Contract, function: str, args: tuple[int, ...], code: int, reason: str
) -> None:
    error = _revert_of(decoder, reverter, function, *args)
    assert error.error == "Panic"
    assert error.arguments == {"code": code}
    assert error.reason is not None and error.reason.startswith(reason)


def test_unknown_selector_keeps_the_raw_data(decoder: RevertDecoder, reverter: Contract) -> None:
    error = _revert_of(decoder, reverter, "unknown")
    assert error.error == "Unknown"
    assert error.selector == "0xdeadbeef"
    assert error.raw == "0xdeadbeef" + f"{42:064x}"
    assert error.contract == "Reverter"


def test_revert_without_data_is_reported_as_unknown(decoder: RevertDecoder, reverter: Contract) -> None:
    error = _revert_of(decoder, reverter, "silent")
    assert (error.error, error.raw, error.selector) == ("Unknown", "0x", None)


def test_decoder_reads_every_artifact_in_a_build_dir(tmp_path: Path, artifact: Artifact) -> None:
    (tmp_path / "Reverter.json").write_text(json.dumps({"contractName": "Reverter", "abi": artifact.abi}))
    (tmp_path / "IOther.json").write_text(
        json.dumps(
            {
                "contractName": "IOther",
                "abi": [{"type": "error", "name": "Halted", "inputs": [{"name": "since", "type": "uint64"}]}],
            }
        )
    )
    decoder = RevertDecoder.from_build_dir(tmp_path)
    halted = decoder.decode("0x" + Web3.keccak(text="Halted(uint64)")[:4].hex().removeprefix("0x") + f"{9:064x}")
    assert (halted.contract, halted.error, halted.arguments) == ("IOther", "Halted", {"since": 9})
    assert {spec.name for spec in decoder.errors.values()} >= {"InsufficientValue", "NotMember", "OverLimit"}


def test_mined_revert_is_decoded_by_replaying_the_receipt(w3: Web3, decoder: RevertDecoder, reverter: Contract) -> None:
    """A transaction sent without pre-flight that reverts on chain is explained from its receipt."""
    sender: LocalAccount = funded_account(w3)
    queue = TransactionQueue(w3, sender, settings=QueueSettings(), decoder=decoder)
    signed = queue.submit({**call_data(reverter, "bumpBelow", 0), "gas": 100_000}, simulate=False)
    with pytest.raises(ContractRevertError) as info:
        queue.wait(signed)
    error = info.value
    assert error.tx_hash == signed.tx_hash
    assert error.contract == "Reverter"
    assert error.error == "InsufficientValue"
    assert error.arguments == {"needed": 1, "available": reverter.functions.count().call()}
    receipt = w3.eth.get_transaction_receipt(signed.tx_hash)  # type: ignore[arg-type]
    assert receipt["status"] == 0


def test_decoder_from_artifacts_names_the_contract_at_an_address(artifact: Artifact, reverter: Contract) -> None:
    decoder = RevertDecoder.from_artifacts({"Reverter": artifact}, {"Reverter": reverter.address})
    error = _revert_of(decoder, reverter, "closed")
    assert (error.contract, error.error) == ("Reverter", "Error")


def test_shared_signature_uses_the_reverting_contracts_argument_names() -> None:
    entry = {"type": "error", "name": "NotLienholder"}
    order_abi = [{**entry, "inputs": [{"name": "orderId", "type": "uint256"}, {"name": "caller", "type": "address"}]}]
    note_abi = [{**entry, "inputs": [{"name": "noteId", "type": "uint256"}, {"name": "caller", "type": "address"}]}]
    decoder = RevertDecoder({"OrderBook": order_abi, "ReceivableNotes": note_abi})
    data = "0x" + function_signature_to_4byte_selector("NotLienholder(uint256,address)").hex()
    data += (7).to_bytes(32, "big").hex() + (b"\x00" * 12 + b"\x11" * 20).hex()
    assert decoder.decode(data, contract="ReceivableNotes").arguments["noteId"] == 7
    assert decoder.decode(data, contract="OrderBook").arguments["orderId"] == 7


def _race_in_one_block(w3: Web3, decoder: RevertDecoder, reverter: Contract) -> tuple[TransactionQueue, SignedTx]:
    """Two accounts bump the counter below the same limit in one block: the second reverts only because the first
    ran before it in that block (on the state before the block, it succeeds)."""
    limit = reverter.functions.count().call() + 1
    first, second = (
        TransactionQueue(w3, funded_account(w3), settings=QueueSettings(), decoder=decoder) for _ in range(2)
    )
    with mining_paused(w3):
        winner = first.submit({**call_data(reverter, "bumpBelow", limit), "gas": 100_000}, simulate=False)
        loser = second.submit({**call_data(reverter, "bumpBelow", limit), "gas": 100_000}, simulate=False)
    assert first.wait(winner)["blockNumber"] == w3.eth.get_transaction_receipt(loser.tx_hash)["blockNumber"]  # type: ignore[arg-type]
    return second, loser


def test_mined_revert_in_a_shared_block_is_explained_where_it_ran(
    w3: Web3, decoder: RevertDecoder, reverter: Contract
) -> None:
    """The loser of a race inside one block gets its real error, not "Unknown" (replayed before the block, the
    transaction succeeds)."""
    queue, loser = _race_in_one_block(w3, decoder, reverter)
    count = reverter.functions.count().call()
    with pytest.raises(ContractRevertError) as info:
        queue.wait(loser)
    assert (info.value.error, info.value.tx_hash) == ("InsufficientValue", loser.tx_hash)
    assert info.value.arguments == {"needed": count + 1, "available": count}


def test_revert_explained_by_simulating_the_blocks_earlier_transactions(
    w3: Web3, decoder: RevertDecoder, reverter: Contract
) -> None:
    """The fallback for nodes without the debug API: the same answer from eth_simulateV1."""
    _queue, loser = _race_in_one_block(w3, decoder, reverter)
    receipt = w3.eth.get_transaction_receipt(loser.tx_hash)  # type: ignore[arg-type]
    assert receipt["status"] == 0
    rpc = rpc_for(w3)
    tx = rpc.call("eth_getTransactionByHash", loser.tx_hash)
    data = RevertDecoder._by_simulation(rpc, loser.tx_hash, tx, receipt)
    count = reverter.functions.count().call()
    error = decoder.decode(data, address=reverter.address)
    assert (error.error, error.arguments) == ("InsufficientValue", {"needed": count + 1, "available": count})
    # the last resort, a replay before the block, would not see the revert: it says so instead of guessing
    guess = decoder._by_replay(rpc, tx, receipt, contract=None, tx_hash=loser.tx_hash)
    assert guess.error == "Unknown" and guess.reason is not None and "replay" in guess.reason
