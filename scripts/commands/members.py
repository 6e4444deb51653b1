"""`scf members`: the member directory, and the operator's admission and administration of members."""

from __future__ import annotations

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
    render_any,
    show_record,
)
from scripts.lang import CommandHelp, command_help, h, t

app = typer.Typer(**command_help("members"))

MemberId = Annotated[int, typer.Argument(help=h("members.member_id"))]
MEMBER_FIELDS = [
    "id",
    "name",
    "roles",
    "status",
    "account",
    "kyc_hash",
    "group_id",
    "credit_limit",
    "outstanding",
    "default_count",
    "issuance_blocked",
]
member_record = record("member", MEMBER_FIELDS)


@app.command("list", **command_help("members.list"))
def list_members(
    ctx: typer.Context,
    json_out: JsonFlag = False,
    limit: Limit = 100,
    cursor: Cursor = 0,
    search: Annotated[
        str | None,
        typer.Option("--search", "-q", help=h("members.list.search")),
    ] = None,
) -> None:
    render = page("members", ["id", "name", "roles", "status", "credit_limit", "outstanding", "group_id"])
    params: dict[str, Any] = {"limit": limit, "cursor": cursor}
    if search is not None:
        params["q"] = search
    call(ctx, "GET", "/v1/members", render, json_out=json_out, params=params)


@app.command(**command_help("members.show"))
def show(ctx: typer.Context, member_id: MemberId, json_out: JsonFlag = False) -> None:
    call(ctx, "GET", f"/v1/members/{member_id}", member_record, json_out=json_out)


