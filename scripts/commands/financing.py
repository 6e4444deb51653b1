"""`scf financing`: factoring offers on notes, the purchases they become, and loans against pledged orders."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from scripts.commands.common import DATE_HELP, Cursor, IdempotencyKey, JsonFlag, Limit, call, chain_date, page, record

app = typer.Typer(
    help="Financing: request, requests, answer, withdraw-request, offers, offer, cancel-offer, accept, purchases, "
    "loans, lend, repay, foreclose, recourse."
)

OfferId = Annotated[int, typer.Argument(help="Offer id")]
PurchaseId = Annotated[int, typer.Argument(help="Purchase id")]
LoanId = Annotated[int, typer.Argument(help="Loan id")]
RateBps = Annotated[int, typer.Option("--rate-bps", min=0, max=10_000, help="Yearly rate in basis points")]

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
RequestId = Annotated[int, typer.Argument(help="Financing request id")]
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


@app.command()
def offers(
    ctx: typer.Context,
    offer_id: Annotated[int | None, typer.Argument(help="Show this offer (with its current price)")] = None,
    status: Annotated[str | None, typer.Option(help="open, accepted or cancelled")] = None,
    note: Annotated[int | None, typer.Option("--note", help="Only offers on this note")] = None,
    json_out: JsonFlag = False,
    limit: Limit = 100,
    cursor: Cursor = 0,
) -> None:
    """List offers on notes you hold, made by you or sold to you; or show one."""
    many = page("offers", ["id", "status", "note_id", "financier_id", "value", "price", "rate_bps", "expires_at"])
    params = {"status": status, "note_id": note, "limit": limit, "cursor": cursor}
    _one_or_page(ctx, "/v1/financing/offers", offer_id, offer_record, many, params, json_out)


@app.command()
def offer(
    ctx: typer.Context,
    note: Annotated[int, typer.Option("--note", help="The note to buy value of")],
    value: Annotated[str, typer.Option("--value", help="Value to buy, at most the note's value")],
    rate_bps: RateBps,
    expires: Annotated[str, typer.Option("--expires", help=f"Expiry: {DATE_HELP}, or an ISO date-time")],
    recourse: Annotated[bool, typer.Option("--recourse", help="The seller pays back on default")] = False,
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Offer to buy value of a note at a discount (financier)."""
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


