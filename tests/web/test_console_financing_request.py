"""Request financing in the console (issue 23), in zh-CN and in English: the supplier asks two banks for offers on part
of a note, a bank asked sees the request (the requester under the visibility rules) and answers with an offer, the
supplier accepts it under "Financing offers", which closes the request. Driven in Debian's Chromium against the real
API, chain and database; each step is checked against the API, and screenshots go to test-output/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import ok, random_hash
from tests.web.conftest import ConsoleWorld, Member, catalogue, screenshot, sign_in_any_language
from tests.web.test_console_i18n import VISIBLE_TEXT, english_words, ledger_names


@dataclass
class Banks:
    world: ConsoleWorld
    second: Member


@pytest.fixture(scope="module")
def banks(world: ConsoleWorld) -> Iterator[Banks]:
    """The world's bank and a second one, so that the supplier asks more than one."""
    with httpx.Client(base_url=world.url, timeout=60, headers={"Authorization": f"Bearer {world.operator_key}"}) as op:
        body = ok(op.post("/v1/members", json={"roles": ["financier"], "kyc_hash": random_hash()}), 201)
    client = httpx.Client(base_url=world.url, timeout=60, headers={"Authorization": f"Bearer {body['api_key']}"})
    yield Banks(world, Member(body["member"]["id"], body["api_key"], client))
    client.close()


def _sign_out(page: Any) -> None:
    page.locator("#sign-out").click()
    page.locator("#signin-form").wait_for()


def _no_english(page: Any, where: str, world: ConsoleWorld) -> None:
    if page.lang == "zh-CN":
        found = english_words(page.evaluate(VISIBLE_TEXT), ledger_names(world))
        assert found == [], f"{where}: English left in the zh-CN console: {found}"


