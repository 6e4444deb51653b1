"""The consortium's genesis and names, without geth: Clique extraData layout, London and nothing later, org names."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import Settings
from chain.devnet.network import GAS_LIMIT, Network, NetworkError, Node, Record, clique_extra_data, genesis, org_names

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


def test_the_service_names_the_node_it_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verification answers name their node: a consortium organisation (`scf up --network`), the embedded devchain,
    or another node by host and port only (a URL's path or credentials may hold an access key)."""
    from scripts.cli import _network_settings

    monkeypatch.delenv("SCF_NODE_NAME", raising=False)
    monkeypatch.delenv("SCF_RPC_URL", raising=False)
    assert Settings(node_name="bank-a").source_node == ("named", "bank-a")  # type: ignore[call-arg]
    assert Settings().source_node == ("devchain", "local devchain")  # type: ignore[call-arg]
    remote = Settings(rpc_url="https://user:secret@node.example.com:8545/v3/key123")  # type: ignore[call-arg]
    assert remote.source_node == ("rpc", "node.example.com:8545")
    assert Settings(rpc_url="http://10.0.0.7/").source_node == ("rpc", "10.0.0.7")  # type: ignore[call-arg]

    net = Network(tmp_path)
    operator = Node("operator", "validator", "0x" + "11" * 20, "ab" * 64, "127.0.0.1", 18545, 30303, 18551)
    net.record = Record(31_414, 1, "loopback", "r1", "127.0.0.0/8", nodes=[operator])
    net.save()
    settings = _network_settings(net.root)
    assert settings.rpc_url == "http://127.0.0.1:18545"
    assert settings.source_node == ("named", "operator")
