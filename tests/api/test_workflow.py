"""The order -> receivable -> note workflow over real HTTP against a real anvil, with permission checks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from tests.conftest import Party, Roster, ServerThread, admitted, ok, problem, random_hash


@pytest.fixture(scope="module")
def parties(api: ServerThread, operator_key: str) -> Iterator[dict[str, Party]]:
    roster: Roster = [
        ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
        ("supplier", ["supplier"], {}),
        ("supplier2", ["supplier"], {}),
        ("bank", ["financier"], {}),
    ]
    with admitted(api.url, operator_key, roster) as parties:
        yield parties


def test_order_to_receivable_to_split(parties: dict[str, Party]) -> None:
    core, supplier, supplier2 = parties["core"], parties["supplier"], parties["supplier2"]
    due = (date.today() + timedelta(days=60)).isoformat()
    order = ok(
        supplier.client.post(
            "/v1/orders",
            json={"buyer_id": core.id, "amount": "50000.00", "document_hash": random_hash(), "due_date": due},
        ),
        201,
    )
    assert order["status"] == "proposed"
    assert order["amount"] == "50000.00"
    order_id = order["id"]

    # the supplier cannot confirm its own order: only the buyer can (decoded contract error, nothing changes)
    body = problem(supplier.client.post(f"/v1/orders/{order_id}/confirm"), 403, "missing-role")
    assert body["contractError"]["error"] == "MissingRole"
    assert ok(core.client.post(f"/v1/orders/{order_id}/confirm"))["status"] == "confirmed"
    assert ok(supplier.client.post(f"/v1/orders/{order_id}/deliver"))["status"] == "delivered"

    maturity = (date.today() + timedelta(days=90)).isoformat()
    invoice = random_hash()
    accepted = ok(
        core.client.post(
            f"/v1/orders/{order_id}/accept",
            json={"face_value": "50000.00", "maturity": maturity, "invoice_hash": invoice},
        )
    )
    assert accepted["status"] == "invoiced"
    slot_id = accepted["receivable_id"]
    receivable = ok(supplier.client.get(f"/v1/receivables/{slot_id}"))
    assert receivable["face_value"] == "50000.00"
    assert receivable["obligor_id"] == core.id
    note_id = receivable["first_note_id"]

    # the same invoice cannot be tokenised twice
    again = core.client.post(
        "/v1/receivables",
        json={"creditor_id": supplier.id, "face_value": "10.00", "maturity": maturity, "invoice_hash": invoice},
    )
    body = problem(again, 409, "invoice-already-tokenised")
    assert body["contractError"]["error"] == "InvoiceAlreadyTokenised"

    # supplier splits 20,000.00 to its own supplier; supplier2 cannot split the supplier's note
    split = ok(
        supplier.client.post(f"/v1/notes/{note_id}/split", json={"to": supplier2.id, "value": "20000.00"}),
        201,
    )
    new_note = split["new_note"]
    assert new_note["value"] == "20000.00"
    assert new_note["parent_id"] == note_id
    assert ok(supplier.client.get(f"/v1/notes/{note_id}"))["value"] == "30000.00"
    forbidden = supplier2.client.post(f"/v1/notes/{note_id}/split", json={"to": supplier2.id, "value": "1.00"})
    assert forbidden.status_code in (403, 404), forbidden.text
    mine = ok(supplier2.client.get("/v1/notes"))
    assert [n["id"] for n in mine["items"]] == [new_note["id"]]
