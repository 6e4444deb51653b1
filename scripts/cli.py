"""`scf`: run and operate SCF Chain from the terminal."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from api.settings import Settings
from chain.errors import PortInUseError, ScfError
from scripts.audit_cli import app as audit_app

app = typer.Typer(
    name="scf",
    help="SCF Chain: a permissioned ledger for supply-chain receivables.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (env SCF_DATA_DIR, default .scf)")]


def _settings(data_dir: Path | None = None, **overrides: object) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)  # type: ignore[arg-type]


def _fail(exc: Exception) -> None:
    err.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(1)


def _deployment_table(ledger_deployment: dict[str, str], block: int) -> Table:
    table = Table(title=f"Deployment (from block {block})")
    table.add_column("contract")
    table.add_column("address")
    for name, address in ledger_deployment.items():
        table.add_row(name, address)
    return table


@app.command()
def compile(force: Annotated[bool, typer.Option(help="Recompile even when unchanged")] = False) -> None:
    """Compile contracts/ into build/contracts (ABI, bytecode, storage layout)."""
    from chain.compile import BUILD_DIR, compile_contracts

    try:
        artifacts = compile_contracts(force=force)
    except ScfError as exc:
        _fail(exc)
    console.print(f"{len(artifacts)} artifacts in {BUILD_DIR}")


@app.command()
def devchain(
    data_dir: DataDir = None,
    port: Annotated[int | None, typer.Option(help="RPC port (env SCF_RPC_PORT, default 8545)")] = None,
) -> None:
    """Run the local anvil devchain in the foreground, state persisted in the data dir; Ctrl-C stops it."""
    from chain.runtime import make_devchain

    settings = _settings(data_dir, rpc_port=port)
    chain = make_devchain(settings)
    try:
        chain.start()
    except ScfError as exc:
        _fail(exc)
    console.print(f"devchain on {chain.url} (chain id {settings.chain_id}), state in {chain.state_path}")
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except KeyboardInterrupt:
        pass
    finally:
        chain.stop()
        console.print("devchain stopped, state saved")


@app.command()
def deploy(data_dir: DataDir = None) -> None:
    """Compile and deploy the contract suite to SCF_RPC_URL (or the local devchain); reuse a live deployment."""
    from chain.runtime import prepare_ledger

    try:
        ledger = prepare_ledger(_settings(data_dir), log=lambda m: console.print(f"[dim]{m}[/]"))
    except ScfError as exc:
        _fail(exc)
    d = ledger.deployment
    console.print(_deployment_table({n: c.address for n, c in d.contracts.items()}, d.block))
    console.print("reused the existing deployment" if ledger.reused else "deployed a new suite")


@app.command()
def index(
    data_dir: DataDir = None,
    once: Annotated[bool, typer.Option(help="Index up to the latest block, then exit")] = False,
    rebuild: Annotated[bool, typer.Option(help="Drop the projections and replay every stored event first")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between passes when following the chain")] = 1.0,
) -> None:
    """Run the event indexer standalone: chain events -> SQL read model (SCF_DATABASE_URL); Ctrl-C stops it."""
    import time

    from api.ledger import LedgerService
    from chain.store import create_schema, make_engine

    settings = _settings(data_dir)
    engine = make_engine(settings.effective_database_url)
    create_schema(engine)
    try:
        indexer = LedgerService(settings, engine).get().indexer
        if rebuild:
            indexer.rebuild()
            console.print("rebuilt the read model from the stored events")
        while True:
            block = indexer.sync()
            console.print(f"[dim]indexed up to block {block}[/]")
            if once:
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        console.print("indexer stopped")
    except ScfError as exc:
        _fail(exc)
    finally:
        engine.dispose()


@app.command()
def demo(
    api_url: Annotated[
        str | None, typer.Option(help="API base URL (env SCF_API_URL, or SCF_API_HOST:SCF_API_PORT)")
    ] = None,
    fast: Annotated[bool, typer.Option(help="No pauses between the steps")] = False,
    data_dir: DataDir = None,
) -> None:
    """Narrated tour of the whole story against the running API (`make run`); moves a devchain's clock."""
    import os

    from scripts.demo import DemoError, run_demo

    settings = _settings(data_dir)
    url = api_url or os.environ.get("SCF_API_URL") or f"http://{settings.api_host}:{settings.api_port}"
    try:
        run_demo(url, settings.data_dir, settings.effective_rpc_url, fast=fast, console=console)
    except DemoError as exc:
        from rich.markup import escape

        err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)  # one line, however long
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("demo interrupted")
        raise typer.Exit(130) from None


