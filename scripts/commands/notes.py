"""`scf notes`: ERC-3525 notes of receivables: list, split, transfer, merge, pledge and their provenance."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Any

import typer

from scripts.commands.common import (
    Cursor,
    IdempotencyKey,
    JsonFlag,
    Limit,
    call,
    console,
    page,
    record,
    render_value,
    show_record,
    show_table,
)
from scripts.lang import t

app = typer.Typer(help="Notes: list, show, split, pay, transfer, merge, lock, release, provenance.")

NoteId = Annotated[int, typer.Argument(help="Note id")]
NOTE_FIELDS = [
    "id",
    "receivable_id",
    "holder_id",
    "holder_name",
    "value",
    "live",
    "parent_id",
    "lienholder_id",
    "lienholder_name",
    "obligor_id",
    "obligor_name",
    "maturity",
    "created_tx",
]
note_record = record("note", NOTE_FIELDS)


@app.command("list")
def list_notes(
    ctx: typer.Context,
    obligor: Annotated[int | None, typer.Option("--obligor", help="Only notes owed by this member")] = None,
    maturity_from: Annotated[str | None, typer.Option("--maturity-from", help="ISO date, inclusive")] = None,
    maturity_to: Annotated[str | None, typer.Option("--maturity-to", help="ISO date, inclusive")] = None,
    all_notes: Annotated[bool, typer.Option("--all", help="Include notes settled or merged away")] = False,
    json_out: JsonFlag = False,
    limit: Limit = 100,
    cursor: Cursor = 0,
) -> None:
    """Your notes: held, or pledged to you (all of them for auditors and the operator)."""
    params: dict[str, Any] = {
        "obligor_id": obligor,
        "maturity_from": maturity_from,
        "maturity_to": maturity_to,
        "status": "all" if all_notes else "live",
        "limit": limit,
        "cursor": cursor,
    }
    columns = [
        "id",
        "receivable_id",
        "holder_id",
        "holder_name",
        "value",
        "obligor_id",
        "maturity",
        "lienholder_id",
        "live",
    ]
    call(ctx, "GET", "/v1/notes", page("notes", columns), json_out=json_out, params=params)


@app.command()
def show(ctx: typer.Context, note_id: NoteId, json_out: JsonFlag = False) -> None:
    """Show one note."""
    call(ctx, "GET", f"/v1/notes/{note_id}", note_record, json_out=json_out)


def _split(data: Any) -> None:
    show_record(t("title.note_kept", id=data["note"]["id"]), data["note"], NOTE_FIELDS)
    show_record(t("title.note_new", id=data["new_note"]["id"]), data["new_note"], NOTE_FIELDS)


@app.command()
def split(
    ctx: typer.Context,
    note_id: NoteId,
    to: Annotated[int, typer.Option("--to", help="Member id that receives the new note")],
    value: Annotated[str, typer.Option("--value", help="Value split off, e.g. 300000.00")],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Split value off a note you hold into a new note for another member."""
    body = {"to": to, "value": value}
    call(
        ctx, "POST", f"/v1/notes/{note_id}/split", _split, json_out=json_out, body=body, idempotency_key=idempotency_key
    )


def _payments(data: Any) -> None:
    show_record(t("title.note_paid_from", id=data["note"]["id"]), data["note"], NOTE_FIELDS)
    columns = ["id", "holder_id", "holder_name", "value", "parent_id", "created_tx"]
    show_table(t("title.notes_paid", count=len(data["new_notes"])), data["new_notes"], columns)


def _parse_payment(spec: str) -> dict[str, Any]:
    member, sep, value = spec.partition("=")
    if not sep or not member.strip().isdigit() or not value.strip():
        raise typer.BadParameter(t("notes.pay_spec", spec=spec), param_hint="--pay")
    return {"to": int(member), "value": value.strip()}


@app.command()
def pay(
    ctx: typer.Context,
    note_id: NoteId,
    payments: Annotated[
        list[str] | None,
        typer.Option("--pay", help="MEMBER_ID=VALUE, once per payment (e.g. --pay 12=1000.00 --pay 13=250.00)"),
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option("--file", help="CSV of payments, one MEMBER_ID,VALUE a line (after any --pay)", dir_okay=False),
    ] = None,
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Bulk payment: new notes for up to 100 members out of one note you hold, in one transaction, all or none."""
    body = [_parse_payment(spec) for spec in payments or []]
    if from_file is not None:
        try:
            rows = list(csv.reader(from_file.read_text(encoding="utf-8").splitlines()))
        except OSError as exc:
            raise typer.BadParameter(str(exc), param_hint="--file") from exc
        body += [_parse_payment("=".join(cell.strip() for cell in row)) for row in rows if row]
    if not body:
        raise typer.BadParameter(t("notes.pay_none"), param_hint="--pay")
    path = f"/v1/notes/{note_id}/payments"
    call(ctx, "POST", path, _payments, json_out=json_out, body={"payments": body}, idempotency_key=idempotency_key)


@app.command()
def transfer(
    ctx: typer.Context,
    note_id: NoteId,
    to: Annotated[int, typer.Option("--to", help="Member id that receives the whole note")],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Transfer a whole note you hold to another member."""
    body = {"to": to}
    path = f"/v1/notes/{note_id}/transfer"
    call(ctx, "POST", path, note_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


@app.command()
def merge(
    ctx: typer.Context,
    note_id: NoteId,
    into: Annotated[int, typer.Option("--into", help="Note of the same receivable that receives the value")],
    value: Annotated[str, typer.Option("--value", help="Value moved")],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Move value of a note into another note of the same receivable."""
    body = {"into": into, "value": value}
    path = f"/v1/notes/{note_id}/merge"
    call(ctx, "POST", path, note_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


@app.command()
def lock(
    ctx: typer.Context,
    note_id: NoteId,
    lienholder: Annotated[int, typer.Option("--lienholder", help="Member id of the financier")],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Pledge a note you hold to a financier."""
    body = {"lienholder_id": lienholder}
    path = f"/v1/notes/{note_id}/lock"
    call(ctx, "POST", path, note_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


@app.command()
def release(
    ctx: typer.Context, note_id: NoteId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
) -> None:
    """Release the pledge on a note (lienholder)."""
    path = f"/v1/notes/{note_id}/release"
    call(ctx, "POST", path, note_record, json_out=json_out, idempotency_key=idempotency_key)


def _provenance(data: Any) -> None:
    console.print(t("notes.provenance", note_id=data.get("note_id"), slot_id=data.get("slot_id")))
    for key in ("order", "receivable"):
        if isinstance(data.get(key), dict):
            render_value(t("word." + key), data[key])
    events = data.get("events", [])
    columns = ["block_number", "kind", "from_note_id", "to_note_id", "from_member_id", "to_member_id", "value"]
    show_table(t("title.events"), events, columns)


@app.command()
def provenance(ctx: typer.Context, note_id: NoteId, json_out: JsonFlag = False) -> None:
    """Where a note came from: its order, receivable and every event from issue to now."""
    call(ctx, "GET", f"/v1/notes/{note_id}/provenance", _provenance, json_out=json_out)
