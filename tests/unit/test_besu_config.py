"""chain/devnet/besu.py and `scf network besu-config`: the Besu QBFT network files, checked without a Besu binary."""

from __future__ import annotations

import hashlib
import json
import re
import stat
import tomllib
from pathlib import Path

import pytest
import rlp
from eth_account import Account
from eth_keys import keys
from typer.testing import CliRunner
from web3 import Web3

from chain.devnet.besu import (
    LONDON_FORKS,
    RPC_APIS,
    BesuConfigError,
    BesuNode,
    NetworkPlan,
    StorageFormat,
    create_node_key,
    decode_qbft_extra_data,
    genesis,
    org_dir,
    parse_public_key,
    qbft_extra_data,
    write_network,
)
from scripts.cli import app as cli_app

ORGS = ("operator", "core-enterprise", "bank-a", "bank-b")
DEPLOYER = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
ENODE = re.compile(r"^enode://(?P<pub>[0-9a-f]{128})@(?P<host>[0-9.]+):(?P<port>\d+)$")


def _private_key(name: str) -> bytes:
    """Fixed node keys, so that the organisations' order is not the validators' ascending order."""
    return hashlib.sha256(b"scf-besu-test:" + name.encode()).digest()


def _seed_keys(out: Path, names: tuple[str, ...] = ORGS) -> dict[str, bytes]:
    """Each organisation's key in its own folder, as `create_node_key` would have made it (it reuses them)."""
    for name in names:
        folder = org_dir(out, name)
        folder.mkdir(parents=True)
        (folder / "key").write_text("0x" + _private_key(name).hex())
        (folder / "key").chmod(0o600)
    return {name: _private_key(name) for name in names}


def _plan(out: Path, **overrides: object) -> NetworkPlan:
    nodes = []
    for index, name in enumerate(ORGS):
        key, _ = create_node_key(org_dir(out, name))
        nodes.append(BesuNode(name, key.public_key, f"10.20.0.{index + 1}", 30303, 8545))
    values: dict[str, object] = {"chain_id": 8848, "nodes": tuple(nodes), "deployer": DEPLOYER}
    values.update(overrides)
    return NetworkPlan(**values)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- RLP by hand
def _rlp_string(data: bytes) -> bytes:
    if len(data) == 1 and data[0] < 0x80:
        return data
    assert len(data) < 56
    return bytes([0x80 + len(data)]) + data


