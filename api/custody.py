"""Custody of member keys: the service creates each member's key in an encrypted keystore, or (a self-custody
member, docs/permissions.md) knows only the member's address and never holds anything that signs for it.

Decrypting a scrypt keystore is slow on purpose, so decrypted accounts are cached in memory for the
life of the process; they never leave this module except to sign.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from web3 import Web3

from api.tables import CustodyAccount, SelfCustodyAccount
from chain.node.errors import TransactionError
from chain.node.keystore import DEFAULT_SCRYPT_N, OPERATOR_KEY, create_key, load_key
from chain.readmodel.store import table


class MemberKey(LocalAccount):
    """The account of a self-custody member: an address without a key. It stands where a custodial account
    goes (`acting_account`), and the write path (`WriteContext.transact`) prepares the transaction for the
    member to sign (api/selfcustody.py) instead of signing it. Any attempt to sign with it raises."""

    def __init__(self, address: str) -> None:  # no super().__init__: there is no key to hold
        self._address = Web3.to_checksum_address(address)

    @property
    def key(self) -> bytes:
        raise TransactionError(f"{self._address} holds its own key: the service cannot sign for it")

    def sign_transaction(self, *_args: object, **_kwargs: object) -> Any:
        raise TransactionError(
            f"{self._address} holds its own key: the service cannot sign for it (a stuck transaction is replaced "
            "by the member signing it again with higher fees)"
        )

    def __repr__(self) -> str:
        return f"MemberKey({self._address})"


# Built once: a write asks for its signer's keystore every time, and building the statement per call cost more CPU
# than running it (its cache key computed per call). Of table columns (Core), not the models' attributes: a select of
# ORM attributes run by a Session goes through the ORM's compile and loading steps on every execution (59 against
# 27 us for the key's look-up, measured in-process on SQLite).
_custody, _self_custody = table(CustodyAccount), table(SelfCustodyAccount)
_KEYSTORE_OF_MEMBER = select(_custody.c.keystore).where(_custody.c.member_id == bindparam("member_id"))
_SELF_CUSTODY_OF_MEMBER = select(_self_custody.c.account).where(_self_custody.c.member_id == bindparam("member_id"))


class Custody:
    def __init__(self, data_dir: Path, passphrase: str, scrypt_n: int = DEFAULT_SCRYPT_N) -> None:
        self.data_dir = data_dir
        self._passphrase = passphrase
        self._scrypt_n = scrypt_n
        self._cache: dict[str, LocalAccount] = {}
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}  # keystore name -> held while it is being decrypted

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
        keystore = session.scalar(_KEYSTORE_OF_MEMBER, {"member_id": member_id})
        return self._load(keystore) if keystore is not None else None

    def account_of_keystore(self, name: str) -> LocalAccount:
        """The account of keystore `name` (a member's `custody_accounts.keystore`, read by the caller in a
        statement of its own: a split's checks), decrypted once per process."""
        return self._load(name)

    def signer_of_member(self, session: Session, member_id: int) -> LocalAccount | None:
        """What signs for a member: its custodial key, or a `MemberKey` for a self-custody member."""
        custodial = self.account_of_member(session, member_id)
        if custodial is not None:
            return custodial
        own = session.scalar(_SELF_CUSTODY_OF_MEMBER, {"member_id": member_id})
        return MemberKey(str(own)) if own is not None else None

    def account_by_address(self, session: Session, address: str) -> LocalAccount | None:
        row = session.get(CustodyAccount, address)
        return self._load(row.keystore) if row else None

    def _load(self, name: str) -> LocalAccount:
        """The decrypted account of keystore `name`, decrypted once per process.

        Requests that want a key not yet decrypted wait for the one decrypting it: each decryption takes scrypt's
        memory (128 x N bytes, 256 MiB at the default N = 2**18) and 0.6 s of CPU here, so 48 writes of one
        member arriving together after a start decrypted it 48 times at once and took 12 GB (the kernel killed the
        service)."""
        with self._lock:
            cached = self._cache.get(name)
            if cached is not None:
                return cached
            loading = self._loading.setdefault(name, threading.Lock())
        with loading:
            with self._lock:
                cached = self._cache.get(name)
            if cached is not None:  # decrypted by the request this one waited for
                return cached
            account = load_key(self.data_dir, name, self._passphrase)
            with self._lock:
                self._cache[name] = account
                self._loading.pop(name, None)
            return account
