"""A receivable's maturity over real HTTP: an ISO date is the end of that day, UTC (as before); an RFC 3339 timestamp
with its offset is that exact second (`...T23:59:59+08:00` is the end of the day in Beijing); a timestamp without
an offset is refused with a 422 problem that asks for one, and nothing is issued."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import httpx
import pytest

from tests.conftest import Party, ServerThread, admitted, ok, problem, random_hash

ROSTER = [("core", ["core_enterprise"], {"credit_limit": "1000000.00"}), ("supplier", ["supplier"], {})]


@pytest.fixture(scope="module")
def parties(api: ServerThread, operator_key: str) -> Iterator[dict[str, Party]]:
    with admitted(api.url, operator_key, ROSTER) as parties:
        yield parties


def _day(n: int) -> date:
    return date.today() + timedelta(days=n)


def _issue(parties: dict[str, Party], maturity: str, invoice: str | None = None) -> httpx.Response:
    body = {
        "creditor_id": parties["supplier"].id,
        "face_value": "10.00",
        "maturity": maturity,
        "invoice_hash": invoice or random_hash(),
    }
    return parties["core"].client.post("/v1/receivables", json=body)


def _chain_maturity(parties: dict[str, Party], receivable_id: int) -> datetime:
    return datetime.fromisoformat(ok(parties["supplier"].client.get(f"/v1/receivables/{receivable_id}"))["maturity"])


def test_an_iso_date_is_the_end_of_that_day_utc(parties: dict[str, Party]) -> None:
    day = _day(30)
    issued = ok(_issue(parties, day.isoformat()), 201)
    assert _chain_maturity(parties, issued["id"]) == datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


@pytest.mark.parametrize(
    ("suffix", "utc"),
    [  # the end of the day in Beijing, in UTC, and at -05:30 (the next day in UTC)
        ("+08:00", (0, time(15, 59, 59))),
        ("Z", (0, time(23, 59, 59))),
        ("-05:30", (1, time(5, 29, 59))),
    ],
)
def test_a_timestamp_with_its_offset_is_that_second(
    parties: dict[str, Party], suffix: str, utc: tuple[int, time]
) -> None:
    day = _day(40)
    issued = ok(_issue(parties, f"{day.isoformat()}T23:59:59{suffix}"), 201)
    expected = datetime.combine(day + timedelta(days=utc[0]), utc[1], tzinfo=UTC)
    assert _chain_maturity(parties, issued["id"]) == expected


def test_accepting_an_order_takes_a_timestamp_maturity(parties: dict[str, Party]) -> None:
    core, supplier = parties["core"], parties["supplier"]
    order = ok(
        supplier.client.post(
            "/v1/orders",
            json={"buyer_id": core.id, "amount": "20.00", "document_hash": random_hash(), "due_date": str(_day(20))},
        ),
        201,
    )
    ok(core.client.post(f"/v1/orders/{order['id']}/confirm"))
    ok(supplier.client.post(f"/v1/orders/{order['id']}/deliver"))
    day = _day(50)
    accepted = ok(
        core.client.post(
            f"/v1/orders/{order['id']}/accept",
            json={"face_value": "20.00", "maturity": f"{day}T10:00:00+08:00", "invoice_hash": random_hash()},
        )
    )
    assert _chain_maturity(parties, accepted["receivable_id"]) == datetime.combine(day, time(2), tzinfo=UTC)


@pytest.mark.parametrize("clock", ["T23:59:59", "T23:59", " 12:00:00.5"])
def test_a_timestamp_without_an_offset_is_refused_and_nothing_is_issued(parties: dict[str, Party], clock: str) -> None:
    invoice = random_hash()
    text = _day(30).isoformat() + clock
    body = problem(_issue(parties, text, invoice), 422, "validation-error")
    assert "offset" in body["detail"] and text in body["detail"]
    ok(_issue(parties, _day(30).isoformat(), invoice), 201)  # nothing was issued: the invoice is still free


@pytest.mark.parametrize(
    "maturity", ["2026-13-01", "tomorrow", "1969-12-31T23:59:59Z", "2026-12-05T25:00:00Z", 1800000000]
)
def test_maturities_that_are_neither_are_refused(parties: dict[str, Party], maturity: object) -> None:
    problem(_issue(parties, maturity), 422, "validation-error")  # type: ignore[arg-type]
