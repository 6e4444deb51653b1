"""`scf audit verify`: check the audit log's hash chain and anchor, from the database or over the API.

Over the API the entries are downloaded page by page from `GET /v1/audit` and verified here
(`api.audit.verify_chain`): the server's own verdict (`GET /v1/audit/verify`) is not trusted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from scripts.client import ApiClient, ApiError, ApiUnreachable, ClientError
from scripts.lang import command_help, h, t
from scripts.terminal import make_console

app = typer.Typer(**command_help("audit"), no_args_is_help=True)
console = make_console()
err = make_console(stderr=True)


def _has_local_log(settings: Any) -> bool:
    """A read model this machine can open: PostgreSQL named in the settings, or the data dir's SQLite file."""
    return settings.database_url is not None or (settings.data_dir / "scf.db").is_file()


def _download(api_url: str, api_key: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor: str | None = "0"
    with ApiClient(api_url, api_key, timeout=60) as client:
        while cursor is not None:
            try:
                page = client.get("/v1/audit", params={"cursor": cursor, "limit": 500})
            except ApiError as exc:
                raise RuntimeError(t("audit.answered", status=exc.status, detail=exc.detail)) from exc
            entries.extend(page["items"])
            cursor = page["next_cursor"]
    return entries


@app.command("verify", **command_help("audit.verify"))
def verify(
    ctx: typer.Context,
    database_url: Annotated[str | None, typer.Option("--database-url", help=h("audit.verify.database_url"))] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help=h("audit.verify.data_dir"))] = None,
    anchor: Annotated[Path | None, typer.Option("--anchor", help=h("audit.verify.anchor"))] = None,
    api: Annotated[
        str | None,
        typer.Option(
            "--api",
            help=h("audit.verify.api"),
        ),
    ] = None,
    key: Annotated[str | None, typer.Option("--key", help=h("audit.verify.key"))] = None,
    json_output: Annotated[bool, typer.Option("--json", help=h("audit.verify.json_output"))] = False,
) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from api.audit import ANCHOR_FILE, AuditVerification, read_anchor, verify_chain, verify_database
    from api.settings import Settings
    from chain.readmodel.store import make_engine

    state = ctx.obj
    settings = Settings(**({"data_dir": data_dir} if data_dir is not None else {}))  # type: ignore[arg-type]
    explicit_api = api or getattr(state, "api", None)
    local_log = database_url is not None or data_dir is not None or _has_local_log(settings)
    # the database is the stronger check (it reads the anchor file too): use it when the log is here, unless
    # --api asks for the API; otherwise download the log from the API the CLI is configured for
    use_api = explicit_api is not None or not local_log
    api_url = ""
    try:
        if use_api:
            from scripts.client import resolve_config

            config = resolve_config(api_url=explicit_api, api_key=key or getattr(state, "key", None))
            api_url, api_key = str(config.api_url.value), config.api_key.value
            if not api_key:
                err.print(f"[bold red]{t('error.word')}[/] {t('audit.no_key')}", soft_wrap=True)
                raise typer.Exit(2)
            entries = _download(api_url, api_key)
            result: AuditVerification = verify_chain(entries, read_anchor(anchor) if anchor else None)
            source = api_url
        else:
            url = database_url or settings.effective_database_url
            engine = make_engine(url)
            try:
                result = verify_database(engine, anchor or settings.data_dir / ANCHOR_FILE)
            finally:
                engine.dispose()
            source = t("audit.the_database")
    except typer.Exit:
        raise
    except ApiUnreachable as exc:
        said = t("audit.unreachable", url=api_url, reason=exc.reason)
        err.print(f"[bold red]{t('error.word')}[/] {escape(said)}", soft_wrap=True)
        raise typer.Exit(1) from None
    except (ClientError, RuntimeError, ValueError, OSError, SQLAlchemyError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        said = t("audit.cannot_verify", reason=first_line)
        err.print(f"[bold red]{t('error.word')}[/] {escape(said)}", soft_wrap=True)
        raise typer.Exit(1) from None
    if json_output:
        print(json.dumps(result.as_dict(), indent=2))
    elif result.ok:
        said = t(
            "audit.intact_detail",
            entries=result.entries,
            source=source,
            seq=result.head_seq,
            hash=result.head_hash[:16],
        )
        console.print(f"[bold green]{t('audit.intact')}[/]{escape(said)}", soft_wrap=True)
    else:
        said = t(
            "audit.tampered_detail",
            seq=result.first_bad_seq,
            reason=t("audit.reason." + str(result.reason)),
            detail=result.detail,
        )
        console.print(f"[bold red]{t('audit.tampered')}[/]{escape(said)}", soft_wrap=True)
    if not result.ok:
        raise typer.Exit(1)