@app.command()
def seed(
    suppliers: Annotated[int, typer.Option(help="Suppliers to admit, spread over three tiers")] = 30,
    notes: Annotated[int, typer.Option(help="About how many notes to create (receivables + splits)")] = 200,
    api: Annotated[str | None, typer.Option("--api", help="API base URL (env SCF_API_URL)")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed: the same seed plans the same supply chain")] = None,
    workers: Annotated[int, typer.Option(help="Parallel writers (one member's writes stay in order)")] = 8,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
    data_dir: DataDir = None,
) -> None:
    """Fill the running ledger with a synthetic supply chain through the API (operator key from the data dir)."""
    import json
    import os

    from rich.markup import escape

    from scripts.seed import SeedError, run_seed

    settings = _settings(data_dir)
    url = api or os.environ.get("SCF_API_URL") or f"http://{settings.api_host}:{settings.api_port}"
    try:
        summary = run_seed(
            url,
            settings.data_dir,
            suppliers=suppliers,
            notes=notes,
            seed=seed,
            workers=workers,
            console=None if json_output else console,
        )
    except SeedError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)  # one line, however long
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("seed interrupted; run it again (it admits new members)")
        raise typer.Exit(130) from None
    if json_output:
        print(json.dumps(summary, indent=2))


@app.command("export")
def export_evidence(
    member: Annotated[int, typer.Option("--member", help="Member id whose evidence to export")],
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (UTC)")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (UTC), inclusive")],
    out: Annotated[Path, typer.Option("--out", help="Directory for bundle.json and one CSV per section")],
    api: Annotated[str | None, typer.Option("--api", help="API base URL (env SCF_API_URL)")] = None,
    key: Annotated[str | None, typer.Option("--key", help="API key (env SCF_API_KEY, else operator key file)")] = None,
) -> None:
    """Export a member's evidence bundle (orders, notes, transfers, financings, alerts) as JSON and CSV."""
    from datetime import date

    from rich.markup import escape

    from scripts.client import ApiClient, ClientError, resolve_config
    from scripts.export import fetch_bundle, summary_table, write_bundle

    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as exc:
        err.print(f"[bold red]error:[/] dates are YYYY-MM-DD: {escape(str(exc))}")
        raise typer.Exit(2) from None
    try:
        with ApiClient.from_config(resolve_config(api_url=api, api_key=key)) as client:
            bundle = fetch_bundle(client, member, first, last)
    except ClientError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        err.print(f"[bold red]error:[/] {escape(str(exc))}{escape(hint)}", soft_wrap=True)
        raise typer.Exit(1) from None
    write_bundle(bundle, out)
    console.print(summary_table(bundle, out))


@app.command("verify-proof")
def verify_proof(
    file: Annotated[Path, typer.Argument(help="A proof bundle (GET /v1/verify/notes/{id}?proof=true, field `proof`)")],
    rpc: Annotated[str, typer.Option("--rpc", help="A node you trust; the block header and state root come from it")],
    address: Annotated[str | None, typer.Option(help="Expected ReceivableNotes address")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the verified note as JSON")] = False,
) -> None:
    """Verify a note's storage proof against the block's state root from RPC, without trusting the service."""
    import dataclasses
    import json

    from chain.proofs import ProofError, verify_proof_file

    try:
        verified = verify_proof_file(file, rpc, expected_address=address)
    except ProofError as exc:
        err.print(f"[bold red]proof rejected:[/] {exc}")
        raise typer.Exit(1) from None
    fields = dataclasses.asdict(verified)
    fields["checked_against"] = rpc
    if json_output:
        console.print_json(json.dumps(fields, default=str))
        return
    console.print(
        f"[bold green]proof verified[/] against the node at {rpc}: note {verified.note_id} at block "
        f"{verified.block_number} ({verified.block_hash}, state root {verified.state_root}), holder member "
        f"{verified.holder_id}, value {verified.value} (minor units), lienholder {verified.lienholder_id}",
        soft_wrap=True,
    )


def _serve(settings: Settings) -> None:
    import uvicorn

    from api.bootstrap import OPERATOR_KEY_FILE, ensure_operator_api_key
    from api.main import create_app
    from chain.devchain import port_is_free
    from chain.store import make_engine

    if not port_is_free(settings.api_port, settings.api_host):
        raise PortInUseError(settings.api_port, "SCF_API_PORT")
    engine = make_engine(settings.effective_database_url)
    key = ensure_operator_api_key(engine, settings.data_dir)
    engine.dispose()
    if key is not None:  # never printed: logs and terminals are not a place for secrets
        console.print(f"[bold]operator API key created[/] in {settings.data_dir / OPERATOR_KEY_FILE} (mode 0600)")
    console.print(f"API on http://{settings.api_host}:{settings.api_port} (docs at /docs)")
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port, log_level="info")


