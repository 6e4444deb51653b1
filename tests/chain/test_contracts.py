"""The typed wrappers against the session anvil: views return dataclasses, reverts raise decoded errors."""

from __future__ import annotations

import pytest
from eth_account import Account
from web3 import Web3

from chain.node.client import contract
from chain.node.contracts import Contracts, Member
from chain.node.revert import ContractRevertError, RevertDecoder
from chain.node.tx import send
from scripts.runtime import Ledger

pytestmark = pytest.mark.chain

KYC = Web3.keccak(text="wrapper-test kyc")


@pytest.fixture(scope="module")
def contracts(ledger: Ledger) -> Contracts:
    addresses = {name: c.address for name, c in ledger.deployment.contracts.items()}
    decoder = RevertDecoder.from_artifacts(ledger.artifacts, addresses)
    return Contracts.build(lambda name: contract(ledger.w3, ledger.deployment, ledger.artifacts, name), decoder)


def test_admit_then_read_member(ledger: Ledger, contracts: Contracts) -> None:
    account = Account.create().address
    call = contracts.members.admit(account, 1 | 2, bytes(KYC), 42, 5_000)
    send(ledger.w3, ledger.operator, {"to": contracts.members.address, "data": call.data()})

    member_id = contracts.members.member_id_of(account)
    assert member_id > 0
    member = contracts.members.member(member_id)
    assert isinstance(member, Member)
    assert member.account == Web3.to_checksum_address(account)
    assert member.roles == 3
    assert member.group_id == 42
    assert member.credit_limit == 5_000
    assert member.outstanding == 0
    assert member.kyc_hash == bytes(KYC)
    assert member.issuance_blocked is False
    assert contracts.members.account_of(member_id) == member.account
    assert contracts.members.is_active(account, 1)
    assert contracts.members.member_count() >= member_id


def test_unknown_note_raises_decoded_error(contracts: Contracts) -> None:
    with pytest.raises(ContractRevertError) as caught:
        contracts.notes.note(999999)
    assert caught.value.error == "UnknownNote"
    assert caught.value.arguments == {"noteId": 999999}
    assert caught.value.contract == "ReceivableNotes"


def test_unknown_order_and_member_raise_decoded_errors(contracts: Contracts) -> None:
    with pytest.raises(ContractRevertError) as order:
        contracts.orders.order(999999)
    assert (order.value.error, order.value.arguments) == ("UnknownOrder", {"orderId": 999999})
    with pytest.raises(ContractRevertError) as member:
        contracts.members.member(4_000_000)
    assert member.value.error == "UnknownMember"


def test_simple_views(contracts: Contracts) -> None:
    assert contracts.cash.balance_of(Account.create().address) == 0
    assert contracts.cash.total_supply() >= 0
    assert contracts.settlement.grace_period() >= 0
    assert contracts.notes.note_count() >= 0
    assert contracts.orders.order_count() >= 0
