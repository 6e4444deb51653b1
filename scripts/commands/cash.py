"""`scf cash`: the settlement token: balances, history, deposits, withdrawals and payments."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from api.amounts import display_amount
from scripts.commands.common import Cursor, IdempotencyKey, JsonFlag, Limit, call, console, page
from scripts.lang import command_help, h, t

app = typer.Typer(**command_help("cash"))

MemberOpt = Annotated[int | None, typer.Option("--member", help=h("cash.member_opt"))]
Amount = Annotated[str, typer.Option("--amount", help=h("cash.amount"))]
Reference = Annotated[str, typer.Option("--reference", help=h("cash.reference"))]


def _balance(data: Any) -> None:
    amount = display_amount(data["balance"], data.get("currency"))
    console.print(t("cash.balance", member_id=data["member_id"], amount=f"[bold]{amount}[/]"))


def _written(data: Any) -> None:
    _balance(data["balance"])
    console.print(f"[dim]{t('tx', tx=data['tx_hash'])}[/]")


@app.command(**command_help("cash.balance"))
def balance(ctx: typer.Context, member: MemberOpt = None, json_out: JsonFlag = False) -> None:
    call(ctx, "GET", "/v1/cash/balance", _balance, json_out=json_out, params={"member_id": member})


@app.command(**command_help("cash.moves"))
def moves(
    ctx: typer.Context, member: MemberOpt = None, json_out: JsonFlag = False, limit: Limit = 100, cursor: Cursor = 0
) -> None:
    columns = ["id", "block_number", "kind", "direction", "counterparty_id", "amount"]
    params = {"member_id": member, "limit": limit, "cursor": cursor}
    call(ctx, "GET", "/v1/cash/moves", page("cash_moves", columns), json_out=json_out, params=params)


@app.command(**command_help("cash.mint"))
def mint(
    ctx: typer.Context,
    member: Annotated[int, typer.Option("--member", help=h("cash.mint.member"))],
    amount: Amount,
    reference: Reference,
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    body = {"member_id": member, "amount": amount, "reference": reference}
    call(ctx, "POST", "/v1/cash/mint", _written, json_out=json_out, body=body, idempotency_key=idempotency_key)


@app.command(**command_help("cash.burn"))
def burn(
    ctx: typer.Context,
    amount: Amount,
    reference: Reference,
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    body = {"amount": amount, "reference": reference}
    call(ctx, "POST", "/v1/cash/burn", _written, json_out=json_out, body=body, idempotency_key=idempotency_key)


@app.command(**command_help("cash.pay"))
def pay(
    ctx: typer.Context,
    to: Annotated[int, typer.Option("--to", help=h("cash.pay.to"))],
    amount: Amount,
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    body = {"to": to, "amount": amount}
    call(ctx, "POST", "/v1/cash/transfers", _written, json_out=json_out, body=body, idempotency_key=idempotency_key)


def _ceiling(data: Any) -> None:
    currency = data.get("currency")
    console.print(
        f"financier {data['member_id']}: ceiling [bold]{display_amount(data['ceiling'], currency)}[/], "
        f"outstanding {display_amount(data['outstanding'], currency)}, "
        f"may still mint {display_amount(data['available'], currency)}"
    )


@app.command(**command_help("cash.ceiling"))
def ceiling(
    ctx: typer.Context,
    member: Annotated[int, typer.Argument(help=h("cash.ceiling.member"))],
    set_to: Annotated[str | None, typer.Option("--set", help=h("cash.ceiling.set_to"))] = None,
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    path = f"/v1/cash/mint-ceilings/{member}"
    if set_to is None:
        call(ctx, "GET", path, _ceiling, json_out=json_out)
        return
    body = {"ceiling": set_to}
    call(ctx, "POST", path, _ceiling, json_out=json_out, body=body, idempotency_key=idempotency_key)
