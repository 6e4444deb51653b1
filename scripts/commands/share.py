"""`scf share`: let a financier verify your holdings and see which notes are yours (sharing grants)."""

from __future__ import annotations

from typing import Annotated

import typer

from scripts.commands.common import IdempotencyKey, JsonFlag, call, render_any
from scripts.lang import command_help, h

app = typer.Typer(**command_help("share"))

FinancierId = Annotated[int, typer.Argument(help=h("opt.lienholder"))]


@app.command(**command_help("share.grant"))
def grant(
    ctx: typer.Context, financier_id: FinancierId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
) -> None:
    body = {"financier_id": financier_id}
    path = "/v1/members/me/shares"
    call(ctx, "POST", path, render_any("share"), json_out=json_out, body=body, idempotency_key=idempotency_key)


@app.command("list", **command_help("share.list"))
def list_grants(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    call(ctx, "GET", "/v1/members/me/shares", render_any("shares"), json_out=json_out)


@app.command(**command_help("share.revoke"))
def revoke(
    ctx: typer.Context, financier_id: FinancierId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
) -> None:
    path = f"/v1/members/me/shares/{financier_id}/revoke"
    call(ctx, "POST", path, render_any("share"), json_out=json_out, idempotency_key=idempotency_key)
