"""A consortium network of geth Clique nodes, one per organisation, for `scf network` and the tests.

Layout of a network directory (each organisation's keys stay in its own folder):

    DIR/network.json               the record: chain id, signers, nodes (RPC URL, enode, pid), contracts
    DIR/genesis.json               Clique genesis: the signers, a 1 s period, a 30M gas limit, London
    DIR/orgs/<org>/keystore/       the node's signing key (geth keystore, scrypt), and `password`
    DIR/orgs/<org>/nodekey         the node's devp2p identity (its enode)
    DIR/orgs/<org>/config.toml     static peers ([Node.P2P] StaticNodes); no discovery
    DIR/orgs/<org>/geth/           the node's chain data (archive: every state kept, for storage proofs)
    DIR/orgs/operator/service/     the service's data dir: the deployer key, deployment record, database

Nodes run in network namespaces of their own when the process may create them (root with `ip`): one
namespace per organisation with its own address on a private /24 (10.213.X.0/24), all joined by a bridge in a
hub namespace, the host reaching them through one more veth pair. A partition is a node's link set down. Without
namespaces the nodes listen on loopback ports (no partitions then). Namespace and interface names carry a
random run id, so concurrent networks (parallel test runs) never collide.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_keys.datatypes import PrivateKey

from chain.devnet.devchain import free_port
from chain.node.errors import ScfError
from chain.node.rpc import rpc_call

RECORD = "network.json"
DEFAULT_ORGS = ["operator", "core", "bank-a", "bank-b"]
DEFAULT_CHAIN_ID = 31_414
PERIOD_S = 1
GAS_LIMIT = 30_000_000
OPERATOR_FUNDS_WEI = 10**27  # the service's deployer: gas money for itself and the members it admits
# `miner`: an organisation may pause its own sealing (miner_stop / miner_start), as the reorg test does
VALIDATOR_APIS = "eth,net,web3,clique,admin,txpool,miner"
OBSERVER_APIS = "eth,net,web3,clique"
NETNS_PREFIX = "10.213"
START_TIMEOUT_S = 60.0


class NetworkError(ScfError):
    """The consortium network cannot be created, started or reached."""


@dataclass
class Node:
    name: str  # the organisation that runs it
    role: str  # "validator" (seals) or "observer" (syncs, serves RPC)
    signer: str  # the node's account (a Clique signer once voted in)
    enode_key: str  # public key of the nodekey (hex, no 0x)
    ip: str
    rpc_port: int
    p2p_port: int
    authrpc_port: int
    netns: str | None = None
    ifname: str | None = None  # the namespace end of its veth (link down = partition)
    pid: int | None = None
    rpc_ip: str | None = None  # in a namespace: the address of its management link (RPC), apart from the peers'

    @property
    def rpc_url(self) -> str:
        return f"http://{self.rpc_ip or self.ip}:{self.rpc_port}"

    @property
    def enode(self) -> str:
        return f"enode://{self.enode_key}@{self.ip}:{self.p2p_port}"


@dataclass
class Record:
    chain_id: int
    period: int
    mode: str  # "netns" or "loopback"
    run_id: str
    subnet: str
    nodes: list[Node] = field(default_factory=list)
    operator_account: str = ""
    contracts: dict[str, str] = field(default_factory=dict)
    hub_netns: str | None = None
    host_ifname: str | None = None
    mgmt_subnet: str | None = None  # RPC links host <-> node (a /30 each), apart from the peer network

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["nodes"] = [dict(asdict(n), rpc_url=n.rpc_url, enode=n.enode) for n in self.nodes]
        data["signers"] = [n.signer for n in self.nodes if n.role == "validator"]
        data["operator_rpc_url"] = self.nodes[0].rpc_url if self.nodes else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "nodes"}
        nodes = [Node(**{k: v for k, v in n.items() if k in Node.__dataclass_fields__}) for n in data["nodes"]]
        return cls(nodes=nodes, **fields)


def netns_available() -> bool:
    """True when this process may create network namespaces (root, `ip` installed, SCF_NETNS not 0)."""
    if os.environ.get("SCF_NETNS", "1") == "0":
        return False
    return os.geteuid() == 0 and shutil.which("ip") is not None


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=30)
    if result.returncode != 0:
        raise NetworkError(f"`ip {' '.join(args)}` failed: {result.stderr.strip()}")


def _free_subnet() -> str:
    """A 10.213.X.0/24 no route of this host uses yet (another run's, a VPN's)."""
    routes = subprocess.run(["ip", "-4", "route", "show"], capture_output=True, text=True, check=False).stdout
    taken = [ipaddress.ip_network(w, strict=False) for w in routes.split() if "/" in w and w[0].isdigit()]
    for _ in range(200):
        net = ipaddress.ip_network(f"{NETNS_PREFIX}.{secrets.randbelow(250) + 1}.0/24")
        if not any(net.overlaps(t) for t in taken):
            return str(net)
    raise NetworkError(f"no free {NETNS_PREFIX}.X.0/24 subnet on this host")


def clique_extra_data(signers: Iterable[str]) -> str:
    """Clique genesis extraData: 32 vanity bytes, the signers sorted ascending, 65 bytes for a seal."""
    ordered = sorted(bytes.fromhex(s[2:].lower()) for s in signers)
    return "0x" + ("00" * 32) + "".join(b.hex() for b in ordered) + ("00" * 65)


def genesis(chain_id: int, signers: list[str], funded: dict[str, int], period: int = PERIOD_S) -> dict[str, Any]:
    """A Clique genesis with every fork up to London at block 0 (Clique stops at London: no Shanghai)."""
    forks = ["homestead", "eip150", "eip155", "eip158", "byzantium", "constantinople", "petersburg"]
    forks += ["istanbul", "berlin", "london"]
    config: dict[str, Any] = {"chainId": chain_id, **{f"{f}Block": 0 for f in forks}}
    config["clique"] = {"period": period, "epoch": 30_000}
    return {
        "config": config,
        "difficulty": "0x1",
        "gasLimit": hex(GAS_LIMIT),
        "baseFeePerGas": "0x0",
        "extraData": clique_extra_data(signers),
        "alloc": {a[2:].lower(): {"balance": hex(wei)} for a, wei in funded.items()},
    }


class Network:
    """A network directory: creates it, starts and stops its nodes, answers about them."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.record = self._load() if (self.root / RECORD).exists() else None
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    # ------------------------------------------------------------------ record
    def reload(self) -> None:
        """Reads the record again (another process, such as the CLI, started or stopped nodes)."""
        self.record = self._load()

    def _load(self) -> Record:
        try:
            return Record.from_json(json.loads((self.root / RECORD).read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise NetworkError(f"the network record {self.root / RECORD} is unreadable: {exc}") from exc

    def save(self) -> None:
        rec = self._rec
        tmp = self.root / (RECORD + ".tmp")
        tmp.write_text(json.dumps(rec.to_json(), indent=2))
        tmp.replace(self.root / RECORD)

    @property
    def _rec(self) -> Record:
        if self.record is None:
            raise NetworkError(f"no network in {self.root} (run `scf network up --dir {self.root}`)")
        return self.record

    def org_dir(self, name: str) -> Path:
        return self.root / "orgs" / name

    @property
    def service_dir(self) -> Path:
        return self.org_dir("operator") / "service"

    def node(self, name: str) -> Node:
        for n in self._rec.nodes:
            if n.name == name:
                return n
        raise NetworkError(f"no node named {name!r} (nodes: {', '.join(n.name for n in self._rec.nodes)})")

    @property
    def nodes(self) -> list[Node]:
        return list(self._rec.nodes)

    @property
    def operator_rpc(self) -> str:
        return self.node("operator").rpc_url

    # ------------------------------------------------------------------ create
    def create(
        self,
        orgs: list[str],
        *,
        operator_account: str,
        chain_id: int = DEFAULT_CHAIN_ID,
        use_netns: bool | None = None,
        passphrase: str | None = None,
        scrypt_n: int = 2**18,
        geth: Path,
    ) -> None:
        """Keys per organisation, the genesis, the namespaces; every node initialised (not started)."""
        if self.record is not None:
            raise NetworkError(f"{self.root} already holds a network; stop it and remove the folder first")
        if "operator" not in orgs[:1]:
            raise NetworkError("the first organisation must be the operator")
        self.root.mkdir(parents=True, exist_ok=True)
        netns = netns_available() if use_netns is None else use_netns
        run_id = secrets.token_hex(3)[:5]
        subnet = _free_subnet() if netns else "127.0.0.0/8"
        self.record = Record(
            chain_id=chain_id,
            period=PERIOD_S,
            mode="netns" if netns else "loopback",
            run_id=run_id,
            subnet=subnet,
            operator_account=operator_account,
        )
        if netns:
            self._create_hub()
        for org in orgs:
            self._new_node(org, "validator", passphrase, scrypt_n)
        signers = [n.signer for n in self._rec.nodes]
        doc = genesis(chain_id, signers, {operator_account: OPERATOR_FUNDS_WEI})
        (self.root / "genesis.json").write_text(json.dumps(doc, indent=2))
        for n in self._rec.nodes:
            self._init_node(n, geth)
        self._write_static_peers()
        self.save()

    def _new_node(self, org: str, role: str, passphrase: str | None, scrypt_n: int) -> Node:
        rec = self._rec
        folder = self.org_dir(org)
        if folder.exists() and any(folder.iterdir()) and org != "operator":
            raise NetworkError(f"organisation folder {folder} exists already")
        (folder / "keystore").mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)
        password = passphrase or secrets.token_urlsafe(24)
        pw = folder / "password"
        pw.write_text(password)
        os.chmod(pw, 0o600)
        account = Account.create()
        encrypted = Account.encrypt(account.key, password, kdf="scrypt", iterations=scrypt_n)
        key_file = folder / "keystore" / f"UTC--scf--{account.address[2:].lower()}"
        key_file.write_text(json.dumps(encrypted))
        os.chmod(key_file, 0o600)
        nodekey = secrets.token_bytes(32)
        (folder / "nodekey").write_text(nodekey.hex())
        os.chmod(folder / "nodekey", 0o600)
        index = len(rec.nodes)
        if rec.mode == "netns":
            ip = str(list(ipaddress.ip_network(rec.subnet).hosts())[10 + index])
            netns_name, ifname, rpc_ip = self._add_netns(org, index, ip)
            node = Node(
                org,
                role,
                account.address,
                PrivateKey(nodekey).public_key.to_hex()[2:],
                ip,
                8545,
                30303,
                8551,
                netns_name,
                ifname,
                rpc_ip=rpc_ip,
            )
        else:
            node = Node(
                org,
                role,
                account.address,
                PrivateKey(nodekey).public_key.to_hex()[2:],
                "127.0.0.1",
                free_port(),
                free_port(),
                free_port(),
            )
        rec.nodes.append(node)
        return node

    def _init_node(self, node: Node, geth: Path) -> None:
        datadir = self.org_dir(node.name) / "geth"
        result = subprocess.run(
            [str(geth), "init", "--datadir", str(datadir), "--state.scheme", "hash", str(self.root / "genesis.json")],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if result.returncode != 0:
            raise NetworkError(f"geth init for {node.name} failed: {result.stderr.strip()[-800:]}")

    def _write_static_peers(self) -> None:
        for n in self._rec.nodes:
            peers = [p.enode for p in self._rec.nodes if p.name != n.name]
            toml = "[Node.P2P]\nStaticNodes = [" + ", ".join(json.dumps(p) for p in peers) + "]\n"
            (self.org_dir(n.name) / "config.toml").write_text(toml)

    # ------------------------------------------------------------------ namespaces
    def _create_hub(self) -> None:
        rec = self._rec
        rec.hub_netns = f"scf-{rec.run_id}-hub"
        rec.host_ifname = f"sc{rec.run_id}h"
        hub_end = f"sc{rec.run_id}g"
        host_ip = str(next(ipaddress.ip_network(rec.subnet).hosts()))
        prefix = ipaddress.ip_network(rec.subnet).prefixlen
        _ip("netns", "add", rec.hub_netns)
        _ip("-n", rec.hub_netns, "link", "add", "br0", "type", "bridge")
        _ip("-n", rec.hub_netns, "link", "set", "br0", "up")
        _ip("link", "add", rec.host_ifname, "type", "veth", "peer", "name", hub_end)
        _ip("link", "set", hub_end, "netns", rec.hub_netns)
        _ip("-n", rec.hub_netns, "link", "set", hub_end, "master", "br0", "up")
        _ip("addr", "add", f"{host_ip}/{prefix}", "dev", rec.host_ifname)
        _ip("link", "set", rec.host_ifname, "up")
        if rec.mgmt_subnet is None:
            rec.mgmt_subnet = _free_subnet()  # after the peer subnet's route exists: never the same one

    def _add_netns(self, org: str, index: int, ip: str) -> tuple[str, str, str]:
        """The node's namespace: `eth0` on the peer bridge (partitions cut it), `mgmt` a veth to the host that
        carries only its RPC (so a cut-off node can still be asked about its head); returns (netns, eth0, RPC ip)."""
        rec = self._rec
        assert rec.hub_netns is not None
        name = f"scf-{rec.run_id}-{org}"
        hub_end, node_end = f"sc{rec.run_id}n{index}", f"sc{rec.run_id}m{index}"
        prefix = ipaddress.ip_network(rec.subnet).prefixlen
        _ip("netns", "add", name)
        _ip("link", "add", hub_end, "type", "veth", "peer", "name", node_end)
        _ip("link", "set", hub_end, "netns", rec.hub_netns)
        _ip("-n", rec.hub_netns, "link", "set", hub_end, "master", "br0", "up")
        _ip("link", "set", node_end, "netns", name)
        _ip("-n", name, "link", "set", node_end, "name", "eth0")
        _ip("-n", name, "addr", "add", f"{ip}/{prefix}", "dev", "eth0")
        _ip("-n", name, "link", "set", "eth0", "up")
        _ip("-n", name, "link", "set", "lo", "up")
        assert rec.mgmt_subnet is not None
        base = ipaddress.ip_network(rec.mgmt_subnet).network_address + 4 * index
        host_end, ns_end = f"sc{rec.run_id}c{index}", f"sc{rec.run_id}d{index}"
        _ip("link", "add", host_end, "type", "veth", "peer", "name", ns_end)
        _ip("link", "set", ns_end, "netns", name)
        _ip("-n", name, "link", "set", ns_end, "name", "mgmt")
        _ip("addr", "add", f"{base + 1}/30", "dev", host_end)
        _ip("link", "set", host_end, "up")
        _ip("-n", name, "addr", "add", f"{base + 2}/30", "dev", "mgmt")
        _ip("-n", name, "link", "set", "mgmt", "up")
        return name, "eth0", str(base + 2)

    def partition(self, name: str) -> None:
        """Cuts a node off the network: its namespace's link goes down (its process keeps running)."""
        node = self.node(name)
        if node.netns is None:
            raise NetworkError(
                "partitions need network namespaces (run as root with `ip`); this network is on loopback"
            )
        _ip("-n", node.netns, "link", "set", "eth0", "down")

    def heal(self, name: str) -> None:
        node = self.node(name)
        if node.netns is None:
            raise NetworkError("this network is on loopback: nothing to heal")
        _ip("-n", node.netns, "link", "set", "eth0", "up")

    def _remove_namespaces(self) -> None:
        rec = self._rec
        names = [n.netns for n in rec.nodes if n.netns] + ([rec.hub_netns] if rec.hub_netns else [])
        for ns in names:  # deleting a namespace deletes the veth ends in it, and so their peers
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False, timeout=30)
        if rec.host_ifname:
            subprocess.run(["ip", "link", "del", rec.host_ifname], capture_output=True, check=False, timeout=30)

    # ------------------------------------------------------------------ processes
    def _command(self, node: Node, geth: Path, seal: bool) -> list[str]:
        folder = self.org_dir(node.name)
        apis = VALIDATOR_APIS if node.role == "validator" else OBSERVER_APIS
        cmd = [
            str(geth),
            "--datadir", str(folder / "geth"),
            "--keystore", str(folder / "keystore"),
            "--nodekey", str(folder / "nodekey"),
            "--config", str(folder / "config.toml"),
            "--networkid", str(self._rec.chain_id),
            "--port", str(node.p2p_port),
            "--nat", "none",
            "--nodiscover",
            "--netrestrict", self._rec.subnet,
            "--http", "--http.addr", node.rpc_ip or node.ip, "--http.port", str(node.rpc_port), "--http.api", apis,
            "--http.vhosts", "*",
            "--authrpc.addr", "127.0.0.1", "--authrpc.port", str(node.authrpc_port),
            "--ipcdisable",
            "--syncmode", "full", "--gcmode", "archive", "--state.scheme", "hash",
            "--cache", "128",
            "--miner.gasprice", "1", "--txpool.pricelimit", "1", "--miner.gaslimit", str(GAS_LIMIT),
            "--verbosity", "3",
        ]  # fmt: skip
        if seal:
            cmd += [
                "--mine", "--miner.etherbase", node.signer,
                "--unlock", node.signer, "--password", str(folder / "password"),
                "--allow-insecure-unlock",  # RPC only on a private namespace address or loopback
            ]  # fmt: skip
        if node.netns is not None:
            cmd = ["ip", "netns", "exec", node.netns, *cmd]
        return cmd

    def start_node(self, name: str, geth: Path, *, wait: bool = True) -> None:
        node = self.node(name)
        if self.is_running(node):
            return
        log = open(self.org_dir(name) / "geth.log", "ab")  # noqa: SIM115 - the child keeps it
        proc = subprocess.Popen(
            self._command(node, geth, seal=node.role == "validator"),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # outlives `scf network up`; stopped by pid
        )
        log.close()
        self._procs[name] = proc
        node.pid = proc.pid
        self.save()
        if wait:
            self.wait_rpc(name)

    def wait_rpc(self, name: str, timeout: float = START_TIMEOUT_S) -> None:
        node = self.node(name)
        deadline = time.monotonic() + timeout
        while True:
            try:
                rpc_call(node.rpc_url, "eth_blockNumber")
                return
            except Exception as exc:
                proc = self._procs.get(name)
                if proc is not None and proc.poll() is not None:
                    raise NetworkError(
                        f"geth of {name} exited ({proc.returncode}); see {self.org_dir(name)}/geth.log"
                    ) from exc
                if time.monotonic() > deadline:
                    raise NetworkError(f"geth of {name} does not answer on {node.rpc_url}: {exc}") from exc
                time.sleep(0.2)

    def start(self, geth: Path) -> None:
        """Starts every node (after `stop`, the namespaces are made again with the same names and addresses)."""
        rec = self._rec
        if rec.mode == "netns" and rec.hub_netns is not None:
            listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
            if rec.hub_netns not in listed.split():
                self._create_hub()
                for index, n in enumerate(rec.nodes):
                    n.netns, n.ifname, n.rpc_ip = self._add_netns(n.name, index, n.ip)
                self.save()
        for n in self._rec.nodes:
            self.start_node(n.name, geth, wait=False)
        for n in self._rec.nodes:
            self.wait_rpc(n.name)

    def is_running(self, node: Node) -> bool:
        if node.pid is None:
            return False
        proc = self._procs.get(node.name)
        if proc is not None and proc.pid == node.pid:
            return proc.poll() is None
        try:
            cmdline = Path(f"/proc/{node.pid}/cmdline").read_bytes()
            state = Path(f"/proc/{node.pid}/stat").read_text().split(")")[-1].split()[0]
        except OSError:
            return False
        return state != "Z" and str(self.org_dir(node.name) / "geth").encode() in cmdline

    def stop_node(self, name: str, timeout: float = 30.0) -> None:
        node = self.node(name)
        if not self.is_running(node):
            node.pid = None
            self.save()
            return
        assert node.pid is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(node.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.is_running(node) and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.is_running(node):
            with contextlib.suppress(ProcessLookupError):
                os.kill(node.pid, signal.SIGKILL)
            while self.is_running(node):
                time.sleep(0.1)
        proc = self._procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            proc.wait(timeout=10)
        node.pid = None
        self.save()

    def stop(self, *, remove_namespaces: bool = True) -> None:
        """Stops every node, then deletes the network's namespaces (the chain data stays in DIR)."""
        for n in self._rec.nodes:
            self.stop_node(n.name)
        if remove_namespaces:
            self._remove_namespaces()

    # ------------------------------------------------------------------ observers and votes
    def add_observer(self, org: str, geth: Path, *, passphrase: str | None = None, scrypt_n: int = 2**18) -> Node:
        """A non-signing archive node of `org` (its own key, ready to become a signer by vote)."""
        node = self._new_node(org, "observer", passphrase, scrypt_n)
        self._init_node(node, geth)
        self._write_static_peers()
        self.save()
        for other in self._rec.nodes:  # the running nodes learn the new peer without a restart
            if other.name != org and other.role == "validator" and self.is_running(other):
                with contextlib.suppress(Exception):
                    rpc_call(other.rpc_url, "admin_addPeer", [node.enode])
        self.start_node(org, geth)
        return node

    def propose(self, address: str, authorize: bool, voters: list[str]) -> list[str]:
        """`clique_propose` on each voter's node; returns the voters that cast the vote."""
        cast = []
        for name in voters:
            node = self.node(name)
            if node.role != "validator":
                raise NetworkError(f"{name} is not a signer: only signers vote")
            rpc_call(node.rpc_url, "clique_propose", [address, authorize], timeout=10)
            cast.append(name)
        return cast

    def promote(self, name: str, geth: Path) -> None:
        """Restarts a node that was voted in as a signer so that it seals."""
        node = self.node(name)
        self.stop_node(name)
        node.role = "validator"
        self.save()
        self.start_node(name, geth)

    def demote(self, name: str, geth: Path) -> None:
        """Restarts a node that was voted out so that it only follows the chain."""
        node = self.node(name)
        self.stop_node(name)
        node.role = "observer"
        self.save()
        self.start_node(name, geth)

    # ------------------------------------------------------------------ status
    def signers(self, name: str = "operator", *, depth: int = 0) -> list[str]:
        """The signers as `name`'s node sees them at its head, or `depth` blocks below it (a vote counted in a block
        that deep survives the short reorgs of out-of-turn blocks)."""
        params: list[Any] = []
        if depth:
            head = int(str(rpc_call(self.node(name).rpc_url, "eth_blockNumber", [], timeout=5)), 16)
            params = [hex(max(0, head - depth))]
        answer = rpc_call(self.node(name).rpc_url, "clique_getSigners", params, timeout=5)
        return [str(s) for s in answer] if isinstance(answer, list) else []

    def status(self) -> list[dict[str, Any]]:
        """Each node's head (number, hash), peers, signers as it sees them, and lag behind the highest head."""
        rows: list[dict[str, Any]] = []
        for n in self._rec.nodes:
            row: dict[str, Any] = {"name": n.name, "role": n.role, "rpc": n.rpc_url, "running": self.is_running(n)}
            try:
                head = rpc_call(n.rpc_url, "eth_getBlockByNumber", ["latest", False], timeout=3)
                assert isinstance(head, dict)
                row["head"] = int(head["number"], 16)
                row["hash"] = head["hash"]
                row["peers"] = int(str(rpc_call(n.rpc_url, "net_peerCount", [], timeout=3)), 16)
                row["signers"] = rpc_call(n.rpc_url, "clique_getSigners", [], timeout=3)
            except Exception as exc:
                row["error"] = str(exc) or type(exc).__name__
            rows.append(row)
        top = max((r["head"] for r in rows if "head" in r), default=0)
        for r in rows:
            r["lag"] = top - r["head"] if "head" in r else None
        return rows

    def settle(
        self,
        geth: Path,
        *,
        blocks: int = 5,
        timeout: float = 180.0,
        stall: float = 10.0,
        log: Callable[[str], None],
        exclude: frozenset[str] = frozenset(),
    ) -> None:
        """Waits until the chain has made `blocks` new blocks that every node agrees on. Clique can deadlock right
        after a simultaneous start: signers that sealed competing blocks at the same height each count as "signed
        recently" on the branch they lost, and with four signers no block may be sealed any more (geth logs
        "signed recently, must wait for others" forever). When the head stands still for `stall` seconds the
        validators are restarted one at a time, which makes each reload its view and seal again. Nodes in
        `exclude` (one cut off by a partition) are neither waited for nor restarted; the chain's head is read from
        the operator's node, or, when it is excluded, from the first validator that is not."""
        deadline = time.monotonic() + timeout
        watched = self.operator_rpc
        if "operator" in exclude:
            watched = next(n.rpc_url for n in self.nodes if n.role == "validator" and n.name not in exclude)
        start = head(watched)[0]
        last, moved = -1, time.monotonic()
        while True:
            number, _hash = head(watched)
            if number != last:
                last, moved = number, time.monotonic()
            if number >= start + blocks and self._agree(number - 1, exclude):
                return
            if time.monotonic() > deadline:
                raise NetworkError(f"timed out after {timeout:.0f}s waiting for {blocks} agreed blocks")
            if time.monotonic() - moved > stall:
                log(f"the chain stands at block {number}: restarting the validators one at a time (Clique deadlock)")
                for node in [n for n in self.nodes if n.role == "validator" and n.name not in exclude]:
                    self.stop_node(node.name)
                    self.start_node(node.name, geth)
                moved = time.monotonic()
            time.sleep(0.25)

    def _agree(self, number: int, exclude: frozenset[str] = frozenset()) -> bool:
        hashes = set()
        for node in [n for n in self.nodes if n.name not in exclude]:
            block = rpc_call(node.rpc_url, "eth_getBlockByNumber", [hex(number), False], timeout=3)
            if not isinstance(block, dict):
                return False
            hashes.add(block["hash"])
        return len(hashes) == 1

    def wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise NetworkError(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(0.25)


def head(url: str) -> tuple[int, str]:
    block = rpc_call(url, "eth_getBlockByNumber", ["latest", False], timeout=3)
    assert isinstance(block, dict)
    return int(block["number"], 16), str(block["hash"])


def org_names(validators: int) -> list[str]:
    """operator, core, bank-a, bank-b, then org-5, org-6, ... for larger networks."""
    if validators < 1:
        raise NetworkError("a network needs at least one validator")
    return (DEFAULT_ORGS + [f"org-{i}" for i in range(len(DEFAULT_ORGS) + 1, validators + 1)])[:validators]