def _rlp_list(payload: bytes) -> bytes:
    if len(payload) < 56:
        return bytes([0xC0 + len(payload)]) + payload
    size = len(payload).to_bytes((len(payload).bit_length() + 7) // 8, "big")
    return bytes([0xF7 + len(size)]) + size + payload


def _extra_data_by_hand(addresses: list[str]) -> str:
    """RLP([32 zero bytes, [addresses], [] (no vote), 0 (round: the empty string), [] (no seals)]), byte by byte."""
    validators = _rlp_list(b"".join(_rlp_string(bytes.fromhex(a[2:])) for a in addresses))
    payload = _rlp_string(bytes(32)) + validators + _rlp_list(b"") + b"\x80" + _rlp_list(b"")
    return "0x" + _rlp_list(payload).hex()


# ---------------------------------------------------------------------------------------------- extraData
def test_qbft_extra_data_matches_besu_docs_vector() -> None:
    # Known answer from Besu's documentation, "Configure QBFT consensus" > "Generate extra data"
    # (hyperledger/besu-docs, docs/private-networks/how-to/configure/consensus/qbft.md): the output of
    # `besu rlp encode --type=QBFT_EXTRA_DATA` for these four validators, in this order.
    validators = [
        "0x4592c8e45706cc08b8f44b11e43cba0cfc5892cb",
        "0x06e23768a0f59cf365e18c2e0c89e151bcdedc70",
        "0xc5327f96ee02d7bcbc1bf1236b8c15148971e1de",
        "0xab5e7f4061c605820d3744227eed91ff8e2c8908",
    ]
    expected = (
        "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f854944592c8e45706cc08b8f44b"
        "11e43cba0cfc5892cb9406e23768a0f59cf365e18c2e0c89e151bcdedc7094c5327f96ee02d7bcbc1bf1236b8c15148971e1de"
        "94ab5e7f4061c605820d3744227eed91ff8e2c8908c080c0"
    )
    assert qbft_extra_data(validators) == expected
    assert _extra_data_by_hand(validators) == expected


def test_qbft_extra_data_without_validators_matches_besu_docs_vector() -> None:
    # Same page, "Contract validator selection" genesis: RLP([vanity, [], no vote, round 0, no seals]).
    expected = "0xe5a00000000000000000000000000000000000000000000000000000000000000000c0c080c0"
    assert qbft_extra_data([]) == expected


def test_genesis_extra_data_decodes_to_the_validators_in_ascending_order(tmp_path: Path) -> None:
    _seed_keys(tmp_path)
    plan = _plan(tmp_path)
    addresses = [Account.from_key(_private_key(name)).address for name in ORGS]
    ascending = sorted(addresses, key=lambda a: bytes.fromhex(a[2:]))
    assert addresses != ascending  # the fixture would not catch a missing sort otherwise

    doc = plan.genesis()
    decoded = decode_qbft_extra_data(doc["extraData"])
    assert decoded.validators == tuple(ascending)  # Besu rejects later headers whose validators are unsorted
    assert (decoded.vanity, decoded.vote, decoded.round, decoded.seals) == (bytes(32), None, 0, ())
    assert doc["extraData"] == _extra_data_by_hand(ascending)


def test_decode_reads_a_header_with_a_vote_round_and_seals() -> None:
    validator = bytes.fromhex("4592c8e45706cc08b8f44b11e43cba0cfc5892cb")
    proposed = bytes.fromhex("ab5e7f4061c605820d3744227eed91ff8e2c8908")
    header_extra = rlp.encode([bytes(32), [validator], [proposed, b"\x01"], 3, [b"\x11" * 65]])
    decoded = decode_qbft_extra_data("0x" + header_extra.hex())
    assert decoded.vote == (Web3.to_checksum_address(proposed), True)
    assert decoded.round == 3
    assert decoded.seals == (b"\x11" * 65,)
    with pytest.raises(BesuConfigError):
        decode_qbft_extra_data("0x" + rlp.encode([bytes(31), [], [], 0, []]).hex())


# ---------------------------------------------------------------------------------------------- keys
def test_validator_addresses_are_derived_from_the_node_keys(tmp_path: Path) -> None:
    seeded = _seed_keys(tmp_path)
    plan = _plan(tmp_path)
    for node in plan.nodes:
        private = seeded[node.name]
        assert node.address == Account.from_key(private).address
        assert node.public_key == keys.PrivateKey(private).public_key.to_bytes()
        published = (org_dir(tmp_path, node.name) / "key.pub").read_text().strip()
        assert parse_public_key(published) == node.public_key


def test_create_node_key_writes_a_private_key_only_readable_by_its_owner(tmp_path: Path) -> None:
    folder = tmp_path / "orgs" / "bank-b"
    key, created = create_node_key(folder)
    assert created
    text = (folder / "key").read_text()
    assert re.fullmatch(r"0x[0-9a-f]{64}", text)  # Besu's key file format
    assert stat.S_IMODE((folder / "key").stat().st_mode) == 0o600
    assert Account.from_key(text).address == key.address
    again, created_again = create_node_key(folder)
    assert (again, created_again) == (key, False)  # an existing key is kept, never replaced


def test_a_public_key_off_the_curve_is_refused() -> None:
    with pytest.raises(BesuConfigError, match="secp256k1"):
        parse_public_key("0x" + "00" * 64)
    with pytest.raises(BesuConfigError, match="64 bytes"):
        parse_public_key("0x1234")


# ---------------------------------------------------------------------------------------------- genesis
def test_genesis_is_london_at_block_zero_with_no_later_fork() -> None:
    doc = genesis(8848, ["0x4592c8e45706cc08b8f44b11e43cba0cfc5892cb"], deployer=DEPLOYER)
    config = doc["config"]
    assert config["chainId"] == 8848
    assert all(config[fork] == 0 for fork in LONDON_FORKS)
    assert config["londonBlock"] == 0
    later = {"arrowGlacierBlock", "grayGlacierBlock", "mergeNetsplitBlock", "terminalTotalDifficulty"}
    assert not later & config.keys()
    assert not [key for key in config if key.lower().endswith("time")]  # shanghaiTime, cancunTime, pragueTime...
    assert config["qbft"] == {"blockperiodseconds": 1, "epochlength": 30_000, "requesttimeoutseconds": 2}
    assert config["zeroBaseFee"] is True
    assert int(doc["gasLimit"], 16) == 30_000_000
    assert doc["mixHash"] == "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
    assert doc["difficulty"] == "0x1"
    assert int(doc["alloc"][DEPLOYER[2:].lower()]["balance"], 16) > 0


def test_genesis_refuses_a_validator_listed_twice() -> None:
    with pytest.raises(BesuConfigError, match="twice"):
        genesis(1, [DEPLOYER, DEPLOYER.lower()])


# ---------------------------------------------------------------------------------------------- written files
def test_node_config_toml_parses_with_the_expected_settings(tmp_path: Path) -> None:
    _seed_keys(tmp_path)
    plan = _plan(tmp_path)
    written = write_network(tmp_path, plan)
    for node in plan.nodes:
        folder = written.org_dirs[node.name]
        config = tomllib.loads((folder / "config.toml").read_text())
        assert config["rpc-http-api"] == ["ETH", "NET", "WEB3", "QBFT", "TXPOOL", "DEBUG"] == list(RPC_APIS)
        # above Besu's default of 80: one service process keeps a keep-alive connection per calling thread (256)
        assert config["rpc-http-max-active-connections"] >= 512
        assert config["rpc-http-enabled"] is True
        assert (config["rpc-http-host"], config["rpc-http-port"]) == (node.host, 8545)
        assert (config["p2p-host"], config["p2p-port"]) == (node.host, 30303)
        assert config["discovery-enabled"] is False
        assert set(config["host-allowlist"]) == {"localhost", "127.0.0.1", node.host}
        assert (config["min-gas-price"], config["min-priority-fee"]) == (0, 0)
        assert (config["sync-mode"], config["data-storage-format"]) == ("FULL", "FOREST")
        assert config["permissions-nodes-config-file-enabled"] is True
        assert config["permissions-accounts-config-file-enabled"] is False
        # every file the config names is in the organisation's own folder
        for option in ("genesis-file", "static-nodes-file", "node-private-key-file", "permissions-nodes-config-file"):
            assert (folder / config[option]).is_file(), option
        assert json.loads((folder / config["genesis-file"]).read_text()) == plan.genesis()


def test_bonsai_storage_turns_off_trie_log_limiting_for_full_sync(tmp_path: Path) -> None:
    _seed_keys(tmp_path)
    plan = _plan(tmp_path, storage=StorageFormat.BONSAI, bonsai_historical_block_limit=4096)
    written = write_network(tmp_path, plan)
    config = tomllib.loads((written.org_dirs["bank-a"] / "config.toml").read_text())
    assert config["data-storage-format"] == "BONSAI"
    assert config["bonsai-limit-trie-logs-enabled"] is False  # Besu refuses FULL sync with it on
    assert config["bonsai-historical-block-limit"] == 4096


def test_static_nodes_are_enode_urls_of_the_other_nodes(tmp_path: Path) -> None:
    _seed_keys(tmp_path)
    plan = _plan(tmp_path)
    written = write_network(tmp_path, plan)
    by_pubkey = {node.public_key.hex(): node for node in plan.nodes}
    shared = json.loads((written.shared_dir / "static-nodes.json").read_text())
    assert len(shared) == len(plan.nodes)
    for enode in shared:
        match = ENODE.match(enode)
        assert match, enode
        node = by_pubkey[match["pub"]]
        published = (org_dir(tmp_path, node.name) / "key.pub").read_text().strip()
        assert match["pub"] == published.removeprefix("0x")
        assert (match["host"], int(match["port"])) == (node.host, node.p2p_port)
    for node in plan.nodes:
        own = json.loads((written.org_dirs[node.name] / "static-nodes.json").read_text())
        assert node.enode not in own
        assert sorted(own) == sorted(e for e in shared if e != node.enode)


def test_permissions_allow_the_consortium_nodes_and_the_deployer(tmp_path: Path) -> None:
    _seed_keys(tmp_path)
    plan = _plan(tmp_path, account_permissioning=True, extra_accounts=("0x" + "ab" * 20,))
    written = write_network(tmp_path, plan)
    permissions = tomllib.loads((written.shared_dir / "permissions_config.toml").read_text())
    assert permissions["nodes-allowlist"] == [node.enode for node in plan.nodes]
    assert [a.lower() for a in permissions["accounts-allowlist"]] == [DEPLOYER.lower(), "0x" + "ab" * 20]
    config = tomllib.loads((written.org_dirs["operator"] / "config.toml").read_text())
    assert config["permissions-accounts-config-file-enabled"] is True
    with pytest.raises(BesuConfigError, match="empty allowlist"):
        _plan(tmp_path, deployer=None, account_permissioning=True)


def test_no_private_key_leaves_its_organisation_folder(tmp_path: Path) -> None:
    seeded = _seed_keys(tmp_path)
    write_network(tmp_path, _plan(tmp_path))
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) > 4 * len(ORGS)
    for path in files:
        text = path.read_text().lower()
        for name, private in seeded.items():
            if path == org_dir(tmp_path, name) / "key":
                continue  # the organisation's own key file: the one place its key lives
            assert private.hex() not in text, f"{name}'s private key found in {path}"
    for name in ORGS:
        assert stat.S_IMODE((org_dir(tmp_path, name) / "key").stat().st_mode) == 0o600


