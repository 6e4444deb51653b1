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
from scripts.lang import command_help, h, t

app = typer.Typer(**command_help("notes"))

NoteId = Annotated[int, typer.Argument(help=h("opt.note_id"))]
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


@app.command("list", **command_help("notes.list"))
def list_notes(
    ctx: typer.Context,
    obligor: Annotated[int | None, typer.Option("--obligor", help=h("notes.list.obligor"))] = None,
    maturity_from: Annotated[str | None, typer.Option("--maturity-from", help=h("opt.maturity_from"))] = None,
    maturity_to: Annotated[str | None, typer.Option("--maturity-to", help=h("opt.maturity_from"))] = None,
    all_notes: Annotated[bool, typer.Option("--all", help=h("notes.list.all_notes"))] = False,
    json_out: JsonFlag = False,
    limit: Limit = 100,
    cursor: Cursor = 0,
) -> None:
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


@app.command(**command_help("notes.show"))
def show(ctx: typer.Context, note_id: NoteId, json_out: JsonFlag = False) -> None:
    call(ctx, "GET", f"/v1/notes/{note_id}", note_record, json_out=json_out)


def _split(data: Any) -> None:
    show_record(t("title.note_kept", id=data["note"]["id"]), data["note"], NOTE_FIELDS)
    show_record(t("title.note_new", id=data["new_note"]["id"]), data["new_note"], NOTE_FIELDS)


@app.command(**command_help("notes.split"))
def split(
    ctx: typer.Context,
    note_id: NoteId,
    to: Annotated[int, typer.Option("--to", help=h("notes.split.to"))],
    value: Annotated[str, typer.Option("--value", help=h("notes.split.value"))],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
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


@app.command(**command_help("notes.pay"))
def pay(
    ctx: typer.Context,
    note_id: NoteId,
    payments: Annotated[
        list[str] | None,
        typer.Option("--pay", help=h("notes.pay.payments")),
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option("--file", help=h("notes.pay.from_file"), dir_okay=False),
    ] = None,
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
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


@app.command(**command_help("notes.transfer"))
def transfer(
    ctx: typer.Context,
    note_id: NoteId,
    to: Annotated[int, typer.Option("--to", help=h("notes.transfer.to"))],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    body = {"to": to}
    path = f"/v1/notes/{note_id}/transfer"
    call(ctx, "POST", path, note_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


@app.command(**command_help("notes.merge"))
def merge(
    ctx: typer.Context,
    note_id: NoteId,
    into: Annotated[int, typer.Option("--into", help=h("notes.merge.into"))],
    value: Annotated[str, typer.Option("--value", help=h("notes.merge.value"))],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    body = {"into": into, "value": value}
    path = f"/v1/notes/{note_id}/merge"
    call(ctx, "POST", path, note_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


@app.command(**command_help("notes.lock"))
def lock(
    ctx: typer.Context,
    note_id: NoteId,
    lienholder: Annotated[int, typer.Option("--lienholder", help=h("opt.lienholder"))],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    body = {"lienholder_id": lienholder}
    path = f"/v1/notes/{note_id}/lock"
    call(ctx, "POST", path, note_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


@app.command(**command_help("notes.release"))
def release(
    ctx: typer.Context, note_id: NoteId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
) -> None:
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


@app.command(**command_help("notes.provenance"))
def provenance(ctx: typer.Context, note_id: NoteId, json_out: JsonFlag = False) -> None:
    call(ctx, "GET", f"/v1/notes/{note_id}/provenance", _provenance, json_out=json_out)
