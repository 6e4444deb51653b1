"""`scf audit verify`: check the audit log's hash chain and anchor, from the database or over the API.

Over the API the entries are downloaded page by page from `GET /v1/audit` and verified here
(`api.audit.verify_chain`): the server's own verdict (`GET /v1/audit/verify`) is not trusted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from scripts.terminal import make_console

app = typer.Typer(help="The tamper-evident audit log of API actions.", no_args_is_help=True)
console = make_console()
err = make_console(stderr=True)


def _download(api_url: str, api_key: str) -> list[dict[str, Any]]:
    import httpx

    entries: list[dict[str, Any]] = []
    cursor: str | None = "0"
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=api_url.rstrip("/"), headers=headers, timeout=60) as client:
        while cursor is not None:
            response = client.get("/v1/audit", params={"cursor": cursor, "limit": 500})
            if response.status_code != 200:
                try:
                    detail = response.json().get("detail", response.text)
                except ValueError:
                    detail = response.text
                raise RuntimeError(f"GET /v1/audit answered {response.status_code}: {detail}")
            page = response.json()
            entries.extend(page["items"])
            cursor = page["next_cursor"]
    return entries


@app.command("verify")
def verify(
    ctx: typer.Context,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Read the log from this database (default: SCF_ settings)")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data directory: database and anchor (env SCF_DATA_DIR)")
    ] = None,
    anchor: Annotated[
        Path | None, typer.Option("--anchor", help="Anchor file (default: <data dir>/audit-head.json in database mode)")
    ] = None,
    api: Annotated[
        str | None, typer.Option("--api", help="Download the log from this API (env SCF_API_URL) and verify it here")
    ] = None,
    key: Annotated[
        str | None, typer.Option("--key", help="API key of an auditor or the operator (env SCF_API_KEY)")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the verification as JSON")] = False,
) -> None:
    """Verify the audit chain (hashes, links, seq continuity, anchored head); exit 1 with the first bad entry."""
    from sqlalchemy.exc import SQLAlchemyError

    from api.audit import ANCHOR_FILE, AuditVerification, read_anchor, verify_chain, verify_database
    from api.settings import Settings
    from chain.store import make_engine

    state = ctx.obj
    api_url = api or getattr(state, "api", None) or os.environ.get("SCF_API_URL") or None
    use_api = api_url is not None and database_url is None and data_dir is None
    try:
        if use_api:
            assert api_url is not None
            api_key = key or getattr(state, "key", None) or os.environ.get("SCF_API_KEY")
            if not api_key:
                err.print("[bold red]error:[/] --key (or SCF_API_KEY) of an auditor or the operator is needed")
                raise typer.Exit(2)
            entries = _download(api_url, api_key)
            result: AuditVerification = verify_chain(entries, read_anchor(anchor) if anchor else None)
            source = api_url
        else:
            settings = Settings(**({"data_dir": data_dir} if data_dir is not None else {}))  # type: ignore[arg-type]
            url = database_url or settings.effective_database_url
            engine = make_engine(url)
            try:
                result = verify_database(engine, anchor or settings.data_dir / ANCHOR_FILE)
            finally:
                engine.dispose()
            source = "the database"
    except (RuntimeError, ValueError, OSError, SQLAlchemyError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        err.print(f"[bold red]error:[/] cannot verify the audit log: {escape(first_line)}", soft_wrap=True)
        raise typer.Exit(1) from None
    except ImportError as exc:  # httpx missing in a trimmed install
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    if json_output:
        print(json.dumps(result.as_dict(), indent=2))
    elif result.ok:
        console.print(
            f"[bold green]audit log intact[/]: {result.entries} entries from {escape(source)}, "
            f"head seq {result.head_seq} hash {result.head_hash[:16]}…",
            soft_wrap=True,
        )
    else:
        console.print(
            f"[bold red]audit log tampered[/]: first bad entry {result.first_bad_seq} ({result.reason}): "
            f"{escape(result.detail)}",
            soft_wrap=True,
        )
    if not result.ok:
        raise typer.Exit(1)
