"""Browser fixtures for the web console: Debian's Chromium driven by Playwright, headless, offline."""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.companies import for_role
from tests.conftest import ServerThread, ok, random_hash, with_mint_ceiling

CHROMIUM = Path(os.environ.get("SCF_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_browser() -> None:
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return
    reason = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; `make test` does it as root)"
    if os.environ.get("SCF_REQUIRE_BROWSER"):
        pytest.fail(f"SCF_REQUIRE_BROWSER is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (empty session storage) at a laptop-sized viewport."""
    yield from _tab(browser, "en-GB")


@pytest.fixture(params=["zh-CN", "en"])
def lang_page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    """A fresh tab whose browser asks for zh-CN or en (the console follows navigator.languages); .lang is the tag."""
    for tab in _tab(browser, request.param):
        tab.lang = request.param
        yield tab


def _tab(browser: Any, locale: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale=locale, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    yield tab
    context.close()
    # a script error is a defect even when the test's own checks passed; refused requests (4xx the tests provoke,
    # logged by Chromium as "Failed to load resource") are the API's answers, which the page shows
    assert not [e for e in errors if not e.startswith("Failed to load resource")], errors


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in_any_language(page: Any, base_url: str, key: str) -> None:
    """Signs in by the form's ids (its labels are in the page's language)."""
    page.goto(f"{base_url}/app/")
    page.locator("body[data-language]").wait_for(state="attached")
    page.locator("#api-key").fill(key)
    page.locator("#signin-form button[type=submit]").click()
    page.locator("#sign-out").wait_for()
    page.locator("#view [aria-busy='false']").wait_for()


def open_view(page: Any, view: str) -> None:
    page.locator(f"#nav-{view}").click()
    page.wait_for_function(
        "(id) => document.getElementById(id)?.getAttribute('aria-current') === 'page'", arg=f"nav-{view}"
    )
    page.locator(f"#view-{view}[aria-busy='false']").wait_for()


def catalogue(lang: str) -> dict[str, str]:
    path = Path(__file__).resolve().parents[2] / "web" / "i18n" / f"{lang}.json"
    loaded: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def sign_in(page: Any, base_url: str, key: str) -> None:
    page.goto(f"{base_url}/app/")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#sign-out").wait_for()
    page.locator("#view [aria-busy='false']").wait_for()


def wait_for_view(page: Any) -> None:
    page.locator("#view [aria-busy='false']").wait_for()


def minor(text: str) -> int:
    whole, _, frac = text.partition(".")
    return int(whole) * 100 + int(frac.ljust(2, "0"))


@dataclass
class Member:
    id: int
    key: str
    client: httpx.Client


@dataclass
class ConsoleWorld:
    """Members admitted through the API on the session's chain, and a receivable the supplier holds."""

    url: str
    operator_key: str
    core: Member
    supplier: Member
    supplier2: Member
    supplier3: Member
    bank: Member
    auditor: Member
    order_id: int
    note_id: int
    names: dict[int, str]  # display names of the members admitted with a company profile (scripts/companies.py)

    def shown_name(self, texts: dict[str, str], member_id: int) -> str:
        """How the console names a member: its display name, "Member 7" / "成员 7" for one without a profile."""
        return self.names.get(member_id) or texts["member.name"].replace("{id}", str(member_id))

    def note(self, note_id: int) -> dict[str, Any]:
        return ok(self.auditor.client.get(f"/v1/notes/{note_id}"))

    def notes_of(self, member: Member) -> list[dict[str, Any]]:
        return [n for n in ok(member.client.get("/v1/notes"))["items"] if n["holder_id"] == member.id]

    def issue(self, face: str, days: int = 120) -> int:
        """The core confirms a receivable to the supplier directly; returns its first note."""
        body = {
            "creditor_id": self.supplier.id,
            "face_value": face,
            "maturity": (date.today() + timedelta(days=days)).isoformat(),
            "invoice_hash": random_hash(),
        }
        return int(ok(self.core.client.post("/v1/receivables", json=body), 201)["first_note_id"])


@pytest.fixture(scope="module")
def world(api: ServerThread, operator_key: str) -> Iterator[ConsoleWorld]:
    clients: list[httpx.Client] = []
    names: dict[int, str] = {}
    run = str(100 + secrets.randbelow(900))  # digits only: tells runs apart without a Latin word in the zh-CN scan

    def admit(op: httpx.Client, roles: list[str], index: int | None = None, **extra: str) -> Member:
        """A member; with `index`, the seed's `index`-th company of its role (scripts/companies.py) as its profile.
        supplier2 and the auditor stay without a profile: the console names them by id."""
        identity: dict[str, Any] = {"kyc_hash": random_hash()}
        if index is not None:
            identity = {"profile": for_role(roles[0], index, run)}
        body = ok(op.post("/v1/members", json=with_mint_ceiling(roles, {"roles": roles, **identity, **extra})), 201)
        client = httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {body['api_key']}"})
        clients.append(client)
        if index is not None:
            names[body["member"]["id"]] = identity["profile"]["display_name"]
        return Member(body["member"]["id"], body["api_key"], client)

    with httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {operator_key}"}) as op:
        core = admit(op, ["core_enterprise"], 0, credit_limit="50000000.00")
        supplier, supplier2, supplier3 = admit(op, ["supplier"], 0), admit(op, ["supplier"]), admit(op, ["supplier"], 2)
        bank = admit(op, ["financier"], 0)
        auditor = admit(op, ["auditor"])
    ok(bank.client.post("/v1/cash/mint", json={"member_id": bank.id, "amount": "5000000.00", "reference": "own"}), 201)
    ok(bank.client.post("/v1/cash/mint", json={"member_id": core.id, "amount": "5000000.00", "reference": "dep"}), 201)
    due = (date.today() + timedelta(days=90)).isoformat()
    order = ok(
        supplier.client.post(
            "/v1/orders",
            json={"buyer_id": core.id, "amount": "1000000.00", "document_hash": random_hash(), "due_date": due},
        ),
        201,
    )
    order_id = int(order["id"])
    ok(core.client.post(f"/v1/orders/{order_id}/confirm"))
    ok(supplier.client.post(f"/v1/orders/{order_id}/deliver"))
    invoice = {
        "face_value": "1000000.00",
        "maturity": (date.today() + timedelta(days=120)).isoformat(),
        "invoice_hash": random_hash(),
    }
    accepted = ok(core.client.post(f"/v1/orders/{order_id}/accept", json=invoice))
    receivable = ok(supplier.client.get(f"/v1/receivables/{accepted['receivable_id']}"))
    yield ConsoleWorld(
        api.url,
        operator_key,
        core,
        supplier,
        supplier2,
        supplier3,
        bank,
        auditor,
        order_id,
        int(receivable["first_note_id"]),
        names,
    )
    for client in clients:
        client.close()


def amount_text(text: str) -> str:
    """'£1,234.50' or 'CN¥1,234.50' -> '1234.50' (what the page shows, back in the API's form)."""
    return re.sub(r"[^0-9.]", "", text)
