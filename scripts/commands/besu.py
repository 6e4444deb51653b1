"""`scf network besu-config`: a Hyperledger Besu QBFT network for the consortium, written to a folder.

Besu is not run here (no registry these machines reach serves it); the files are what each organisation
starts its own Besu node with. docs/consortium.md, "Production: Hyperledger Besu with QBFT", explains them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from chain.devnet.besu import (
    DEFAULT_P2P_PORT,
    DEFAULT_RPC_PORT,
    KEY_FILE,
    PUBLIC_KEY_FILE,
    BesuConfigError,
    BesuNode,
    NetworkPlan,
    NodeKey,
    StorageFormat,
    check_org_name,
    create_node_key,
    load_public_key,
    org_dir,
    parse_public_key,
    write_network,
)
from scripts.lang import command_help, h, t

app = typer.Typer(**command_help("besu"), no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

DEFAULT_ORGS = "operator,core-enterprise,bank-a,bank-b"


def parse_org(spec: str) -> tuple[str, str, int | None, int | None]:
    """NAME[@HOST[:P2P_PORT[:RPC_PORT]]] -> (name, host, p2p port or None, rpc port or None)."""
    name, _, location = spec.strip().partition("@")
    host, p2p, rpc = "127.0.0.1", None, None
    if location:
        parts = location.split(":")
        if len(parts) > 3 or not parts[0]:
            raise typer.BadParameter(t("besu.bad_org", spec=repr(spec)))
        host = parts[0]
        try:
            p2p = int(parts[1]) if len(parts) > 1 else None
            rpc = int(parts[2]) if len(parts) > 2 else None
        except ValueError:
            raise typer.BadParameter(t("besu.bad_ports", spec=repr(spec))) from None
    return name, host, p2p, rpc


def _deployer_from_data_dir(data_dir: Path) -> str | None:
    """The operator's deployer address from its keystore (the address field is public; nothing is decrypted)."""
    try:
        address = json.loads((data_dir / "keys" / "operator.json").read_text()).get("address")
    except (OSError, ValueError):
        return None
    return f"0x{address.removeprefix('0x')}" if isinstance(address, str) else None


def _node_key(out: Path, name: str, given: dict[str, str], created: list[str]) -> NodeKey:
    """An organisation's public key: given on the command line, published in its folder (key.pub only),
    or a node key created in its own folder."""
    if name in given:
        return NodeKey(parse_public_key(given[name]))
    folder = org_dir(out, name)
    if (folder / PUBLIC_KEY_FILE).exists() and not (folder / KEY_FILE).exists():
        return load_public_key(folder)
    key, was_created = create_node_key(folder)
    if was_created:
        created.append(name)
    return key


