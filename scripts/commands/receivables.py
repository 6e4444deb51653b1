"""`scf receivables`: receivables (slots) an obligor confirmed, and the tree of their notes."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

import typer
from rich.tree import Tree

from api.amounts import display_amount
from scripts.commands.common import (
    DATE_HELP,
    Cursor,
    IdempotencyKey,
    JsonFlag,
    Limit,
    call,
    chain_date,
    console,
    page,
    record,
)
from scripts.lang import command_help, h

app = typer.Typer(**command_help("receivables"))

SlotId = Annotated[int, typer.Argument(help=h("opt.slot_id"))]
receivable_record = record(
    "receivable",
    [
        "id",
        "status",
        "obligor_id",
        "obligor_name",
        "creditor_id",
        "creditor_name",
        "face_value",
        "maturity",
        "invoice_hash",
        "order_id",
        "first_note_id",
        "issued_tx",
    ],
)


@app.command("list", **command_help("receivables.list"))
def list_receivables(
    ctx: typer.Context,
    role: Annotated[str, typer.Option("--role", help=h("receivables.list.role"))] = "any",
    obligor: Annotated[int | None, typer.Option("--obligor", help=h("receivables.list.obligor"))] = None,
    status: Annotated[str | None, typer.Option("--status", help=h("receivables.list.status"))] = None,
    maturity_from: Annotated[str | None, typer.Option("--maturity-from", help=h("opt.maturity_from"))] = None,
    maturity_to: Annotated[str | None, typer.Option("--maturity-to", help=h("opt.maturity_from"))] = None,
    json_out: JsonFlag = False,
    limit: Limit = 100,
    cursor: Cursor = 0,
) -> None:
    params: dict[str, Any] = {
        "role": role,
        "obligor_id": obligor,
        "status": status,
        "maturity_from": maturity_from,
        "maturity_to": maturity_to,
        "limit": limit,
        "cursor": cursor,
    }
    columns = ["id", "obligor_id", "creditor_id", "face_value", "maturity", "status", "order_id"]
    call(ctx, "GET", "/v1/receivables", page("receivables", columns), json_out=json_out, params=params)


@app.command(**command_help("receivables.show"))
def show(ctx: typer.Context, slot_id: SlotId, json_out: JsonFlag = False) -> None:
    call(ctx, "GET", f"/v1/receivables/{slot_id}", receivable_record, json_out=json_out)


@app.command(**command_help("receivables.issue"))
def issue(
    ctx: typer.Context,
    creditor: Annotated[int, typer.Option("--creditor", help=h("receivables.issue.creditor"))],
    face_value: Annotated[str, typer.Option("--face-value", help=h("receivables.issue.face_value"))],
    maturity: Annotated[str, typer.Option("--maturity", help=h("opt.maturity", dates=DATE_HELP))],
    invoice_hash: Annotated[str, typer.Option("--invoice-hash", help=h("opt.invoice_hash"))],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    body = {
        "creditor_id": creditor,
        "face_value": face_value,
        "maturity": chain_date(ctx, maturity, "--maturity"),
        "invoice_hash": invoice_hash,
    }
    call(
        ctx, "POST", "/v1/receivables", receivable_record, json_out=json_out, body=body, idempotency_key=idempotency_key
    )


def _member(ref: Any) -> str:
    """A member id as `member 7`; a pseudonym (a member the caller may not see) as it is: `holder-3f9a…`."""
    return ref if isinstance(ref, str) else f"member {ref}"


def _node_label(node: dict[str, Any], arrivals: list[dict[str, Any]]) -> str:
    state = "live" if node.get("live") else "[dim]gone[/]"
    value = display_amount(node.get("value"))
    label = f"[bold]note {node['note_id']}[/]  {value}  {_member(node.get('holder_id'))}  {state}"
    if node.get("lienholder_id"):
        label += f"  [yellow]lien: {_member(node['lienholder_id'])}[/]"
    for edge in arrivals:
        source, target = edge.get("from_member_id"), edge.get("to_member_id")
        parties = f"{_member(source)} → {_member(target)}" if source else f"to {_member(target)}"
        value = display_amount(edge.get("value"))
        label += f"\n[dim]{edge.get('kind')} {value} ({parties}), block {edge.get('block_number')}[/]"
    return label


def render_tree(data: dict[str, Any]) -> None:
    nodes = {int(n["note_id"]): n for n in data.get("nodes", [])}
    children: dict[int, list[int]] = defaultdict(list)
    roots: list[int] = []
    for note_id, node in sorted(nodes.items()):
        parent = node.get("parent_id")
        if parent and int(parent) in nodes and int(parent) != note_id:
            children[int(parent)].append(note_id)
        else:
            roots.append(note_id)
    arrivals: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for edge in data.get("edges", []):
        if edge.get("to_note_id") is not None:
            arrivals[int(edge["to_note_id"])].append(edge)
    tree = Tree(f"[bold]receivable {data.get('slot_id')}[/] (root note {data.get('root_note_id')})")

    def add(branch: Tree, note_id: int) -> None:
        sub = branch.add(_node_label(nodes[note_id], arrivals[note_id]))
        for child in children[note_id]:
            add(sub, child)

    for root in roots:
        add(tree, root)
    console.print(tree)


@app.command(**command_help("receivables.tree"))
def tree(ctx: typer.Context, slot_id: SlotId, json_out: JsonFlag = False) -> None:
    call(ctx, "GET", f"/v1/receivables/{slot_id}/tree", render_tree, json_out=json_out)
