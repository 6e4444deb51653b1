"""Key custody: accounts live in encrypted keystores (eth-account, scrypt) under `<data dir>/keys/`.

Files are created with mode 0600 inside a 0700 folder. Private keys never leave this module except
as eth-account `LocalAccount` objects used for signing.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from chain.node.errors import ScfError

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# scrypt cost of new keystores (the Web3 Secret Storage default); tests lower it with SCF_KEY_SCRYPT_N.
DEFAULT_SCRYPT_N = 2**18
OPERATOR_KEY = "operator"  # the service's own key (admin of the suite, pays members' gas)


class KeystoreError(ScfError):
    """A keystore is missing, unreadable or the passphrase is wrong."""


def keys_dir(data_dir: Path) -> Path:
    path = data_dir / "keys"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def keystore_path(data_dir: Path, name: str) -> Path:
    if not _NAME.fullmatch(name):
        raise KeystoreError(f"invalid key name {name!r}")
    return keys_dir(data_dir) / f"{name}.json"


def create_key(
    data_dir: Path,
    name: str,
    passphrase: str,
    account: LocalAccount | None = None,
    scrypt_n: int = DEFAULT_SCRYPT_N,
) -> LocalAccount:
    """Stores `account` (default: a new random key) encrypted under `name`; never overwrites a keystore."""
    path = keystore_path(data_dir, name)
    if account is None:
        account = Account.create()
    encrypted = Account.encrypt(account.key, passphrase, kdf="scrypt", iterations=scrypt_n)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(encrypted, fh)
    return account


def load_key(data_dir: Path, name: str, passphrase: str) -> LocalAccount:
    path = keystore_path(data_dir, name)
    try:
        encrypted = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise KeystoreError(f"no keystore named {name!r} in {path.parent}") from exc
    except (OSError, ValueError) as exc:
        raise KeystoreError(f"keystore {path} is unreadable: {exc}") from exc
    try:
        key = Account.decrypt(encrypted, passphrase)
    except ValueError as exc:
        raise KeystoreError(f"wrong passphrase for keystore {path} (set SCF_KEY_PASSPHRASE)") from exc
    account: LocalAccount = Account.from_key(key)
    return account


def load_or_create_key(data_dir: Path, name: str, passphrase: str) -> tuple[LocalAccount, bool]:
    """Returns (account, created)."""
    if keystore_path(data_dir, name).exists():
        return load_key(data_dir, name, passphrase), False
    return create_key(data_dir, name, passphrase), True
