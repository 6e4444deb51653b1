"""`scf financing`: factoring offers on notes, the purchases they become, and loans against pledged orders."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from scripts.commands.common import DATE_HELP, Cursor, IdempotencyKey, JsonFlag, Limit, call, chain_date, page, record
from scripts.lang import CommandHelp, command_help, h

app = typer.Typer(**command_help("financing"))

OfferId = Annotated[int, typer.Argument(help=h("financing.offer_id"))]
PurchaseId = Annotated[int, typer.Argument(help=h("financing.purchase_id"))]
LoanId = Annotated[int, typer.Argument(help=h("financing.loan_id"))]
RateBps = Annotated[int, typer.Option("--rate-bps", min=0, max=10_000, help=h("financing.rate_bps"))]

offer_record = record(
    "offer",
    [
        "id",
        "status",
        "note_id",
        "financier_id",
        "financier_name",
        "holder_id",
        "holder_name",
        "value",
        "price",
        "rate_bps",
        "recourse",
        "expires_at",
        "purchase_id",
        "request_id",
        "created_tx",
    ],
)
request_record = record(
    "financing_request",
    [
        "id",
        "status",
        "note_id",
        "receivable_id",
        "requester_id",
        "requester_name",
        "value",
        "note_value",
        "face_value",
        "obligor_id",
        "obligor_name",
        "maturity",
        "target_rate_bps",
        "recourse",
        "expires_at",
        "financier_ids",
        "accepted_offer_id",
        "created_at",
        "withdrawn_at",
    ],
)
RequestId = Annotated[int, typer.Argument(help=h("financing.request_id"))]
purchase_record = record(
    "purchase",
    [
        "id",
        "offer_id",
        "note_id",
        "seller_id",
        "seller_name",
        "financier_id",
        "financier_name",
        "value",
        "price",
        "recourse",
        "recourse_status",
        "recourse_amount",
        "tx_hash",
    ],
)
loan_record = record(
    "loan",
    [
        "id",
        "status",
        "order_id",
        "financier_id",
        "financier_name",
        "borrower_id",
        "principal",
        "rate_bps",
        "due_date",
        "amount_owed",
        "interest_paid",
        "foreclosed_value",
        "taken_note_id",
        "opened_tx",
    ],
)


def _one_or_page(
    ctx: typer.Context, path: str, one_id: int | None, one: Any, many: Any, params: dict[str, Any], json_out: bool
) -> None:
    if one_id is not None:
        call(ctx, "GET", f"{path}/{one_id}", one, json_out=json_out)
    else:
        call(ctx, "GET", path, many, json_out=json_out, params=params)


@app.command(**command_help("financing.offers"))
def offers(
    ctx: typer.Context,
    offer_id: Annotated[int | None, typer.Argument(help=h("financing.offers.offer_id"))] = None,
    status: Annotated[str | None, typer.Option(help=h("financing.offers.status"))] = None,
    note: Annotated[int | None, typer.Option("--note", help=h("financing.offers.note"))] = None,
    json_out: JsonFlag = False,
    limit: Limit = 100,
    cursor: Cursor = 0,
) -> None:
    many = page("offers", ["id", "status", "note_id", "financier_id", "value", "price", "rate_bps", "expires_at"])
    params = {"status": status, "note_id": note, "limit": limit, "cursor": cursor}
    _one_or_page(ctx, "/v1/financing/offers", offer_id, offer_record, many, params, json_out)


@app.command(**command_help("financing.offer"))
def offer(
    ctx: typer.Context,
    note: Annotated[int, typer.Option("--note", help=h("financing.offer.note"))],
    value: Annotated[str, typer.Option("--value", help=h("financing.offer.value"))],
    rate_bps: RateBps,
    expires: Annotated[str, typer.Option("--expires", help=h("financing.offer.expires", dates=DATE_HELP))],
    recourse: Annotated[bool, typer.Option("--recourse", help=h("opt.recourse"))] = False,
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    body = {
        "note_id": note,
        "value": value,
        "rate_bps": rate_bps,
        "recourse": recourse,
        "expires_at": chain_date(ctx, expires, "--expires"),
    }
    path = "/v1/financing/offers"
    call(ctx, "POST", path, offer_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


def _show_request(data: Any) -> None:
    """The request, then the offers made in answer (all of them to the requester; a bank sees its own)."""
    request_record(data)
    if data.get("offers"):
        page(
            "offers_in_answer", ["id", "status", "financier_id", "value", "price", "rate_bps", "recourse", "expires_at"]
        )({"items": data["offers"]})


@app.command("request", **command_help("financing.request"))
def request_financing(
    ctx: typer.Context,
    note: Annotated[int, typer.Option("--note", help=h("financing.request.note"))],
    value: Annotated[str, typer.Option("--value", help=h("financing.request.value"))],
    bank: Annotated[list[int], typer.Option("--bank", help=h("financing.request.bank"))],
    expires: Annotated[str, typer.Option("--expires", help=h("financing.request.expires", dates=DATE_HELP))],
    target_rate_bps: Annotated[
        int | None, typer.Option("--target-rate-bps", min=0, max=10_000, help=h("financing.request.target_rate_bps"))
    ] = None,
    recourse: Annotated[
        bool | None, typer.Option("--recourse/--no-recourse", help=h("financing.request.recourse"))
    ] = None,
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    body: dict[str, Any] = {
        "note_id": note,
        "value": value,
        "financier_ids": bank,
        "expires_at": chain_date(ctx, expires),
    }
    if target_rate_bps is not None:
        body["target_rate_bps"] = target_rate_bps
    if recourse is not None:
        body["recourse"] = recourse
    path = "/v1/financing/requests"
    call(ctx, "POST", path, _show_request, json_out=json_out, body=body, idempotency_key=idempotency_key)


@app.command(**command_help("financing.requests"))
def requests(
    ctx: typer.Context,
    request_id: Annotated[int | None, typer.Argument(help=h("financing.requests.request_id"))] = None,
    status: Annotated[str | None, typer.Option(help=h("financing.requests.status"))] = None,
    note: Annotated[int | None, typer.Option("--note", help=h("financing.requests.note"))] = None,
    json_out: JsonFlag = False,
    limit: Limit = 100,
    cursor: Cursor = 0,
) -> None:
    many = page(
        "financing_requests",
        ["id", "status", "note_id", "requester_id", "value", "obligor_id", "maturity", "target_rate_bps", "expires_at"],
    )
    params = {"status": status, "note_id": note, "limit": limit, "cursor": cursor}
    _one_or_page(ctx, "/v1/financing/requests", request_id, _show_request, many, params, json_out)


@app.command(**command_help("financing.answer"))
def answer(
    ctx: typer.Context,
    request_id: RequestId,
    rate_bps: RateBps,
    expires: Annotated[str, typer.Option("--expires", help=h("financing.answer.expires", dates=DATE_HELP))],
    value: Annotated[str | None, typer.Option("--value", help=h("financing.answer.value"))] = None,
    recourse: Annotated[bool, typer.Option("--recourse", help=h("opt.recourse"))] = False,
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    body: dict[str, Any] = {"rate_bps": rate_bps, "recourse": recourse, "expires_at": chain_date(ctx, expires)}
    if value is not None:
        body["value"] = value
    path = f"/v1/financing/requests/{request_id}/offers"
    call(ctx, "POST", path, offer_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


@app.command("withdraw-request", **command_help("financing.withdraw_request"))
def withdraw_request(
    ctx: typer.Context, request_id: RequestId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
) -> None:
    path = f"/v1/financing/requests/{request_id}/withdraw"
    call(ctx, "POST", path, _show_request, json_out=json_out, idempotency_key=idempotency_key)


@app.command("cancel-offer", **command_help("financing.cancel_offer"))
def cancel_offer(
    ctx: typer.Context, offer_id: OfferId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
) -> None:
    path = f"/v1/financing/offers/{offer_id}/cancel"
    call(ctx, "POST", path, offer_record, json_out=json_out, idempotency_key=idempotency_key)


@app.command(**command_help("financing.accept"))
def accept(
    ctx: typer.Context, offer_id: OfferId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
) -> None:
    path = f"/v1/financing/offers/{offer_id}/accept"
    call(ctx, "POST", path, purchase_record, json_out=json_out, idempotency_key=idempotency_key)


@app.command(**command_help("financing.purchases"))
def purchases(
    ctx: typer.Context,
    purchase_id: Annotated[int | None, typer.Argument(help=h("financing.purchases.purchase_id"))] = None,
    recourse_status: Annotated[
        str | None, typer.Option("--recourse-status", help=h("financing.purchases.recourse_status"))
    ] = None,
    json_out: JsonFlag = False,
    limit: Limit = 100,
    cursor: Cursor = 0,
) -> None:
    many = page("purchases", ["id", "note_id", "seller_id", "financier_id", "value", "price", "recourse_status"])
    params = {"recourse_status": recourse_status, "limit": limit, "cursor": cursor}
    _one_or_page(ctx, "/v1/financing/purchases", purchase_id, purchase_record, many, params, json_out)


def _purchase_action(action: str, summary: CommandHelp) -> None:
    def command(
        ctx: typer.Context, purchase_id: PurchaseId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
    ) -> None:
        path = f"/v1/financing/purchases/{purchase_id}/{action}"
        call(ctx, "POST", path, purchase_record, json_out=json_out, idempotency_key=idempotency_key)

    app.command(action, **summary)(command)


_purchase_action("claim-recourse", command_help("financing.claim_recourse"))
_purchase_action("pay-recourse", command_help("financing.pay_recourse"))


@app.command(**command_help("financing.loans"))
def loans(
    ctx: typer.Context,
    loan_id: Annotated[int | None, typer.Argument(help=h("financing.loans.loan_id"))] = None,
    status: Annotated[str | None, typer.Option(help=h("financing.loans.status"))] = None,
    order: Annotated[int | None, typer.Option("--order", help=h("financing.loans.order"))] = None,
    json_out: JsonFlag = False,
    limit: Limit = 100,
    cursor: Cursor = 0,
) -> None:
    many = page("loans", ["id", "status", "order_id", "financier_id", "borrower_id", "principal", "due_date"])
    params = {"status": status, "order_id": order, "limit": limit, "cursor": cursor}
    _one_or_page(ctx, "/v1/financing/loans", loan_id, loan_record, many, params, json_out)


@app.command(**command_help("financing.lend"))
def lend(
    ctx: typer.Context,
    order: Annotated[int, typer.Option("--order", help=h("financing.lend.order"))],
    principal: Annotated[str, typer.Option("--principal", help=h("financing.lend.principal"))],
    rate_bps: RateBps,
    due: Annotated[str, typer.Option("--due", help=h("financing.lend.due", dates=DATE_HELP))],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    body = {"order_id": order, "principal": principal, "rate_bps": rate_bps, "due_date": chain_date(ctx, due, "--due")}
    call(ctx, "POST", "/v1/financing/loans", loan_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


def _loan_action(action: str, summary: CommandHelp) -> None:
    def command(
        ctx: typer.Context, loan_id: LoanId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
    ) -> None:
        path = f"/v1/financing/loans/{loan_id}/{action}"
        call(ctx, "POST", path, loan_record, json_out=json_out, idempotency_key=idempotency_key)

    app.command(action, **summary)(command)


_loan_action("repay", command_help("financing.repay"))
_loan_action("foreclose", command_help("financing.foreclose"))
