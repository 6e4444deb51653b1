"""A Hyperledger Besu QBFT network for the consortium, generated in pure Python (no Besu binary runs here).

Besu cannot be installed on these machines, so this module writes what a consortium hands its members:
one `genesis.json` (QBFT, London EVM, free gas), and per organisation a node `config.toml`, its
`static-nodes.json` and a `permissions_config.toml` (node and account allowlists). docs/consortium.md
("Production: Hyperledger Besu with QBFT") explains each setting.

Key custody: an organisation's node key is created in that organisation's own folder (`key`, mode 0600) and
nothing else ever reads it back except to derive the public key; every shared file is built from public keys
only. An organisation that keeps its key elsewhere hands over its public key (`key.pub`) and nothing more.

Formats follow Besu's documentation and source: the QBFT genesis `extraData` is
RLP([32-byte vanity, [validators], vote, round, [seals]]) with no vote (an empty list), round 0 and no seals
(besu QbftExtraDataCodec.encode); validators are in ascending address order, which Besu's
BftValidatorsValidationRule requires of every later block header.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import coincurve
import rlp
import tomli_w
from eth_account import Account
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from chain.node.errors import ScfError

VANITY = bytes(32)
# Besu's QBFT/IBFT mixHash ("Istanbul block identification", Besu's QBFT genesis documentation).
QBFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
GAS_LIMIT = 30_000_000
# Every fork up to London at block 0 and none later: the contracts are compiled for London (no PUSH0,
# no transient storage, no MCOPY), the same bytecode that runs on anvil and on geth Clique.
LONDON_FORKS = (
    "homesteadBlock",
    "eip150Block",
    "eip155Block",
    "eip158Block",
    "byzantiumBlock",
    "constantinopleBlock",
    "petersburgBlock",
    "istanbulBlock",
    "muirGlacierBlock",
    "berlinBlock",
    "londonBlock",
)
# DEBUG for revert traces (debug_traceTransaction of a failed write); revert-reason-enabled puts the reason in receipts.
RPC_APIS = ("ETH", "NET", "WEB3", "QBFT", "TXPOOL", "DEBUG")
DEPLOYER_BALANCE_WEI = 10**24  # gas money for the operator's deployer (the network itself runs on free gas)
DEFAULT_P2P_PORT = 30303
DEFAULT_RPC_PORT = 8545

KEY_FILE = "key"  # Besu's default node key file name: 0x + 64 hex digits, unencrypted (hence 0600)
PUBLIC_KEY_FILE = "key.pub"
GENESIS_FILE = "genesis.json"
STATIC_NODES_FILE = "static-nodes.json"
PERMISSIONS_FILE = "permissions_config.toml"
CONFIG_FILE = "config.toml"
NETWORK_FILE = "network.json"
SHARED_DIR = "shared"
ORGS_DIR = "orgs"

_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_ORG_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_HEX = re.compile(r"^(0x)?[0-9a-fA-F]*$")


class BesuConfigError(ScfError):
    """The Besu network description is inconsistent (a bad key, name, address or a duplicate)."""


class StorageFormat(StrEnum):
    """Besu's `data-storage-format`. The ledger proves notes with `eth_getProof` at a named block: FOREST
    (with FULL sync) keeps every past state; BONSAI keeps only `bonsai-historical-block-limit` blocks back."""

    FOREST = "FOREST"
    BONSAI = "BONSAI"


RPC_MAX_ACTIVE_CONNECTIONS = 1024  # see node_config: one service process alone may hold 256+


def _hex_bytes(value: str, length: int, what: str) -> bytes:
    value = value.strip()
    if not _HEX.match(value):
        raise BesuConfigError(f"{what} is not hex: {value!r}")
    raw = bytes.fromhex(value.removeprefix("0x"))
    if len(raw) != length:
        raise BesuConfigError(f"{what} must be {length} bytes, got {len(raw)}")
    return raw


def parse_public_key(value: str) -> bytes:
    """A node public key (64 bytes: x || y, as in an enode URL; 0x optional), checked to be on secp256k1."""
    raw = _hex_bytes(value, 64, "node public key")
    try:
        coincurve.PublicKey(b"\x04" + raw)
    except ValueError as exc:
        raise BesuConfigError("node public key is not a point on secp256k1") from exc
    return raw


def node_address(public_key: bytes) -> str:
    """The node's (and, for a validator, the validator's) address: the last 20 bytes of keccak(public key)."""
    return to_checksum_address(keccak(public_key)[12:])


def check_org_name(name: str) -> str:
    """An organisation's name is also its folder's name: lower-case letters, digits, '-' and '_'."""
    if not _ORG_NAME.match(name):
        raise BesuConfigError(f"organisation name {name!r}: use a-z, 0-9, '-' or '_' (up to 64)")
    return name


def parse_address(value: str) -> str:
    return to_checksum_address(_hex_bytes(value, 20, "address"))


@dataclass(frozen=True)
class NodeKey:
    public_key: bytes  # 64 bytes

    @property
    def address(self) -> str:
        return node_address(self.public_key)

    @property
    def public_hex(self) -> str:
        return self.public_key.hex()


def create_node_key(org_dir: Path) -> tuple[NodeKey, bool]:
    """The organisation's node key in its own folder: created there (0600) if absent, else reused.

    Returns (key, created). Only the public half leaves this function; the private key stays in `org_dir/key`.
    """
    org_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_path, pub_path = org_dir / KEY_FILE, org_dir / PUBLIC_KEY_FILE
    created = False
    if key_path.exists():
        private = _hex_bytes(key_path.read_text(), 32, f"node key in {key_path}")
        if not 0 < int.from_bytes(private, "big") < _SECP256K1_N:
            raise BesuConfigError(f"node key in {key_path} is not a valid secp256k1 key")
    else:
        private = bytes(Account.create().key)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("0x" + private.hex())
        created = True
    public = coincurve.PrivateKey(private).public_key.format(compressed=False)[1:]
    pub_path.write_text("0x" + public.hex() + "\n")
    return NodeKey(public), created


def load_public_key(org_dir: Path) -> NodeKey:
    """The public key an organisation published (`key.pub`), for a node whose private key is kept elsewhere."""
    path = org_dir / PUBLIC_KEY_FILE
    try:
        return NodeKey(parse_public_key(path.read_text()))
    except FileNotFoundError as exc:
        raise BesuConfigError(f"no {PUBLIC_KEY_FILE} in {org_dir}") from exc


@dataclass(frozen=True)
class BesuNode:
    """One organisation's node, described by public data only."""

    name: str
    public_key: bytes
    host: str = "127.0.0.1"
    p2p_port: int = DEFAULT_P2P_PORT
    rpc_port: int = DEFAULT_RPC_PORT
    validator: bool = True

    def __post_init__(self) -> None:
        check_org_name(self.name)
        if len(self.public_key) != 64:
            raise BesuConfigError(f"{self.name}: node public key must be 64 bytes")
        for port in (self.p2p_port, self.rpc_port):
            if not 1 <= port <= 65535:
                raise BesuConfigError(f"{self.name}: port {port} out of range")

    @property
    def address(self) -> str:
        return node_address(self.public_key)

    @property
    def enode(self) -> str:
        return f"enode://{self.public_key.hex()}@{self.host}:{self.p2p_port}"

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.rpc_port}"


