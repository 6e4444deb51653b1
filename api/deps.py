"""Request dependencies: database sessions and API-key authentication."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.custody import Custody
from api.ledger import LedgerHandle, LedgerUnavailableError
from api.problems import Problem
from api.tables import OPERATOR, ApiKey, hash_api_key
from api.writes import WriteExecutor
from chain.store import Member

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer scf_...`")


def db_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


DbSession = Annotated[Session, Depends(db_session)]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the operator (member_id 0) or a member with its on-chain roles."""

    member_id: int
    roles: int = 0
    status: str = "active"

    @property
    def is_operator(self) -> bool:
        return self.member_id == OPERATOR

    def has_role(self, mask: int) -> bool:
        return bool(self.roles & mask)


def current_principal(
    session: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem(401, "unauthorized", "Unauthorized", "send an API key as `Authorization: Bearer <key>`")
    key = session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_api_key(credentials.credentials), ApiKey.revoked_at.is_(None))
    )
    if key is None:
        raise Problem(401, "unauthorized", "Unauthorized", "the API key is unknown or revoked")
    if key.member_id == OPERATOR:
        return Principal(member_id=OPERATOR)
    member = session.get(Member, key.member_id)
    if member is None:
        raise Problem(401, "unauthorized", "Unauthorized", "the API key's member is not on the ledger yet")
    return Principal(member_id=member.id, roles=member.roles, status=member.status)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_operator(principal: CurrentPrincipal) -> Principal:
    if not principal.is_operator:
        raise Problem(403, "forbidden", "Forbidden", "only the consortium operator may do this")
    return principal


Operator = Annotated[Principal, Depends(require_operator)]


def ledger_handle(request: Request) -> LedgerHandle:
    try:
        handle: LedgerHandle = request.app.state.ledger.get()
    except LedgerUnavailableError as exc:
        raise Problem(503, "chain-unavailable", "Chain unavailable", str(exc)) from exc
    return handle


Ledger = Annotated[LedgerHandle, Depends(ledger_handle)]


def write_executor(request: Request) -> WriteExecutor:
    executor: WriteExecutor = request.app.state.writes
    return executor


def custody(request: Request) -> Custody:
    value: Custody = request.app.state.custody
    return value


Writes = Annotated[WriteExecutor, Depends(write_executor)]
CustodyDep = Annotated[Custody, Depends(custody)]