def test_plan_refuses_duplicates() -> None:
    key = keys.PrivateKey(_private_key("operator")).public_key.to_bytes()
    other = keys.PrivateKey(_private_key("bank-a")).public_key.to_bytes()
    with pytest.raises(BesuConfigError, match="share a node key"):
        NetworkPlan(8848, (BesuNode("a", key, p2p_port=1), BesuNode("b", key, p2p_port=2, rpc_port=3)))
    with pytest.raises(BesuConfigError, match="same host and port"):
        NetworkPlan(8848, (BesuNode("a", key), BesuNode("b", other)))
    with pytest.raises(BesuConfigError, match="organisation name"):
        BesuNode("../bank", key)


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_writes_the_network_and_keeps_keys_on_a_second_run(tmp_path: Path) -> None:
    out = tmp_path / "net"
    bank_b_pub = keys.PrivateKey(_private_key("bank-b")).public_key.to_hex()
    args = [
        "network",
        "besu-config",
        "--out",
        str(out),
        "--chain-id",
        "8848",
        "--orgs",
        "operator@10.20.0.1,core-enterprise@10.20.0.2,bank-a@10.20.0.3:30313:8555,bank-b@10.20.0.4",
        "--observers",
        "bank-a-observer@10.20.0.5",
        "--public-key",
        f"bank-b={bank_b_pub}",
        "--deployer",
        DEPLOYER,
    ]
    first = CliRunner().invoke(cli_app, args)
    assert first.exit_code == 0, first.output
    assert "SCF_RPC_URL=http://10.20.0.1:8545" in first.output
    assert not (out / "orgs" / "bank-b" / "key").exists()  # bank B keeps its key: only its public key came in
    record = json.loads((out / "shared" / "network.json").read_text())
    roles = {n["name"]: (n["role"], n["rpc_url"]) for n in record["nodes"]}
    assert roles["bank-a"] == ("validator", "http://10.20.0.3:8555")
    assert roles["bank-a-observer"] == ("observer", "http://10.20.0.5:8545")  # one node per host: default ports
    assert record["fault_tolerance"] == 1  # 4 validators = 3f+1 with f = 1
    extra = decode_qbft_extra_data(json.loads((out / "shared" / "genesis.json").read_text())["extraData"])
    assert len(extra.validators) == 4  # the observer is not a validator
    assert Account.from_key(_private_key("bank-b")).address in extra.validators
    pubs = {name: (out / "orgs" / name / "key.pub").read_text() for name in ("operator", "bank-a")}

    second = CliRunner().invoke(cli_app, args)
    assert second.exit_code == 0, second.output
    assert {name: (out / "orgs" / name / "key.pub").read_text() for name in pubs} == pubs


