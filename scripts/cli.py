"""`scf`: run and operate SCF Chain from the terminal."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from api import i18n
from api.settings import Settings
from chain.node.errors import PortInUseError, ScfError
from scripts.audit_cli import app as audit_app
from scripts.lang import command_help, h, set_language, t
from scripts.lang import field as field_label
from scripts.terminal import make_console

if TYPE_CHECKING:
    from chain.devnet.devchain import DevChain

app = typer.Typer(
    name="scf",
    **command_help("scf"),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help pages: no `<bool>` after each flag, no box drawing in a pipe
)
console = make_console()
err = make_console(stderr=True)

# What `scf up` / `scf devchain` say when they stop the devchain, by chain.devnet.devchain.StopOutcome value: catalogue
# keys `cli.stop.<outcome>` (api/i18n). Nothing is said when no devchain was started.
STOP_OUTCOMES = ("saved", "exited", "failed", "killed")

DataDir = Annotated[Path | None, typer.Option("--data-dir", help=h("scf.data_dir"))]


def _settings(data_dir: Path | None = None, **overrides: object) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)  # type: ignore[arg-type]


def _fail(exc: Exception) -> None:
    err.print(f"[bold red]{t('error.word')}[/] {exc}")
    raise typer.Exit(1)


def _deployment_table(ledger_deployment: dict[str, str], block: int) -> Table:
    table = Table(title=t("title.deployment", block=block))
    table.add_column(field_label("contract"))
    table.add_column(field_label("address"))
    for name, address in ledger_deployment.items():
        table.add_row(name, address)
    return table


@app.command(**command_help("scf.compile"))
def compile(force: Annotated[bool, typer.Option(help=h("scf.compile.force"))] = False) -> None:
    from chain.devnet.compile import compile_contracts
    from chain.node.artifacts import BUILD_DIR

    try:
        artifacts = compile_contracts(force=force)
    except ScfError as exc:
        _fail(exc)
    console.print(t("compiled", count=len(artifacts), dir=BUILD_DIR))


class _Stop(BaseException):
    """SIGTERM or SIGINT arrived: unwinds the main thread so that `finally` blocks stop the devchain. A
    BaseException, like KeyboardInterrupt, so that no `except Exception` on the way swallows it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


