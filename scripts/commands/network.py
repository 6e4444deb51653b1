"""`scf network`: a geth Clique consortium, a node per organisation (chain/devnet/network.py; docs/consortium.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from chain.node.errors import ScfError
from scripts.lang import command_help, h, t
from scripts.lang import field as field_label

app = typer.Typer(**command_help("network"))
console = Console()
err = Console(stderr=True)

DEFAULT_DIR = Path(".scf/network")
Dir = Annotated[Path, typer.Option("--dir", help=h("network.dir"))]


def _fail(exc: Exception) -> None:
    err.print(f"[bold red]{t('error.word')}[/] {exc}", soft_wrap=True)
    raise typer.Exit(1)


@app.command(**command_help("network.up"))
def up(
    validators: Annotated[int, typer.Option(help=h("network.up.validators"))] = 4,
    dir: Dir = DEFAULT_DIR,
    chain_id: Annotated[int, typer.Option(help=h("network.up.chain_id"))] = 31_414,
    loopback: Annotated[bool, typer.Option(help=h("network.up.loopback"))] = False,
) -> None:
    from scripts.runtime import bring_up

    try:
        net = bring_up(
            dir,
            validators,
            chain_id=chain_id,
            use_netns=False if loopback else None,
            log=lambda m: console.print(f"[dim]{m}[/]"),
        )
    except ScfError as exc:
        _fail(exc)
    console.print(_status_table(net.status()))
    console.print(t("network.record", path=net.root / "network.json"))
    console.print(t("network.serve", command=f"[bold]scf up --network {dir}[/]"))


@app.command(**command_help("network.start"))
def start(dir: Dir = DEFAULT_DIR) -> None:
    from chain.devnet.geth import ensure_geth
    from chain.devnet.network import Network

    try:
        net = Network(dir)
        net.start(ensure_geth())
    except ScfError as exc:
        _fail(exc)
    console.print(_status_table(net.status()))


@app.command(**command_help("network.status"))
def status(
    dir: Dir = DEFAULT_DIR, json_out: Annotated[bool, typer.Option("--json", help=h("network.status.json_out"))] = False
) -> None:
    from chain.devnet.network import Network

    try:
        rows = Network(dir).status()
    except ScfError as exc:
        _fail(exc)
    if json_out:
        print(json.dumps(rows, indent=2))
        return
    console.print(_status_table(rows))


def _status_table(rows: list[dict[str, object]]) -> Table:
    table = Table(title=t("title.network"), title_justify="left")
    for column in ("node", "role", "rpc", "head", "hash", "peers", "signers", "lag"):
        table.add_column(field_label(column), overflow="fold")
    for r in rows:
        if "error" in r:
            table.add_row(str(r["name"]), str(r["role"]), str(r["rpc"]), "-", f"[red]{r['error']}[/]", "-", "-", "-")
            continue
        signers = r.get("signers")
        table.add_row(
            str(r["name"]),
            str(r["role"]),
            str(r["rpc"]),
            str(r["head"]),
            str(r["hash"])[:18] + "…",
            str(r["peers"]),
            str(len(signers)) if isinstance(signers, list) else "-",
            str(r["lag"]),
        )
    return table


@app.command(**command_help("network.stop"))
def stop(dir: Dir = DEFAULT_DIR) -> None:
    from chain.devnet.network import Network

    try:
        Network(dir).stop()
    except ScfError as exc:
        _fail(exc)
    console.print(t("network.stopped", dir=dir))


@app.command("add-node", **command_help("network.add_node"))
def add_node(
    name: Annotated[str, typer.Argument(help=h("network.add_node.name"))],
    observer: Annotated[bool, typer.Option("--observer", help=h("network.add_node.observer"))] = True,
    dir: Dir = DEFAULT_DIR,
) -> None:
    from chain.devnet.geth import ensure_geth
    from chain.devnet.network import Network

    if not observer:
        err.print(t("network.observer_only"))
        raise typer.Exit(2)
    try:
        node = Network(dir).add_observer(name, ensure_geth())
    except ScfError as exc:
        _fail(exc)
    console.print(t("network.observer", name=name, rpc=node.rpc_url, account=node.signer))


@app.command(**command_help("network.propose"))
def propose(
    add: Annotated[str | None, typer.Option("--add", help=h("network.propose.add"))] = None,
    remove: Annotated[str | None, typer.Option("--remove", help=h("network.propose.remove"))] = None,
    voters: Annotated[list[str] | None, typer.Option("--from", help=h("network.propose.voters"))] = None,
    dir: Dir = DEFAULT_DIR,
    wait: Annotated[bool, typer.Option(help=h("network.propose.wait"))] = True,
) -> None:
    from chain.devnet.geth import ensure_geth
    from chain.devnet.network import Network, NetworkError

    if (add is None) == (remove is None):
        err.print(t("network.add_or_remove"))
        raise typer.Exit(2)
    address = str(add or remove)
    try:
        net = Network(dir)
        signers = [s.lower() for s in net.signers()]
        chosen = voters or [n.name for n in net.nodes if n.role == "validator" and n.signer.lower() != address.lower()]
        chosen = chosen if voters else chosen[: len(signers) // 2 + 1]
        cast = net.propose(address, add is not None, chosen)
        console.print(
            t("network.voted_add" if add else "network.voted_remove", address=address, voters=", ".join(cast))
        )
        if not wait:
            return

        def passed() -> bool:  # counted in a block 3 deep: a competing block cannot take the vote back then
            now = [s.lower() for s in net.signers(depth=3)]
            return (address.lower() in now) == (add is not None)

        net.wait(passed, 120, "the vote to pass")
        console.print(t("network.signers", signers=", ".join(net.signers())))
        owner = next((n for n in net.nodes if n.signer.lower() == address.lower()), None)
        if owner is not None and add is not None and owner.role != "validator":
            net.promote(owner.name, ensure_geth())
            console.print(t("network.promoted", name=owner.name))
        elif owner is not None and remove is not None and owner.role == "validator":
            net.demote(owner.name, ensure_geth())
            console.print(t("network.demoted", name=owner.name))
        for n in net.nodes:  # the voters drop their standing vote once it passed
            if n.role == "validator" and n.name in cast:
                try:
                    from chain.node.rpc import rpc_call

                    rpc_call(n.rpc_url, "clique_discard", [address])
                except ScfError:
                    pass
    except (ScfError, NetworkError) as exc:
        _fail(exc)


# Besu QBFT (production networks): generated, not run here (scripts/commands/besu.py, docs/consortium.md)
def _register_besu() -> None:
    from scripts.commands import besu

    app.command("besu-config", **command_help("besu.besu_config"))(besu.besu_config)
    app.command("besu-key", **command_help("besu.besu_key"))(besu.besu_key)


_register_besu()
