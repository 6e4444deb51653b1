"""`scf alerts`: regulator alerts raised by the indexer's rules (auditors and the operator)."""

from __future__ import annotations

from typing import Annotated

import typer

from scripts.commands.common import Cursor, JsonFlag, Limit, call, page

app = typer.Typer(help="Alerts: list.")


@app.command("list")
def list_alerts(
    ctx: typer.Context,
    rule: Annotated[
        str | None,
        typer.Option(help="structuring, circular_trade, related_party, concentration or rejected-attempts"),
    ] = None,
    severity: Annotated[str | None, typer.Option(help="low, medium or high")] = None,
    member: Annotated[int | None, typer.Option("--member", help="Only alerts involving this member")] = None,
    json_out: JsonFlag = False,
    limit: Limit = 100,
    cursor: Cursor = 0,
) -> None:
    """List alerts, with filters (auditors and the operator)."""
    params = {"rule": rule, "severity": severity, "member_id": member, "limit": limit, "cursor": cursor}
    render = page("alerts", ["id", "block", "rule", "severity", "members", "evidence"])
    call(ctx, "GET", "/v1/alerts", render, json_out=json_out, params=params)
