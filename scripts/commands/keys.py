"""`scf keys`: a self-custody member's own key, in a keystore file on its own machine (scripts/localkey.py).

The key never goes to the API: `scf --keystore FILE <command>` signs each transaction the API prepares (202)
and submits the signed one; `sign` and `sign-challenge` do the same step by step for scripts (curl)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from scripts.commands.common import err_console
from scripts.lang import command_help, h, t
from scripts.localkey import (
    LocalKeyError,
    create_keystore,
    load_keystore,
    read_passphrase,
    sign_challenge,
    sign_prepared,
)

app = typer.Typer(**command_help("keys"))

KeystoreArg = Annotated[Path, typer.Option("--keystore", help=h("keys.keystore_arg"))]
PassphraseFile = Annotated[Path | None, typer.Option("--passphrase-file", help=h("keys.passphrase_file"))]


def _fail(exc: Exception) -> None:
    err_console.print(f"[bold red]{t('error.word')}[/] {exc}", soft_wrap=True)
    raise typer.Exit(1)


def _stdin_json() -> Any:
    try:
        return json.loads(sys.stdin.read())
    except ValueError as exc:
        _fail(LocalKeyError(t("keys.stdin_not_json", reason=exc)))


@app.command(**command_help("keys.new"))
def new(keystore: KeystoreArg, passphrase_file: PassphraseFile = None) -> None:
    try:
        account = create_keystore(keystore, read_passphrase(passphrase_file, confirm=True))
    except LocalKeyError as exc:
        _fail(exc)
    typer.echo(account.address)


@app.command(**command_help("keys.address"))
def address(keystore: KeystoreArg, passphrase_file: PassphraseFile = None) -> None:
    try:
        typer.echo(load_keystore(keystore, read_passphrase(passphrase_file)).address)
    except LocalKeyError as exc:
        _fail(exc)


@app.command("sign-challenge", **command_help("keys.sign_challenge"))
def sign_challenge_command(keystore: KeystoreArg, passphrase_file: PassphraseFile = None) -> None:
    challenge = _stdin_json()
    message = challenge.get("message") if isinstance(challenge, dict) else None
    if not isinstance(message, str):
        _fail(LocalKeyError(t("keys.no_message")))
    try:
        account = load_keystore(keystore, read_passphrase(passphrase_file))
    except LocalKeyError as exc:
        _fail(exc)
    typer.echo(sign_challenge(account, str(message)))


@app.command(**command_help("keys.sign"))
def sign(keystore: KeystoreArg, passphrase_file: PassphraseFile = None) -> None:
    prepared = _stdin_json()
    if not isinstance(prepared, dict) or "prepared_id" not in prepared:
        _fail(LocalKeyError(t("keys.not_prepared")))
    try:
        account = load_keystore(keystore, read_passphrase(passphrase_file))
        body = sign_prepared(account, prepared)
    except LocalKeyError as exc:
        _fail(exc)
    err_console.print(t("keys.signed", summary=prepared.get("summary")), soft_wrap=True, markup=False)
    typer.echo(json.dumps(body))
