"""The middleware: a request id on every response, and an audit entry appended for every audited request before
its response starts; `record_tx_hash` is how the write pipeline names the transactions a request sent."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from anyio import to_thread

from api.audit.hashchain import utc_iso
from api.audit.models import MAX_PATH, AuditUnavailableError
from api.audit.spool import AuditDraft
from api.audit.writer import AuditLog
from api.logs import REQUEST_ID
from api.problems import PROBLEM_JSON, TYPE_BASE, catalogued, problem_start

log = logging.getLogger("scf.audit")

REQUEST_ID_HEADER = "X-Request-Id"
_READ_METHODS = frozenset({"GET", "HEAD"})
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_MAX_PROBLEM_BODY = 65_536  # problem bodies are small; a larger error body is passed on without its type

# In the scope's state: the audit log's check of a write that the body guard (api/body_guard.py, the next layer in)
# authenticates on a worker thread. The guard runs it first in that same thread call, before any check of its own:
# one thread hop a write instead of two. It raises AuditUnavailableError, answered here as before.
DEFERRED_AUDIT_CHECK = "audit_check"
GUARD_CHECKED_PREFIX = "/v1/"  # the writes the guard authenticates (api.body_guard.KEYED_PREFIX)
_GUARD_SKIPS = frozenset({"GET", "HEAD", "OPTIONS"})  # methods the guard lets through unchecked

_SENT_TX: ContextVar[list[str] | None] = ContextVar("scf_audit_sent_tx", default=None)


def record_tx_hash(tx_hash: str) -> None:
    """Called by the write pipeline for every transaction it signs and sends (or re-sends) for this request."""
    sent = _SENT_TX.get()
    if sent is not None and tx_hash not in sent:
        sent.append(tx_hash)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def is_audited(method: str, path: str) -> bool:
    if method not in ("GET", "HEAD"):
        return True
    return path.startswith(("/v1/verify/", "/v1/export/")) or path == "/v1/audit" or path.startswith("/v1/audit/")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _bearer(scope: Scope) -> str | None:
    value = _header(scope, b"authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def _problem_type(headers: list[tuple[bytes, bytes]], body: bytes) -> str | None:
    content_type = next((bytes(v).decode("latin-1") for k, v in headers if k.lower() == b"content-type"), "")
    if not content_type.startswith(PROBLEM_JSON):
        return None
    try:
        value = json.loads(body).get("type")
    except (ValueError, AttributeError):
        return None
    return str(value)[:255] if value is not None else None


class AuditMiddleware:
    """Pure ASGI: adds `X-Request-Id` to every response and appends an audit entry for audited requests.

    Successful responses pass through unbuffered (streaming keeps working); only error bodies (problem+json,
    small) are held until complete to read their `type`. The entry is appended before the response starts.
    """

    def __init__(self, app: ASGIApp, audit: AuditLog, *, guard_inside: bool = False) -> None:
        """`guard_inside`: the next layer in is api.body_guard.BodyGuard, which runs the log's check of the writes
        it authenticates (`DEFERRED_AUDIT_CHECK`); without it every action is checked here."""
        self.app = app
        self.audit = audit
        self.guard_inside = guard_inside

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given is not None and _REQUEST_ID_RE.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        REQUEST_ID.set(request_id)  # for the logs of this request (api.logs); the task's context ends with it
        id_header = (REQUEST_ID_HEADER.lower().encode(), request_id.encode())
        if not is_audited(scope["method"], scope["path"]):
            await self._run(scope, receive, send, id_header)
            return
        draft = AuditDraft(
            at=utc_iso(datetime.now(UTC)),
            request_id=request_id,
            method=str(scope["method"])[:16],
            path=str(scope["path"])[:MAX_PATH],
            action=None,
            idempotency_key=(_header(scope, b"idempotency-key") or None),
            status=0,
            problem_type=None,
            api_key=_bearer(scope),
        )
        if draft.idempotency_key is not None:
            draft.idempotency_key = draft.idempotency_key[:255]
        deferred = (
            self.guard_inside
            and str(scope["method"]) not in _GUARD_SKIPS
            and str(scope["path"]).startswith(GUARD_CHECKED_PREFIX)
        )
        if deferred:  # an action the body guard authenticates: it checks the log first, in the same thread call
            scope["state"][DEFERRED_AUDIT_CHECK] = self.audit.check_available
        elif draft.method not in _READ_METHODS:  # an action: refused unless the log can be read first
            try:
                await to_thread.run_sync(self.audit.check_available)
            except AuditUnavailableError as exc:
                await self._refuse(scope, send, draft, id_header, exc)
                return
        sent: list[str] = []
        token = _SENT_TX.set(sent)
        try:
            await self._run(scope, receive, send, id_header, draft, sent)
        finally:
            _SENT_TX.reset(token)

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        id_header: tuple[bytes, bytes],
        draft: AuditDraft | None = None,
        sent: list[str] | None = None,
    ) -> None:
        held_start: Message | None = None
        held_body: list[bytes] = []
        started = False

        async def finish(start: Message, problem_type: str | None) -> None:
            nonlocal started
            headers = [*start.get("headers", []), id_header]
            if draft is not None:
                # the endpoint's name (route factories rename theirs after registering: confirm_order...)
                endpoint = getattr(scope.get("route"), "endpoint", None)
                draft.action = getattr(endpoint, "__name__", None)
                draft.status = int(start["status"])
                draft.problem_type = problem_type
                draft.tx_hashes = list(sent or [])
                if await self._append(draft) is None:
                    headers.append((b"audit-pending", b"true"))
            started = True
            await send({**start, "headers": headers})

        async def audited_send(message: Message) -> None:
            nonlocal held_start
            if message["type"] == "http.response.start":
                if draft is not None and int(message["status"]) >= 400:
                    held_start = message  # hold an error until its body names the problem type
                    return
                await finish(message, None)
                return
            if message["type"] == "http.response.body" and held_start is not None:
                held_body.append(bytes(message.get("body", b"")))
                size = sum(len(part) for part in held_body)
                if message.get("more_body", False) and size <= _MAX_PROBLEM_BODY:
                    return
                start, held = held_start, b"".join(held_body)
                held_start = None
                kind = _problem_type(list(start.get("headers", [])), held) if size <= _MAX_PROBLEM_BODY else None
                await finish(start, kind)
                await send({**message, "body": held})
                return
            await send(message)

        try:
            await self.app(scope, receive, audited_send)
        except AuditUnavailableError as exc:  # the deferred check (DEFERRED_AUDIT_CHECK): nothing was done
            if started or draft is None:
                raise
            await self._refuse(scope, send, draft, id_header, exc)
        except Exception:
            if started:
                raise
            log.exception("unexpected failure in %s %s", scope["method"], scope["path"])
            problem = catalogued(500, "internal-error", "internal-error.service-failed-unexpectedly")
            body = json.dumps(problem.body(scope["path"])).encode()
            await finish(problem_start(500, body), problem.body()["type"])
            await send({"type": "http.response.body", "body": body})

    async def _append(self, draft: AuditDraft) -> int | None:
        try:  # waits on the writer thread's batch without holding one of the worker threads
            return await asyncio.wrap_future(self.audit.submit(draft))
        except AuditUnavailableError:
            return None  # logged with the full entry; the answer is still given (the action happened)

    async def _refuse(
        self, scope: Scope, send: Send, draft: AuditDraft, id_header: tuple[bytes, bytes], exc: Exception
    ) -> None:
        problem = catalogued(503, "audit-unavailable", "audit-unavailable.nothing-done")
        draft.status, draft.problem_type = 503, TYPE_BASE + problem.slug
        draft.action = None
        log.error("audit: log unavailable, refusing %s %s: %s", draft.method, draft.path, exc)
        pending = b"true"
        try:
            await to_thread.run_sync(self.audit.spool, draft)
        except AuditUnavailableError:
            pending = b"false"
        body = json.dumps(problem.body(str(scope["path"]))).encode()
        await send(problem_start(503, body, (b"audit-pending", pending), id_header))
        await send({"type": "http.response.body", "body": body})