def test_supplier_requests_financing_a_bank_answers_and_the_supplier_accepts(lang_page: Any, banks: Banks) -> None:
    world, page = banks.world, lang_page
    texts = catalogue(page.lang)
    note_id = world.issue("80000.00", days=60)

    # the supplier asks both banks for offers on 30,000.00 of the note, hoping for 6 % without recourse
    sign_in_any_language(page, world.url, world.supplier.key)
    form = page.locator("#request-form")
    form.wait_for()
    page.locator("#request-note").select_option(str(note_id))
    assert page.locator("#request-value").input_value() == "80000.00"  # the whole note, until the supplier changes it
    page.locator("#request-value").fill("90000.00")
    for bank in (world.bank.id, banks.second.id):
        page.locator(f"input[data-bank-id='{bank}']").check()
    page.locator("#request-submit").click()
    refused = page.locator("#request-status.error")
    refused.wait_for()  # more than the note holds: refused in the page, nothing sent
    assert refused.inner_text().startswith(texts["request.error_value"].split("{")[0])
    assert ok(world.supplier.client.get("/v1/financing/requests", params={"note_id": note_id}))["items"] == []
    page.locator("#request-value").fill("30000.00")
    page.locator("#request-rate").fill("600")
    page.locator("#request-recourse").select_option("false")
    page.locator("#request-submit").click()
    page.locator("#request-status.ok").wait_for()
    page.locator("#view-supplier[aria-busy='false']").wait_for()
    (request,) = ok(world.supplier.client.get("/v1/financing/requests", params={"note_id": note_id}))["items"]
    rid = request["id"]
    assert (request["value"], request["target_rate_bps"], request["recourse"]) == ("30000.00", 600, False)
    assert request["financier_ids"] == sorted([world.bank.id, banks.second.id])
    row = page.locator(f"#my-requests tr[data-request-id='{rid}']")
    assert row.get_attribute("data-request-state") == "open"
    assert texts["status.request.open"] in row.inner_text()
    _no_english(page, "supplier with a request", world)
    screenshot(page, f"financing-request-supplier-{page.lang}")
    _sign_out(page)

    # the bank sees the request with what it needs to price it, the requester hidden (no grant, no dealings)
    sign_in_any_language(page, world.url, world.bank.key)
    row = page.locator(f"#open-requests tr[data-request-id='{rid}']")
    row.wait_for()
    seen = ok(world.bank.client.get(f"/v1/financing/requests/{rid}"))
    assert isinstance(seen["requester_id"], str)
    shown = row.inner_text()
    assert texts["request.undisclosed"] in shown and seen["requester_id"] in shown
    assert world.shown_name(texts, world.core.id) in shown  # the obligor, by name
    assert "30,000.00" in shown and "80,000.00" in shown
    _no_english(page, "bank with a request", world)
    row.locator(f"button[data-answer-request='{rid}']").click()
    dialog = page.locator("#answer-dialog")
    dialog.wait_for()
    assert page.locator("#answer-rate").input_value() == "600"  # the supplier's target, to start from
    assert "null" not in dialog.inner_text()
    page.locator("#answer-rate").fill("650")
    screenshot(page, f"financing-request-bank-answer-{page.lang}")
    page.locator("#answer-submit").click()
    page.locator("#answer-status.ok").wait_for()
    page.locator("#view-bank[aria-busy='false']").wait_for()
    answered = ok(world.bank.client.get(f"/v1/financing/requests/{rid}"))
    assert answered["status"] == "offered"
    (offer,) = answered["offers"]
    assert (offer["value"], offer["rate_bps"], offer["request_id"]) == ("30000.00", 650, rid)
    screenshot(page, f"financing-request-bank-{page.lang}")
    _sign_out(page)

    # the supplier sees the offer that answers its request and accepts it; the request is closed
    balance_before = ok(world.supplier.client.get("/v1/cash/balance"))["balance"]
    sign_in_any_language(page, world.url, world.supplier.key)
    offer_row = page.locator(f"#open-offers tr[data-request-id='{rid}']")
    assert offer_row.get_attribute("data-offer-id") == str(offer["id"])
    assert texts["request.name"].replace("{id}", str(rid)) in offer_row.inner_text()
    assert page.locator(f"#my-requests tr[data-request-id='{rid}']").get_attribute("data-request-state") == "offered"
    offer_row.locator("button").click()
    page.locator("#offer-dialog").wait_for()
    page.locator("#offer-confirm").click()
    page.locator("#offer-status.ok").wait_for()
    page.locator("#view-supplier[aria-busy='false']").wait_for()
    closed = ok(world.supplier.client.get(f"/v1/financing/requests/{rid}"))
    assert (closed["status"], closed["accepted_offer_id"]) == ("accepted", offer["id"])
    assert ok(world.supplier.client.get("/v1/cash/balance"))["balance"] != balance_before
    row = page.locator(f"#my-requests tr[data-request-id='{rid}']")
    assert row.get_attribute("data-request-state") == "accepted"
    assert texts["status.request.accepted"] in row.inner_text()
    _no_english(page, "supplier after the sale", world)
    screenshot(page, f"financing-request-accepted-{page.lang}")


def test_supplier_withdraws_a_request_and_the_bank_no_longer_sees_it(lang_page: Any, banks: Banks) -> None:
    world, page = banks.world, lang_page
    note_id = world.issue("5000.00", days=40)
    ask = {"note_id": note_id, "value": "5000.00", "financier_ids": [banks.second.id], "expires_at": _in_days(10)}
    rid = ok(world.supplier.client.post("/v1/financing/requests", json=ask), 201)["id"]
    assert rid in {r["id"] for r in ok(banks.second.client.get("/v1/financing/requests"))["items"]}
    sign_in_any_language(page, world.url, world.supplier.key)
    page.locator(f"button[data-withdraw-request='{rid}']").click()
    page.locator("#request-status.ok").wait_for()
    page.locator("#view-supplier[aria-busy='false']").wait_for()
    assert ok(world.supplier.client.get(f"/v1/financing/requests/{rid}"))["status"] == "withdrawn"
    row = page.locator(f"#my-requests tr[data-request-id='{rid}']")
    assert row.get_attribute("data-request-state") == "withdrawn"
    screenshot(page, f"financing-request-withdrawn-{page.lang}")
    _sign_out(page)
    sign_in_any_language(page, world.url, banks.second.key)
    page.locator("#open-requests, #open-requests-empty").first.wait_for()
    assert page.locator(f"#open-requests tr[data-request-id='{rid}']").count() == 0


def _in_days(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()