# ---------------------------------------------------------------------------------------------- extraData
@dataclass(frozen=True)
class QbftExtraData:
    vanity: bytes
    validators: tuple[str, ...]
    vote: tuple[str, bool] | None
    round: int
    seals: tuple[bytes, ...]


def qbft_extra_data(validators: Sequence[str]) -> str:
    """The genesis `extraData` for QBFT with block-header validator selection, validators in the order given:
    RLP([vanity (32 zero bytes), [validator addresses], [] (no vote), 0 (round), [] (no seals)])."""
    addresses = [bytes.fromhex(parse_address(v)[2:]) for v in validators]
    encoded: bytes = rlp.encode([VANITY, addresses, [], 0, []])
    return "0x" + encoded.hex()


def decode_qbft_extra_data(extra_data: str) -> QbftExtraData:
    """The inverse of qbft_extra_data, also for block headers with a vote and seals (Besu QbftExtraDataCodec)."""
    try:
        items = rlp.decode(bytes.fromhex(extra_data.removeprefix("0x")))
    except (ValueError, rlp.DecodingError) as exc:
        raise BesuConfigError(f"extraData is not RLP: {exc}") from exc
    if not isinstance(items, list) or len(items) != 5:
        raise BesuConfigError("QBFT extraData is a list of 5 items")
    vanity, validators, vote, round_bytes, seals = items
    if not isinstance(vanity, bytes) or len(vanity) != 32:
        raise BesuConfigError("QBFT extraData starts with 32 bytes of vanity")
    if not isinstance(validators, list) or any(not isinstance(v, bytes) or len(v) != 20 for v in validators):
        raise BesuConfigError("QBFT extraData validators are 20-byte addresses")
    decoded_vote: tuple[str, bool] | None = None
    if vote:  # [recipient, 0x01 (add) | empty (drop)]
        if not isinstance(vote, list) or len(vote) != 2 or not isinstance(vote[0], bytes) or len(vote[0]) != 20:
            raise BesuConfigError("QBFT extraData vote is [address, add flag]")
        decoded_vote = (to_checksum_address(vote[0]), vote[1] == b"\x01")
    if not isinstance(round_bytes, bytes) or not isinstance(seals, list):
        raise BesuConfigError("QBFT extraData round is a scalar and seals a list")
    return QbftExtraData(
        vanity=vanity,
        validators=tuple(to_checksum_address(v) for v in validators),
        vote=decoded_vote,
        round=int.from_bytes(round_bytes, "big"),
        seals=tuple(seals),
    )


