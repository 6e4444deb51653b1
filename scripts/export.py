"""`scf export`: fetch a member's evidence bundle from the API and write it as JSON plus one CSV per section."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from rich.table import Table

from scripts.client import ApiClient

SECTIONS = ("orders", "notes", "transfers", "financings", "alerts")


def _known_columns() -> dict[str, list[str]]:
    """The columns of each section as the API documents them, so an empty section still gets its header."""
    from api.routes.export import AlertRow, FinancingRow, NoteRow, OrderEventRow, TransferRow

    models: tuple[type[BaseModel], ...] = (OrderEventRow, NoteRow, TransferRow, FinancingRow, AlertRow)
    return {section: list(model.model_fields) for section, model in zip(SECTIONS, models, strict=True)}


def fetch_bundle(client: ApiClient, member_id: int, start: date, end: date) -> dict[str, Any]:
    bundle: dict[str, Any] = client.get(
        f"/v1/export/members/{member_id}", params={"from": start.isoformat(), "to": end.isoformat()}
    )
    return bundle


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if value is None:
        return ""
    return value


def write_bundle(bundle: dict[str, Any], out: Path) -> list[Path]:
    """Writes bundle.json and <section>.csv (a header row even when the section is empty); returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "bundle.json"]
    written[0].write_text(json.dumps(bundle, indent=2) + "\n")
    known = _known_columns()
    for section in SECTIONS:
        rows: list[dict[str, Any]] = bundle.get(section, [])
        columns = list(dict.fromkeys([*known[section], *(key for row in rows for key in row)]))
        path = out / f"{section}.csv"
        with path.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_cell(row.get(column)) for column in columns])
        written.append(path)
    return written


def summary_table(bundle: dict[str, Any], out: Path) -> Table:
    span = bundle["range"]
    member = bundle["member"]
    table = Table(
        title=f"Evidence of member {member['id']} from {span['from']} to {span['to']} "
        f"(blocks {span['from_block']}-{span['to_block']}, indexed to {bundle['indexed_block']})"
    )
    table.add_column("section")
    table.add_column("rows", justify="right")
    table.add_column("file")
    for section in SECTIONS:
        table.add_row(section, str(len(bundle.get(section, []))), str(out / f"{section}.csv"))
    table.add_row("bundle", "", str(out / "bundle.json"))
    return table