@app.command(**command_help("members.me"))
def me(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    call(ctx, "GET", "/v1/members/me", member_record, json_out=json_out)


@app.command(**command_help("members.credit"))
def credit(ctx: typer.Context, member_id: MemberId, json_out: JsonFlag = False) -> None:
    call(ctx, "GET", f"/v1/members/{member_id}/credit", render_any("credit", member_id=member_id), json_out=json_out)


def _admitted(data: Any) -> None:
    show_record(t("title.admitted", id=data["member"]["id"]), data["member"], MEMBER_FIELDS)
    console.print(t("tx", tx=data["tx_hash"]))
    console.print(f"[bold]{t('members.key_once')}[/] {data['api_key']}")


@app.command(**command_help("members.admit"))
def admit(
    ctx: typer.Context,
    role: Annotated[list[str], typer.Option("--role", help=h("members.admit.role"))],
    kyc_hash: Annotated[
        str | None,
        typer.Option("--kyc-hash", help=h("members.admit.kyc_hash")),
    ] = None,
    legal_name_zh: Annotated[str | None, typer.Option("--legal-name-zh", help=h("opt.legal_name_zh"))] = None,
    legal_name_en: Annotated[str | None, typer.Option("--legal-name-en", help=h("opt.legal_name_en"))] = None,
    display_name: Annotated[str | None, typer.Option("--display-name", help=h("opt.display_name"))] = None,
    uscc: Annotated[str | None, typer.Option("--uscc", help=h("members.admit.uscc"))] = None,
    lei: Annotated[str | None, typer.Option("--lei", help=h("members.admit.lei"))] = None,
    contact: Annotated[str | None, typer.Option("--contact", help=h("members.admit.contact"))] = None,
    credit_limit: Annotated[str, typer.Option("--credit-limit", help=h("members.admit.credit_limit"))] = ("0.00"),
    mint_ceiling: Annotated[str, typer.Option("--mint-ceiling", help=h("members.admit.mint_ceiling"))] = "0.00",
    group_id: Annotated[int, typer.Option("--group-id", help=h("members.admit.group_id"))] = 0,
    label: Annotated[str, typer.Option("--label", help=h("members.admit.label"))] = "",
    address: Annotated[str | None, typer.Option("--address", help=h("members.admit.address"))] = None,
    challenge_id: Annotated[str | None, typer.Option("--challenge-id", help=h("members.admit.challenge_id"))] = None,
    signature: Annotated[str | None, typer.Option("--signature", help=h("members.admit.signature"))] = None,
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    body: dict[str, Any] = {"roles": role, "credit_limit": credit_limit, "group_id": group_id, "label": label}
    if mint_ceiling not in ("0", "0.0", "0.00"):
        body["mint_ceiling"] = mint_ceiling
    if kyc_hash is not None:
        body["kyc_hash"] = kyc_hash
    profile = _profile(legal_name_zh, legal_name_en, display_name, uscc, lei, contact)
    if profile is not None:
        body["profile"] = profile
    own = {"address": address, "challenge_id": challenge_id, "signature": signature}
    body.update({k: v for k, v in own.items() if v is not None})
    call(ctx, "POST", "/v1/members", _admitted, json_out=json_out, body=body, idempotency_key=idempotency_key)


def _profile(
    legal_name_zh: str | None,
    legal_name_en: str | None,
    display_name: str | None,
    uscc: str | None,
    lei: str | None,
    contact: str | None,
) -> dict[str, Any] | None:
    """The profile the flags give (None when none is given); the API checks it (names, codes)."""
    given = {"legal_name_zh": legal_name_zh, "legal_name_en": legal_name_en, "display_name": display_name}
    given |= {"uscc": uscc, "lei": lei, "contact": contact}
    if all(v is None for v in given.values()):
        return None
    missing = [
        f"--{k.replace('_', '-')}"
        for k in ("legal_name_zh", "legal_name_en", "display_name", "uscc")
        if given[k] is None
    ]
    if missing:
        raise typer.BadParameter(t("members.profile_needs", options=", ".join(missing)))
    return {k: v for k, v in given.items() if v is not None}


@app.command(**command_help("members.profile"))
def profile(
    ctx: typer.Context,
    member_id: MemberId,
    legal_name_zh: Annotated[str, typer.Option("--legal-name-zh", help=h("opt.legal_name_zh"))],
    legal_name_en: Annotated[str, typer.Option("--legal-name-en", help=h("opt.legal_name_en"))],
    display_name: Annotated[str, typer.Option("--display-name", help=h("opt.display_name"))],
    uscc: Annotated[str, typer.Option("--uscc", help=h("members.profile.uscc"))],
    lei: Annotated[str | None, typer.Option("--lei", help=h("members.profile.lei"))] = None,
    contact: Annotated[str | None, typer.Option("--contact", help=h("members.profile.contact"))] = None,
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    body = _profile(legal_name_zh, legal_name_en, display_name, uscc, lei, contact)
    path = f"/v1/members/{member_id}/profile"
    call(ctx, "POST", path, member_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


@app.command(**command_help("members.challenge"))
def challenge(
    ctx: typer.Context,
    address: Annotated[str, typer.Option("--address", help=h("members.challenge.address"))],
    json_out: JsonFlag = False,
) -> None:
    call(ctx, "POST", "/v1/members/challenge", render_any("challenge"), json_out=json_out, body={"address": address})


def _admin(action: str, summary: CommandHelp) -> None:
    def command(
        ctx: typer.Context, member_id: MemberId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
    ) -> None:
        path = f"/v1/members/{member_id}/{action}"
        call(ctx, "POST", path, member_record, json_out=json_out, idempotency_key=idempotency_key)

    app.command(action, **summary)(command)


_admin("suspend", command_help("members.suspend"))
_admin("reinstate", command_help("members.reinstate"))
_admin("clear-default-block", command_help("members.clear_default_block"))


@app.command("credit-limit", **command_help("members.credit_limit"))
def credit_limit(
    ctx: typer.Context,
    member_id: MemberId,
    amount: Annotated[str, typer.Argument(help=h("members.credit_limit.amount"))],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    path = f"/v1/members/{member_id}/credit-limit"
    body = {"credit_limit": amount}
    call(ctx, "POST", path, member_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


def _rotated(data: Any) -> None:
    show_record(t("title.new_custodial_key", id=data["member"]["id"]), data["member"], MEMBER_FIELDS)
    console.print(t("members.rotated", account=data["old_account"], cash=data["recovered_cash"]))


@app.command("rotate-key", **command_help("members.rotate_key"))
def rotate_key(
    ctx: typer.Context, member_id: MemberId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
) -> None:
    path = f"/v1/members/{member_id}/rotate-key"
    call(ctx, "POST", path, _rotated, json_out=json_out, idempotency_key=idempotency_key)


KEY_FIELDS = ["id", "hint", "label", "created_at", "revoked_at", "active"]


@app.command("keys", **command_help("members.keys"))
def list_keys(ctx: typer.Context, member_id: MemberId, json_out: JsonFlag = False) -> None:
    render = page("api_keys", KEY_FIELDS, member_id=member_id)
    call(ctx, "GET", f"/v1/members/{member_id}/api-keys", render, json_out=json_out)


@app.command("issue-key", **command_help("members.issue_key"))
def issue_key(
    ctx: typer.Context,
    member_id: MemberId,
    label: Annotated[str, typer.Option(help=h("members.issue_key.label"))] = "",
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:

    def render(data: Any) -> None:
        show_record(t("title.api_key", id=data["key"]["id"], member_id=member_id), data["key"], KEY_FIELDS)
        console.print(f"{t('members.key_once')} {data['api_key']}")

    path = f"/v1/members/{member_id}/api-keys"
    call(ctx, "POST", path, render, json_out=json_out, body={"label": label}, idempotency_key=idempotency_key)


@app.command("revoke-key", **command_help("members.revoke_key"))
def revoke_key(
    ctx: typer.Context,
    member_id: MemberId,
    key_id: Annotated[int, typer.Argument(help=h("members.revoke_key.key_id"))],
    json_out: JsonFlag = False,
) -> None:
    path = f"/v1/members/{member_id}/api-keys/{key_id}/revoke"
    call(ctx, "POST", path, record("api_key", KEY_FIELDS, id=key_id, member_id=member_id), json_out=json_out)
