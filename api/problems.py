"""RFC 9457 problem+json responses with stable types; the catalogue lives in docs/errors.md.

`title` and `detail` follow the caller's `Accept-Language` (zh-CN or en, api/i18n): a problem is built in English
and carries the catalogue keys of its title and detail with the detail's parameters (`I18N_MEMBER`, kept in stored
idempotent answers too); `ProblemLanguage`, the outermost middleware, renders them in the negotiated language,
drops that member and says `Content-Language`. The `type` never changes."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import requests
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from web3.exceptions import BadFunctionCallOutput, Web3RPCError

from api import i18n
from chain.node.errors import HistoricalStateUnavailableError, is_historical_state_missing

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://scf-chain.dev/problems/"
I18N_MEMBER = "_i18n"  # the catalogue keys and parameters of a body's title and detail; never sent to a client
# A scope key: the request is run again inside the app (api/selfcustody.py `redispatch`), whose answer the outer
# request's `ProblemLanguage` localizes; the inner pass leaves problem bodies with their catalogue keys.
INNER_REQUEST = "scf.inner_request"


class Problem(Exception):
    """An error a client should see: a stable slug, an HTTP status and a human detail."""

    def __init__(self, status: int, slug: str, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.extra = extra
        self.title_key = TITLE_PREFIX + slug
        self.detail_key: str | None = None  # None: the detail has no catalogue template and stays in English
        self.params: dict[str, Any] = {}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        body[I18N_MEMBER] = {"title": self.title_key, "detail": self.detail_key, "params": self.params}
        return body


TITLE_PREFIX = "problem.title."
DETAIL_PREFIX = "problem.detail."


def _plain(value: Any) -> Any:
    """A detail parameter as JSON keeps it (it is stored with an idempotent answer)."""
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def catalogued(
    status: int,
    slug: str,
    detail_key: str,
    params: Mapping[str, Any] | None = None,
    /,
    *,
    title_key: str | None = None,
    **extra: Any,
) -> Problem:
    """A problem whose title and detail come from the catalogue (api/i18n): `problem.title.<slug>` (or
    `title_key`) and `problem.detail.<detail_key>`, formatted with `params`; built in English, answered in the
    caller's language."""
    values = {name: _plain(value) for name, value in (params or {}).items()}
    title_key = title_key or TITLE_PREFIX + slug
    title = i18n.text(i18n.DEFAULT, title_key, **values)
    built = Problem(status, slug, title, i18n.text(i18n.DEFAULT, DETAIL_PREFIX + detail_key, **values), **extra)
    built.title_key, built.detail_key, built.params = title_key, DETAIL_PREFIX + detail_key, values
    return built


def localize(body: dict[str, Any], language: str) -> bool:
    """Renders a problem body's title and detail in `language`, in place, and drops its catalogue member (also in
    a nested `cause`). True when the detail is in `language` (False: it stayed in English, no template)."""
    keys = body.pop(I18N_MEMBER, None)
    cause = body.get("cause")
    if isinstance(cause, dict):
        localize(cause, language)
    if not isinstance(keys, dict):
        slug = str(body.get("type", "")).removeprefix(TYPE_BASE)
        keys = {"title": TITLE_PREFIX + slug, "detail": None, "params": {}}
    given = keys.get("params")
    params: dict[str, Any] = given if isinstance(given, dict) else {}
    title = _render(language, keys.get("title"), params)
    if title is not None:
        body["title"] = title
    detail = _render(language, keys.get("detail"), params)
    if detail is not None:
        body["detail"] = detail
        return True
    return language == i18n.DEFAULT


def _render(language: str, key: Any, params: Mapping[str, Any]) -> str | None:
    if not isinstance(key, str):
        return None
    try:
        return i18n.message(language, key, params)
    except (KeyError, IndexError, ValueError):  # a stored answer's parameters from an older catalogue
        return None


