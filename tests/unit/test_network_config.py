"""The consortium's genesis and names, without geth: Clique extraData layout, London and nothing later, org names."""

from __future__ import annotations

import pytest

from chain.devnet.network import GAS_LIMIT, NetworkError, clique_extra_data, genesis, org_names

SIGNERS = ["0x" + "bb" * 20, "0x" + "0A" * 20, "0x" + "cc" * 20]


def test_extra_data_is_vanity_sorted_signers_and_an_empty_seal() -> None:
    extra = bytes.fromhex(clique_extra_data(SIGNERS)[2:])
    assert len(extra) == 32 + 20 * 3 + 65
    assert extra[:32] == bytes(32) and extra[-65:] == bytes(65)
    assert [extra[32 + 20 * i : 52 + 20 * i].hex() for i in range(3)] == ["0a" * 20, "bb" * 20, "cc" * 20]


def test_genesis_is_clique_london_with_one_second_blocks() -> None:
    doc = genesis(7, SIGNERS, {"0x" + "11" * 20: 10**18})
    config = doc["config"]
    assert config["clique"]["period"] == 1 and config["chainId"] == 7 and config["londonBlock"] == 0
    assert not any(key in config for key in ("shanghaiTime", "cancunTime", "terminalTotalDifficulty"))
    assert int(doc["gasLimit"], 16) == GAS_LIMIT == 30_000_000
    assert doc["alloc"] == {"11" * 20: {"balance": hex(10**18)}}


def test_org_names() -> None:
    assert org_names(4) == ["operator", "core", "bank-a", "bank-b"]
    assert org_names(5)[-1] == "org-5" and org_names(1) == ["operator"]
    with pytest.raises(NetworkError):
        org_names(0)
