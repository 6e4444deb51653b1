"""Financing requests over real HTTP against a real anvil: a supplier asks banks for offers on (part of) a note, the
banks asked answer with on-chain offers, the supplier accepts one (which closes the request) or withdraws it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import ServerThread, ok, problem, random_hash, with_mint_ceiling

PARTIES: list[tuple[str, list[str], dict[str, str]]] = [
    ("core", ["core_enterprise"], {"credit_limit": "10000000.00"}),
    ("supplier", ["supplier"], {}),
    ("supplier2", ["supplier"], {}),
    ("bank", ["financier"], {}),
    ("bank2", ["financier"], {}),
    ("bank3", ["financier"], {}),  # never asked
    ("auditor", ["auditor"], {}),
]


class Party:
    def __init__(self, api: ServerThread, member: dict[str, Any], key: str) -> None:
        self.id: int = member["id"]
        self.client = httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {key}"})


@pytest.fixture(scope="module")
def parties(api: ServerThread, operator_key: str) -> Iterator[dict[str, Party]]:
    admitted: dict[str, Party] = {}
    with httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {operator_key}"}) as op:
        for name, roles, extra in PARTIES:
            admission = with_mint_ceiling(roles, {"roles": roles, "kyc_hash": random_hash(), **extra})
            body = ok(op.post("/v1/members", json=admission), 201)
            admitted[name] = Party(api, body["member"], body["api_key"])
    for name in ("bank", "bank2"):
        bank = admitted[name]
        mint = {"member_id": bank.id, "amount": "1000000.00", "reference": "own funds"}
        ok(bank.client.post("/v1/cash/mint", json=mint), 201)
    yield admitted
    for party in admitted.values():
        party.client.close()


@pytest.fixture()
def operator_client(api: ServerThread, operator_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {operator_key}"}) as client:
        yield client


def _days(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


def _note(parties: dict[str, Party], face: str, days: int = 90) -> int:
    body = {
        "creditor_id": parties["supplier"].id,
        "face_value": face,
        "maturity": _days(days),
        "invoice_hash": random_hash(),
    }
    return int(ok(parties["core"].client.post("/v1/receivables", json=body), 201)["first_note_id"])


def _ask(p: dict[str, Party], note_id: int, value: str, banks: list[str], **extra: Any) -> dict[str, Any]:
    body = {"note_id": note_id, "value": value, "financier_ids": [p[b].id for b in banks], "expires_at": _days(10)}
    return {**body, **extra}


def _requests(party: Party, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(party.client.get("/v1/financing/requests", params={"limit": 500, **params}))[
        "items"
    ]
    return items


def test_request_offers_and_acceptance_end_to_end(parties: dict[str, Party]) -> None:
    p = parties
    supplier, bank, bank2 = p["supplier"], p["bank"], p["bank2"]
    note_id = _note(p, "10000.00")
    body = _ask(p, note_id, "4000.00", ["bank", "bank2"], target_rate_bps=600, recourse=False)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    created = ok(supplier.client.post("/v1/financing/requests", json=body, headers=key), 201)
    again = supplier.client.post("/v1/financing/requests", json=body, headers=key)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["id"] == created["id"]
    assert len(_requests(supplier, note_id=note_id)) == 1  # the replay made no second request
    rid = created["id"]
    assert created["status"] == "open" and created["value"] == "4000.00" and created["note_value"] == "10000.00"
    assert created["requester_id"] == supplier.id
    assert created["financier_ids"] == sorted([bank.id, bank2.id]) and created["offers"] == []
    assert (created["target_rate_bps"], created["recourse"]) == (600, False)

    # a bank asked sees what it needs to price the request: value, receivable, obligor, maturity; the requester only
    # as the visibility rules allow (no dealings, no grant: a pseudonym), and not which other banks were asked
    seen = {r["id"]: r for r in _requests(bank, status="open")}[rid]
    assert (seen["note_id"], seen["value"], seen["note_value"]) == (note_id, "4000.00", "10000.00")
    assert seen["obligor_id"] == p["core"].id and seen["maturity"] and seen["face_value"] == "10000.00"
    assert isinstance(seen["requester_id"], str) and seen["requester_id"].startswith("holder-")
    assert seen["requester_name"] is None
    assert seen["financier_ids"] == [bank.id]
    # anyone else: 404, as if there were no such request
    for outsider in ("bank3", "supplier2", "core"):
        problem(p[outsider].client.get(f"/v1/financing/requests/{rid}"), 404, "not-found")
        assert rid not in {r["id"] for r in _requests(p[outsider])}
    offer = {"rate_bps": 700, "recourse": False, "expires_at": _days(5)}
    problem(p["bank3"].client.post(f"/v1/financing/requests/{rid}/offers", json=offer), 404, "not-found")
    problem(supplier.client.post(f"/v1/financing/requests/{rid}/offers", json=offer), 403, "forbidden")
    assert {r["id"] for r in _requests(p["auditor"])} >= {rid}

    # the banks answer: ordinary on-chain offers on the note, linked to the request
    first = ok(bank.client.post(f"/v1/financing/requests/{rid}/offers", json=offer), 201)
    assert (first["note_id"], first["value"], first["request_id"], first["status"]) == (note_id, "4000.00", rid, "open")
    cheaper = {**offer, "rate_bps": 500, "value": "3000.00"}
    second = ok(bank2.client.post(f"/v1/financing/requests/{rid}/offers", json=cheaper), 201)
    assert second["value"] == "3000.00"
    mine = ok(supplier.client.get(f"/v1/financing/requests/{rid}"))
    assert mine["status"] == "offered"
    assert [o["id"] for o in mine["offers"]] == [first["id"], second["id"]]
    assert {o["financier_id"] for o in mine["offers"]} == {bank.id, bank2.id}
    assert [o["id"] for o in ok(bank.client.get(f"/v1/financing/requests/{rid}"))["offers"]] == [first["id"]]
    listed = {o["id"]: o for o in ok(supplier.client.get("/v1/financing/offers", params={"note_id": note_id}))["items"]}
    assert listed[second["id"]]["request_id"] == rid

    # the supplier accepts one with the existing accept: value and cash change hands; the request is closed
    cash_before = ok(supplier.client.get("/v1/cash/balance"))["balance"]
    purchase = ok(supplier.client.post(f"/v1/financing/offers/{second['id']}/accept"))
    assert purchase["value"] == "3000.00" and purchase["financier_id"] == bank2.id
    assert ok(supplier.client.get("/v1/cash/balance"))["balance"] != cash_before
    closed = ok(supplier.client.get(f"/v1/financing/requests/{rid}"))
    assert (closed["status"], closed["accepted_offer_id"]) == ("accepted", second["id"])
    assert rid in {r["id"] for r in _requests(bank, status="accepted")}
    refused = problem(bank.client.post(f"/v1/financing/requests/{rid}/offers", json=offer), 409)
    assert refused["type"].endswith("/financing-request-closed") and refused["requestStatus"] == "accepted"
    problem(supplier.client.post(f"/v1/financing/requests/{rid}/withdraw"), 409, "financing-request-closed")
    assert ok(supplier.client.get(f"/v1/financing/requests/{rid}"))["status"] == "accepted"

    # every step is in the audit log, under its route's name, by the member that took it
    audit = p["auditor"].client
    for action, who in (("create_request", supplier), ("answer_request", bank), ("answer_request", bank2)):
        entries = ok(audit.get("/v1/audit", params={"action": action, "member_id": who.id, "limit": 500}))["items"]
        assert [e for e in entries if e["result"] == "ok"], (action, entries)
    refused = ok(audit.get("/v1/audit", params={"action": "withdraw_request", "member_id": supplier.id}))["items"]
    assert [e["result"] for e in refused] == ["rejected"]


def test_bad_requests_are_problems_and_change_nothing(parties: dict[str, Party], operator_client: httpx.Client) -> None:
    p = parties
    supplier = p["supplier"]
    note_id = _note(p, "5000.00", days=60)
    before = len(_requests(p["auditor"]))
    cases: list[tuple[Party | httpx.Client, dict[str, Any], int, str]] = [
        (supplier, _ask(p, note_id, "5000.01", ["bank"]), 422, "insufficient-value"),
        (supplier, _ask(p, note_id, "1.00", ["core"]), 422, "invalid-financing-bank"),
        (supplier, _ask(p, note_id, "1.00", ["supplier2"]), 422, "invalid-financing-bank"),
        (
            supplier,
            {**_ask(p, note_id, "1.00", ["bank"]), "financier_ids": [p["bank"].id] * 2},
            422,
            "invalid-financing-bank",
        ),
        (supplier, {**_ask(p, note_id, "1.00", ["bank"]), "financier_ids": [999_999]}, 422, "invalid-financing-bank"),
        (supplier, {**_ask(p, note_id, "1.00", ["bank"]), "financier_ids": []}, 422, "validation-error"),
        (supplier, _ask(p, note_id, "1.00", ["bank"], expires_at=_days(-1)), 422, "invalid-expiry"),
        (supplier, _ask(p, note_id, "1.00", ["bank"], expires_at=_days(61)), 422, "invalid-expiry"),
        (supplier, _ask(p, note_id, "0", ["bank"]), 422, "validation-error"),
        (supplier, _ask(p, note_id, "1.00", ["bank"], target_rate_bps=10_001), 422, "validation-error"),
        (supplier, _ask(p, 10**12, "1.00", ["bank"]), 404, "not-found"),
        (p["supplier2"], _ask(p, note_id, "1.00", ["bank"]), 404, "not-found"),
        (p["core"], _ask(p, note_id, "1.00", ["bank"]), 403, "forbidden"),  # the obligor sees it, does not hold it
        (operator_client, _ask(p, note_id, "1.00", ["bank"]), 403, "forbidden"),
    ]
    for caller, body, status, slug in cases:
        client = caller.client if isinstance(caller, Party) else caller
        response = client.post("/v1/financing/requests", json=body)
        found = problem(response, status, slug)
        assert found["detail"], found
    # a pledged note cannot be sold
    locked = _note(p, "100.00")
    ok(supplier.client.post(f"/v1/notes/{locked}/lock", json={"lienholder_id": p["bank"].id}))
    problem(
        supplier.client.post("/v1/financing/requests", json=_ask(p, locked, "1.00", ["bank"])), 409, "note-is-locked"
    )
    assert len(_requests(p["auditor"])) == before

    # one live request per note; an asked bank may not offer more than was asked; only the requester withdraws
    rid = ok(supplier.client.post("/v1/financing/requests", json=_ask(p, note_id, "2000.00", ["bank"])), 201)["id"]
    dup = problem(supplier.client.post("/v1/financing/requests", json=_ask(p, note_id, "1.00", ["bank2"])), 409)
    assert dup["type"].endswith("/financing-request-open") and dup["requestId"] == rid
    too_much = {"value": "2000.01", "rate_bps": 700, "expires_at": _days(5)}
    problem(p["bank"].client.post(f"/v1/financing/requests/{rid}/offers", json=too_much), 422, "insufficient-value")
    problem(p["bank"].client.post(f"/v1/financing/requests/{rid}/withdraw"), 403, "forbidden")
    problem(p["bank3"].client.post(f"/v1/financing/requests/{rid}/withdraw"), 404, "not-found")
    problem(supplier.client.get("/v1/financing/requests", params={"status": "done"}), 422, "validation-error")
    problem(supplier.client.get("/v1/financing/requests/99999999"), 404, "not-found")
    assert ok(supplier.client.get(f"/v1/financing/requests/{rid}"))["offers"] == []


def test_withdrawn_and_expired_requests_take_no_offers(parties: dict[str, Party]) -> None:
    p = parties
    supplier, bank = p["supplier"], p["bank"]
    note_id = _note(p, "800.00")
    rid = ok(supplier.client.post("/v1/financing/requests", json=_ask(p, note_id, "800.00", ["bank"])), 201)["id"]
    withdrawn = ok(supplier.client.post(f"/v1/financing/requests/{rid}/withdraw"))
    assert withdrawn["status"] == "withdrawn" and withdrawn["withdrawn_at"]
    assert ok(supplier.client.post(f"/v1/financing/requests/{rid}/withdraw"))["status"] == "withdrawn"
    offer = {"rate_bps": 700, "expires_at": _days(5)}
    closed = problem(bank.client.post(f"/v1/financing/requests/{rid}/offers", json=offer), 409)
    assert closed["type"].endswith("/financing-request-closed") and closed["requestStatus"] == "withdrawn"
    assert rid not in {r["id"] for r in _requests(bank, status="open")}
    assert rid in {r["id"] for r in _requests(bank, status="withdrawn")}

    # a request that expires takes no more offers, and the note may be offered again
    soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    expiring = ok(
        supplier.client.post("/v1/financing/requests", json=_ask(p, note_id, "100.00", ["bank"], expires_at=soon)), 201
    )
    assert expiring["status"] == "open"
    deadline = time.monotonic() + 60
    while ok(bank.client.get(f"/v1/financing/requests/{expiring['id']}"))["status"] != "expired":
        assert time.monotonic() < deadline, "the request never expired"
        time.sleep(0.5)
    assert expiring["id"] in {r["id"] for r in _requests(bank, status="expired")}
    assert expiring["id"] not in {r["id"] for r in _requests(bank, status="open")}
    closed = problem(bank.client.post(f"/v1/financing/requests/{expiring['id']}/offers", json=offer), 409)
    assert closed["requestStatus"] == "expired"
    ok(supplier.client.post("/v1/financing/requests", json=_ask(p, note_id, "100.00", ["bank"])), 201)


def test_the_list_pages(parties: dict[str, Party]) -> None:
    p = parties
    for face in ("10.00", "20.00", "30.00"):
        note_id = _note(p, face)
        ok(p["supplier"].client.post("/v1/financing/requests", json=_ask(p, note_id, face, ["bank2"])), 201)
    everything = [r["id"] for r in _requests(p["bank2"])]
    assert len(everything) >= 3
    paged: list[int] = []
    cursor = 0
    while True:
        page = ok(p["bank2"].client.get("/v1/financing/requests", params={"limit": 2, "cursor": cursor}))
        assert len(page["items"]) <= 2
        paged += [r["id"] for r in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = int(page["next_cursor"])
    assert paged == everything
