"""`scf verify`: what banks and auditors check before they lend, read from the chain, with proofs."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from scripts.commands.common import JsonFlag, call, console, print_json, render_any, request
from scripts.lang import t

app = typer.Typer(help="Verify: note, invoice, order, holdings, proof (checked locally against your own node).")

Block = Annotated[str, typer.Option("--block", help="A block number, or latest")]


@app.command()
def note(
    ctx: typer.Context,
    note_id: Annotated[int, typer.Argument(help="Note id")],
    block: Block = "latest",
    json_out: JsonFlag = False,
) -> None:
    """A note's holder, value, lien and receivable terms, read from the chain at a block."""
    params = {"block": block}
    call(
        ctx,
        "GET",
        f"/v1/verify/notes/{note_id}",
        render_any("note_on_chain", note_id=note_id),
        json_out=json_out,
        params=params,
    )


@app.command()
def invoice(
    ctx: typer.Context,
    invoice_hash: Annotated[str, typer.Argument(help="Invoice hash: 0x + 64 hex digits")],
    block: Block = "latest",
    json_out: JsonFlag = False,
) -> None:
    """Whether an invoice is already tokenised (double financing), and by which receivable."""
    params = {"hash": invoice_hash, "block": block}
    call(ctx, "GET", "/v1/verify/invoice", render_any("invoice"), json_out=json_out, params=params)


@app.command()
def order(
    ctx: typer.Context, order_id: Annotated[int, typer.Argument(help="Order id")], json_out: JsonFlag = False
) -> None:
    """Whether an order is tokenised, its receivable, and to whom it is pledged or sold."""
    call(ctx, "GET", f"/v1/verify/orders/{order_id}", render_any("order", id=order_id), json_out=json_out)


@app.command()
def holdings(
    ctx: typer.Context,
    member_id: Annotated[int, typer.Argument(help="Member whose holdings are verified")],
    block: Block = "latest",
    check_chain: Annotated[
        bool, typer.Option("--check-chain", help="Re-read every listed note from the chain")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """A member's notes grouped by obligor and maturity, with totals (financiers need a sharing grant)."""
    params = {"block": block, "check": "chain" if check_chain else None}
    path = f"/v1/verify/holdings/{member_id}"
    call(ctx, "GET", path, render_any("holdings", member_id=member_id), json_out=json_out, params=params)


def _minor(amount: str) -> int:
    from api.amounts import parse_amount

    return parse_amount(amount)


@app.command()
def proof(
    ctx: typer.Context,
    note_id: Annotated[int, typer.Argument(help="Note id")],
    rpc: Annotated[
        str | None,
        typer.Option(
            "--rpc",
            help="A node you trust (default SCF_RPC_URL, else the node of the data dir's service record)",
        ),
    ] = None,
    block: Block = "latest",
    address: Annotated[str | None, typer.Option(help="Expected ReceivableNotes address")] = None,
    save: Annotated[Path | None, typer.Option("--save", help="Also keep the proof bundle in this file")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Fetch a note's storage proof from the API and check it against your node's state root."""
    from api.settings import Settings
    from chain.node.proofs import NodeUnreachableError, ProofError, verify_proof_file
    from scripts.client import node_rpc_url

    claimed: dict[str, Any] = request(ctx, "GET", f"/v1/verify/notes/{note_id}", params={"block": block, "proof": True})
    bundle = claimed.get("proof")
    settings = Settings()
    rpc_url = rpc or node_rpc_url(settings.effective_rpc_url, settings.data_dir)
    try:
        if not isinstance(bundle, dict):
            raise ProofError("the API answered without a proof bundle")
        with tempfile.TemporaryDirectory() as tmp:
            path = save or Path(tmp) / "proof.json"
            path.write_text(json.dumps(bundle, indent=2))
            verified = verify_proof_file(path, rpc_url, expected_address=address or str(claimed.get("contract")))
        mismatches = []
        if verified.holder_id != claimed["holder"]["member_id"]:
            mismatches.append(f"holder {claimed['holder']['member_id']} (API) vs {verified.holder_id} (proof)")
        if verified.value != _minor(str(claimed["value"])):
            mismatches.append(f"value {claimed['value']} (API) vs {verified.value} minor units (proof)")
        if mismatches:
            raise ProofError("the API's answer differs from the proven state: " + "; ".join(mismatches))
    except NodeUnreachableError as exc:
        typer.echo(t("error.line", message=t("verify.node_unreachable", url=exc.rpc_url, reason=exc.reason)), err=True)
        raise typer.Exit(2) from None
    except ProofError as exc:
        typer.echo(t("error.line", message=t("verify.rejected", reason=exc)), err=True)
        raise typer.Exit(1) from None
    if json_out:
        print_json(dataclasses.asdict(verified))
        return
    said = t(
        "verify.verified",
        rpc=rpc_url,
        note_id=verified.note_id,
        block=verified.block_number,
        holder=verified.holder_id,
        value=f"{claimed['value']} {claimed.get('currency', '')}".strip(),
        lienholder=verified.lienholder_id or t("none_word"),
    )
    console.print(f"[bold green]{said}[/]")
