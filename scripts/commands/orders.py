"""`scf orders`: confirmed orders from proposal to receivable, and pledges to financiers."""

from __future__ import annotations

from typing import Annotated

import typer

from scripts.commands.common import DATE_HELP, Cursor, IdempotencyKey, JsonFlag, Limit, call, chain_date, page, record

app = typer.Typer(help="Orders: list, show, propose, confirm, deliver, cancel, accept, pledge, release.")

OrderId = Annotated[int, typer.Argument(help="Order id")]
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


@app.command("list")
def list_orders(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="proposed, confirmed, delivered, invoiced or cancelled")] = None,
    json_out: JsonFlag = False,
    limit: Limit = 100,
    cursor: Cursor = 0,
) -> None:
    """Orders you are a party to (all of them for auditors and the operator)."""
    render = page("orders", ["id", "status", "supplier_id", "buyer_id", "amount", "due_date", "receivable_id"])
    params = {"status": status, "limit": limit, "cursor": cursor}
    call(ctx, "GET", "/v1/orders", render, json_out=json_out, params=params)


@app.command()
def show(ctx: typer.Context, order_id: OrderId, json_out: JsonFlag = False) -> None:
    """Show one order."""
    call(ctx, "GET", f"/v1/orders/{order_id}", order_record, json_out=json_out)


@app.command()
def propose(
    ctx: typer.Context,
    buyer: Annotated[int, typer.Option("--buyer", help="Member id of the buying core enterprise")],
    amount: Annotated[str, typer.Option("--amount", help="Order amount, e.g. 1000000.00")],
    document_hash: Annotated[str, typer.Option("--document-hash", help="Hash of the purchase order: 0x + 64 hex")],
    due: Annotated[str, typer.Option("--due", help=f"Expected payment date: {DATE_HELP}")],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Propose an order to a buyer (supplier)."""
    due_date = chain_date(ctx, due, "--due")
    body = {"buyer_id": buyer, "amount": amount, "document_hash": document_hash, "due_date": due_date}
    call(ctx, "POST", "/v1/orders", order_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


def _action(action: str, summary: str) -> None:
    def command(
        ctx: typer.Context, order_id: OrderId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
    ) -> None:
        path = f"/v1/orders/{order_id}/{action}"
        call(ctx, "POST", path, order_record, json_out=json_out, idempotency_key=idempotency_key)

    command.__doc__ = summary
    app.command(action)(command)


_action("confirm", "Confirm a proposed order (buyer).")
_action("deliver", "Mark a confirmed order delivered (the proposing supplier).")
_action("cancel", "Cancel an order that is not confirmed yet (supplier or buyer).")


@app.command()
def accept(
    ctx: typer.Context,
    order_id: OrderId,
    face_value: Annotated[str, typer.Option("--face-value", help="Receivable face value, at most the order amount")],
    maturity: Annotated[
        str, typer.Option("--maturity", help=f"Maturity: {DATE_HELP}, or an RFC 3339 timestamp with its offset")
    ],
    invoice_hash: Annotated[str, typer.Option("--invoice-hash", help="Invoice hash, unique on the ledger")],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Accept delivery and issue the receivable (buyer); its first note goes to the supplier."""
    body = {"face_value": face_value, "maturity": chain_date(ctx, maturity, "--maturity"), "invoice_hash": invoice_hash}
    path = f"/v1/orders/{order_id}/accept"
    call(ctx, "POST", path, order_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


@app.command()
def pledge(
    ctx: typer.Context,
    order_id: OrderId,
    financier: Annotated[int, typer.Option("--financier", help="Member id of the financier taking the pledge")],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Pledge an order to a financier (holder)."""
    path = f"/v1/orders/{order_id}/pledge"
    body = {"financier_id": financier}
    call(ctx, "POST", path, order_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


_action("release", "Release the pledge on an order (lienholder).")