@app.command("request")
def request_financing(
    ctx: typer.Context,
    note: Annotated[int, typer.Option("--note", help="A live, unpledged note you hold")],
    value: Annotated[str, typer.Option("--value", help="Value to finance: all of the note, or part of it")],
    bank: Annotated[list[int], typer.Option("--bank", help="A financier to ask (repeat for several)")],
    expires: Annotated[str, typer.Option("--expires", help=f"Expiry: ISO datetime, {DATE_HELP}")],
    target_rate_bps: Annotated[
        int | None, typer.Option("--target-rate-bps", min=0, max=10_000, help="The yearly rate you hope for")
    ] = None,
    recourse: Annotated[
        bool | None, typer.Option("--recourse/--no-recourse", help="Recourse acceptable / not wanted (default: either)")
    ] = None,
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Ask one or more banks for offers on a note, or part of one (note holder)."""
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


@app.command()
def requests(
    ctx: typer.Context,
    request_id: Annotated[int | None, typer.Argument(help="Show this request, with the offers made in answer")] = None,
    status: Annotated[str | None, typer.Option(help="open, offered, accepted, withdrawn or expired")] = None,
    note: Annotated[int | None, typer.Option("--note", help="Only requests on this note")] = None,
    json_out: JsonFlag = False,
    limit: Limit = 100,
    cursor: Cursor = 0,
) -> None:
    """List financing requests you made, or that ask you (a bank); or show one."""
    many = page(
        "financing_requests",
        ["id", "status", "note_id", "requester_id", "value", "obligor_id", "maturity", "target_rate_bps", "expires_at"],
    )
    params = {"status": status, "note_id": note, "limit": limit, "cursor": cursor}
    _one_or_page(ctx, "/v1/financing/requests", request_id, _show_request, many, params, json_out)


@app.command()
def answer(
    ctx: typer.Context,
    request_id: RequestId,
    rate_bps: RateBps,
    expires: Annotated[str, typer.Option("--expires", help=f"Offer expiry: ISO datetime, {DATE_HELP}")],
    value: Annotated[
        str | None, typer.Option("--value", help="Value to buy, at most the value requested (default: all of it)")
    ] = None,
    recourse: Annotated[bool, typer.Option("--recourse", help="The seller pays back on default")] = False,
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Answer a financing request that asks you with an offer on its note (financier)."""
    body: dict[str, Any] = {"rate_bps": rate_bps, "recourse": recourse, "expires_at": chain_date(ctx, expires)}
    if value is not None:
        body["value"] = value
    path = f"/v1/financing/requests/{request_id}/offers"
    call(ctx, "POST", path, offer_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


@app.command("withdraw-request")
def withdraw_request(
    ctx: typer.Context, request_id: RequestId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
) -> None:
    """Withdraw a financing request you made; the banks' offers stay theirs to cancel (requester)."""
    path = f"/v1/financing/requests/{request_id}/withdraw"
    call(ctx, "POST", path, _show_request, json_out=json_out, idempotency_key=idempotency_key)


@app.command("cancel-offer")
def cancel_offer(
    ctx: typer.Context, offer_id: OfferId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
) -> None:
    """Withdraw an open offer (the offering financier)."""
    path = f"/v1/financing/offers/{offer_id}/cancel"
    call(ctx, "POST", path, offer_record, json_out=json_out, idempotency_key=idempotency_key)


@app.command()
def accept(
    ctx: typer.Context, offer_id: OfferId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
) -> None:
    """Accept an offer (note holder): cash and value change hands in one transaction."""
    path = f"/v1/financing/offers/{offer_id}/accept"
    call(ctx, "POST", path, purchase_record, json_out=json_out, idempotency_key=idempotency_key)


@app.command()
def purchases(
    ctx: typer.Context,
    purchase_id: Annotated[int | None, typer.Argument(help="Show this purchase")] = None,
    recourse_status: Annotated[str | None, typer.Option("--recourse-status", help="none, claimed or paid")] = None,
    json_out: JsonFlag = False,
    limit: Limit = 100,
    cursor: Cursor = 0,
) -> None:
    """List purchases you sold or bought; or show one."""
    many = page("purchases", ["id", "note_id", "seller_id", "financier_id", "value", "price", "recourse_status"])
    params = {"recourse_status": recourse_status, "limit": limit, "cursor": cursor}
    _one_or_page(ctx, "/v1/financing/purchases", purchase_id, purchase_record, many, params, json_out)


def _purchase_action(action: str, summary: str) -> None:
    def command(
        ctx: typer.Context, purchase_id: PurchaseId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
    ) -> None:
        path = f"/v1/financing/purchases/{purchase_id}/{action}"
        call(ctx, "POST", path, purchase_record, json_out=json_out, idempotency_key=idempotency_key)

    command.__doc__ = summary
    app.command(action)(command)


_purchase_action("claim-recourse", "Claim recourse on a purchase after the receivable defaulted (financier).")
_purchase_action("pay-recourse", "Pay a recourse claim and get the note back (seller).")


@app.command()
def loans(
    ctx: typer.Context,
    loan_id: Annotated[int | None, typer.Argument(help="Show this loan (with the amount owed)")] = None,
    status: Annotated[str | None, typer.Option(help="active, repaid or foreclosed")] = None,
    order: Annotated[int | None, typer.Option("--order", help="Only loans against this order")] = None,
    json_out: JsonFlag = False,
    limit: Limit = 100,
    cursor: Cursor = 0,
) -> None:
    """List loans you lent or borrowed; or show one."""
    many = page("loans", ["id", "status", "order_id", "financier_id", "borrower_id", "principal", "due_date"])
    params = {"status": status, "order_id": order, "limit": limit, "cursor": cursor}
    _one_or_page(ctx, "/v1/financing/loans", loan_id, loan_record, many, params, json_out)


@app.command()
def lend(
    ctx: typer.Context,
    order: Annotated[int, typer.Option("--order", help="An order pledged to you")],
    principal: Annotated[str, typer.Option("--principal", help="At most 90% of the order amount")],
    rate_bps: RateBps,
    due: Annotated[str, typer.Option("--due", help=f"Due date: {DATE_HELP}")],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Lend against an order pledged to you (financier)."""
    body = {"order_id": order, "principal": principal, "rate_bps": rate_bps, "due_date": chain_date(ctx, due, "--due")}
    call(ctx, "POST", "/v1/financing/loans", loan_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


def _loan_action(action: str, summary: str) -> None:
    def command(
        ctx: typer.Context, loan_id: LoanId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
    ) -> None:
        path = f"/v1/financing/loans/{loan_id}/{action}"
        call(ctx, "POST", path, loan_record, json_out=json_out, idempotency_key=idempotency_key)

    command.__doc__ = summary
    app.command(action)(command)


_loan_action("repay", "Repay a loan with interest; the lien on the order is released (borrower).")
_loan_action("foreclose", "Take what is owed from the order's note after the due date (lender).")
