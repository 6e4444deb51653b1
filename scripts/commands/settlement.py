"""`scf settlement`: the obligor funds a receivable; at maturity its notes are paid out and burned."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from scripts.commands.common import IdempotencyKey, JsonFlag, call, console, record, show_record
from scripts.lang import t

app = typer.Typer(help="Settlement: show, fund, settle, redeem, mark-default, claim-default.")

SlotId = Annotated[int, typer.Argument(help="Receivable (slot) id")]
NoteIds = Annotated[
    list[int] | None, typer.Option("--note", help="Pay only these notes (repeat); default: every live note")
]
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


@app.command()
def show(ctx: typer.Context, slot_id: SlotId, json_out: JsonFlag = False) -> None:
    """Funding and settlement state of a receivable."""
    call(ctx, "GET", f"/v1/settlement/receivables/{slot_id}", funding_record, json_out=json_out)


@app.command()
def fund(
    ctx: typer.Context,
    slot_id: SlotId,
    amount: Annotated[str, typer.Option("--amount", help="Amount paid towards the receivable")],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Pay towards a receivable you owe (obligor)."""
    path = f"/v1/settlement/receivables/{slot_id}/fund"
    body = {"amount": amount}
    call(ctx, "POST", path, funding_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


def _batch(action: str, summary: str) -> None:
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

    command.__doc__ = summary
    app.command(action)(command)


_batch("settle", "Pay out the notes of a matured, fully funded receivable (any member).")


@app.command()
def redeem(
    ctx: typer.Context,
    note_id: Annotated[int, typer.Argument(help="Note id")],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Redeem a note you hold at maturity (holder)."""
    path = f"/v1/settlement/notes/{note_id}/redeem"
    call(ctx, "POST", path, _result, json_out=json_out, idempotency_key=idempotency_key)


@app.command("mark-default")
def mark_default(
    ctx: typer.Context, slot_id: SlotId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
) -> None:
    """Mark an underfunded receivable defaulted after maturity and the grace period (any member)."""
    path = f"/v1/settlement/receivables/{slot_id}/mark-default"
    call(ctx, "POST", path, funding_record, json_out=json_out, idempotency_key=idempotency_key)


_batch("claim-default", "Pay a defaulted receivable's funds pro rata to its notes (any member).")