def _ignore_stop_signals() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """SIGTERM and SIGINT (service manager, Ctrl-C) raise _Stop in the main thread, once: later ones are ignored
    while the body's `finally` blocks stop what it started. uvicorn handles both itself while it serves and raises
    them again after its graceful shutdown, which lands here. The process then ends by that same signal (what
    service managers and shells expect of a process that was stopped)."""

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        _ignore_stop_signals()
        err.print(t("stopping", signal=signal.Signals(signum).name), highlight=False)
        raise _Stop(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    received: int | None = None
    try:
        yield
    except _Stop as stop:
        received = stop.signum
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(received, signal.SIG_DFL)
        signal.raise_signal(received)


def _stop_devchain(chain: DevChain) -> None:
    """Stops the devchain, uninterrupted, and says what that did (nothing when it never started)."""
    _ignore_stop_signals()  # _stopped_by_signals restores the handlers afterwards
    outcome = chain.stop()
    if outcome.value in STOP_OUTCOMES:
        console.print(t("stop." + outcome.value))


def _supervise(chain: DevChain) -> None:
    chain.supervise(lambda line: err.print(line, style="yellow", markup=False, highlight=False, soft_wrap=True))


@app.command(**command_help("scf.devchain"))
def devchain(
    data_dir: DataDir = None,
    port: Annotated[int | None, typer.Option(help=h("scf.devchain.port"))] = None,
) -> None:
    import time

    from scripts.runtime import make_devchain

    settings = _settings(data_dir, rpc_port=port)
    chain = make_devchain(settings)
    with _stopped_by_signals():
        try:
            chain.start()
            console.print(t("devchain.on", url=chain.url, chain_id=settings.chain_id, state=chain.state_path))
            _supervise(chain)
            while True:
                time.sleep(0.5)  # signals are handled between sleeps
        except ScfError as exc:
            _fail(exc)
        finally:
            _stop_devchain(chain)


@app.command(**command_help("scf.deploy"))
def deploy(data_dir: DataDir = None) -> None:
    from scripts.runtime import prepare_ledger

    try:
        ledger = prepare_ledger(_settings(data_dir), log=lambda m: console.print(f"[dim]{m}[/]"))
    except ScfError as exc:
        _fail(exc)
    d = ledger.deployment
    console.print(_deployment_table({n: c.address for n, c in d.contracts.items()}, d.block))
    console.print(t("deploy.reused") if ledger.reused else t("deploy.new"))


@app.command(**command_help("scf.index"))
def index(
    data_dir: DataDir = None,
    once: Annotated[bool, typer.Option(help=h("scf.index.once"))] = False,
    rebuild: Annotated[bool, typer.Option(help=h("scf.index.rebuild"))] = False,
    interval: Annotated[float, typer.Option(help=h("scf.index.interval"))] = 1.0,
) -> None:
    import time

    from api.ledger import LedgerService
    from chain.readmodel.store import create_schema, make_engine

    settings = _settings(data_dir)
    engine = make_engine(settings.effective_database_url)
    create_schema(engine)
    try:
        indexer = LedgerService(settings, engine).get().indexer
        if rebuild:
            indexer.rebuild()
            console.print(t("indexer.rebuilt"))
        while True:
            block = indexer.sync()
            console.print(f"[dim]{t('indexer.synced', block=block)}[/]")
            if once:
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        console.print(t("indexer.stopped"))
    except ScfError as exc:
        _fail(exc)
    finally:
        engine.dispose()


@app.command(**command_help("scf.demo"))
def demo(
    ctx: typer.Context,
    api: Annotated[
        str | None,
        typer.Option("--api", help=h("scf.demo.api")),
    ] = None,
    fast: Annotated[bool, typer.Option(help=h("scf.demo.fast"))] = False,
    data_dir: DataDir = None,
) -> None:
    from scripts.client import node_rpc_url, resolve_config
    from scripts.demo import DemoError, run_demo

    settings = _settings(data_dir)
    env = dict(os.environ)
    if data_dir is not None:
        env["SCF_DATA_DIR"] = str(data_dir)
    url = str(resolve_config(api_url=api or getattr(ctx.obj, "api", None), env=env).api_url.value)
    rpc_url = node_rpc_url(settings.effective_rpc_url, settings.data_dir)
    try:
        run_demo(url, settings.data_dir, rpc_url, fast=fast, console=console)
    except DemoError as exc:
        from rich.markup import escape

        err.print(f"[bold red]{t('error.word')}[/] {escape(str(exc))}", soft_wrap=True)  # one line, however long
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print(t("demo.interrupted"))
        raise typer.Exit(130) from None


@app.command(**command_help("scf.seed"))
def seed(
    suppliers: Annotated[int, typer.Option(help=h("scf.seed.suppliers"))] = 30,
    notes: Annotated[int, typer.Option(help=h("scf.seed.notes"))] = 200,
    api: Annotated[str | None, typer.Option("--api", help=h("opt.api"))] = None,
    seed: Annotated[int | None, typer.Option(help=h("scf.seed.seed"))] = None,
    workers: Annotated[int, typer.Option(help=h("scf.seed.workers"))] = 8,
    json_output: Annotated[bool, typer.Option("--json", help=h("scf.seed.json_output"))] = False,
    data_dir: DataDir = None,
) -> None:
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
        err.print(f"[bold red]{t('error.word')}[/] {escape(str(exc))}", soft_wrap=True)  # one line, however long
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print(t("seed.interrupted"))
        raise typer.Exit(130) from None
    if json_output:
        print(json.dumps(summary, indent=2))


@app.command("export", **command_help("scf.export"))
def export_evidence(
    member: Annotated[int, typer.Option("--member", help=h("scf.export.member"))],
    start: Annotated[str, typer.Option("--from", help=h("scf.export.start"))],
    end: Annotated[str, typer.Option("--to", help=h("scf.export.end"))],
    out: Annotated[Path, typer.Option("--out", help=h("scf.export.out"))],
    api: Annotated[str | None, typer.Option("--api", help=h("opt.api"))] = None,
    key: Annotated[str | None, typer.Option("--key", help=h("opt.key"))] = None,
) -> None:
    from datetime import date

    from rich.markup import escape

    from scripts.client import ApiClient, ClientError, resolve_config
    from scripts.export import fetch_bundle, summary_table, write_bundle

    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as exc:
        err.print(f"[bold red]{t('error.word')}[/] {t('export.dates', reason=escape(str(exc)))}")
        raise typer.Exit(2) from None
    try:
        with ApiClient.from_config(resolve_config(api_url=api, api_key=key)) as client:
            bundle = fetch_bundle(client, member, first, last)
    except ClientError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        err.print(f"[bold red]{t('error.word')}[/] {escape(str(exc))}{escape(hint)}", soft_wrap=True)
        raise typer.Exit(1) from None
    write_bundle(bundle, out)
    console.print(summary_table(bundle, out))


@app.command("verify-proof", **command_help("scf.verify_proof"))
def verify_proof(
    file: Annotated[Path, typer.Argument(help=h("scf.verify_proof.file"))],
    rpc: Annotated[
        str | None,
        typer.Option(
            "--rpc",
            help=h("scf.verify_proof.rpc"),
        ),
    ] = None,
    address: Annotated[str | None, typer.Option(help=h("opt.address"))] = None,
    json_output: Annotated[bool, typer.Option("--json", help=h("scf.verify_proof.json_output"))] = False,
    data_dir: DataDir = None,
) -> None:
    import dataclasses
    import json

    from rich.markup import escape

    from chain.node.proofs import NodeUnreachableError, ProofError, verify_proof_file
    from scripts.client import node_rpc_url

    settings = _settings(data_dir)
    rpc = rpc or node_rpc_url(settings.effective_rpc_url, settings.data_dir)
    try:
        verified = verify_proof_file(file, rpc, expected_address=address)
    except NodeUnreachableError as exc:
        message = t("verify.node_unreachable", url=exc.rpc_url, reason=exc.reason)
        err.print(f"[bold red]{t('error.word')}[/] {escape(message)}", soft_wrap=True)
        raise typer.Exit(2) from None
    except ProofError as exc:
        err.print(f"[bold red]{escape(t('verify.rejected', reason=exc))}[/]", soft_wrap=True)
        raise typer.Exit(1) from None
    fields = dataclasses.asdict(verified)
    fields["checked_against"] = rpc
    if json_output:
        console.print_json(json.dumps(fields, default=str))
        return
    said = t(
        "verify.proof_verified",
        rpc=rpc,
        note_id=verified.note_id,
        block=verified.block_number,
        hash=verified.block_hash,
        root=verified.state_root,
        holder=verified.holder_id,
        value=verified.value,
        lienholder=verified.lienholder_id,
    )
    console.print(f"[bold green]{said}[/]", soft_wrap=True)


def _serve(settings: Settings) -> None:
    import uvicorn

    from api.bootstrap import OPERATOR_KEY_FILE, ensure_operator_api_key
    from api.main import create_app
    from chain.devnet.devchain import port_is_free
    from chain.readmodel.store import create_schema, make_engine

    if not port_is_free(settings.api_port, settings.api_host):
        raise PortInUseError(settings.api_port, "SCF_API_PORT")
    if settings.key_passphrase == type(settings).model_fields["key_passphrase"].default:
        err.print(f"[bold yellow]{t('warning.word')}[/] {t('serve.default_passphrase')}", soft_wrap=True)
    engine = make_engine(settings.effective_database_url)
    key = ensure_operator_api_key(engine, settings.data_dir)
    engine.dispose()
    if key is not None:  # never printed: logs and terminals are not a place for secrets
        console.print(t("serve.operator_key", path=settings.data_dir / OPERATOR_KEY_FILE))
    from scripts.client import write_service_record

    api_url = f"http://{settings.api_host}:{settings.api_port}"
    write_service_record(settings.data_dir, api_url=api_url, rpc_url=settings.effective_rpc_url)
    console.print(t("serve.api_on", url=api_url))
    from api.logs import log_config

    if settings.workers > 0:  # one writer and N readers on the port (api/workers.py)
        from api.workers import Supervisor, WriterSocketInUseError

        engine = make_engine(settings.effective_database_url)
        create_schema(engine)  # once, before the children race to it
        engine.dispose()

        def say(key: str, role: str, **params: object) -> None:
            console.print(t(key, role=t("serve.role." + role), **params))

        try:
            supervisor = Supervisor(settings, log_config(settings.log_format), say)
        except WriterSocketInUseError as exc:
            err.print(f"[bold red]{t('error.word')}[/] {t('serve.writer_running', path=exc.path)}", soft_wrap=True)
            raise typer.Exit(1) from None
        console.print(t("serve.workers", readers=settings.workers, pid=os.getpid()))
        if supervisor.run() != 0:
            raise typer.Exit(1)
        return
    uvicorn.run(
        create_app(settings, tune_gc=True),  # this process serves it alone (api/heap.py)
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        log_config=log_config(settings.log_format),
    )


@app.command(**command_help("scf.serve"))
def serve(
    data_dir: DataDir = None,
    port: Annotated[int | None, typer.Option(help=h("scf.serve.port"))] = None,
    workers: Annotated[int | None, typer.Option(min=0, max=64, help=h("scf.serve.workers"))] = None,
) -> None:
    try:
        _serve(_settings(data_dir, api_port=port, workers=workers))
    except ScfError as exc:
        _fail(exc)


CLIQUE_CONFIRMATIONS = 2  # the read model of a Clique network stays this many blocks behind the head


def _network_settings(network_dir: Path) -> Settings:
    """Settings that serve the API against the operator's node of a consortium network (`scf network up`)."""
    from chain.devnet.network import Network

    net = Network(network_dir)
    current = Settings()
    stall = current.chain_stall_after or 10.0 * (net.record.period if net.record else 1)
    depth = current.indexer_confirmations or CLIQUE_CONFIRMATIONS
    return _settings(
        net.service_dir,
        rpc_url=net.operator_rpc,
        chain_stall_after=stall,
        indexer_confirmations=depth,
        node_name=current.node_name or net.node("operator").name,
    )


@app.command(**command_help("scf.up"))
def up(
    data_dir: DataDir = None,
    network: Annotated[Path | None, typer.Option("--network", help=h("scf.up.network"))] = None,
    workers: Annotated[int | None, typer.Option(min=0, max=64, help=h("scf.up.workers"))] = None,
) -> None:
    from chain.devnet.devchain import port_is_free
    from scripts.runtime import make_devchain, prepare_ledger

    try:
        settings = _network_settings(network) if network is not None else _settings(data_dir)
        if workers is not None:
            settings = settings.model_copy(update={"workers": workers})
    except ScfError as exc:
        _fail(exc)
    chain = make_devchain(settings) if settings.uses_devchain else None
    with _stopped_by_signals():
        try:
            if not port_is_free(settings.api_port, settings.api_host):
                raise PortInUseError(settings.api_port, "SCF_API_PORT")
            if chain is not None:
                console.print(f"[dim]{t('devchain.starting', url=chain.url, state=chain.state_path)}[/]")
                chain.start()
                _supervise(chain)
            ledger = prepare_ledger(settings, log=lambda m: console.print(f"[dim]{m}[/]"))
            d = ledger.deployment
            console.print(_deployment_table({n: c.address for n, c in d.contracts.items()}, d.block))
            console.print(t("deploy.reused") if ledger.reused else t("deploy.new"))
            _serve(settings)
        except ScfError as exc:
            _fail(exc)
        finally:
            if chain is not None:
                _stop_devchain(chain)


@app.command("backup", **command_help("scf.backup"))
def backup_command(
    target: Annotated[Path, typer.Argument(help=h("scf.backup.target"))],
    data_dir: DataDir = None,
) -> None:
    from scripts.backup import backup

    settings = _settings(data_dir)
    default = settings.key_passphrase == type(settings).model_fields["key_passphrase"].default
    try:
        summary = backup(settings.data_dir, settings.effective_database_url, target, default_passphrase=default)
    except ScfError as exc:
        _fail(exc)
    head = summary.audit_head
    said = t("backup.done", path=summary.path, files=summary.files, read_model=summary.read_model)
    console.print(said + (t("backup.anchored", seq=head["seq"]) if head else ""))
    console.print(t("backup.passphrase"))


@app.command("restore", **command_help("scf.restore"))
def restore_command(
    source: Annotated[Path, typer.Argument(help=h("scf.restore.source"))],
    data_dir: DataDir = None,
) -> None:
    from scripts.backup import passphrase_opens_keys, restore

    settings = _settings(data_dir)
    try:
        manifest = restore(source, settings.data_dir, settings.effective_database_url)
    except ScfError as exc:
        _fail(exc)
    console.print(t("restore.done", files=len(manifest["files"]), source=source, data_dir=settings.data_dir))
    opens = passphrase_opens_keys(settings.data_dir, settings.key_passphrase)
    if opens is False:
        err.print(f"[bold yellow]{t('warning.word')}[/] {t('restore.passphrase')}")
    console.print(t("restore.next"))


def _set_language(value: str | None) -> str | None:
    """`--lang`, before any other option or command runs (eager)."""
    if value is not None and i18n.language_of(value) is None:
        set_language(None)  # said in the locale's language (not an earlier run's, in one process)
        raise typer.BadParameter(t("lang.unknown", value=value, languages=", ".join(i18n.LANGUAGES)))
    set_language(value)
    return value


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"scf {version('scf-chain')}")
        raise typer.Exit()


