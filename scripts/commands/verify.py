"""`scf verify`: what banks and auditors check before they lend, read from the chain, with proofs."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from scripts.commands.common import JsonFlag, call, console, print_json, render_any, request
from scripts.lang import command_help, h, t

app = typer.Typer(**command_help("verify"))

Block = Annotated[str, typer.Option("--block", help=h("verify.block"))]


@app.command(**command_help("verify.note"))
def note(
    ctx: typer.Context,
    note_id: Annotated[int, typer.Argument(help=h("opt.note_id"))],
    block: Block = "latest",
    json_out: JsonFlag = False,
) -> None:
    params = {"block": block}
    call(
        ctx,
        "GET",
        f"/v1/verify/notes/{note_id}",
        render_any("note_on_chain", note_id=note_id),
        json_out=json_out,
        params=params,
    )


@app.command(**command_help("verify.invoice"))
def invoice(
    ctx: typer.Context,
    invoice_hash: Annotated[str, typer.Argument(help=h("verify.invoice.invoice_hash"))],
    block: Block = "latest",
    json_out: JsonFlag = False,
) -> None:
    params = {"hash": invoice_hash, "block": block}
    call(ctx, "GET", "/v1/verify/invoice", render_any("invoice"), json_out=json_out, params=params)


@app.command(**command_help("verify.order"))
def order(
    ctx: typer.Context, order_id: Annotated[int, typer.Argument(help=h("opt.order_id"))], json_out: JsonFlag = False
) -> None:
    call(ctx, "GET", f"/v1/verify/orders/{order_id}", render_any("order", id=order_id), json_out=json_out)


@app.command(**command_help("verify.holdings"))
def holdings(
    ctx: typer.Context,
    member_id: Annotated[int, typer.Argument(help=h("verify.holdings.member_id"))],
    block: Block = "latest",
    check_chain: Annotated[bool, typer.Option("--check-chain", help=h("verify.holdings.check_chain"))] = False,
    json_out: JsonFlag = False,
) -> None:
    params = {"block": block, "check": "chain" if check_chain else None}
    path = f"/v1/verify/holdings/{member_id}"
    call(ctx, "GET", path, render_any("holdings", member_id=member_id), json_out=json_out, params=params)


def _minor(amount: str) -> int:
    from api.amounts import parse_amount

    return parse_amount(amount)


@app.command(**command_help("verify.proof"))
def proof(
    ctx: typer.Context,
    note_id: Annotated[int, typer.Argument(help=h("opt.note_id"))],
    rpc: Annotated[
        str | None,
        typer.Option(
            "--rpc",
            help=h("verify.proof.rpc"),
        ),
    ] = None,
    block: Block = "latest",
    address: Annotated[str | None, typer.Option(help=h("opt.address"))] = None,
    save: Annotated[Path | None, typer.Option("--save", help=h("verify.proof.save"))] = None,
    json_out: JsonFlag = False,
) -> None:
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
