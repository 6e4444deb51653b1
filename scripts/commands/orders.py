"""`scf orders`: confirmed orders from proposal to receivable, and pledges to financiers."""

from __future__ import annotations

from typing import Annotated

import typer

from scripts.commands.common import DATE_HELP, Cursor, IdempotencyKey, JsonFlag, Limit, call, chain_date, page, record
from scripts.lang import CommandHelp, command_help, h

app = typer.Typer(**command_help("orders"))

OrderId = Annotated[int, typer.Argument(help=h("opt.order_id"))]
order_record = record(
    "order",
    [
        "id",
        "status",
        "supplier_id",
        "supplier_name",
        "buyer_id",
        "buyer_name",
        "holder_id",
        "holder_name",
        "lienholder_id",
        "lienholder_name",
        "amount",
        "due_date",
        "document_hash",
        "receivable_id",
        "proposed_tx",
    ],
)


@app.command("list", **command_help("orders.list"))
def list_orders(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help=h("orders.list.status"))] = None,
    json_out: JsonFlag = False,
    limit: Limit = 100,
    cursor: Cursor = 0,
) -> None:
    render = page("orders", ["id", "status", "supplier_id", "buyer_id", "amount", "due_date", "receivable_id"])
    params = {"status": status, "limit": limit, "cursor": cursor}
    call(ctx, "GET", "/v1/orders", render, json_out=json_out, params=params)


@app.command(**command_help("orders.show"))
def show(ctx: typer.Context, order_id: OrderId, json_out: JsonFlag = False) -> None:
    call(ctx, "GET", f"/v1/orders/{order_id}", order_record, json_out=json_out)


@app.command(**command_help("orders.propose"))
def propose(
    ctx: typer.Context,
    buyer: Annotated[int, typer.Option("--buyer", help=h("orders.propose.buyer"))],
    amount: Annotated[str, typer.Option("--amount", help=h("orders.propose.amount"))],
    document_hash: Annotated[str, typer.Option("--document-hash", help=h("orders.propose.document_hash"))],
    due: Annotated[str, typer.Option("--due", help=h("orders.propose.due", dates=DATE_HELP))],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    due_date = chain_date(ctx, due, "--due")
    body = {"buyer_id": buyer, "amount": amount, "document_hash": document_hash, "due_date": due_date}
    call(ctx, "POST", "/v1/orders", order_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


def _action(action: str, summary: CommandHelp) -> None:
    def command(
        ctx: typer.Context, order_id: OrderId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
    ) -> None:
        path = f"/v1/orders/{order_id}/{action}"
        call(ctx, "POST", path, order_record, json_out=json_out, idempotency_key=idempotency_key)

    app.command(action, **summary)(command)


_action("confirm", command_help("orders.confirm"))
_action("deliver", command_help("orders.deliver"))
_action("cancel", command_help("orders.cancel"))


@app.command(**command_help("orders.accept"))
def accept(
    ctx: typer.Context,
    order_id: OrderId,
    face_value: Annotated[str, typer.Option("--face-value", help=h("orders.accept.face_value"))],
    maturity: Annotated[str, typer.Option("--maturity", help=h("opt.maturity", dates=DATE_HELP))],
    invoice_hash: Annotated[str, typer.Option("--invoice-hash", help=h("opt.invoice_hash"))],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    body = {"face_value": face_value, "maturity": chain_date(ctx, maturity, "--maturity"), "invoice_hash": invoice_hash}
    path = f"/v1/orders/{order_id}/accept"
    call(ctx, "POST", path, order_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


@app.command(**command_help("orders.pledge"))
def pledge(
    ctx: typer.Context,
    order_id: OrderId,
    financier: Annotated[int, typer.Option("--financier", help=h("orders.pledge.financier"))],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    path = f"/v1/orders/{order_id}/pledge"
    body = {"financier_id": financier}
    call(ctx, "POST", path, order_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


_action("release", command_help("orders.release"))
