"""RFC 9457 problem+json responses with stable types; the catalogue lives in docs/errors.md."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import requests
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from web3.exceptions import BadFunctionCallOutput, Web3RPCError

from chain.node.errors import HistoricalStateUnavailableError, is_historical_state_missing

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://scf-chain.dev/problems/"


class Problem(Exception):
    """An error a client should see: a stable slug, an HTTP status and a human detail."""

    def __init__(self, status: int, slug: str, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.extra = extra

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
        return body


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
        errors = [
            {"location": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors) or "invalid request"
        problem = Problem(422, "validation-error", "Invalid request", detail, errors=errors)
        return problem_response(problem, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
        problem = Problem(exc.status_code, slug, title, str(exc.detail))
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # the router names one route's methods; the path may have several routes
            allowed = allowed_methods(app, request.url.path)
            if allowed:
                headers["Allow"] = ", ".join(allowed)
        return problem_response(problem, request.url.path, headers)

    @app.exception_handler(requests.RequestException)
    async def _chain(request: Request, exc: requests.RequestException) -> JSONResponse:
        detail = f"the node did not answer a read: {exc}"  # web3's HTTP provider raises these
        return problem_response(Problem(503, "chain-unavailable", "Chain unavailable", detail), request.url.path)

    @app.exception_handler(HistoricalStateUnavailableError)
    async def _state_gone(request: Request, exc: HistoricalStateUnavailableError) -> JSONResponse:
        return problem_response(state_not_retained(request, exc.block, exc.node_message), request.url.path)

    @app.exception_handler(Web3RPCError)
    async def _node_error(request: Request, exc: Web3RPCError) -> JSONResponse:
        message = str(exc)  # a read through web3 (a contract view at a block) that the node answered with an error
        if is_historical_state_missing(message):
            return problem_response(state_not_retained(request, None, message), request.url.path)
        problem = Problem(502, "chain-error", "Chain error", f"the node refused a read: {message}")
        return problem_response(problem, request.url.path)

    @app.exception_handler(BadFunctionCallOutput)
    async def _no_output(request: Request, exc: BadFunctionCallOutput) -> JSONResponse:
        detail = f"a contract call came back empty (no contract code at that block?): {exc}"
        return problem_response(Problem(502, "chain-error", "Chain error", detail), request.url.path)

    @app.exception_handler(OperationalError)
    async def _database(request: Request, exc: OperationalError) -> JSONResponse:
        return problem_response(database_unavailable(exc), request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - safety net
        if isinstance(exc, OperationalError):  # raised in a middleware (the audit log), outside the handler above
            return problem_response(database_unavailable(exc), request.url.path)
        problem = Problem(500, "internal-error", "Internal error", "the service failed unexpectedly; see its log")
        return problem_response(problem, request.url.path)


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
    at = f"block {block}" if block is not None else "the requested block"
    settings = getattr(request.app.state, "settings", None)
    if settings is not None and settings.rpc_url is None:
        kept = f"the devchain keeps the state of its last {settings.state_history} blocks (SCF_STATE_HISTORY)"
    else:
        kept = "the node keeps the state of recent blocks only"
    return Problem(
        410,
        "state-not-retained",
        "Historical state not kept",
        f"the node no longer keeps the state of {at}: {kept}. Read at a more recent block (or `latest`), or serve "
        f"the API from a node that keeps full history (an archive node, SCF_RPC_URL). Node: {node_message}",
        block=block,
    )


def _requested_block(request: Request) -> int | None:
    value = request.query_params.get("block", "")
    return int(value) if value.isdigit() else None


def database_unavailable(exc: OperationalError) -> Problem:
    """The database is locked past the busy timeout, or cannot be opened: the client may retry later.

    The write it interrupted committed nothing (each step is its own transaction) and, with its
    Idempotency-Key, resumes where it stopped."""
    reason = str(exc.orig) if exc.orig is not None else "unavailable"
    return Problem(
        503,
        "database-unavailable",
        "Database unavailable",
        f"the service's database is not available ({reason}); retry the request later, with the same Idempotency-Key",
    )