class ProblemLanguage:
    """ASGI middleware (outermost): every `application/problem+json` answer, whoever built it (handlers, the body
    guard, the audit middleware, a replayed idempotent answer), gets its title and detail in the language the
    request's `Accept-Language` prefers, `Content-Language` and `Vary: Accept-Language`. Other answers pass as
    they are."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get(INNER_REQUEST):
            await self.app(scope, receive, send)
            return
        accept = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept-language"), None)
        language = i18n.negotiate(accept)
        start: Message | None = None
        chunks: list[bytes] = []

        async def localized_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                content_type = next((v for k, v in message.get("headers", []) if k.lower() == b"content-type"), b"")
                if content_type.split(b";")[0].strip() == PROBLEM_JSON.encode():
                    start = message
                    return
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body, languages = _localized(b"".join(chunks), language)
                headers = [
                    (k, v)
                    for k, v in start.get("headers", [])
                    if k.lower() not in (b"content-length", b"content-language")
                ]
                headers += [
                    (b"content-length", str(len(body)).encode()),
                    (b"content-language", languages.encode()),
                    (b"vary", b"Accept-Language"),
                ]
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, localized_send)


def problem_start(status: int, body: bytes, *headers: tuple[bytes, bytes]) -> dict[str, Any]:
    """The ASGI `http.response.start` message of a problem+json answer of `body` written by a middleware itself
    (below the app's exception handlers): its content type and length, then `headers`."""
    framing = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    return {"type": "http.response.start", "status": status, "headers": [*framing, *headers]}


def localized_body(body: dict[str, Any], language: str) -> tuple[bytes, str]:
    """A problem body (`Problem.body`) encoded as `ProblemLanguage` answers it, and its Content-Language: for an
    answer made outside that middleware (api/workers.py, a reader that cannot reach the writer)."""
    return _localized(json.dumps(body).encode(), language)


def _localized(raw: bytes, language: str) -> tuple[bytes, str]:
    """The problem body in `language` and its Content-Language (both languages when the detail stayed English)."""
    try:
        body = json.loads(raw)
    except ValueError:
        return raw, i18n.DEFAULT
    if not isinstance(body, dict):
        return raw, i18n.DEFAULT
    whole = localize(body, language)
    encoded = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    return encoded, language if whole else f"{language}, {i18n.DEFAULT}"


def problem_response(
    problem: Problem, instance: str | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The problem as a response; a 401 says how to authenticate (`WWW-Authenticate`, RFC 9110 section 11.6.1)."""
    all_headers = dict(headers or {})
    if problem.status == 401:
        all_headers.setdefault("WWW-Authenticate", 'Bearer realm="scf"')
    return JSONResponse(
        problem.body(instance), status_code=problem.status, media_type=PROBLEM_JSON, headers=all_headers or None
    )


_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("content-too-large", "Content too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Invalid request"),
}


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `type` is stable (docs/errors.md), extra members carry context",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
}


def document_problems(app: FastAPI) -> None:
    """Declare in the OpenAPI spec what the handlers below send: every error is problem+json.

    FastAPI documents 422 as `application/json` with its own validation body, which this service never sends;
    every 4xx/5xx an operation lists, and a `default` response for the rest, get the problem+json schema.
    """
    generate = app.openapi
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = generate()
        spec.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        for path_item in spec.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.setdefault("responses", {})
                for code, response in responses.items():
                    if code[0] in "45":
                        response["content"] = content
                responses.setdefault("default", {"description": "An error, as problem+json", "content": content})
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def install_handlers(app: FastAPI) -> None:
    document_problems(app)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = list(exc.errors())
        errors = [
            {"location": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")} for err in raw
        ]
        params = {"errors": _joined(errors), "errors_zh": _joined(_validation_messages(raw, "zh-CN"))}
        problem = catalogued(422, "validation-error", "validation-error.fields", params, errors=errors)
        return problem_response(problem, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        problem = framework_problem(exc.status_code, str(exc.detail))
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # the router names one route's methods; the path may have several routes
            allowed = allowed_methods(app, request.url.path)
            if allowed:
                headers["Allow"] = ", ".join(allowed)
        return problem_response(problem, request.url.path, headers)

    @app.exception_handler(requests.RequestException)
    async def _chain(request: Request, exc: requests.RequestException) -> JSONResponse:
        params = {"reason": str(exc)}  # web3's HTTP provider raises these
        problem = catalogued(503, "chain-unavailable", "chain-unavailable.read-unanswered", params)
        return problem_response(problem, request.url.path)

    @app.exception_handler(HistoricalStateUnavailableError)
    async def _state_gone(request: Request, exc: HistoricalStateUnavailableError) -> JSONResponse:
        return problem_response(state_not_retained(request, exc.block, exc.node_message), request.url.path)

    @app.exception_handler(Web3RPCError)
    async def _node_error(request: Request, exc: Web3RPCError) -> JSONResponse:
        message = str(exc)  # a read through web3 (a contract view at a block) that the node answered with an error
        if is_historical_state_missing(message):
            return problem_response(state_not_retained(request, None, message), request.url.path)
        problem = catalogued(502, "chain-error", "chain-error.node-refused-read", {"message": message})
        return problem_response(problem, request.url.path)

    @app.exception_handler(BadFunctionCallOutput)
    async def _no_output(request: Request, exc: BadFunctionCallOutput) -> JSONResponse:
        problem = catalogued(502, "chain-error", "chain-error.empty-call", {"reason": str(exc)})
        return problem_response(problem, request.url.path)

    @app.exception_handler(OperationalError)
    async def _database(request: Request, exc: OperationalError) -> JSONResponse:
        return problem_response(database_unavailable(exc), request.url.path)

    @app.exception_handler(PoolTimeoutError)
    async def _pool(request: Request, exc: PoolTimeoutError) -> JSONResponse:
        return problem_response(database_unavailable(exc), request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - safety net
        if isinstance(exc, OperationalError | PoolTimeoutError):  # raised in a middleware, outside the handlers
            return problem_response(database_unavailable(exc), request.url.path)
        problem = catalogued(500, "internal-error", "internal-error.service-failed-unexpectedly")
        return problem_response(problem, request.url.path)


# What the framework (Starlette, FastAPI) says itself in an HTTPException, and the catalogue template that says it
# (`problem.detail.http.<...>`); its status phrases ("Not Found", "Method Not Allowed") are `http.<status>`.
FRAMEWORK_DETAILS = {"There was an error parsing the body": "http.body-unparsable"}


def framework_problem(status: int, detail: str) -> Problem:
    """The problem for an HTTPException the framework raised: its known words from the catalogue (the status
    phrase, the body it could not parse), any other message quoted as it said it inside a catalogued frame."""
    slug = _HTTP_SLUGS.get(status, ("http-error", "HTTP error"))[0]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = None
    key = FRAMEWORK_DETAILS.get(detail)
    if key is None and detail == phrase and f"{DETAIL_PREFIX}http.{status}" in i18n.catalogue(i18n.DEFAULT):
        key = f"http.{status}"
    return catalogued(status, slug, key or "http.other", {"message": detail})


def _joined(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{e['location']}: {e['message']}" for e in errors) or "invalid request"


def _validation_messages(raw: list[Any], language: str) -> list[dict[str, Any]]:
    """Pydantic's error messages in `language` where the catalogue has the error type (`validation.<type>`, with
    the error's context), else pydantic's English."""
    out = []
    for err in raw:
        context = {k: _plain(v) for k, v in (err.get("ctx") or {}).items()}
        if err.get("type") == "json_invalid" and isinstance(context.get("error"), str):
            context["error"] = _json_message(language, context["error"])
        try:
            said = i18n.message(language, "validation." + str(err.get("type", "")), context)
        except (KeyError, IndexError, ValueError):
            said = None
        out.append({"location": ".".join(str(p) for p in err.get("loc", ())), "message": said or err.get("msg", "")})
    return out


# The JSON decoder's messages (Python's `json`, which FastAPI reports as `json_invalid`) and the catalogue key
# of each (`validation.json.<key>`, Chinese only: the English is the decoder's).
_JSON_MESSAGES = (
    ("Expecting value", "expecting_value"),
    ("Expecting ',' delimiter", "expecting_comma"),
    ("Expecting ':' delimiter", "expecting_colon"),
    ("Expecting property name enclosed in double quotes", "expecting_property_name"),
    ("Extra data", "extra_data"),
    ("Unterminated string starting at", "unterminated_string"),
    ("Invalid control character", "control_character"),
    ("Invalid \\uXXXX escape", "invalid_unicode_escape"),
    ("Invalid \\escape", "invalid_escape"),
    ("Illegal trailing comma before end of object", "trailing_comma_object"),
    ("Illegal trailing comma before end of array", "trailing_comma_array"),
)


def _json_message(language: str, said: str) -> str:
    """The JSON decoder's message `said` in `language` where the catalogue has it, else as it said it."""
    for prefix, key in _JSON_MESSAGES:
        if said.startswith(prefix):
            return i18n.message(language, "validation.json." + key) or said
    return said


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the published spec documents for `path` (RFC 9110: a 405's `Allow` lists them all)."""
    templates: list[tuple[re.Pattern[str], list[str]]] | None = getattr(app.state, "allow_templates", None)
    if templates is None:
        templates = []
        for template, item in app.openapi().get("paths", {}).items():
            regex = re.compile(
                "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in _PARTS.split(template))
            )
            templates.append((regex, sorted(m.upper() for m in item if m in _METHODS)))
        app.state.allow_templates = templates
    return sorted({m for regex, methods in templates if regex.fullmatch(path) for m in methods})


_PARTS = re.compile(r"(\{[^}]+\})")
_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def state_not_retained(request: Request, block: int | None, node_message: str) -> Problem:
    """410: the block exists but the node no longer keeps its state, so nothing can be read at it (retrying does not
    help). The devchain keeps its last `state_history` blocks; a node with full history answers any block."""
    block = block if block is not None else _requested_block(request)
    settings = getattr(request.app.state, "settings", None)
    devchain = settings is not None and settings.rpc_url is None
    key = "state-not-retained." + ("devchain" if devchain else "node") + ("" if block is not None else "-requested")
    history = settings.state_history if settings is not None and devchain else None
    params = {"block": block, "history": history, "node": node_message}
    return catalogued(410, "state-not-retained", key, params, block=block)


def _requested_block(request: Request) -> int | None:
    value = request.query_params.get("block", "")
    return int(value) if value.isdigit() else None


def database_unavailable(exc: OperationalError | PoolTimeoutError) -> Problem:
    """The database is locked past the busy timeout, cannot be opened, or every connection of the requests' pool
    stayed busy for that long: the client may retry later.

    The write it interrupted committed nothing (each step is its own transaction) and, with its
    Idempotency-Key, resumes where it stopped."""
    if isinstance(exc, PoolTimeoutError):
        reason = "every database connection is busy"
    else:
        reason = str(exc.orig) if exc.orig is not None else "unavailable"
    return catalogued(503, "database-unavailable", "database-unavailable.retry-later", {"reason": reason})
