"""Hostile request bodies over real HTTP (a real uvicorn server on the session anvil): none takes the service down.

One request of 100,000 nested `[` used to kill the API with a segmentation fault: importing py_ecc raised the
recursion limit to 100,000 process-wide, and the JSON parser overflowed the C stack. Bodies are now checked
before anything parses them (api.body_guard): size (413), key (401, before the body is read), nesting depth
(400 `json-too-deep`), encoding and duplicate keys. After each attack `/health` still answers.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import ServerThread, problem

NESTED = b"[" * 100_000
FIFTY_MB = 50 * 1024 * 1024
MAX_BYTES = 1_048_576  # the default SCF_MAX_BODY_BYTES


def _post_paths(client: httpx.Client) -> list[str]:
    """Every POST route of the published spec, with 1 for each path parameter."""
    spec = client.get("/openapi.json").json()
    return sorted(re.sub(r"\{[^}]+\}", "1", path) for path, item in spec["paths"].items() if "post" in item)


def _healthy(client: httpx.Client) -> None:
    assert client.get("/health").status_code == 200


@pytest.fixture()
def anonymous(api: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=60) as client:
        yield client


def test_the_recursion_limit_is_not_left_raised() -> None:
    """Importing the app (and web3, eth_account, py_ecc after it) leaves Python's limit where it was."""
    import api.main  # noqa: F401

    assert sys.getrecursionlimit() < 100_000
    code = (
        "import sys; before = sys.getrecursionlimit(); import api.main, web3, eth_account, py_ecc.bls, scripts.cli; "
        "print(before, sys.getrecursionlimit())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == out[1], out


def test_every_write_needs_a_key(anonymous: httpx.Client) -> None:
    """api.body_guard checks the key of any write under /v1/ before reading its body: that holds only while
    every such operation needs one."""
    spec = anonymous.get("/openapi.json").json()
    writes = [
        (method, path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method not in ("get", "head", "options")
    ]
    assert writes and all(path.startswith("/v1/") for _, path in writes)
    assert [(m, p) for m, p in writes if not spec["paths"][p][m].get("security")] == []


def test_nested_body_to_every_post_route_is_refused_without_a_key(anonymous: httpx.Client) -> None:
    """Unauthenticated: 401 before the body is read."""
    paths = _post_paths(anonymous)
    assert len(paths) > 20
    for path in paths:
        response = anonymous.post(path, content=NESTED, headers={"Content-Type": "application/json"})
        problem(response, 401, "unauthorized")
    _healthy(anonymous)


def test_nested_body_to_every_post_route_is_refused_with_a_key(operator: httpx.Client) -> None:
    for path in _post_paths(operator):
        response = operator.post(path, content=NESTED, headers={"Content-Type": "application/json"})
        body = problem(response, 400, "json-too-deep")
        assert body["maxDepth"] == 64
        assert "100000 deep" in body["detail"]
    _healthy(operator)


def test_an_unauthenticated_write_is_refused_before_its_body_is_parsed(anonymous: httpx.Client) -> None:
    for headers in ({}, {"Authorization": "Bearer scf_not-a-key"}, {"Authorization": "Basic eDp5"}):
        response = anonymous.post(
            "/v1/notes/1/split", content=NESTED, headers={"Content-Type": "application/json", **headers}
        )
        problem(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_nesting_up_to_the_limit_reaches_validation(operator: httpx.Client) -> None:
    """64 levels is the limit: exactly 64 goes on to the request model (422), 65 is refused before parsing."""
    at_limit = json.dumps({"to": 1, "value": "1.00", "x": [[[]]]}).replace("[[[]]]", "[" * 63 + "]" * 63)
    problem(operator.post("/v1/notes/1/split", content=at_limit), 422, "validation-error")
    over = at_limit.replace("[" * 63, "[" * 64).replace("]" * 63, "]" * 64)
    problem(operator.post("/v1/notes/1/split", content=over), 400, "json-too-deep")
    # brackets inside strings are text, not nesting
    text = json.dumps({"to": 1, "value": "1.00", "memo": "[" * 1000 + '\\"{'})
    problem(operator.post("/v1/notes/1/split", content=text), 422, "validation-error")


def test_a_50_mb_body_is_refused(anonymous: httpx.Client, operator: httpx.Client) -> None:
    """With a Content-Length over the limit the answer is 413 before the body is read; the server may close the
    connection while the client is still sending (then the client sees the connection cut, never a 5xx)."""
    big = b'{"to": 1, "value": "' + b"1" * FIFTY_MB + b'"}'
    for client in (anonymous, operator):
        try:
            response = client.post("/v1/notes/1/split", content=big, headers={"Content-Type": "application/json"})
        except httpx.TransportError:
            pass
        else:
            body = problem(response, 413, "content-too-large")
            assert body["maxBytes"] == MAX_BYTES
        _healthy(client)


def _raw(api: ServerThread, head: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send a request head (and some body) on a raw socket; read the answer without sending more."""
    parts = urlsplit(api.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + _length(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    header_text, _, payload = rest.partition(b"\r\n\r\n")
    headers = {}
    for line in header_text.decode().split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, payload


def _length(data: bytes) -> int:
    match = re.search(rb"content-length: *([0-9]+)", data.split(b"\r\n\r\n", 1)[0], re.IGNORECASE)
    return int(match.group(1)) if match else 0


def test_a_declared_50_mb_body_is_refused_before_it_is_sent(api: ServerThread, operator_key: str) -> None:
    """The server answers 413 on the head alone: it does not wait for (or read) 50 MB."""
    for auth in ("", f"Authorization: Bearer {operator_key}\r\n"):
        head = (
            f"POST /v1/notes/1/split HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{auth}"
            f"Content-Length: {FIFTY_MB}\r\nConnection: close\r\n"
        )
        status, headers, payload = _raw(api, head)
        assert status == 413, payload
        assert headers["content-type"] == "application/problem+json"
        assert json.loads(payload)["type"].endswith("/content-too-large")


def test_an_unauthenticated_streamed_body_is_refused_before_it_is_read(api: ServerThread) -> None:
    """Chunked, no Content-Length, no key: 401 on the head and the first chunk, the rest is never awaited."""
    head = (
        "POST /v1/notes/1/split HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n"
    )
    status, headers, payload = _raw(api, head, b"1\r\n[\r\n")
    assert status == 401, payload
    assert headers["www-authenticate"].startswith("Bearer")


def test_a_streamed_body_over_the_limit_is_cut(api: ServerThread, operator_key: str) -> None:
    """Chunked, no Content-Length: the body is counted as it arrives and refused once it passes the limit."""
    head = (
        f"POST /v1/notes/1/split HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {operator_key}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
    # one chunk more than the limit and no end: a server that waits for the whole body never answers
    status, _, payload = _raw(api, head, chunk * (MAX_BYTES // 65536 + 1))
    assert status == 413, payload
    assert json.loads(payload)["type"].endswith("/content-too-large")
    with httpx.Client(base_url=api.url, timeout=30) as client:
        _healthy(client)
