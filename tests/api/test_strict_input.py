"""Loose input is refused over real HTTP: what a client sends is what it means (api.strict, api.body_guard).

pydantic's lax mode read `"4"`, `4.0` and `true` as the member id 4 (or 1), `"no"` as False, `?maturity_to=0`
as 1970-01-01 and `/v1/notes/1.0` as note 1; `json.loads` kept the last of two equal keys (`"value"` twice split
900.00); `re.match` with `$` let `"5\\n"` move 5.00. Each case below is sent by a party that could make the
request with well-formed input, is refused with a 4xx problem, and changes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from api.routes.alerts import alert_out
from chain.readmodel.store import Alert
from tests.conftest import Party, ServerThread, admitted, ok, problem, random_hash

ROSTER = [
    ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
    ("supplier", ["supplier"], {}),
    ("supplier2", ["supplier"], {}),
    ("bank", ["financier"], {}),
]


def _day(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


@pytest.fixture(scope="module")
def world(api: ServerThread, operator_key: str) -> Iterator[tuple[dict[str, Party], int]]:
    with admitted(api.url, operator_key, ROSTER) as parties:
        core, supplier, bank = parties["core"], parties["supplier"], parties["bank"]
        ok(bank.client.post("/v1/cash/mint", json={"member_id": bank.id, "amount": "1000.00", "reference": "r"}), 201)
        issue = {"creditor_id": supplier.id, "face_value": "1000.00", "maturity": _day(90)}
        note = ok(core.client.post("/v1/receivables", json={**issue, "invoice_hash": random_hash()}), 201)
        yield parties, int(note["first_note_id"])


def _cases(p: dict[str, Any], note: int) -> list[tuple[str, str, str, str, Any, int, str]]:
    """(name, caller, method, path, body (a str is sent as is), status, problem type)."""
    to = p["supplier2"].id
    offer = {"note_id": note, "value": "10.00", "rate_bps": 500, "recourse": False, "expires_at": _day(10)}
    split = f"/v1/notes/{note}/split"
    return [
        ("id true", "supplier", "POST", split, {"to": True, "value": "1.00"}, 422, "validation-error"),
        ("id as string", "supplier", "POST", split, {"to": str(to), "value": "1.00"}, 422, "validation-error"),
        ("id as float", "supplier", "POST", split, f'{{"to": {to}.0, "value": "1.00"}}', 422, "validation-error"),
        (
            "rate as string",
            "bank",
            "POST",
            "/v1/financing/offers",
            {**offer, "rate_bps": "500"},
            422,
            "validation-error",
        ),
        (
            "bool as string",
            "bank",
            "POST",
            "/v1/financing/offers",
            {**offer, "recourse": "no"},
            422,
            "validation-error",
        ),
        (
            "expiry as number",
            "bank",
            "POST",
            "/v1/financing/offers",
            {**offer, "expires_at": 0},
            422,
            "validation-error",
        ),
        (
            "expiry before 1970",
            "bank",
            "POST",
            "/v1/financing/offers",
            {**offer, "expires_at": "1969-12-31T23:00:00Z"},
            422,
            "validation-error",
        ),
        (
            "maturity before 1970",
            "core",
            "POST",
            "/v1/receivables",
            {
                "creditor_id": p["supplier"].id,
                "face_value": "1.00",
                "maturity": "1075-01-01",
                "invoice_hash": "0x" + "ab" * 32,
            },
            422,
            "validation-error",
        ),
        ("path id 1.0", "supplier", "GET", f"/v1/notes/{note}.0", None, 422, "validation-error"),
        ("query date 0", "supplier", "GET", "/v1/notes?maturity_to=0", None, 422, "validation-error"),
        ("query int 0.0", "supplier", "GET", "/v1/notes?cursor=0.0", None, 422, "validation-error"),
        (
            "duplicate key",
            "supplier",
            "POST",
            split,
            f'{{"to": {to}, "value": "1.00", "value": "900.00"}}',
            400,
            "duplicate-json-key",
        ),
        ("amount newline", "supplier", "POST", split, {"to": to, "value": "5\n"}, 422, "validation-error"),
        ("amount zero", "supplier", "POST", split, {"to": to, "value": "0"}, 422, "validation-error"),
        (
            "amount over the limit",
            "supplier",
            "POST",
            split,
            {"to": to, "value": "10000000000000000.00"},
            422,
            "validation-error",
        ),
        (
            "hash newline",
            "supplier",
            "GET",
            "/v1/verify/invoice?hash=0x" + "a" * 64 + "%0A",
            None,
            422,
            "validation-error",
        ),
        ("block newline", "supplier", "GET", f"/v1/verify/notes/{note}?block=1%0A", None, 422, "validation-error"),
        (
            "NUL in a reference",
            "bank",
            "POST",
            "/v1/cash/mint",
            {"member_id": p["bank"].id, "amount": "1.00", "reference": "ref\u0000x"},
            422,
            "validation-error",
        ),
        (
            "NUL in a label",
            "supplier",
            "POST",
            f"/v1/members/{p['supplier'].id}/api-keys",
            {"label": "a\u0000"},
            422,
            "validation-error",
        ),
        (
            "body in another charset",
            "supplier",
            "POST",
            split,
            ("latin-1", f'{{"to": {to}, "value": "1.00", "memo": "caf\u00e9"}}'),
            415,
            "unsupported-media-type",
        ),
        (
            "body not UTF-8",
            "supplier",
            "POST",
            split,
            ("utf-8", f'{{"to": {to}, "value": "1.00", "memo": "caf\u00e9"}}'),
            400,
            "invalid-encoding",
        ),
    ]


CASE_NAMES = [case[0] for case in _cases({name: SimpleNamespace(id=0) for name, _, _ in ROSTER}, 1)]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_loose_input_is_refused(world: tuple[dict[str, Party], int], name: str) -> None:
    parties, note = world
    _, caller, method, path, body, status, slug = next(c for c in _cases(parties, note) if c[0] == name)
    client = parties[caller].client
    before = ok(parties["supplier"].client.get(f"/v1/notes/{note}"))
    headers: dict[str, str] = {}
    content: bytes | None = None
    if isinstance(body, tuple):  # (declared charset, text): the bytes are latin-1 either way
        charset, text = body
        headers["Content-Type"] = f"application/json; charset={charset}"
        content = text.encode("latin-1")
    elif isinstance(body, str):
        headers["Content-Type"] = "application/json"
        content = body.encode()
    elif body is not None:
        headers["Content-Type"] = "application/json"
        content = json.dumps(body).encode()
    response = client.request(method, path, content=content, headers=headers)
    problem(response, status, slug)
    assert ok(parties["supplier"].client.get(f"/v1/notes/{note}")) == before, name


def test_well_formed_input_still_passes(world: tuple[dict[str, Party], int]) -> None:
    """The same requests, written properly, succeed: the refusals above are about the form only."""
    parties, note = world
    supplier = parties["supplier"].client
    notes = ok(supplier.get(f"/v1/notes?maturity_to={_day(365)}"))["items"]
    assert note in [n["id"] for n in notes]
    split = ok(supplier.post(f"/v1/notes/{note}/split", json={"to": parties["supplier2"].id, "value": "5.00"}), 201)
    assert split["new_note"]["value"] == "5.00"  # at least face / cap (S-3)
    offer = {
        "note_id": note,
        "value": "10.00",
        "rate_bps": 500,
        "recourse": False,
        "expires_at": _day(10) + "T12:00:00Z",
    }
    ok(parties["bank"].client.post("/v1/financing/offers", json=offer), 201)


def test_the_published_schema_says_what_the_server_checks(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    positive = re.compile(schemas["SplitNoteIn"]["properties"]["value"]["pattern"])
    amount = re.compile(schemas["CreditLimitIn"]["properties"]["credit_limit"]["pattern"])
    for zero in ("0", "0.0", "0.00"):
        assert not positive.search(zero)
        assert amount.search(zero)
    for fine in ("0.01", "0.5", "9999999999999999.99"):
        assert positive.search(fine)
    for too_large in ("10000000000000000", "92233720368547758.07"):
        assert not positive.search(too_large) and not amount.search(too_large)
    assert schemas["SplitNoteIn"]["properties"]["to"]["type"] == "integer"
    assert schemas["MintIn"]["properties"]["reference"]["pattern"] == "^[^\\x00-\\x1f\\x7f]*$"
    assert schemas["AlertOut"]["properties"]["created"]["format"] == "date-time"


def test_alert_times_carry_their_time_zone() -> None:
    """SQLite hands back naive datetimes; the API says UTC (the schema's date-time needs an offset)."""
    alert = Alert(id=1, rule="structuring", severity="low", members=[1], evidence=[], block_number=1)
    alert.created = datetime(2026, 1, 1, 12, 0)
    out = alert_out(alert).model_dump(mode="json")
    assert out["created"] in ("2026-01-01T12:00:00Z", "2026-01-01T12:00:00+00:00")
    assert alert_out(alert).created == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


BEYOND_32_BITS = 36_946_552_658_893  # a member id no member has: larger than the 32-bit ids the chain gives


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/v1/audit?member_id={BEYOND_32_BITS}", None),
        ("GET", f"/v1/members/{BEYOND_32_BITS}", None),
        ("GET", f"/v1/alerts?member_id={BEYOND_32_BITS}", None),
        ("GET", f"/v1/cash/moves?cursor={BEYOND_32_BITS}", None),
        ("POST", "/v1/receivables", {"creditor_id": BEYOND_32_BITS}),
    ],
)
def test_ids_beyond_32_bits_name_nothing_on_every_database(
    world: tuple[dict[str, Party], int], operator_key: str, api: ServerThread, method: str, path: str, body: Any
) -> None:
    """PostgreSQL's INTEGER is 32-bit: such an id in a query failed with "integer out of range" (a 500) where
    SQLite answered; the read model's integer columns are 64-bit on PostgreSQL now."""
    parties, _ = world
    if body is not None:
        body = {"face_value": "100.00", "maturity": _day(30), "invoice_hash": random_hash(), **body}
    with httpx.Client(base_url=api.url, timeout=30, headers={"Authorization": f"Bearer {operator_key}"}) as operator:
        client = parties["core"].client if method == "POST" else operator
        response = client.request(method, path, json=body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        problem(response, None)