@pytest.mark.parametrize(
    ("orgs", "message"),
    [
        ("operator,operator", "listed twice"),
        ("operator,Bank A", "organisation name"),
        ("operator@10.0.0.1:x", "ports are numbers"),
    ],
)
def test_cli_rejects_a_bad_network_description(tmp_path: Path, orgs: str, message: str) -> None:
    args = ["network", "besu-config", "--out", str(tmp_path / "net"), "--chain-id", "8848", "--orgs", orgs]
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "net").exists()  # nothing was written, no key made


def test_cli_besu_key_prints_only_the_public_key(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["network", "besu-key", "--org", "bank-b", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    private = (tmp_path / "orgs" / "bank-b" / "key").read_text().removeprefix("0x")
    assert private not in result.output
    public = keys.PrivateKey(bytes.fromhex(private)).public_key.to_hex()
    assert f"bank-b={public}" in result.output


def test_cli_gives_nodes_sharing_a_host_their_own_ports(tmp_path: Path) -> None:
    args = ["network", "besu-config", "--out", str(tmp_path), "--chain-id", "8848", "--orgs", "a,b,c@10.0.0.9,d"]
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "shared" / "network.json").read_text())
    endpoints = {n["name"]: (n["enode"].rsplit("@", 1)[1], n["rpc_url"]) for n in record["nodes"]}
    assert endpoints == {
        "a": ("127.0.0.1:30303", "http://127.0.0.1:8545"),
        "b": ("127.0.0.1:30304", "http://127.0.0.1:8546"),
        "c": ("10.0.0.9:30303", "http://10.0.0.9:8545"),
        "d": ("127.0.0.1:30305", "http://127.0.0.1:8547"),
    }


def test_cli_prefunds_the_operator_deployer_from_its_keystore(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "keys").mkdir(parents=True)
    # only the public address field of the keystore is read
    (data_dir / "keys" / "operator.json").write_text(json.dumps({"address": DEPLOYER[2:].lower(), "crypto": {}}))
    args = ["network", "besu-config", "--out", str(tmp_path / "net"), "--chain-id", "8848"]
    result = CliRunner().invoke(cli_app, args, env={"SCF_DATA_DIR": str(data_dir)})
    assert result.exit_code == 0, result.output
    alloc = json.loads((tmp_path / "net" / "shared" / "genesis.json").read_text())["alloc"]
    assert list(alloc) == [DEPLOYER[2:].lower()]