@app.callback(**command_help("scf"))
def _global_options(
    ctx: typer.Context,
    api: Annotated[str | None, typer.Option("--api", help=h("scf.options.api"))] = None,
    key: Annotated[str | None, typer.Option("--key", help=h("opt.key"))] = None,
    config: Annotated[Path | None, typer.Option("--config", help=h("scf.options.config"))] = None,
    debug: Annotated[bool, typer.Option("--debug", help=h("scf.options.debug"))] = False,
    keystore: Annotated[
        Path | None,
        typer.Option("--keystore", help=h("scf.options.keystore")),
    ] = None,
    passphrase_file: Annotated[
        Path | None, typer.Option("--passphrase-file", help=h("scf.options.passphrase_file"))
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=_print_version, help=h("scf.options.version"))
    ] = False,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            is_eager=True,
            callback=_set_language,
            help=h("scf.options.lang"),
        ),
    ] = None,
) -> None:
    from scripts.commands.common import CliState

    ctx.obj = CliState(
        api=api, key=key, config_file=config, debug=debug, keystore=keystore, passphrase_file=passphrase_file
    )


def _register_api_commands() -> None:
    """`scf <group> <command>` over the HTTP API (scripts/commands/)."""
    from scripts.commands import (
        alerts,
        cash,
        config,
        financing,
        keys,
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
        ("keys", keys),
    ]:
        app.add_typer(group.app, name=name)
    app.command("status", **command_help("scf.status"))(config.status)


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
        said = t("internal_error", error=type(exc).__name__, reason=exc)
        err.print(f"[bold red]{t('error.word')}[/] {said}", soft_wrap=True, markup=True)
        err.print(t("error.hint", hint=t("internal_hint")))
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
