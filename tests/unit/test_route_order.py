"""The API's routers are tried in order of traffic (api/main.py): that order changes no request's route because,
wherever two routers' paths overlap, the more specific path comes first (and identical paths take disjoint
methods), whatever the order of the routers."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.routing import APIRoute

from api.main import create_app
from api.settings import Settings

PARAM = re.compile(r"^\{(\w+)(?::(\w+))?\}$")
CONVERTOR_PATTERNS = {"str": r"[^/]+", "int": r"[0-9]+", "float": r"[0-9]+(\.[0-9]+)?", "uuid": r"[0-9a-f-]{36}"}
NARROWER = {("int", "str"), ("float", "str"), ("uuid", "str")}  # every int segment is also a str segment


def _segments(path: str) -> list[tuple[str, str]]:
    """('lit', text) or ('param', convertor) per segment."""
    out = []
    for part in path.strip("/").split("/"):
        m = PARAM.match(part)
        if m is None:
            assert "{" not in part, f"a partial parameter segment is not handled: {path}"
            out.append(("lit", part))
        else:
            convertor = m.group(2) or "str"
            assert convertor in CONVERTOR_PATTERNS, f"convertor {convertor!r} not handled: {path}"
            out.append(("param", convertor))
    return out


def _covers(general: tuple[str, str], specific: tuple[str, str]) -> bool:
    """Every value of segment `specific` also matches `general`."""
    if general[0] == "lit":
        return specific == general
    if specific[0] == "lit":
        return re.fullmatch(CONVERTOR_PATTERNS[general[1]], specific[1]) is not None
    return general[1] == specific[1] or (specific[1], general[1]) in NARROWER


def _overlap(a: tuple[str, str], b: tuple[str, str]) -> bool:
    return _covers(a, b) or _covers(b, a) or (a[0] == b[0] == "param")


def misordered(routes: list[tuple[str, str, frozenset[str]]]) -> list[str]:
    """(router, path, methods) in the order they are tried: the pairs of different routers whose paths can match one
    request where the first is not at least as specific as the second (identical paths: the methods overlap)."""
    found = []
    for i, (router_a, path_a, methods_a) in enumerate(routes):
        seg_a = _segments(path_a)
        for router_b, path_b, methods_b in routes[i + 1 :]:
            seg_b = _segments(path_b)
            if router_a == router_b or len(seg_a) != len(seg_b):
                continue
            if not all(_overlap(x, y) for x, y in zip(seg_a, seg_b, strict=True)):
                continue
            if seg_a == seg_b:
                if methods_a & methods_b:
                    found.append(f"{path_a} ({router_a}) and {path_b} ({router_b}) take the same method")
            elif not all(_covers(y, x) for x, y in zip(seg_a, seg_b, strict=True)):
                found.append(f"{path_a} ({router_a}) is tried before the more specific {path_b} ({router_b})")
    return found


def api_routes(tmp_path: Path) -> list[tuple[str, str, frozenset[str]]]:
    app = create_app(Settings(data_dir=tmp_path), background_indexer=False)
    routes = []
    for index, route in enumerate(app.routes):
        original = getattr(route, "original_router", None)
        for inner in original.routes if original is not None else [route]:
            if isinstance(inner, APIRoute):
                routes.append((str(index), inner.path, frozenset(inner.methods or ())))
    return routes


def test_overlapping_paths_of_different_routers_come_most_specific_first(tmp_path: Path) -> None:
    routes = api_routes(tmp_path)
    assert routes[0][1].startswith("/v1/notes"), "the busiest router (a split's) is tried first"
    assert misordered(routes) == []


def test_the_check_sees_a_general_path_before_a_specific_one() -> None:
    """The order that would break /v1/members/challenge (the members router before the self-custody one)."""
    post = frozenset({"POST"})
    wrong = [("members", "/v1/members/{member_id}", post), ("transactions", "/v1/members/challenge", post)]
    assert len(misordered(wrong)) == 1
    assert misordered(wrong[::-1]) == []
    assert misordered([("a", "/v1/notes/{note_id:int}", post), ("b", "/v1/notes/x", post)]) == []
    assert len(misordered([("a", "/v1/x", post), ("b", "/v1/x", frozenset({"POST", "GET"}))])) == 1
