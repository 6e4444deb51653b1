"""The console in Chinese and English (issue 23): one message catalogue per language, charts per role, CSV export.

The catalogue tests read web/i18n/*.json and the JavaScript statically; the others drive Debian's Chromium against the
real API, chain and database with the browser asking for zh-CN or en, and compare what the page and its charts show
with what the API says. Screenshots per role and language go to test-output/screenshots/.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ok
from tests.web.conftest import ConsoleWorld, catalogue, open_view, screenshot, sign_in_any_language

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def keys_used_in_the_page() -> set[str]:
    """Every catalogue key the JavaScript and the static page name: t("…"), nav titles, data-i18n attributes."""
    used: set[str] = set()
    for path in (WEB / "js").rglob("*.js"):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bt\(\s*\"([^\"]+)\"", text))
        used |= set(re.findall(r"\btitle: \"(nav\.[a-z_]+)\"", text))
        assert not re.search(r"\bt\(\s*`", text), f"{path}: a computed key cannot be checked; name every key"
    html = (WEB / "index.html").read_text(encoding="utf-8")
    used |= set(re.findall(r'data-i18n(?:-label)?="([^"]+)"', html))
    return used


def test_both_catalogues_have_every_key_with_the_same_placeholders() -> None:
    zh, en = catalogue("zh-CN"), catalogue("en")
    assert sorted(set(en) - set(zh)) == [], "keys missing in zh-CN"
    assert sorted(set(zh) - set(en)) == [], "keys missing in en"
    for key in en:
        assert en[key].strip() and zh[key].strip(), f"{key} is empty"
        assert set(PLACEHOLDER.findall(en[key])) == set(PLACEHOLDER.findall(zh[key])), f"{key}: placeholders differ"


def test_every_key_the_console_uses_is_in_the_catalogues() -> None:
    used = keys_used_in_the_page()
    assert len(used) > 300  # the scan found the keys (a broken pattern would find none and pass)
    for lang in ("zh-CN", "en"):
        assert sorted(used - set(catalogue(lang))) == [], f"keys used but missing in {lang}"


def test_the_glossary_terms_are_the_catalogues_terms() -> None:
    """docs/glossary.md and the zh-CN catalogue use the same words for the field's terms."""
    zh, en = catalogue("zh-CN"), catalogue("en")
    pairs = {
        "note.name": ("电子债权凭证", "Note"),
        "receivable.name": ("应收账款", "Receivable"),
        "nav.core": ("核心企业", "Core enterprise"),
        "nav.supplier": ("供应商", "Supplier"),
        "move.split": ("拆分", "Split"),
        "move.transfer": ("转让", "Transfer"),
        "sell.with_recourse": ("有追索权", "With recourse"),
        "sell.without_recourse": ("无追索权", "Without recourse"),
        "orders.pledge": ("质押", "Pledge"),
        "movement.redeem": ("到期兑付", "redeem"),
        "admit.limit": ("授信额度", "Credit limit"),
    }
    glossary = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    for key, (chinese, english) in pairs.items():
        assert chinese in zh[key] and english in en[key], key
        assert chinese in glossary, chinese


# --- the rendered pages -------------------------------------------------------------------------------------------

#: what may stay Latin in the zh-CN console: ids and amounts are digits; these are names, codes and literal input
ALLOWED = {"English", "latest", "CN", "API", "CSV", "KYC", "UTC", "SHA", "ERP", "CNY", "json"}
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*[A-Za-z]|[A-Za-z]")

