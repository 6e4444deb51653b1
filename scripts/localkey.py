"""A self-custody member's key on its own machine: an encrypted keystore file (Web3 Secret Storage) that signs
the transactions the API prepares (202) and the challenges that prove control of an address. The key never
leaves this process; only signatures and signed transactions are sent."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount


class LocalKeyError(Exception):
    """A keystore that cannot be read or opened, or a transaction that is not this key's to sign."""


def read_passphrase(passphrase_file: Path | None, *, confirm: bool = False) -> str:
    """From `passphrase_file` (first line), else prompted without echo."""
    if passphrase_file is not None:
        try:
            lines = passphrase_file.read_text().splitlines()
        except OSError as exc:
            raise LocalKeyError(f"cannot read the passphrase file {passphrase_file}: {exc.strerror}") from exc
        return lines[0] if lines else ""
    import typer

    value: str = typer.prompt("keystore passphrase", hide_input=True, confirmation_prompt=confirm)
    return value


def create_keystore(path: Path, passphrase: str) -> LocalAccount:
    """A new key, encrypted into `path` (mode 0600); never overwrites a file."""
    account: LocalAccount = Account.create()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise LocalKeyError(f"{path} exists: choose another file") from exc
    with os.fdopen(fd, "w") as handle:
        json.dump(account.encrypt(passphrase), handle)
    return account


def load_keystore(path: Path, passphrase: str) -> LocalAccount:
    try:
        encrypted = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise LocalKeyError(f"cannot read the keystore {path}: {exc}") from exc
    try:
        account: LocalAccount = Account.from_key(Account.decrypt(encrypted, passphrase))
    except ValueError as exc:
        raise LocalKeyError(f"the passphrase does not open {path}") from exc
    return account


def sign_challenge(account: LocalAccount, message: str) -> str:
    """EIP-191 personal_sign of a challenge from POST /v1/members/challenge."""
    return str(account.sign_message(encode_defunct(text=message)).signature.to_0x_hex())


def sign_prepared(account: LocalAccount, prepared: dict[str, Any]) -> dict[str, str]:
    """The body for POST /v1/transactions: the prepared transaction of a 202 answer, signed by `account`."""
    tx = dict(prepared.get("transaction") or {})
    sender = str(tx.pop("from", ""))
    if not sender or sender.lower() != account.address.lower():
        raise LocalKeyError(f"the transaction is prepared for {sender or 'nobody'}, this keystore is {account.address}")
    raw = account.sign_transaction(tx).raw_transaction.to_0x_hex()
    return {"raw": str(raw), "prepared_id": str(prepared["prepared_id"])}
