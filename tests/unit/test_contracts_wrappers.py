"""Pure checks of the typed wrappers: a ContractCall encodes to the calldata web3 would build."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from eth_account import Account
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.contract import Contract

from api.writes import WriteContext
from chain.node.abi import abi_type, checksum_address, selector, signature_types
from chain.node.artifacts import load_artifacts
from chain.node.contracts import (
    WRAPPERS,
    CashToken,
    ContractCall,
    Contracts,
    ContractWrapper,
    Financing,
    MemberRegistry,
    OrderBook,
    ReceivableNotes,
    Settlement,
)
from chain.node.revert import RevertDecoder

ALICE = "0x" + "11" * 20
BOB = Web3.to_checksum_address("0x00000000000000000000000000000000000000b0")
HASH = "0x" + "ab" * 32


@pytest.fixture(scope="module")
def contracts() -> Contracts:
    artifacts = load_artifacts()
    w3 = Web3()  # no provider: encoding only
    addresses = {name: Web3.to_checksum_address(f"0x{i + 1:040x}") for i, name in enumerate(artifacts)}

    def handle(name: str) -> Contract:
        return w3.eth.contract(address=addresses[name], abi=artifacts[name].abi)

    return Contracts.build(handle, RevertDecoder.from_artifacts(artifacts))


def _web3_data(wrapper: ContractWrapper, call: ContractCall, args: list[Any]) -> str:
    return str(wrapper.handle.encode_abi(call.signature, args=args))


def test_signature_types() -> None:
    assert signature_types("transferFrom(uint256,address,uint256)") == ["uint256", "address", "uint256"]
    assert signature_types("settle(uint256,uint256[])") == ["uint256", "uint256[]"]
    assert signature_types("f((uint128,bool)[],bytes32)") == ["(uint128,bool)[]", "bytes32"]
    assert signature_types("memberCount()") == []


def test_abi_type_spells_tuples_out_and_signature_types_reads_them_back() -> None:
    """One ABI-type vocabulary (chain/node/abi.py): the type an ABI entry declares is the type a signature lists."""
    param = {
        "type": "tuple[]",
        "components": [{"type": "uint128", "name": "value"}, {"type": "tuple", "components": [{"type": "bool"}]}],
    }
    assert abi_type(param) == "(uint128,(bool))[]"
    assert signature_types(f"f({abi_type(param)},address)") == ["(uint128,(bool))[]", "address"]
    with pytest.raises(ValueError):
        signature_types("memberCount")


@pytest.mark.parametrize(
    ("attr", "method", "args", "web3_args"),
    [
        ("orders", "propose", [BOB, 1_000, ALICE, HASH, 1_900_000_000], None),
        ("orders", "accept", [7, 900, 1_900_000_000, bytes.fromhex("ab" * 32)], None),
        ("members", "admit", [BOB.lower(), 3, HASH, 2, 10**6], [BOB, 3, HASH, 2, 10**6]),
        ("notes", "split", [5, BOB, 300], None),
        ("notes", "merge", [5, 6, 300], None),
        ("notes", "transfer_whole", [ALICE, BOB, 5], None),
        ("cash", "mint", [ALICE, 10**9, HASH], None),
        ("financing", "make_offer", [3, 500, 1200, True, 1_900_000_000], None),
        ("settlement", "settle", [4, [1, 2, 3]], None),
    ],
)
def test_call_data_matches_web3(
    contracts: Contracts, attr: str, method: str, args: list[Any], web3_args: list[Any] | None
) -> None:
    wrapper: ContractWrapper = getattr(contracts, attr)
    call: ContractCall = getattr(wrapper, method)(*args)
    assert call.contract == wrapper.NAME
    assert call.data() == _web3_data(wrapper, call, web3_args if web3_args is not None else args)
    assert call.data().startswith("0x" + call.selector.hex())


def test_overloads_pick_distinct_functions(contracts: Contracts) -> None:
    split = contracts.notes.split(1, BOB, 2)
    merge = contracts.notes.merge(1, 2, 3)
    whole = contracts.notes.transfer_whole(ALICE, BOB, 1)
    assert {split.function, merge.function, whole.function} == {"transferFrom"}
    assert len({split.selector, merge.selector, whole.selector}) == 3


def test_calls_are_frozen_and_normalised(contracts: Contracts) -> None:
    call = contracts.cash.transfer(BOB.lower(), 5)
    assert call == ContractCall("CashToken", "transfer(address,uint256)", (BOB, 5))
    with pytest.raises(AttributeError):
        call.args = ()  # type: ignore[misc]
    with pytest.raises(ValueError, match="32 bytes"):
        contracts.orders.accept(1, 2, 3, "0x1234")


def test_every_wrapper_names_a_deployed_contract() -> None:
    artifacts = load_artifacts()
    assert {w.NAME for w in WRAPPERS} <= set(artifacts)
    assert [w.NAME for w in WRAPPERS] == [
        MemberRegistry.NAME,
        CashToken.NAME,
        ReceivableNotes.NAME,
        OrderBook.NAME,
        Financing.NAME,
        Settlement.NAME,
    ]


def test_every_signature_is_in_the_abi(contracts: Contracts) -> None:
    """Each write method's signature exists in its contract's ABI (web3 raises otherwise)."""
    samples: dict[str, list[ContractCall]] = {
        "members": [
            contracts.members.suspend(1),
            contracts.members.reinstate(1),
            contracts.members.set_credit_limit(1, 2),
            contracts.members.rotate_account(1, BOB),
        ],
        "cash": [
            contracts.cash.burn(ALICE, 1, HASH),
            contracts.cash.recover_rotated_balance(ALICE),
        ],
        "notes": [
            contracts.notes.issue(ALICE, 1, BOB, 2, HASH),
            contracts.notes.lock(1, BOB),
            contracts.notes.release(1),
        ],
        "orders": [
            contracts.orders.confirm(1),
            contracts.orders.deliver(1),
            contracts.orders.cancel(1),
            contracts.orders.release(1),
            contracts.orders.pledge(1, BOB),
        ],
        "financing": [
            contracts.financing.cancel_offer(1),
            contracts.financing.accept_offer(1),
            contracts.financing.claim_recourse(1),
            contracts.financing.pay_recourse(1),
            contracts.financing.lend(1, 2, 3, 4),
            contracts.financing.repay(1),
            contracts.financing.foreclose(1),
        ],
        "settlement": [
            contracts.settlement.fund(1, 2),
            contracts.settlement.claim_defaulted(1, [2]),
            contracts.settlement.mark_default(1),
            contracts.settlement.redeem(1),
        ],
    }
    for attr, calls in samples.items():
        wrapper: ContractWrapper = getattr(contracts, attr)
        for call in calls:
            assert call.data() == _web3_data(wrapper, call, list(call.args)), call


class _FakeQueue:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def submit(self, tx: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.sent.append(tx)
        return tx

    def wait(self, signed: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {"blockNumber": 1, "status": 1, "transactionHash": b"\x01" * 32, "blockHash": b"\x02" * 32}


def test_write_context_sends_typed_and_string_calls_alike(contracts: Contracts) -> None:
    """`transact(account, call)` and the older `transact(account, "Contract", "function", args)` send the same tx."""
    queue = _FakeQueue()
    handles = {w.NAME: w.handle for w in (contracts.orders, contracts.notes)}
    ledger = SimpleNamespace(
        contract=handles.__getitem__,
        signer=SimpleNamespace(queue=lambda _account: queue),
        stall_after=None,  # no stall detection (anvil)
        check_not_stalled=lambda: None,
    )
    ctx = WriteContext(ledger, None, None)  # type: ignore[arg-type]
    account = Account.create()
    ctx.transact(account, contracts.notes.split(4, BOB, 10))
    ctx.transact(account, "ReceivableNotes", "transferFrom(uint256,address,uint256)", [4, BOB, 10])
    ctx.transact(account, contracts.orders.confirm(9))
    ctx.transact(account, "OrderBook", "confirm", [9])
    assert queue.sent[0] == queue.sent[1]
    assert queue.sent[2] == queue.sent[3]
    assert queue.sent[0]["to"] == contracts.notes.address
    assert len(ctx.receipts) == 4


def test_checksums_and_signatures_are_computed_once(contracts: Contracts) -> None:
    """The write path's per-call work (checksumming an address, parsing a signature, its selector) is cached: a
    second split to the same member reuses each, with the same values as eth-utils computes afresh."""
    to = "0x" + "c3" * 20
    first = contracts.notes.split(7, to, 5)
    hits = (checksum_address.cache_info().hits, selector.cache_info().hits)
    second = contracts.notes.split(8, to.upper().replace("0X", "0x"), 5)
    assert second.args[1] == first.args[1] == to_checksum_address(to)
    assert second.selector == first.selector == function_signature_to_4byte_selector(second.signature)
    assert second.data().startswith("0x" + second.selector.hex())
    assert checksum_address.cache_info().hits == hits[0]  # another spelling: computed, not mistaken for the first
    assert contracts.notes.split(9, to, 5).args[1] == first.args[1]
    assert checksum_address.cache_info().hits == hits[0] + 1
    assert selector.cache_info().hits > hits[1]
    types = signature_types(second.signature)
    types.append("mutated")  # a caller's copy: the cached parse is not changed
    assert signature_types(second.signature) == ["uint256", "address", "uint256"]
