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
from scripts.lang import t

app = typer.Typer(
    help="Members: list, show, me, credit, API keys (keys, issue-key, revoke-key); operator: admit, suspend, "
    "reinstate, credit-limit, rotate-key."
)

MemberId = Annotated[int, typer.Argument(help="Member id")]
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


@app.command("list")
def list_members(
    ctx: typer.Context,
    json_out: JsonFlag = False,
    limit: Limit = 100,
    cursor: Cursor = 0,
    search: Annotated[
        str | None,
        typer.Option(
            "--search", "-q", help="Part of a name (Chinese or English), or a whole USCC or LEI (operator, auditors)"
        ),
    ] = None,
) -> None:
    """List members (every member sees ids, names, roles and status); --search finds them by name or code."""
    render = page("members", ["id", "name", "roles", "status", "credit_limit", "outstanding", "group_id"])
    params: dict[str, Any] = {"limit": limit, "cursor": cursor}
    if search is not None:
        params["q"] = search
    call(ctx, "GET", "/v1/members", render, json_out=json_out, params=params)


@app.command()
def show(ctx: typer.Context, member_id: MemberId, json_out: JsonFlag = False) -> None:
    """Show one member."""
    call(ctx, "GET", f"/v1/members/{member_id}", member_record, json_out=json_out)


