"""Request dependencies: database sessions and API-key authentication."""

from __future__ import annotations

import json
import re
from collections.abc import MutableMapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn, get_args

import fastapi
from eth_account.signers.local import LocalAccount
from fastapi import Depends, Request
from fastapi._compat import ModelField
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Connection, Engine, Executable, Select, bindparam, select
from sqlalchemy.orm import Session

from api.custody import Custody
from api.ledger import LedgerHandle, LedgerService, LedgerUnavailableError
from api.problems import catalogued
from api.schemas.core import MAX_ID
from api.settings import Settings
from api.tables import OPERATOR, ApiKey, hash_api_key
from api.threads import run_blocking
from api.writes import Workflow, WriteExecutor
from chain.readmodel.store import Member, table

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer scf_...`")


async def reject_unexpected_body(request: Request) -> None:
    """A write without a request model takes no body: fields sent to it are refused (422), never silently ignored.

    Without this, `POST /v1/financing/offers/{id}/accept` with `{"financier_id": ...}` would answer 200 and a
    client could believe it had chosen the financier. An empty body or `{}` is accepted (what curl helpers send).
    """
    route = request.scope.get("route")
    if request.method != "POST" or not isinstance(route, APIRoute) or route.body_field is not None:
        return
    raw = await request.body()
    if not raw.strip():
        return
    try:
        body = json.loads(raw)
    except ValueError:
        body = "not JSON"
    if body == {} or body is None:
        return
    fields = sorted(str(name) for name in body) if isinstance(body, dict) else []
    errors = [{"location": f"body.{name}", "message": "Extra inputs are not permitted"} for name in fields]
    if fields:
        raise catalogued(
            422, "validation-error", "validation-error.no-body-fields", {"fields": ", ".join(fields)}, errors=errors
        )
    raise catalogued(422, "validation-error", "validation-error.no-body", errors=errors)


def _beyond_storage(raw: str | None) -> bool:
    text = (raw or "").strip()
    return re.fullmatch(r"-?[0-9]+", text) is not None and abs(int(text)) > MAX_ID  # ASCII digits only


def _integer_params(request: Request) -> tuple[frozenset[str], frozenset[str]]:
    """The names of the route's path and query parameters declared as integers: worked out once per route (its
    parameters do not change once it is built) and kept on the route, not worked out on every request."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return frozenset(), frozenset()
    known: tuple[frozenset[str], frozenset[str]] | None = getattr(route, _INTEGERS_ATTR, None)
    if known is None:

        def integers(fields: list[ModelField]) -> frozenset[str]:
            return frozenset(
                f.alias for f in fields if int in (get_args(f.field_info.annotation) or (f.field_info.annotation,))
            )

        known = (integers(route.dependant.path_params), integers(route.dependant.query_params))
        setattr(route, _INTEGERS_ATTR, known)
    return known


_INTEGERS_ATTR = "_scf_integer_params"  # on the APIRoute (routes are not hashable: no weak-keyed cache)


async def refuse_ids_beyond_storage(request: Request) -> None:
    """Integer path and query values are written as integers, and stay within what the read model stores.

    `GET /v1/notes/1.0` (or `?cursor=4.0`) is a 422: pydantic's lax mode would read it as 1. A number larger
    than the read model stores (2**63 - 1) names nothing: path ids answer 404 and query values 422 before any
    lookup: SQLite cannot even compare such a number with a column (it raised OverflowError, a 500, on every
    `/{id}` route).
    """
    path_ints, query_ints = _integer_params(request)
    for name, raw in request.path_params.items():
        if name in path_ints and not _INTEGER.fullmatch(str(raw)):
            _not_an_integer("path", name)
        if _beyond_storage(str(raw)):
            params = {"name": name, "raw": raw, "max_id": MAX_ID}
            raise catalogued(404, "not-found", "not-found.id-beyond-storage", params)
    for name, raw in request.query_params.multi_items():
        if name in query_ints and not _INTEGER.fullmatch(raw):
            _not_an_integer("query", name)
        if _beyond_storage(raw):
            message = f"Input should be less than or equal to {MAX_ID}"
            errors = [{"location": f"query.{name}", "message": message}]
            params = {"location": f"query.{name}", "max_id": MAX_ID}
            raise catalogued(422, "validation-error", "validation-error.id-too-large", params, errors=errors)


_INTEGER = re.compile(r"-?[0-9]+")


async def check_request(request: Request) -> None:
    """Every route's own checks (`reject_unexpected_body`, then `refuse_ids_beyond_storage`) as one dependency:
    FastAPI's solving costs each request per dependency, whatever it does."""
    await reject_unexpected_body(request)
    await refuse_ids_beyond_storage(request)


def _not_an_integer(where: str, name: str) -> NoReturn:
    message = "Input should be an integer written with digits only"
    errors = [{"location": f"{where}.{name}", "message": message}]
    raise catalogued(
        422, "validation-error", "validation-error.not-integer", {"location": f"{where}.{name}"}, errors=errors
    )


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency on a worker thread, one hop
# there and back per dependency per request (about 0.1 ms of CPU each, measured). The ones that query the
# database stay `def`.


def request_session(request: Request) -> Session:
    """The request's session (one per request, made on the first call). Opening one does no I/O (it connects on
    first use); closing it may (returning the connection to the pool rolls back), so that runs on a worker thread,
    unless the session holds no connection (never used, or the route closed it on its own thread:
    `api.routes.prepared`).

    Closed where a `yield` dependency's clean-up runs (the request's exit stack: after the answer is sent, or before
    an exception goes to its handler), without being one: FastAPI enters a generator dependency through a context
    manager, an anyio cancel scope and a shielded exit, about a third of a write's dependency solving. The hot
    routes' own dependencies (`write_deps`, the verifications' caller) call this rather than depend on `DbSession`:
    one dependency less to solve."""
    state = request.state
    session: Session | None = getattr(state, "db_session", None)
    if session is None:
        session = Session(request.app.state.engine)
        state.db_session = session  # a write gives its connection back while it waits (api/writes.py)
        request_exit_stack(request).push_async_callback(_close_session, session)
    return session


async def db_session(request: Request) -> Session:
    """`request_session` as a dependency (`DbSession`)."""
    return request_session(request)


def request_exit_stack(request: Request) -> AsyncExitStack:
    """The exit stack FastAPI keeps for the request (`yield` dependencies of the default scope close on it)."""
    stack = request.scope.get(_REQUEST_STACK)
    if not isinstance(stack, AsyncExitStack):  # FastAPI sets it for every route it handles
        raise RuntimeError(f"{_REQUEST_STACK} is not in the request's scope (FastAPI {fastapi.__version__})")
    return stack


_REQUEST_STACK = "fastapi_inner_astack"


async def _close_session(session: Session) -> None:
    if session.in_transaction():
        await run_blocking(session.close)  # as anyio's hop did: a cancelled request still waits for the close
    else:  # no connection (never used, or a write gave it back): closing does no I/O, no worker-thread hop
        session.close()


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


# One statement with plain rows (no ORM objects), built once: every request pays for it. Of table columns (Core): a
# select of the models' attributes run by a Session takes the ORM's compile and loading steps on every execution
# (59 against 27 us for this one, in-process on SQLite).
_api_keys, _members = table(ApiKey), table(Member)
_KEY_PRINCIPAL = (
    select(_api_keys.c.member_id, _members.c.id, _members.c.roles, _members.c.status)
    .select_from(_api_keys.outerjoin(_members, _members.c.id == _api_keys.c.member_id))
    .where(_api_keys.c.key_hash == bindparam("key_hash"), _api_keys.c.revoked_at.is_(None))
)


def principal_for_key(session: Session | Connection, scheme: str | None, key: str | None) -> Principal:
    """The principal an `Authorization: <scheme> <key>` header names; 401 when it names none.

    Also called by api.body_guard before a write's body is read, so an unauthenticated request is refused
    without its body being parsed."""
    principal, _ = principal_with(session, scheme, key, _KEY_PRINCIPAL, {})
    return principal


def key_principal_with(*columns: ColumnElement[Any]) -> Select[*tuple[Any, ...]]:
    """The caller's lookup with more columns after its own: a read route's first statement (scalar subqueries, or
    the columns of a table outer-joined to it) answered in the same round trip as the key (`principal_with`).
    Build it once, at import."""
    return _KEY_PRINCIPAL.add_columns(*columns)


def principal_with(
    session: Session | Connection, scheme: str | None, key: str | None, statement: Executable, params: dict[str, Any]
) -> tuple[Principal, tuple[Any, ...]]:
    """`principal_for_key` with the values of the extra columns of `statement` (`key_principal_with`), bound with
    `params`: every check of the key and its member (and every 401) as `principal_for_key`, before the route
    looks at the values. Nothing is cached: a revoked key or a member gone is refused on the next request."""
    if not key or scheme is None or scheme.lower() != "bearer":
        raise catalogued(401, "unauthorized", "unauthorized.send-key")
    row = session.execute(statement, {"key_hash": hash_api_key(key), **params}).first()
    if row is None:
        raise catalogued(401, "unauthorized", "unauthorized.unknown-key")
    key_member, member_id, roles, status = row[:4]
    if key_member == OPERATOR:
        return Principal(member_id=OPERATOR), tuple(row[4:])
    if member_id is None:
        raise catalogued(401, "unauthorized", "unauthorized.member-not-on-ledger")
    return Principal(member_id=int(member_id), roles=int(roles), status=str(status)), tuple(row[4:])


def _scheme_key(credentials: HTTPAuthorizationCredentials | None) -> tuple[str | None, str | None]:
    return (credentials.scheme, credentials.credentials) if credentials is not None else (None, None)


_PRINCIPAL = "principal"  # in the request's scope state: (Authorization header, the principal it names)


def remember_principal(scope: MutableMapping[str, Any], authorization: str | None, principal: Principal) -> None:
    """The principal api.body_guard found for a write's `Authorization`, kept for `current_principal`."""
    scope.setdefault("state", {})[_PRINCIPAL] = (authorization, principal)


async def current_principal(
    request: Request,
    session: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Who calls. A write's key was already looked up by the body guard (before its body was read): that answer is
    taken, which spares a second query, a worker-thread hop and, above all, a pooled connection held from here to
    the route (with 128 writes in flight those took the whole pool while their routes waited for a thread)."""
    remembered = request.scope.get("state", {}).get(_PRINCIPAL)
    if remembered is not None and remembered[0] == request.headers.get("authorization"):
        principal: Principal = remembered[1]
        return principal
    return await run_in_threadpool(principal_for_key, session, *_scheme_key(credentials))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def require_operator(principal: CurrentPrincipal) -> Principal:
    if not principal.is_operator:
        raise catalogued(403, "forbidden", "forbidden.operator-only")
    return principal


Operator = Annotated[Principal, Depends(require_operator)]


async def ledger_handle(request: Request) -> LedgerHandle:
    service: LedgerService = request.app.state.ledger
    handle = service.connected
    if handle is not None:
        return handle
    # the first request (or the first after the chain came back) connects, off the event loop
    return await run_in_threadpool(connected_ledger, service)


def connected_ledger(service: LedgerService) -> LedgerHandle:
    """The ledger handle, connecting first if needed (blocking: call it from a worker thread); 503 while the chain
    does not answer."""
    handle = service.connected
    if handle is not None:
        return handle
    try:
        return service.get()
    except LedgerUnavailableError as exc:
        raise catalogued(503, "chain-unavailable", "chain-unavailable.reason", {"reason": str(exc)}) from exc


Ledger = Annotated[LedgerHandle, Depends(ledger_handle)]


async def write_executor(request: Request) -> WriteExecutor:
    executor: WriteExecutor = request.app.state.writes
    return executor


async def custody(request: Request) -> Custody:
    value: Custody = request.app.state.custody
    return value


Writes = Annotated[WriteExecutor, Depends(write_executor)]
CustodyDep = Annotated[Custody, Depends(custody)]


def acting_account(custody: Custody, session: Session, principal: Principal) -> LocalAccount:
    """What signs for the calling member: its custodial key, or (self-custody) a `MemberKey`, for which the write
    path answers 202 with the transaction to sign (api/selfcustody.py)."""
    if principal.is_operator:
        raise catalogued(403, "forbidden", "forbidden.operator-use-member-key")
    account = custody.signer_of_member(session, principal.member_id)
    if account is None:
        raise catalogued(403, "forbidden", "forbidden.member-key-held", {"member_id": principal.member_id})
    return account


@dataclass(frozen=True)
class OffChainWriteDeps:
    """Everything a write needs, from one dependency: the request, its session, who calls, the write pipeline
    (api/writes.py) and the custody of keys. This form is for the writes of service data that send no
    transaction and work while the chain is down (an API key issued); `WriteDeps` adds the ledger."""

    request: Request
    session: Session
    principal: Principal
    writes: WriteExecutor
    custody: Custody

    @property
    def settings(self) -> Settings:
        settings: Settings = self.request.app.state.settings
        return settings

    @property
    def currency(self) -> str:
        return self.settings.currency

    @property
    def engine(self) -> Engine:
        engine: Engine = self.request.app.state.engine
        return engine

    def account(self, keystore: str | None = None) -> LocalAccount:
        """The acting account: what signs for the calling member (403 for the operator, or a member whose key
        the API does not hold). A route calls it where its checks put that refusal. `keystore`: the caller's
        custodial keystore when the route's own statement read it (a split's checks): no look-up of its own;
        None looks it up (and falls back to self-custody)."""
        if keystore is not None and not self.principal.is_operator:
            return self.custody.account_of_keystore(keystore)
        return acting_account(self.custody, self.session, self.principal)

    def started(self, fingerprint: str | bytes | BaseModel) -> bool:
        """True when a first attempt of this request already got past the route's checks (WriteExecutor.started)."""
        return self.writes.started(self.request, self.principal.member_id, _fingerprint(fingerprint))

    def run(self, fingerprint: str | bytes | BaseModel, workflow: Workflow) -> JSONResponse:
        """Runs `workflow` through the write pipeline, idempotent under the request's `Idempotency-Key`;
        `fingerprint` is what a retry with the same key must repeat (the body, and the path's ids)."""
        raw = _fingerprint(fingerprint)
        return self.writes.run(self.request, self.principal.member_id, raw, self._ledger(), workflow)

    def _ledger(self) -> LedgerHandle | None:
        return None


@dataclass(frozen=True)
class WriteDeps(OffChainWriteDeps):
    """The bundle of a write on the ledger (`Write`; `OperatorWrite` for the operator's): `OffChainWriteDeps`
    and the ledger. A write route hands it to its service."""

    ledger: LedgerHandle

    def _ledger(self) -> LedgerHandle | None:
        return self.ledger


def _fingerprint(value: str | bytes | BaseModel) -> bytes:
    if isinstance(value, BaseModel):
        return value.model_dump_json().encode()
    return value.encode() if isinstance(value, str) else value


async def write_deps(  # no I/O of its own: `async`, no worker-thread hop
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> WriteDeps:
    """The request's session, who calls (as `current_principal`), the ledger, the write pipeline and the custody are
    taken here, not as dependencies of their own: every dependency costs each write FastAPI's solving (a split's
    route had eight; three now: this, the bearer credentials, which declare the security scheme, and the app's
    `check_request`)."""
    session = request_session(request)  # the same as a `DbSession` of the same request (an operator's write)
    principal = await current_principal(request, session, credentials)  # called, not a dependency of its own
    state = request.app.state
    ledger = await ledger_handle(request)
    return WriteDeps(
        request=request, session=session, principal=principal, writes=state.writes, custody=state.custody, ledger=ledger
    )


Write = Annotated[WriteDeps, Depends(write_deps)]


async def operator_write_deps(_operator: Operator, w: Write) -> WriteDeps:
    """The write bundle of an operator-only write: 403 for anyone else, before the ledger is reached."""
    return w


OperatorWrite = Annotated[WriteDeps, Depends(operator_write_deps)]


async def off_chain_write_deps(
    request: Request, session: DbSession, principal: CurrentPrincipal, writes: Writes, custody: CustodyDep
) -> OffChainWriteDeps:
    return OffChainWriteDeps(request=request, session=session, principal=principal, writes=writes, custody=custody)


OffChainWrite = Annotated[OffChainWriteDeps, Depends(off_chain_write_deps)]