@app.command()
def serve(
    data_dir: DataDir = None,
    port: Annotated[int | None, typer.Option(help="API port (env SCF_API_PORT, default 8000)")] = None,
) -> None:
    """Serve the HTTP API against an already running chain with a deployment."""
    try:
        _serve(_settings(data_dir, api_port=port))
    except ScfError as exc:
        _fail(exc)


CLIQUE_CONFIRMATIONS = 2  # the read model of a Clique network stays this many blocks behind the head


def _network_settings(network_dir: Path) -> Settings:
    """Settings that serve the API against the operator's node of a consortium network (`scf network up`)."""
    from chain.network import Network

    net = Network(network_dir)
    current = Settings()
    stall = current.chain_stall_after or 10.0 * (net.record.period if net.record else 1)
    depth = current.indexer_confirmations or CLIQUE_CONFIRMATIONS
    return _settings(net.service_dir, rpc_url=net.operator_rpc, chain_stall_after=stall, indexer_confirmations=depth)


@app.command()
def up(
    data_dir: DataDir = None,
    network: Annotated[
        Path | None, typer.Option("--network", help="Serve against the operator's node of this consortium network")
    ] = None,
) -> None:
    """Start the devchain (unless SCF_RPC_URL is set), deploy, and serve the API; Ctrl-C stops everything."""
    from chain.devchain import DevChain, port_is_free
    from chain.runtime import make_devchain, prepare_ledger

    chain: DevChain | None = None
    try:
        settings = _network_settings(network) if network is not None else _settings(data_dir)
        if not port_is_free(settings.api_port, settings.api_host):
            raise PortInUseError(settings.api_port, "SCF_API_PORT")
        if settings.uses_devchain:
            chain = make_devchain(settings)
            console.print(f"[dim]starting devchain on {chain.url}, state in {chain.state_path}[/]")
            chain.start()
        ledger = prepare_ledger(settings, log=lambda m: console.print(f"[dim]{m}[/]"))
        d = ledger.deployment
        console.print(_deployment_table({n: c.address for n, c in d.contracts.items()}, d.block))
        console.print("reused the existing deployment" if ledger.reused else "deployed a new suite")
        _serve(settings)
    except ScfError as exc:
        _fail(exc)
    finally:
        if chain is not None:
            with contextlib.suppress(Exception):
                chain.stop()
            console.print("devchain stopped, state saved")


@app.callback()
def _global_options(
    ctx: typer.Context,
    api: Annotated[str | None, typer.Option("--api", help="API base URL (env SCF_API_URL, default :8000)")] = None,
    key: Annotated[str | None, typer.Option("--key", help="API key (env SCF_API_KEY, else operator key file)")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Config file (env SCF_CONFIG, else ./scf.toml, ~/.config/scf)")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors")] = False,
) -> None:
    """SCF Chain: a permissioned ledger for supply-chain receivables."""
    from scripts.commands.common import CliState

    ctx.obj = CliState(api=api, key=key, config_file=config, debug=debug)


def _register_api_commands() -> None:
    """`scf <group> <command>` over the HTTP API (scripts/commands/)."""
    from scripts.commands import (
        alerts,
        cash,
        config,
        financing,
        members,
        network,
        notes,
        orders,
        receivables,
        settlement,
        share,
        verify,
    )

    for name, group in [
        ("members", members),
        ("orders", orders),
        ("receivables", receivables),
        ("notes", notes),
        ("financing", financing),
        ("cash", cash),
        ("settlement", settlement),
        ("verify", verify),
        ("alerts", alerts),
        ("share", share),
        ("config", config),
        ("network", network),
    ]:
        app.add_typer(group.app, name=name)
    app.command("status")(config.status)


_register_api_commands()
app.add_typer(audit_app, name="audit")  # scf audit verify (scripts/audit_cli.py)


def main() -> None:
    import sys

    if "--debug" in sys.argv:
        app()
        return
    try:
        app()
    except Exception as exc:  # a bug, not a user error: one line, the traceback on request
        err.print(f"[bold red]error:[/] internal error: {type(exc).__name__}: {exc}", soft_wrap=True, markup=True)
        err.print("hint: run again with `scf --debug ...` for the traceback, and report it")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
