"""`scf settlement`: the obligor funds a receivable; at maturity its notes are paid out and burned."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from scripts.commands.common import IdempotencyKey, JsonFlag, call, console, record, show_record
from scripts.lang import CommandHelp, command_help, h, t

app = typer.Typer(**command_help("settlement"))

SlotId = Annotated[int, typer.Argument(help=h("opt.slot_id"))]
NoteIds = Annotated[list[int] | None, typer.Option("--note", help=h("settlement.note_ids"))]
FUNDING_FIELDS = [
    "receivable_id",
    "status",
    "funding_status",
    "obligor_id",
    "face_value",
    "funded",
    "paid",
    "unfunded",
    "unpaid_at_default",
    "maturity",
    "live_notes",
]
funding_record = record("funding", FUNDING_FIELDS)


def _result(data: Any) -> None:
    show_record(t("title.receivable", id=data["receivable"]["receivable_id"]), data["receivable"], FUNDING_FIELDS)
    paid = ", ".join(str(n) for n in data["note_ids"]) or t("none_word")
    console.print(t("settlement.notes_paid", notes=paid))
    for tx in data.get("tx_hashes", []):
        console.print(f"[dim]{t('tx', tx=tx)}[/]")


@app.command(**command_help("settlement.show"))
def show(ctx: typer.Context, slot_id: SlotId, json_out: JsonFlag = False) -> None:
    call(ctx, "GET", f"/v1/settlement/receivables/{slot_id}", funding_record, json_out=json_out)


@app.command(**command_help("settlement.fund"))
def fund(
    ctx: typer.Context,
    slot_id: SlotId,
    amount: Annotated[str, typer.Option("--amount", help=h("settlement.fund.amount"))],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    path = f"/v1/settlement/receivables/{slot_id}/fund"
    body = {"amount": amount}
    call(ctx, "POST", path, funding_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


def _batch(action: str, summary: CommandHelp) -> None:
    def command(
        ctx: typer.Context,
        slot_id: SlotId,
        note: NoteIds = None,
        json_out: JsonFlag = False,
        idempotency_key: IdempotencyKey = None,
    ) -> None:
        path = f"/v1/settlement/receivables/{slot_id}/{action}"
        body = {"note_ids": note} if note else {}
        call(ctx, "POST", path, _result, json_out=json_out, body=body, idempotency_key=idempotency_key)

    app.command(action, **summary)(command)


_batch("settle", command_help("settlement.settle"))


@app.command(**command_help("settlement.redeem"))
def redeem(
    ctx: typer.Context,
    note_id: Annotated[int, typer.Argument(help=h("opt.note_id"))],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    path = f"/v1/settlement/notes/{note_id}/redeem"
    call(ctx, "POST", path, _result, json_out=json_out, idempotency_key=idempotency_key)


@app.command("mark-default", **command_help("settlement.mark_default"))
def mark_default(
    ctx: typer.Context, slot_id: SlotId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
) -> None:
    path = f"/v1/settlement/receivables/{slot_id}/mark-default"
    call(ctx, "POST", path, funding_record, json_out=json_out, idempotency_key=idempotency_key)


_batch("claim-default", command_help("settlement.claim_default"))
