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

app = typer.Typer(help="Receivables: list, show, issue, tree.")

SlotId = Annotated[int, typer.Argument(help="Receivable (slot) id")]
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


@app.command("list")
def list_receivables(
    ctx: typer.Context,
    role: Annotated[
        str, typer.Option("--role", help="obligor (what I owe), creditor (issued to me), holder, or any")
    ] = "any",
    obligor: Annotated[int | None, typer.Option("--obligor", help="Only receivables owed by this member")] = None,
    status: Annotated[str | None, typer.Option("--status", help="active, settled or defaulted")] = None,
    maturity_from: Annotated[str | None, typer.Option("--maturity-from", help="ISO date, inclusive")] = None,
    maturity_to: Annotated[str | None, typer.Option("--maturity-to", help="ISO date, inclusive")] = None,
    json_out: JsonFlag = False,
    limit: Limit = 100,
    cursor: Cursor = 0,
) -> None:
    """Receivables you owe, were issued or hold a note of (all of them for auditors and the operator)."""
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


@app.command()
def show(ctx: typer.Context, slot_id: SlotId, json_out: JsonFlag = False) -> None:
    """Show one receivable (obligor, creditor, note holders, auditors)."""
    call(ctx, "GET", f"/v1/receivables/{slot_id}", receivable_record, json_out=json_out)


@app.command()
def issue(
    ctx: typer.Context,
    creditor: Annotated[int, typer.Option("--creditor", help="Member id of the supplier owed")],
    face_value: Annotated[str, typer.Option("--face-value", help="Face value, e.g. 250000.00")],
    maturity: Annotated[
        str, typer.Option("--maturity", help=f"Maturity: {DATE_HELP}, or an RFC 3339 timestamp with its offset")
    ],
    invoice_hash: Annotated[str, typer.Option("--invoice-hash", help="Invoice hash, unique on the ledger")],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Confirm a receivable you owe directly, without an order (obligor)."""
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


@app.command()
def tree(ctx: typer.Context, slot_id: SlotId, json_out: JsonFlag = False) -> None:
    """Draw the receivable's note tree: issue, splits, merges, transfers, pledges, sales, redemptions."""
    call(ctx, "GET", f"/v1/receivables/{slot_id}/tree", render_tree, json_out=json_out)