@app.command("besu-config", **command_help("besu.besu_config"))
def besu_config(
    out: Annotated[Path, typer.Option("--out", help=h("besu.besu_config.out"))],
    chain_id: Annotated[int, typer.Option("--chain-id", min=1, help=h("besu.besu_config.chain_id"))],
    orgs: Annotated[
        str,
        typer.Option(
            "--orgs",
            help=h("besu.besu_config.orgs"),
        ),
    ] = DEFAULT_ORGS,
    observers: Annotated[str, typer.Option("--observers", help=h("besu.besu_config.observers"))] = "",
    public_key: Annotated[
        list[str] | None,
        typer.Option("--public-key", help=h("besu.besu_config.public_key")),
    ] = None,
    deployer: Annotated[
        str | None,
        typer.Option("--deployer", help=h("besu.besu_config.deployer")),
    ] = None,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", envvar="SCF_DATA_DIR", help=h("besu.besu_config.data_dir"))
    ] = Path(".scf"),
    block_period: Annotated[int, typer.Option("--block-period", min=1, help=h("besu.besu_config.block_period"))] = 1,
    epoch_length: Annotated[
        int, typer.Option("--epoch-length", min=1, help=h("besu.besu_config.epoch_length"))
    ] = 30_000,
    request_timeout: Annotated[
        int | None, typer.Option("--request-timeout", min=1, help=h("besu.besu_config.request_timeout"))
    ] = None,
    storage: Annotated[
        StorageFormat, typer.Option("--storage", help=h("besu.besu_config.storage"))
    ] = StorageFormat.FOREST,
    bonsai_block_limit: Annotated[
        int, typer.Option("--bonsai-block-limit", min=1, help=h("besu.besu_config.bonsai_block_limit"))
    ] = 512,
    account_permissioning: Annotated[
        bool,
        typer.Option(
            "--account-permissioning/--no-account-permissioning",
            help=h("besu.besu_config.account_permissioning"),
        ),
    ] = False,
    allow_account: Annotated[
        list[str] | None, typer.Option("--allow-account", help=h("besu.besu_config.allow_account"))
    ] = None,
) -> None:
    specs = [("validator", s) for s in orgs.split(",") if s.strip()]
    specs += [("observer", s) for s in observers.split(",") if s.strip()]
    given: dict[str, str] = {}
    for item in public_key or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(t("besu.bad_public_key", item=repr(item)), param_hint="--public-key")
        given[name.strip()] = value
    parsed = [(role, *parse_org(spec)) for role, spec in specs]
    created: list[str] = []
    try:
        names = [check_org_name(name) for _role, name, _host, _p2p, _rpc in parsed]
        if len(set(names)) != len(names):  # checked before any folder or key is made
            raise BesuConfigError(t("besu.twice"))
        nodes = []
        on_host: dict[str, int] = {}  # nodes sharing a host get the next default ports
        for role, name, host, p2p, rpc in parsed:
            offset = on_host[host] = on_host.get(host, -1) + 1
            key = _node_key(out, name, given, created)
            nodes.append(
                BesuNode(
                    name,
                    key.public_key,
                    host,
                    p2p if p2p is not None else DEFAULT_P2P_PORT + offset,
                    rpc if rpc is not None else DEFAULT_RPC_PORT + offset,
                    validator=role == "validator",
                )
            )
        plan = NetworkPlan(
            chain_id=chain_id,
            nodes=tuple(nodes),
            deployer=deployer or _deployer_from_data_dir(data_dir),
            extra_accounts=tuple(allow_account or ()),
            block_period_seconds=block_period,
            epoch_length=epoch_length,
            request_timeout_seconds=request_timeout,
            storage=storage,
            bonsai_historical_block_limit=bonsai_block_limit,
            account_permissioning=account_permissioning,
        )
        written = write_network(out, plan, created_keys=created)
    except BesuConfigError as exc:
        err_console.print(f"[bold red]{t('error.word')}[/] {escape(str(exc))}")
        raise typer.Exit(1) from None

    table = Table(title=t("besu.title", chain_id=chain_id, dir=written.shared_dir))
    for column in ("organisation", "role", "node_address", "rpc", "node_key"):
        table.add_column(t("besu.column." + column), overflow="fold")
    for node in plan.nodes:
        custody = "given" if node.name in given else ("new" if node.name in created else "existing")
        role = "validator" if node.validator else "observer"
        table.add_row(node.name, t("besu." + role), node.address, node.rpc_url, t("besu.key_" + custody))
    console.print(table)
    if plan.deployer is None:
        console.print(f"[yellow]{t('besu.no_deployer')}[/]")
    operator = plan.nodes[0]
    console.print(t("besu.serve", url=operator.rpc_url))


@app.command("besu-key", **command_help("besu.besu_key"))
def besu_key(
    org: Annotated[str, typer.Option("--org", help=h("besu.besu_key.org"))],
    out: Annotated[Path, typer.Option("--out", help=h("besu.besu_key.out"))],
) -> None:
    try:
        check_org_name(org)
        key, created = create_node_key(org_dir(out, org))
    except BesuConfigError as exc:
        err_console.print(f"[bold red]{t('error.word')}[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    where = org_dir(out, org) / KEY_FILE
    console.print(t("besu.key_created" if created else "besu.key_kept", path=where, address=key.address))
    print(f"{org}=0x{key.public_hex}")
