"""The benchmark's fast signer (RLP + coincurve) produces byte for byte what eth-account produces."""

from __future__ import annotations

import pytest
from eth_account import Account

from bench.rpc import Wallet, calldata

SPLIT = "transferFrom(uint256,address,uint256)"


@pytest.mark.parametrize("to", ["0x" + "11" * 20, "0x00000000000000000000000000000000000000aa", None])
@pytest.mark.parametrize("nonce", [0, 1, 127, 128, 70_000])
def test_fast_sign_matches_eth_account(to: str | None, nonce: int) -> None:
    fast, slow = Wallet.from_label("signer"), Wallet.from_label("signer")
    fast.nonce = slow.nonce = nonce
    data = calldata(SPLIT, nonce + 1, "0x" + "22" * 20, 5_000)
    raw = fast.sign(31337, to, data, 200_000)
    assert raw == slow.sign_reference(31337, to, data, 200_000)
    assert fast.nonce == slow.nonce == nonce + 1


def test_fast_sign_recovers_sender() -> None:
    w = Wallet.from_label("signer")
    raw = w.sign(1, "0x" + "33" * 20, "0x", 21_000)
    assert Account.recover_transaction(raw) == w.address