@app.command()
def me(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Show the member whose API key is in use."""
    call(ctx, "GET", "/v1/members/me", member_record, json_out=json_out)


@app.command()
def credit(ctx: typer.Context, member_id: MemberId, json_out: JsonFlag = False) -> None:
    """A member's credit capacity, its components and the formula."""
    call(ctx, "GET", f"/v1/members/{member_id}/credit", render_any("credit", member_id=member_id), json_out=json_out)


def _admitted(data: Any) -> None:
    show_record(t("title.admitted", id=data["member"]["id"]), data["member"], MEMBER_FIELDS)
    console.print(t("tx", tx=data["tx_hash"]))
    console.print(f"[bold]{t('members.key_once')}[/] {data['api_key']}")


@app.command()
def admit(
    ctx: typer.Context,
    role: Annotated[
        list[str], typer.Option("--role", help="core_enterprise, supplier, financier or auditor; repeat for several")
    ],
    kyc_hash: Annotated[
        str | None,
        typer.Option("--kyc-hash", help="Hash of the KYC document: 0x + 64 hex digits (without a profile)"),
    ] = None,
    legal_name_zh: Annotated[str | None, typer.Option("--legal-name-zh", help="Legal name in Chinese")] = None,
    legal_name_en: Annotated[str | None, typer.Option("--legal-name-en", help="Legal name in English")] = None,
    display_name: Annotated[str | None, typer.Option("--display-name", help="Short name shown beside the id")] = None,
    uscc: Annotated[
        str | None, typer.Option("--uscc", help="Unified social credit code (统一社会信用代码, 18 characters)")
    ] = None,
    lei: Annotated[str | None, typer.Option("--lei", help="Legal entity identifier (ISO 17442), optional")] = None,
    contact: Annotated[str | None, typer.Option("--contact", help="A contact, optional")] = None,
    credit_limit: Annotated[str, typer.Option("--credit-limit", help="Obligors: maximum outstanding face value")] = (
        "0.00"
    ),
    mint_ceiling: Annotated[
        str, typer.Option("--mint-ceiling", help="Financiers: the most cash it may have minted and not burned")
    ] = "0.00",
    group_id: Annotated[int, typer.Option("--group-id", help="Related-party group (0 = none)")] = 0,
    label: Annotated[str, typer.Option("--label", help="A name for the member's first API key")] = "",
    address: Annotated[
        str | None, typer.Option("--address", help="Self-custody: the address the member controls (no key made)")
    ] = None,
    challenge_id: Annotated[
        str | None, typer.Option("--challenge-id", help="Self-custody: from `scf members challenge`")
    ] = None,
    signature: Annotated[
        str | None, typer.Option("--signature", help="Self-custody: the challenge signed (`scf keys sign-challenge`)")
    ] = None,
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Admit a member (operator); prints its API key once. With --address/--challenge-id/--signature the member
    holds its own key (self-custody)."""
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


@app.command()
def profile(
    ctx: typer.Context,
    member_id: MemberId,
    legal_name_zh: Annotated[str, typer.Option("--legal-name-zh", help="Legal name in Chinese")],
    legal_name_en: Annotated[str, typer.Option("--legal-name-en", help="Legal name in English")],
    display_name: Annotated[str, typer.Option("--display-name", help="Short name shown beside the id")],
    uscc: Annotated[str, typer.Option("--uscc", help="Unified social credit code (18 characters)")],
    lei: Annotated[str | None, typer.Option("--lei", help="Legal entity identifier (ISO 17442)")] = None,
    contact: Annotated[str | None, typer.Option("--contact", help="A contact")] = None,
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Set or replace a member's profile (operator); its hash goes on chain as the member's KYC hash."""
    body = _profile(legal_name_zh, legal_name_en, display_name, uscc, lei, contact)
    path = f"/v1/members/{member_id}/profile"
    call(ctx, "POST", path, member_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


@app.command()
def challenge(
    ctx: typer.Context,
    address: Annotated[str, typer.Option("--address", help="The address a self-custody member controls")],
    json_out: JsonFlag = False,
) -> None:
    """A single-use challenge the member's address signs to be admitted with its own key (operator)."""
    call(ctx, "POST", "/v1/members/challenge", render_any("challenge"), json_out=json_out, body={"address": address})


def _admin(action: str, summary: str) -> None:
    def command(
        ctx: typer.Context, member_id: MemberId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
    ) -> None:
        path = f"/v1/members/{member_id}/{action}"
        call(ctx, "POST", path, member_record, json_out=json_out, idempotency_key=idempotency_key)

    command.__doc__ = summary
    app.command(action)(command)


_admin("suspend", "Suspend a member (operator): it can no longer hold, receive or move anything.")
_admin("reinstate", "Reinstate a suspended member (operator).")
_admin("clear-default-block", "Lift the issuance block left by a default (operator).")


@app.command("credit-limit")
def credit_limit(
    ctx: typer.Context,
    member_id: MemberId,
    amount: Annotated[str, typer.Argument(help="Maximum outstanding face value, e.g. 5000000.00")],
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Set an obligor's credit limit (operator)."""
    path = f"/v1/members/{member_id}/credit-limit"
    body = {"credit_limit": amount}
    call(ctx, "POST", path, member_record, json_out=json_out, body=body, idempotency_key=idempotency_key)


def _rotated(data: Any) -> None:
    show_record(t("title.new_custodial_key", id=data["member"]["id"]), data["member"], MEMBER_FIELDS)
    console.print(t("members.rotated", account=data["old_account"], cash=data["recovered_cash"]))


@app.command("rotate-key")
def rotate_key(
    ctx: typer.Context, member_id: MemberId, json_out: JsonFlag = False, idempotency_key: IdempotencyKey = None
) -> None:
    """Replace a member's custodial signing key (operator); its API keys stay valid."""
    path = f"/v1/members/{member_id}/rotate-key"
    call(ctx, "POST", path, _rotated, json_out=json_out, idempotency_key=idempotency_key)


KEY_FIELDS = ["id", "hint", "label", "created_at", "revoked_at", "active"]


@app.command("keys")
def list_keys(ctx: typer.Context, member_id: MemberId, json_out: JsonFlag = False) -> None:
    """List a member's API keys by hint, active and revoked (the operator, or the member itself)."""
    render = page("api_keys", KEY_FIELDS, member_id=member_id)
    call(ctx, "GET", f"/v1/members/{member_id}/api-keys", render, json_out=json_out)


@app.command("issue-key")
def issue_key(
    ctx: typer.Context,
    member_id: MemberId,
    label: Annotated[str, typer.Option(help="what the key is for, e.g. erp-connector")] = "",
    json_out: JsonFlag = False,
    idempotency_key: IdempotencyKey = None,
) -> None:
    """Issue another API key to a member (the operator, or the member itself); the key is shown only once."""

    def render(data: Any) -> None:
        show_record(t("title.api_key", id=data["key"]["id"], member_id=member_id), data["key"], KEY_FIELDS)
        console.print(f"{t('members.key_once')} {data['api_key']}")

    path = f"/v1/members/{member_id}/api-keys"
    call(ctx, "POST", path, render, json_out=json_out, body={"label": label}, idempotency_key=idempotency_key)


@app.command("revoke-key")
def revoke_key(
    ctx: typer.Context,
    member_id: MemberId,
    key_id: Annotated[int, typer.Argument(help="API key id (see `scf members keys`)")],
    json_out: JsonFlag = False,
) -> None:
    """Revoke one of a member's API keys; it is refused from the next request on."""
    path = f"/v1/members/{member_id}/api-keys/{key_id}/revoke"
    call(ctx, "POST", path, record("api_key", KEY_FIELDS, id=key_id, member_id=member_id), json_out=json_out)
