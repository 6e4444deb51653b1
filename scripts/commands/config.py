"""`scf config`: the effective client configuration and where each value came from; `scf status`."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from scripts.client import ClientError
from scripts.commands.common import JsonFlag, call, console, fail, print_json, render_value, state
from scripts.lang import command_help, t

app = typer.Typer(**command_help("config"))


@app.command(**command_help("config.show"))
def show(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    try:
        config = state(ctx).config()
    except ClientError as exc:
        fail(ctx, exc)
    data = config.as_dict()
    if json_out:
        print_json(data)
        return
    table = Table(title=t("title.config"), title_justify="left", title_style="bold")
    table.add_column(t("col.setting"))
    table.add_column(t("col.value"), overflow="fold")
    table.add_column(t("col.from"), style="dim", overflow="fold")
    for name in ("api_url", "api_key", "data_dir"):
        table.add_row(name, str(data[name]["value"] or "-"), data[name]["source"])
    console.print(table)
    console.print(f"[dim]{t('config.file', file=data['config_file'] or t('none_word'))}[/]")


def _health(data: Any) -> None:
    chain = data.get("chain") or {}
    status = data.get("status")
    said = t(
        "status.api",
        status=t("word." + str(status)) if status in ("ok", "degraded") else status,
        chain_id=chain.get("chainId"),
        block=chain.get("latestBlock"),
        rpc=chain.get("rpcUrl"),
    )
    console.print(said)
    for reason in data.get("reasons") or []:  # degraded: why (docs in README, "/health")
        said = t("status.degraded", code=reason.get("code"), detail=reason.get("detail"))
        console.print(said, style="yellow", markup=False)
    deployment = data.get("deployment")
    if isinstance(deployment, dict):
        render_value(t("title.contracts", block=deployment.get("block")), deployment.get("contracts", {}))
    else:
        console.print(f"[yellow]{t('status.no_deployment')}[/]")


def status(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    call(ctx, "GET", "/health", _health, json_out=json_out)
