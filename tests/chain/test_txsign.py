"""The queue's lean signer (RLP + coincurve) makes byte for byte the transaction eth-account makes: eth-account is
the reference, checked here on random transactions (fees, gas, nonce, value, data of 0..2000 bytes, chain ids,
calls and contract creations)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.node.signer import TransactionQueue
from chain.node.txsign import TxKey

UINT64 = 2**64 - 1
UINT256 = 2**256 - 1

_ints = st.one_of(st.integers(0, 300), st.integers(0, UINT64), st.integers(0, UINT256))


@st.composite
def transactions(draw: st.DrawFn) -> dict[str, Any]:
    tip = draw(_ints)
    fields: dict[str, Any] = {
        "type": 2,
        "chainId": draw(
            st.one_of(st.integers(1, 300), st.sampled_from([1337, 31337, 2**31 - 1]), st.integers(1, UINT64))
        ),
        "nonce": draw(st.integers(0, UINT64)),
        "maxPriorityFeePerGas": tip,
        "maxFeePerGas": draw(st.integers(tip, UINT256)),
        "gas": draw(st.integers(21_000, UINT64)),
        "value": draw(_ints),
        "data": "0x" + draw(st.binary(min_size=0, max_size=2000)).hex(),
    }
    to = draw(st.one_of(st.none(), st.binary(min_size=20, max_size=20)))
    if to is not None:
        fields["to"] = to_checksum_address(to)
    return fields


@settings(max_examples=300, deadline=None)
@given(
    tx=transactions(),
    secret=st.binary(min_size=32, max_size=32).filter(lambda b: 0 < int.from_bytes(b) < 2**256 - 2**130),
)
def test_lean_signature_is_eth_accounts(tx: dict[str, Any], secret: bytes) -> None:
    account = Account.from_key(secret)
    reference = account.sign_transaction(tx)
    raw, tx_hash = TxKey(account.key, account.address).sign_1559(tx)
    assert raw == bytes(reference.raw_transaction)
    assert tx_hash == bytes(reference.hash)


def test_lean_signature_recovers_the_sender() -> None:
    account = Account.create()
    tx = {"chainId": 31337, "nonce": 5, "maxPriorityFeePerGas": 1, "maxFeePerGas": 2, "gas": 21_000, "value": 0}
    raw, _ = TxKey(account.key, account.address).sign_1559({**tx, "to": account.address, "data": "0x"})
    assert Account.recover_transaction(raw) == account.address


def test_the_key_never_shows_its_secret() -> None:
    account = Account.create()
    key = TxKey(account.key, account.address)
    assert repr(key) == f"TxKey({account.address})"
    assert account.key.hex() not in repr(key) and account.key.hex() not in str(key)
    assert not hasattr(key, "__dict__")


@pytest.mark.parametrize(
    ("change", "message"),
    [({"type": 0}, "type 2"), ({"nonce": -1}, "nonce"), ({"value": 2**256}, "value"), ({"to": "0x1234"}, "20-byte")],
)
def test_fields_out_of_range_are_refused(change: dict[str, Any], message: str) -> None:
    account = Account.create()
    tx = {"chainId": 1, "nonce": 0, "maxPriorityFeePerGas": 1, "maxFeePerGas": 2, "gas": 21_000, "value": 0, **change}
    with pytest.raises(ValueError, match=message):
        TxKey(account.key, account.address).sign_1559(tx)


def test_the_queue_signs_with_the_lean_signer_and_gets_eth_accounts_bytes() -> None:
    """The queue's `_sign` (no node needed: the chain id is known) matches eth-account, and uses the lean path."""
    account = Account.create()
    queue = TransactionQueue.__new__(TransactionQueue)  # only `_sign`'s state: no node, no web3
    queue.account = account
    queue._tx_key = None
    fields = {
        "type": 2,
        "chainId": 31337,
        "value": 0,
        "to": to_checksum_address("0x" + "11" * 20),
        "data": "0x" + "ab" * 68,
        "gas": 120_000,
        "maxFeePerGas": 3 * 10**9,
        "maxPriorityFeePerGas": 10**9,
    }
    signed = queue._sign(fields, 7)
    reference = account.sign_transaction({**fields, "nonce": 7})
    assert signed.raw == reference.raw_transaction.to_0x_hex()
    assert signed.tx_hash == reference.hash.to_0x_hex()
    assert signed.fields == fields and signed.nonce == 7
    assert queue._tx_key is not None  # the lean path signed it