def sorted_validators(addresses: Iterable[str]) -> list[str]:
    """Ascending by address bytes (Besu rejects headers whose validators are not in this order)."""
    return sorted((parse_address(a) for a in addresses), key=lambda a: bytes.fromhex(a[2:]))


# ---------------------------------------------------------------------------------------------- files
def genesis(
    chain_id: int,
    validators: Iterable[str],
    *,
    deployer: str | None = None,
    block_period_seconds: int = 1,
    epoch_length: int = 30_000,
    request_timeout_seconds: int | None = None,
    gas_limit: int = GAS_LIMIT,
) -> dict[str, Any]:
    """Besu's QBFT genesis: London at block 0 and no later fork, free gas (zeroBaseFee), a 30M gas limit.

    `request_timeout_seconds` defaults to twice the block period (the starting point of Besu's tuning advice).
    """
    ordered = sorted_validators(validators)
    if not ordered:
        raise BesuConfigError("a QBFT network needs at least one validator")
    if len(set(ordered)) != len(ordered):
        raise BesuConfigError("a validator is listed twice")
    if chain_id <= 0 or block_period_seconds <= 0 or epoch_length <= 0:
        raise BesuConfigError("chain id, block period and epoch length must be positive")
    timeout = request_timeout_seconds if request_timeout_seconds is not None else 2 * block_period_seconds
    config: dict[str, Any] = {"chainId": chain_id}
    config.update(dict.fromkeys(LONDON_FORKS, 0))
    config["zeroBaseFee"] = True  # with min-gas-price=0 on every node: members need no ether
    config["qbft"] = {
        "blockperiodseconds": block_period_seconds,
        "epochlength": epoch_length,
        "requesttimeoutseconds": timeout,
    }
    alloc: dict[str, Any] = {}
    if deployer is not None:
        alloc[parse_address(deployer)[2:].lower()] = {"balance": hex(DEPLOYER_BALANCE_WEI)}
    return {
        "config": config,
        "nonce": "0x0",
        "timestamp": "0x0",
        "extraData": qbft_extra_data(ordered),
        "gasLimit": hex(gas_limit),
        "difficulty": "0x1",
        "mixHash": QBFT_MIX_HASH,
        "coinbase": "0x" + "00" * 20,
        "alloc": alloc,
        "number": "0x0",
        "gasUsed": "0x0",
        "parentHash": "0x" + "00" * 32,
    }