VISIBLE_TEXT = """() => {
  const skip = (el) => el.closest('code, .hash, script, style, #lang-switch, noscript');
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || skip(el) || !node.textContent.trim()) continue;
    if (el.closest('option') ? !el.closest('select').checkVisibility() : !el.checkVisibility()) continue;
    out.push(node.textContent.trim());
  }
  for (const el of document.body.querySelectorAll('[aria-label], [placeholder]')) {
    if (skip(el)) continue;
    for (const name of ['aria-label', 'placeholder']) if (el.getAttribute(name)) out.push(el.getAttribute(name));
  }
  for (const chart of Object.values(window.__scfCharts ?? {})) {
    if (chart.isDisposed()) continue;
    const option = chart.getOption();
    for (const part of [...(option.title ?? []), ...(option.xAxis ?? []), ...(option.yAxis ?? [])]) {
      if (part.text) out.push(part.text);
      if (part.name) out.push(part.name);
      for (const label of part.data ?? []) if (typeof label === 'string') out.push(label);
    }
    for (const series of option.series ?? []) if (series.name) out.push(series.name);
  }
  out.push(document.title);
  return out;
}"""


def ledger_names(world: ConsoleWorld) -> list[str]:
    """Every member name the ledger holds (display names, legal names and codes of the profiles), longest first:
    data the console shows, not strings of its own, so the zh-CN scan leaves them out. The session's chain also
    holds the members of other test modules, whose names carry Latin run tags ("浦江银行fcba1c")."""
    names: set[str] = set()
    cursor: int | None = 0
    with httpx.Client(base_url=world.url, timeout=60, headers={"Authorization": f"Bearer {world.operator_key}"}) as op:
        while cursor is not None:
            page = ok(op.get("/v1/members", params={"limit": 500, "cursor": cursor}))
            for member in page["items"]:
                profile = member.get("profile") or {}
                names.update(v for v in (member.get("name"), *profile.values()) if isinstance(v, str) and v)
            cursor = page.get("next_cursor") or None
    return sorted(names, key=len, reverse=True)


def english_words(texts: list[str], names: list[str] | None = None) -> list[str]:
    """Latin words in the texts that are not hashes, snake_case route names, acronyms or the allowed names;
    `names` (the ledger's member names, `ledger_names`) are data and are taken out first."""
    found = []
    for text in texts:
        for name in names or ():
            text = text.replace(name, " ")
        cleaned = re.sub(r"0x[0-9a-fA-F]*|\b(?=[0-9a-f]*\d)[0-9a-f]{4,}\b|\b\w+_\w+\b|[A-Za-z0-9]+\.json", " ", text)
        for word in LATIN_WORD.findall(cleaned):
            if word in ALLOWED or (word.isupper() and len(word) <= 5):
                continue
            found.append(f"{word!r} in {text!r}")
    return found


@pytest.fixture(scope="module")
def busy_world(world: ConsoleWorld) -> ConsoleWorld:
    """The world with a note sold to the bank, an order pledged to it and a refused request (so every view has rows)."""
    note_id = world.issue("300000.00", days=45)
    body = {"note_id": note_id, "value": "300000.00", "rate_bps": 800, "expires_at": _in_days(20)}
    offer = ok(world.bank.client.post("/v1/financing/offers", json=body), 201)
    ok(world.supplier.client.post(f"/v1/financing/offers/{offer['id']}/accept"))
    world.bank.client.post("/v1/financing/offers", json={})  # refused: the audit log has a "rejected" entry
    return world


ROLES = [
    # role, key attribute of the world (None: the operator), the views it sees
    ("supplier", "supplier", ["supplier", "keys"]),
    ("core", "core", ["core", "keys"]),
    ("bank", "bank", ["bank", "keys"]),
    ("auditor", "auditor", ["oversight", "keys"]),
    ("operator", None, ["oversight", "operator"]),
]


def _key(world: ConsoleWorld, attribute: str | None) -> str:
    return world.operator_key if attribute is None else getattr(world, attribute).key


