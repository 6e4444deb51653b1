"""`scf alerts`: regulator alerts raised by the indexer's rules (auditors and the operator)."""

from __future__ import annotations

from typing import Annotated

import typer

from scripts.commands.common import Cursor, JsonFlag, Limit, call, page
from scripts.lang import command_help, h

app = typer.Typer(**command_help("alerts"))


@app.command("list", **command_help("alerts.list"))
def list_alerts(
    ctx: typer.Context,
    rule: Annotated[
        str | None,
        typer.Option(help=h("alerts.list.rule")),
    ] = None,
    severity: Annotated[str | None, typer.Option(help=h("alerts.list.severity"))] = None,
    member: Annotated[int | None, typer.Option("--member", help=h("alerts.list.member"))] = None,
    json_out: JsonFlag = False,
    limit: Limit = 100,
    cursor: Cursor = 0,
) -> None:
    params = {"rule": rule, "severity": severity, "member_id": member, "limit": limit, "cursor": cursor}
    render = page("alerts", ["id", "block", "rule", "severity", "members", "evidence"])
    call(ctx, "GET", "/v1/alerts", render, json_out=json_out, params=params)