def static_nodes(nodes: Iterable[BesuNode], *, excluding: str | None = None) -> list[str]:
    """Enode URLs to dial (Besu's static-nodes.json); a node's own file leaves itself out."""
    return [n.enode for n in nodes if n.name != excluding]


def permissions_config(nodes: Iterable[BesuNode], accounts: Iterable[str]) -> dict[str, list[str]]:
    """Local permissioning: only consortium nodes may connect; only allowlisted accounts may send."""
    return {
        "accounts-allowlist": [parse_address(a) for a in accounts],
        "nodes-allowlist": [n.enode for n in nodes],
    }


def node_config(
    node: BesuNode,
    *,
    storage: StorageFormat = StorageFormat.FOREST,
    bonsai_historical_block_limit: int = 512,
    account_permissioning: bool = False,
) -> dict[str, Any]:
    """Besu options (TOML config file keys = CLI option names) for one organisation's node.

    Relative paths are resolved from the directory Besu is started in: the organisation's folder.
    """
    config: dict[str, Any] = {
        "data-path": "data",
        "genesis-file": GENESIS_FILE,
        "node-private-key-file": KEY_FILE,
        # P2P: static peers only, on a restricted net; advertise the host the other members dial
        "p2p-host": node.host,
        "p2p-port": node.p2p_port,
        "nat-method": "NONE",
        "discovery-enabled": False,
        "static-nodes-file": STATIC_NODES_FILE,
        # JSON-RPC for this organisation's own service or verifier
        "rpc-http-enabled": True,
        "rpc-http-host": node.host,
        "rpc-http-port": node.rpc_port,
        "rpc-http-api": list(RPC_APIS),
        # Besu refuses connections past 80 by default; the service keeps one keep-alive connection to its node per
        # thread that calls it (up to 256 request threads a process, chain/node/rpc.py), its verifiers more
        "rpc-http-max-active-connections": RPC_MAX_ACTIVE_CONNECTIONS,
        "host-allowlist": sorted({"localhost", "127.0.0.1", node.host}),
        "revert-reason-enabled": True,
        # Free gas: with genesis zeroBaseFee, a node with a higher minimum silently drops zero-price transactions
        "min-gas-price": 0,
        "min-priority-fee": 0,  # Besu's default, stated: members' accounts hold no ether to pay a tip with
        "sync-mode": "FULL",
        "data-storage-format": storage.value,
        "permissions-nodes-config-file-enabled": True,
        "permissions-nodes-config-file": PERMISSIONS_FILE,
        "permissions-accounts-config-file-enabled": account_permissioning,
        "permissions-accounts-config-file": PERMISSIONS_FILE,
    }
    if storage is StorageFormat.BONSAI:
        # FULL sync with Bonsai requires trie-log limiting off; proofs reach this many blocks back
        config["bonsai-limit-trie-logs-enabled"] = False
        config["bonsai-historical-block-limit"] = bonsai_historical_block_limit
    return config


_CONFIG_HEADER = """\
# Hyperledger Besu node of {name} ({role}), QBFT consortium chain {chain_id}.
# Start it from this folder: besu --config-file={config}
# `key` is this organisation's node key: it never leaves this folder (mode 0600).
# data-storage-format: FOREST with sync-mode FULL keeps every past state, so eth_getProof answers at any
# block (the ledger's proofs name a block). BONSAI is smaller but proves only bonsai-historical-block-limit
# blocks back (default 512); use it only where past-block proofs are not served.

"""