@pytest.mark.parametrize(("role", "attribute", "views"), ROLES, ids=[r[0] for r in ROLES])
def test_zh_cn_console_shows_no_english_ui_word(
    browser: Any, busy_world: ConsoleWorld, role: str, attribute: str | None, views: list[str]
) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{busy_world.url}/app/")
        page.locator("body[data-language='zh-CN']").wait_for(state="attached")
        names = ledger_names(busy_world)
        assert english_words(page.evaluate(VISIBLE_TEXT), names) == []  # the sign-in page
        sign_in_any_language(page, busy_world.url, _key(busy_world, attribute))
        for view in views:
            open_view(page, view)
            assert page.evaluate("() => document.documentElement.lang") == "zh-CN"
            found = english_words(page.evaluate(VISIBLE_TEXT), names)
            assert found == [], f"{role}/{view}: English left in the zh-CN console: {found}"
    finally:
        context.close()


def test_the_scan_finds_a_string_that_bypasses_the_catalogue() -> None:
    """The scan itself: an English UI word is caught; names, ids, hashes, amounts and codes are not."""
    allowed = ["成员 12 · 供应商", "CN¥1,250,000.00", "0xabcdef0123456789", "accept_order", "API 密钥", "0x 哈希"]
    assert english_words(["（链头 0924f16f42…f725d0）"]) == []  # noqa: RUF001
    assert english_words(allowed) == []
    assert english_words(["下载 proof.json", "数字，或 latest（最新）", "English"]) == []  # noqa: RUF001
    assert english_words(["Export CSV"]) == ["'Export' in 'Export CSV'"]
    assert english_words(["资金余额：", "No receivable owed yet."]) != []  # noqa: RUF001


# --- each role's main view and its chart, in both languages -----------------------------------------------------


def chart_option(page: Any, chart_id: str) -> dict[str, Any]:
    box = page.locator(f"#{chart_id}[data-drawn='true']")
    box.wait_for()
    size = page.evaluate(
        """(id) => { const c = document.querySelector(`#${id} canvas, #${id} svg`);
                     if (!c) return null; const r = c.getBoundingClientRect(); return [r.width, r.height]; }""",
        chart_id,
    )
    assert size and size[0] > 0 and size[1] > 0, f"{chart_id} drew nothing"
    option: dict[str, Any] = page.evaluate(
        "(id) => JSON.parse(JSON.stringify(window.__scfCharts[id].getOption()))", chart_id
    )
    return option


def money_of(value: Any) -> Decimal:
    raw = value["value"] if isinstance(value, dict) else value
    return Decimal(str(raw)).quantize(Decimal("0.01"))


