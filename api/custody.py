"""Custody of member keys: the service creates each member's key in an encrypted keystore.

Decrypting a scrypt keystore is slow on purpose, so decrypted accounts are cached in memory for the
life of the process; they never leave this module except to sign.
"""

from __future__ import annotations

import threading
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.tables import CustodyAccount
from chain.keystore import DEFAULT_SCRYPT_N, create_key, load_key
from chain.runtime import OPERATOR_KEY


class Custody:
    def __init__(self, data_dir: Path, passphrase: str, scrypt_n: int = DEFAULT_SCRYPT_N) -> None:
        self.data_dir = data_dir
        self._passphrase = passphrase
        self._scrypt_n = scrypt_n
        self._cache: dict[str, LocalAccount] = {}
        self._lock = threading.Lock()

    def operator(self) -> LocalAccount:
        return self._load(OPERATOR_KEY)

    def new_account(self, session: Session) -> LocalAccount:
        """Creates a key for a member about to be admitted and records it (member id set later)."""
        fresh: LocalAccount = Account.create()
        name = f"member-{fresh.address.lower()}"
        account = create_key(self.data_dir, name, self._passphrase, account=fresh, scrypt_n=self._scrypt_n)
        session.add(CustodyAccount(account=account.address, keystore=name, member_id=None))
        with self._lock:
            self._cache[name] = account
        return account

    def account_of_member(self, session: Session, member_id: int) -> LocalAccount | None:
        row = session.scalar(select(CustodyAccount).where(CustodyAccount.member_id == member_id))
        return self._load(row.keystore) if row else None

    def account_by_address(self, session: Session, address: str) -> LocalAccount | None:
        row = session.get(CustodyAccount, address)
        return self._load(row.keystore) if row else None

    def _load(self, name: str) -> LocalAccount:
        with self._lock:
            cached = self._cache.get(name)
        if cached is not None:
            return cached
        account = load_key(self.data_dir, name, self._passphrase)
        with self._lock:
            self._cache[name] = account
        return account