@dataclass(frozen=True)
class NetworkPlan:
    chain_id: int
    nodes: tuple[BesuNode, ...]
    deployer: str | None = None
    extra_accounts: tuple[str, ...] = ()
    block_period_seconds: int = 1
    epoch_length: int = 30_000
    request_timeout_seconds: int | None = None
    storage: StorageFormat = StorageFormat.FOREST
    bonsai_historical_block_limit: int = 512
    account_permissioning: bool = False

    def __post_init__(self) -> None:
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise BesuConfigError("an organisation is listed twice")
        keys = [n.public_key for n in self.nodes]
        if len(set(keys)) != len(keys):
            raise BesuConfigError("two organisations share a node key")
        endpoints = [(n.host, n.p2p_port) for n in self.nodes] + [(n.host, n.rpc_port) for n in self.nodes]
        if len(set(endpoints)) != len(endpoints):
            raise BesuConfigError("two nodes listen on the same host and port")
        if not any(n.validator for n in self.nodes):
            raise BesuConfigError("a QBFT network needs at least one validator")
        if self.account_permissioning and not self.accounts:
            raise BesuConfigError("account permissioning with an empty allowlist would refuse every transaction")

    @property
    def validators(self) -> list[BesuNode]:
        return [n for n in self.nodes if n.validator]

    @property
    def accounts(self) -> list[str]:
        listed = ([self.deployer] if self.deployer else []) + list(self.extra_accounts)
        return list(dict.fromkeys(parse_address(a) for a in listed))

    def genesis(self) -> dict[str, Any]:
        return genesis(
            self.chain_id,
            [n.address for n in self.validators],
            deployer=self.deployer,
            block_period_seconds=self.block_period_seconds,
            epoch_length=self.epoch_length,
            request_timeout_seconds=self.request_timeout_seconds,
        )

    def record(self) -> dict[str, Any]:
        """The network record: what the service and the members need to know, public data only."""
        qbft = self.genesis()["config"]["qbft"]
        n = len(self.validators)
        return {
            "engine": "besu-qbft",
            "chain_id": self.chain_id,
            "block_period_seconds": qbft["blockperiodseconds"],
            "request_timeout_seconds": qbft["requesttimeoutseconds"],
            "epoch_length": qbft["epochlength"],
            "finality_depth": 0,  # a QBFT block is final once committed: no reorgs
            "fault_tolerance": (n - 1) // 3,  # f of 3f+1
            "nodes": [
                {
                    "name": node.name,
                    "role": "validator" if node.validator else "observer",
                    "address": node.address,
                    "enode": node.enode,
                    "rpc_url": node.rpc_url,
                }
                for node in self.nodes
            ],
        }


@dataclass(frozen=True)
class WrittenNetwork:
    shared_dir: Path
    org_dirs: dict[str, Path]
    created_keys: tuple[str, ...]


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n")


def write_network(out: Path, plan: NetworkPlan, *, created_keys: Iterable[str] = ()) -> WrittenNetwork:
    """Writes `out/shared/` (genesis, static nodes, permissions, network record: the files every member gets)
    and, per organisation, `out/orgs/<name>/` with its config.toml and its copies of the shared files.
    Node keys are not written here: `create_node_key` makes each in its organisation's folder beforehand."""
    shared = out / SHARED_DIR
    shared.mkdir(parents=True, exist_ok=True)
    genesis_doc = plan.genesis()
    permissions = tomli_w.dumps(permissions_config(plan.nodes, plan.accounts))
    _write_json(shared / GENESIS_FILE, genesis_doc)
    _write_json(shared / STATIC_NODES_FILE, static_nodes(plan.nodes))
    (shared / PERMISSIONS_FILE).write_text(permissions)
    _write_json(shared / NETWORK_FILE, plan.record())
    org_dirs: dict[str, Path] = {}
    for node in plan.nodes:
        org = out / ORGS_DIR / node.name
        org.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_json(org / GENESIS_FILE, genesis_doc)
        _write_json(org / STATIC_NODES_FILE, static_nodes(plan.nodes, excluding=node.name))
        (org / PERMISSIONS_FILE).write_text(permissions)
        config = node_config(
            node,
            storage=plan.storage,
            bonsai_historical_block_limit=plan.bonsai_historical_block_limit,
            account_permissioning=plan.account_permissioning,
        )
        header = _CONFIG_HEADER.format(
            name=node.name,
            role="validator" if node.validator else "observer",
            chain_id=plan.chain_id,
            config=CONFIG_FILE,
        )
        (org / CONFIG_FILE).write_text(header + tomli_w.dumps(config))
        org_dirs[node.name] = org
    return WrittenNetwork(shared, org_dirs, tuple(created_keys))


def org_dir(out: Path, name: str) -> Path:
    return out / ORGS_DIR / name
