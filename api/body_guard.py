"""Request bodies are checked before anything parses them: size, key, encoding, nesting depth, duplicate keys.

One pure ASGI middleware (not BaseHTTPMiddleware: a streamed body is counted as it arrives and cut at the limit).
For a request that carries a body (any method but GET, HEAD and OPTIONS):

1. a `Content-Length` above the limit is refused (413) before a byte of the body is read;
2. a write to `/v1/...` checks its API key (401) before the body is read: every such operation needs one
   (tests/api/test_hostile_input.py checks the published spec says so), so no route lookup is needed here; the
   principal found is handed to the route's `current_principal` (api/deps.py), which then does not look it up again.
   The audit log's check of such a write (api/audit/middleware.py) is made by that same statement (it reads the
   log's head beside the key); a look-up refused or failed asks the log's own check, whose refusal (503) wins;
3. the body is read up to the limit (413 as soon as a streamed body, without `Content-Length`, passes it);
4. a JSON body (no content type, `application/json` or `+json`) must be UTF-8: a declared charset other than
   UTF-8 is refused (415), bytes that are not UTF-8 too (400);
5. its nesting depth is measured by a scan that does not recurse (400 beyond the limit), so the recursive JSON
   parser behind it only ever sees shallow documents;
6. an object with the same key twice is refused (400): `json.loads` keeps the last one silently, so
   `{"value": "1.00", "value": "900.00"}` split 900.00.

The body then goes on to the app unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Any

from anyio import to_thread
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from starlette.datastructures import Headers
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.audit.middleware import DEFERRED_AUDIT_CHECK
from api.audit.writer import HEAD_SEQ
from api.deps import Principal, key_principal_with, principal_for_key, principal_with, remember_principal
from api.problems import Problem, catalogued, database_unavailable, problem_response
from api.threads import run_blocking

_BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# the caller's key and the audit head in one statement (`BodyGuard._authenticate`)
_KEY_AND_AUDIT_HEAD = key_principal_with(HEAD_SEQ.label("audit_head_seq"))
KEYED_PREFIX = "/v1/"  # every write under it needs an API key
# a JSON string (escapes included), removed before counting brackets: brackets inside strings are text
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_STEP = [0] * 256
_DEPTH_STEP[ord("[")] = _DEPTH_STEP[ord("{")] = 1
_DEPTH_STEP[ord("]")] = _DEPTH_STEP[ord("}")] = -1


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text, without recursion (C-speed passes only)."""
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


class DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise DuplicateKeyError(key)
        obj[key] = value
    return obj


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in ("", "application/json") or (media.startswith("application/") and media.endswith("+json"))


def _charset(content_type: str | None) -> str | None:
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def check_json_body(body: bytes, content_type: str | None, max_depth: int) -> Problem | None:
    """Why this JSON body must not reach the parser, or None."""
    charset = _charset(content_type)
    if charset is not None and charset not in ("utf-8", "utf8"):
        return catalogued(415, "unsupported-media-type", "unsupported-media-type.charset", {"charset": charset})
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return catalogued(400, "invalid-encoding", "invalid-encoding.not-utf8", {"byte": exc.start})
    if not body.strip():
        return None
    depth = json_depth(body)
    if depth > max_depth:
        params = {"depth": depth, "max_depth": max_depth}
        return catalogued(400, "json-too-deep", "json-too-deep.levels", params, maxDepth=max_depth)
    try:
        json.loads(body, object_pairs_hook=_refuse_duplicates)
    except DuplicateKeyError as exc:
        return catalogued(400, "duplicate-json-key", "duplicate-json-key.twice", {"key": repr(exc.key)}, key=exc.key)
    except ValueError:
        return None  # not JSON: the app's own parser answers it (422 validation-error)
    return None


class BodyGuard:
    def __init__(
        self, app: ASGIApp, *, routes: Sequence[BaseRoute], engine: Engine, max_bytes: int, max_depth: int
    ) -> None:
        self.app = app
        self.routes = routes  # the API's own routes: a refusal names the operation (the audit log's `action`)
        self.engine = engine
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _BODYLESS_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        # the audit log's check (api/audit/middleware.py), left to this layer's worker-thread call: it comes first
        audit_check: Callable[[], None] | None = scope.get("state", {}).pop(DEFERRED_AUDIT_CHECK, None)
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            if audit_check is not None:
                await to_thread.run_sync(audit_check)
            await self._refuse(scope, receive, send, self._too_large(f"Content-Length is {int(length)} bytes"))
            return
        if str(scope["path"]).startswith(KEYED_PREFIX):
            scheme, key = get_authorization_scheme_param(headers.get("authorization"))
            try:
                principal = await run_blocking(self._authenticate, scheme or None, key or None, audit_check)
            except Problem as refused:
                await self._refuse(scope, receive, send, refused)
                return
            except OperationalError as exc:  # the key cannot be looked up: nothing was read or done
                await self._refuse(scope, receive, send, database_unavailable(exc))
                return
            remember_principal(scope, headers.get("authorization"), principal)  # `current_principal` looks no more
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(body) > self.max_bytes:
                await self._refuse(scope, receive, send, self._too_large("the streamed body passed it"))
                return
        content_type = headers.get("content-type")
        invalid = check_json_body(bytes(body), content_type, self.max_depth) if _is_json(content_type) else None
        if invalid is not None:
            await self._refuse(scope, receive, send, invalid)
            return
        await self.app(scope, _replay(bytes(body), receive), send)

    def _authenticate(self, scheme: str | None, key: str | None, audit_check: Callable[[], None] | None) -> Principal:
        # one Core statement on a plain connection: no Session to set up and close around it (about 35 us a write)
        if audit_check is None:
            with self.engine.connect() as conn:
                return principal_for_key(conn, scheme, key)
        # The log's check rides in the key's statement (it reads the audit head too): when that statement runs, the
        # log could be read. A refusal before it ran (no key) or a failed statement asks the log's own check, which
        # raises AuditUnavailableError (the audit middleware refuses the request: 503 before any 401, as before).
        try:
            with self.engine.connect() as conn:
                return principal_with(conn, scheme, key, _KEY_AND_AUDIT_HEAD, {})[0]
        except (Problem, SQLAlchemyError):
            audit_check()
            raise

    def _too_large(self, why: str) -> Problem:
        params = {"max_bytes": self.max_bytes, "why": why}
        return catalogued(413, "content-too-large", "content-too-large.limit", params, maxBytes=self.max_bytes)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, problem: Problem) -> None:
        for route in self.routes:
            if route.matches(scope)[0] is Match.FULL:
                scope["route"] = route  # as the router would have set it
                break
        await problem_response(problem, scope["path"])(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, as one message; then the connection's own messages (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
