"""What FastAPI solves per request (docs/performance.md, round 11 of a split's CPU): no route has a `yield`
dependency (FastAPI enters each through a context manager, an anyio cancel scope and a shielded exit; the request's
session is closed on the request's exit stack instead, api/deps.py `request_session`), the busiest routes solve no
more than they need, and the integer parameters `check_request` checks are worked out once per route, not per
request."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.deps import _integer_params, check_request
from api.main import create_app
from api.problems import install_handlers
from api.settings import Settings
from tests.conftest import ServerThread


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependants(sub)


def _api_routes(app: FastAPI) -> list[APIRoute]:
    """The routers' own routes (FastAPI 0.165 includes a router as one route of the app)."""
    routes: list[APIRoute] = []
    for route in app.routes:
        original = getattr(route, "original_router", None)
        inners = original.routes if original is not None else [route]
        routes += [inner for inner in inners if isinstance(inner, APIRoute)]
    return routes


def test_no_route_solves_a_generator_dependency(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path), background_indexer=False)
    routes = _api_routes(app)
    assert len(routes) > 50
    calls = [(route.path, sub.call) for route in routes for sub in _dependants(route.dependant)]
    calls += [("(every route)", depends.dependency) for depends in app.router.dependencies]
    found = sorted(
        f"{path}: {getattr(call, '__qualname__', call)}"
        for path, call in calls
        if inspect.isasyncgenfunction(call) or inspect.isgeneratorfunction(call)
    )
    assert any(path == "(every route)" for path, _ in calls)  # check_request
    assert not found, found


# what FastAPI solves for the busiest routes (beside the app's `check_request`): a split and a verification solved
# three, the session one of them; the request's session is taken by `write_deps` and the verifications' caller
HOT_ROUTES = {
    ("POST", "/v1/notes/{note_id}/split"): ["write_deps", "HTTPBearer"],
    ("POST", "/v1/notes/{note_id}/payments"): ["write_deps", "HTTPBearer"],
    ("GET", "/v1/notes/{note_id}"): ["db_session", "HTTPBearer"],
    ("GET", "/v1/verify/notes/{note_id}"): ["caller", "HTTPBearer"],
    ("GET", "/v1/verify/holdings/{member_id}"): ["caller", "HTTPBearer"],
}


def test_the_busiest_routes_solve_no_more_than_they_need(tmp_path: Path) -> None:
    solved = {}
    for route in _api_routes(create_app(Settings(data_dir=tmp_path), background_indexer=False)):
        for method in route.methods or ():
            if (method, route.path) in HOT_ROUTES:
                calls = [sub.call for sub in _dependants(route.dependant)]
                solved[method, route.path] = [getattr(c, "__name__", type(c).__name__) for c in calls]
    assert solved == HOT_ROUTES


def test_a_routes_integer_parameters_are_worked_out_once() -> None:
    seen: list[tuple[frozenset[str], frozenset[str]]] = []
    app = FastAPI(dependencies=[Depends(check_request)])
    install_handlers(app)

    @app.get("/items/{item_id}")
    async def item(
        item_id: int, request: Request, cursor: Annotated[int, Query()] = 0, name: str = ""
    ) -> dict[str, Any]:
        seen.append(_integer_params(request))
        return {"item_id": item_id}

    with ServerThread.serving(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get("/items/1").status_code == 200
        assert client.get("/items/2", params={"cursor": 3, "name": "x"}).status_code == 200
        refused = client.get("/items/1.0")  # still checked: an integer written with digits only
        assert refused.status_code == 422 and refused.json()["type"].endswith("/validation-error"), refused.text
    assert seen[0] == (frozenset({"item_id"}), frozenset({"cursor"}))
    assert seen[1] is seen[0]  # the same answer, not worked out again
