"""GET /v1/receivables: a treasurer's payables (including receivables confirmed directly, not from an order), a
supplier's receivables, a holder's; filters and pages; never another member's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Party, Roster, ServerThread, admitted, ok, problem, random_hash


@pytest.fixture(scope="module")
def parties(api: ServerThread, operator_key: str) -> Iterator[dict[str, Party]]:
    roster: Roster = [
        ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
        ("core2", ["core_enterprise"], {"credit_limit": "1000000.00"}),
        ("supplier", ["supplier"], {}),
        ("holder", ["supplier"], {}),
        ("outsider", ["supplier"], {}),
        ("auditor", ["auditor"], {}),
    ]
    with admitted(api.url, operator_key, roster) as parties:
        yield parties


def _issue(obligor: Party, creditor: Party, face: str, days: int) -> dict[str, Any]:
    maturity = (date.today() + timedelta(days=days)).isoformat()
    body = {"creditor_id": creditor.id, "face_value": face, "maturity": maturity, "invoice_hash": random_hash()}
    return ok(obligor.client.post("/v1/receivables", json=body), 201)


@pytest.fixture(scope="module")
def issued(parties: dict[str, Party]) -> list[dict[str, Any]]:
    core, core2, supplier = parties["core"], parties["core2"], parties["supplier"]
    made = [
        _issue(core, supplier, "1000.00", 30),
        _issue(core, supplier, "2000.00", 90),
        _issue(core2, supplier, "3000.00", 60),
    ]
    # the supplier sells part of the second receivable's note to `holder`
    split = {"to": parties["holder"].id, "value": "500.00"}
    ok(supplier.client.post(f"/v1/notes/{made[1]['first_note_id']}/split", json=split), 201)
    return made


def _ids(client: httpx.Client, **params: Any) -> list[int]:
    return [r["id"] for r in ok(client.get("/v1/receivables", params=params))["items"]]


def test_each_member_lists_the_receivables_it_is_party_to(
    parties: dict[str, Party], issued: list[dict[str, Any]]
) -> None:
    one, two, three = (r["id"] for r in issued)
    assert _ids(parties["core"].client, role="obligor") == [one, two]  # confirmed directly: no order behind them
    assert _ids(parties["core2"].client) == [three]
    assert _ids(parties["supplier"].client, role="creditor") == [one, two, three]
    assert _ids(parties["holder"].client) == [two] == _ids(parties["holder"].client, role="holder")
    assert _ids(parties["holder"].client, role="obligor") == []
    assert _ids(parties["outsider"].client) == []
    # filters narrow what a member may see; they never widen it
    assert _ids(parties["outsider"].client, obligor_id=parties["core"].id) == []
    everything = _ids(parties["auditor"].client, creditor_id=parties["supplier"].id)
    assert everything == [one, two, three]
    first = ok(parties["core"].client.get("/v1/receivables", params={"role": "obligor"}))["items"][0]
    assert first["obligor_id"] == parties["core"].id and first["creditor_id"] == parties["supplier"].id
    assert first["face_value"] == "1000.00" and first["status"] == "active" and first["order_id"] is None


def test_filters_and_pages(parties: dict[str, Party], issued: list[dict[str, Any]]) -> None:
    one, two, three = (r["id"] for r in issued)
    supplier = parties["supplier"].client
    in_45_days = (date.today() + timedelta(days=45)).isoformat()
    assert _ids(supplier, role="creditor", maturity_to=in_45_days) == [one]
    assert _ids(supplier, role="creditor", maturity_from=in_45_days) == [two, three]
    assert _ids(supplier, role="creditor", obligor_id=parties["core2"].id) == [three]
    assert _ids(supplier, role="creditor", status="settled") == []
    page = ok(supplier.get("/v1/receivables", params={"role": "creditor", "limit": 2}))
    assert [r["id"] for r in page["items"]] == [one, two] and page["next_cursor"] == str(two)
    rest = ok(supplier.get("/v1/receivables", params={"role": "creditor", "limit": 2, "cursor": page["next_cursor"]}))
    assert [r["id"] for r in rest["items"]] == [three] and rest["next_cursor"] is None


def test_bad_filters_are_422_problems(parties: dict[str, Party], issued: list[dict[str, Any]]) -> None:
    client = parties["core"].client
    for params in ({"role": "owner"}, {"status": "paid"}, {"limit": 0}, {"maturity_from": "tomorrow"}):
        problem(client.get("/v1/receivables", params=params), 422, "validation-error")


def test_notes_filter_by_their_receivables_maturity(parties: dict[str, Party], issued: list[dict[str, Any]]) -> None:
    one, two, three = (r["first_note_id"] for r in issued)
    supplier = parties["supplier"].client
    in_45_days = (date.today() + timedelta(days=45)).isoformat()
    in_75_days = (date.today() + timedelta(days=75)).isoformat()

    def notes(**params: Any) -> list[int]:
        return [n["id"] for n in ok(supplier.get("/v1/notes", params=params))["items"]]

    assert notes(maturity_to=in_45_days) == [one]
    assert notes(maturity_from=in_45_days, maturity_to=in_75_days) == [three]
    assert sorted(notes(maturity_from=in_45_days)) == sorted([two, three])