def _in_days(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def test_core_payables_by_month_against_cash(lang_page: Any, busy_world: ConsoleWorld) -> None:
    world, page = busy_world, lang_page
    texts = catalogue(page.lang)
    sign_in_any_language(page, world.url, world.core.key)
    option = chart_option(page, "core-payables-chart")
    assert option["title"][0]["text"] == texts["payables.chart_title"]
    # the API's view of the same months: receivables I owe, not settled, by maturity month
    owed = ok(world.core.client.get("/v1/receivables", params={"role": "obligor", "limit": 500}))["items"]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    funded: dict[str, Decimal] = defaultdict(Decimal)
    for r in owed:
        if r["status"] != "active":
            continue
        totals[r["maturity"][:7]] += Decimal(r["face_value"])
        state = ok(world.core.client.get(f"/v1/settlement/receivables/{r['id']}"))
        funded[r["maturity"][:7]] += Decimal(state["funded"])
    months = sorted(totals)
    series = {s["name"]: s["data"] for s in option["series"]}
    shown_funded = [money_of(v) for v in series[texts["payables.series_funded"]]]
    shown_to_pay = [money_of(v) for v in series[texts["payables.series_to_pay"]]]
    assert len(option["xAxis"][0]["data"]) == len(months)
    assert [f + p for f, p in zip(shown_funded, shown_to_pay, strict=True)] == [totals[m] for m in months]
    assert shown_funded == [funded[m] for m in months]
    # the month table says the same, and the warning follows the cash balance
    shown_months = page.locator("#payables-months tr[data-month]").evaluate_all(
        "rows => rows.map(r => r.dataset.month)"
    )
    assert shown_months == months
    cash = Decimal(ok(world.core.client.get("/v1/cash/balance"))["balance"])
    running, short = cash, False
    for m in months:
        running -= totals[m] - funded[m]
        short = short or running < 0
    warning = page.locator("#cash-warning")
    assert ("error" in (warning.get_attribute("class") or "")) == short
    screenshot(page, f"core-{page.lang}")


def test_core_warns_when_cash_falls_short(page: Any, busy_world: ConsoleWorld) -> None:
    """A payable larger than the core's cash turns its month red and raises the warning."""
    world = busy_world
    cash = Decimal(ok(world.core.client.get("/v1/cash/balance"))["balance"])
    world.issue(f"{cash + Decimal('1000000.00'):.2f}", days=300)
    sign_in_any_language(page, world.url, world.core.key)
    warning = page.locator("#cash-warning.error")
    warning.wait_for()
    assert "Cash falls short" in warning.inner_text()
    screenshot(page, "core-cash-short-en")


def test_supplier_maturity_ladder_matches_its_notes(lang_page: Any, busy_world: ConsoleWorld) -> None:
    world, page = busy_world, lang_page
    texts = catalogue(page.lang)
    world.issue("12345.67", days=10)
    sign_in_any_language(page, world.url, world.supplier.key)
    option = chart_option(page, "supplier-ladder-chart")
    assert option["title"][0]["text"] == texts["ladder.title"]
    assert option["xAxis"][0]["data"][0] == texts["bucket.overdue"]
    held = world.notes_of(world.supplier)
    by_obligor: dict[int, Decimal] = defaultdict(Decimal)
    for n in held:
        by_obligor[n["obligor_id"]] += Decimal(n["value"])
    shown = {s["name"]: sum(money_of(v) for v in s["data"]) for s in option["series"]}
    assert shown == {world.shown_name(texts, o): total for o, total in by_obligor.items()}
    assert world.names[world.core.id] in shown  # the obligor by its company name, not "Member N"
    screenshot(page, f"supplier-{page.lang}")


def test_bank_book_concentration_matches_its_notes(lang_page: Any, busy_world: ConsoleWorld) -> None:
    world, page = busy_world, lang_page
    texts = catalogue(page.lang)
    sign_in_any_language(page, world.url, world.bank.key)
    option = chart_option(page, "bank-concentration-chart")
    assert option["title"][0]["text"] == texts["book.chart_title"]
    held = world.notes_of(world.bank)
    assert held, "the bank bought a note in busy_world"
    by_obligor: dict[int, Decimal] = defaultdict(Decimal)
    for n in held:
        by_obligor[n["obligor_id"]] += Decimal(n["value"])
    shown = {d["obligor"]: money_of(d) for d in option["series"][0]["data"]}
    assert shown == dict(by_obligor)
    # "offers I made" names the seller of an accepted offer (not the bank, which holds the note now)
    offers = ok(world.bank.client.get("/v1/financing/offers", params={"limit": 500}))["items"]
    sold = [o for o in offers if o["status"] == "accepted" and o["financier_id"] == world.bank.id]
    assert sold and all(o["holder_id"] == world.bank.id for o in sold)  # busy_world's sale
    for offer in sold:
        seller = ok(world.bank.client.get(f"/v1/financing/purchases/{offer['purchase_id']}"))["seller_id"]
        row = page.locator(f"tr[data-offer-id='{offer['id']}']")
        assert row.locator("td").nth(2).inner_text() == world.shown_name(texts, seller)
        assert seller == world.supplier.id and world.names[seller] == row.locator("td").nth(2).inner_text()
    screenshot(page, f"bank-{page.lang}")


def test_oversight_alerts_chart_and_audit_paging(lang_page: Any, busy_world: ConsoleWorld) -> None:
    world, page = busy_world, lang_page
    texts = catalogue(page.lang)
    for _ in range(55):  # refused writes (nothing is sent to the chain): each is an audit entry, more than a page
        world.bank.client.post("/v1/financing/offers", json={})
    sign_in_any_language(page, world.url, world.auditor.key)
    option = chart_option(page, "oversight-alerts-chart")
    assert option["title"][0]["text"] == texts["alerts.chart_title"]
    alerts = ok(world.auditor.client.get("/v1/alerts", params={"limit": 500}))["items"]
    shown = sum(sum(s["data"]) for s in option["series"])
    assert shown == len(alerts)
    # chain time and wall time are labelled
    headers = page.locator("#alerts-table th, #audit-table th").all_inner_texts() if alerts else []
    if alerts:
        assert texts["col.chain_time"] in headers and texts["col.wall_time"] in headers
    assert texts["col.wall_time_utc"] in page.locator("#audit-table th").all_inner_texts()
    # the audit log pages (50 a page) instead of one long page
    audit = page.locator("#audit-table")
    total = int(audit.get_attribute("data-rows") or 0)
    assert total > 50
    assert audit.locator("tbody tr").count() == 50
    first = audit.locator("tbody tr").first.get_attribute("data-seq")
    audit.locator(".pager-next").click()
    assert audit.locator("tbody tr").first.get_attribute("data-seq") != first
    assert re.search(r"\b2 (/|of) ", audit.locator(".pager-text").inner_text())
    # a filter goes to the API: only refused requests
    page.locator("#audit-result").select_option("rejected")
    page.locator("#audit-filters button[type=submit]").click()
    page.locator("#view-oversight[aria-busy='false'] #audit-filters").wait_for()
    page.wait_for_function("() => document.querySelector('#audit-result')?.value === 'rejected'")
    rejected: list[dict[str, Any]] = []  # every page of them: the API answers oldest first, the console newest first
    cursor: Any = 0
    while cursor is not None:
        page_of = ok(
            world.auditor.client.get("/v1/audit", params={"result": "rejected", "limit": 500, "cursor": cursor})
        )
        rejected.extend(page_of["items"])
        cursor = page_of["next_cursor"]
    seqs = page.locator("#audit-table tbody tr").evaluate_all("rows => rows.map(r => Number(r.dataset.seq))")
    assert seqs and set(seqs) <= {e["seq"] for e in rejected}
    assert seqs == sorted(seqs, reverse=True)  # newest first
    screenshot(page, f"auditor-{page.lang}")


def test_operator_searches_members(lang_page: Any, busy_world: ConsoleWorld) -> None:
    world, page = busy_world, lang_page
    sign_in_any_language(page, world.url, world.operator_key)
    open_view(page, "operator")
    rows = page.locator("#members-table tr[data-member-id]")
    everyone = rows.count()
    assert everyone >= 6
    bank = ok(world.bank.client.get("/v1/members/me"))
    page.locator("#member-search").fill(bank["account"][2:12])
    page.wait_for_function("() => document.querySelectorAll('#members-table tr[data-member-id]').length === 1")
    assert rows.first.get_attribute("data-member-id") == str(world.bank.id)
    # the directory names each member by its company name (the seed's list), and the search finds it by that name
    name = world.names[world.bank.id]
    page.locator("#member-search").fill(name)
    page.wait_for_function("() => document.querySelectorAll('#members-table tr[data-member-id]').length === 1")
    assert rows.first.get_attribute("data-member-id") == str(world.bank.id) and name in rows.first.inner_text()
    screenshot(page, f"operator-{page.lang}")
    page.locator("#member-search").fill("no-such-member-anywhere")
    page.locator("#members-table-empty, #members-table p.muted").first.wait_for()
    assert rows.count() == 0


def test_csv_export_downloads_the_rows_with_a_bom(lang_page: Any, busy_world: ConsoleWorld) -> None:
    world, page = busy_world, lang_page
    texts = catalogue(page.lang)
    sign_in_any_language(page, world.url, world.bank.key)
    with page.expect_download() as info:
        page.locator("#bank-book .csv-export").click()
    raw = Path(info.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel opens Chinese correctly
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header = [texts[k] for k in ("notes.col_obligor", "col.notes", "col.value", "col.concentration", "col.capacity")]
    assert rows[0] == header
    by_obligor: dict[int, Decimal] = defaultdict(Decimal)
    for n in world.notes_of(world.bank):
        by_obligor[n["obligor_id"]] += Decimal(n["value"])
    assert {r[0]: Decimal(r[2]) for r in rows[1:]} == {world.shown_name(texts, o): v for o, v in by_obligor.items()}
    # each obligor's financing capacity, as the credit endpoint computes it
    capacity = {o: ok(world.bank.client.get(f"/v1/members/{o}/credit"))["capacity"] for o in by_obligor}
    assert {r[0]: r[4] for r in rows[1:]} == {world.shown_name(texts, o): c for o, c in capacity.items()}
    assert info.value.suggested_filename.endswith(".csv")


def test_language_switch_is_remembered_and_amounts_are_cn_yuan(browser: Any, busy_world: ConsoleWorld) -> None:
    world = busy_world
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        sign_in_any_language(page, world.url, world.supplier.key)
        zh = catalogue("zh-CN")
        assert page.locator("#nav-supplier").inner_text() == zh["nav.supplier"]
        balance = page.locator("#cash-balance").inner_text()
        assert balance.startswith("CN¥") and re.search(r"\d,\d{3}", balance), balance  # grouped
        page.locator("#lang-switch").select_option("en")
        page.wait_for_function("() => document.documentElement.lang === 'en'")
        page.locator("#view-supplier[aria-busy='false']").wait_for()
        assert page.locator("#nav-supplier").inner_text() == "Supplier"
        page.reload()  # the choice outlives the page (localStorage), although the browser asks for zh-CN
        page.locator("body[data-language='en']").wait_for(state="attached")
        page.locator("#view-supplier[aria-busy='false']").wait_for()
        assert page.locator("#sign-out").inner_text() == "Sign out"
    finally:
        context.close()


def test_core_funds_several_receivables_in_one_action(lang_page: Any, busy_world: ConsoleWorld) -> None:
    world, page = busy_world, lang_page
    first, second = (world.note(world.issue(face, days=50))["receivable_id"] for face in ("1500.00", "2500.25"))
    sign_in_any_language(page, world.url, world.core.key)
    for slot in (first, second):
        page.locator(f"input.fund-pick[data-receivable-id='{slot}']").check()
    page.locator("#fund-selected").click()
    page.locator("#fund-status.ok").wait_for()
    page.locator("#view-core[aria-busy='false']").wait_for()
    for slot, face in ((first, "1500.00"), (second, "2500.25")):
        funding = ok(world.core.client.get(f"/v1/settlement/receivables/{slot}"))
        assert (funding["funded"], funding["unfunded"]) == (face, "0.00")
    assert "4,000.25" in page.locator("#fund-status").inner_text()
    screenshot(page, f"core-bulk-funded-{page.lang}")


@pytest.mark.parametrize(("browser_locale", "expected"), [("fr-FR", "zh-CN"), ("en-US", "en"), ("zh-TW", "zh-CN")])
def test_the_language_follows_the_browser_by_default(
    browser: Any, busy_world: ConsoleWorld, browser_locale: str, expected: str
) -> None:
    """navigator.languages decides until the user picks: the first Chinese or English tag, else Chinese."""
    context = browser.new_context(locale=browser_locale)
    page = context.new_page()
    page.set_default_timeout(30_000)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.headers.get("accept-language", "")) if "/v1/" in r.url else None)
    try:
        sign_in_any_language(page, busy_world.url, busy_world.supplier.key)
        assert page.evaluate("() => document.documentElement.lang") == expected
        assert page.locator("#signin-title").inner_text() == catalogue(expected)["signin.title"]
        assert sent and set(sent) == {expected}  # problem details are asked for in the console's language
    finally:
        context.close()
