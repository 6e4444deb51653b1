"""The web console in a real browser (Debian's Chromium) against the real API, chain and database.

Each test signs in with a member's API key, acts through the page, and checks the outcome both on the page and
through the API. Screenshots of every view go to test-output/screenshots/ for a reviewer.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import httpx

from chain.node.rpc import rpc_call
from tests.conftest import ServerThread, ok, problem, random_hash
from tests.web.conftest import ConsoleWorld, amount_text, minor, screenshot, sign_in, wait_for_view


def test_console_page_loads_without_a_key_and_api_404s_stay_problems(api: ServerThread) -> None:
    with httpx.Client(base_url=api.url, timeout=30) as http:
        root = http.get("/app", follow_redirects=True)
        assert root.status_code == 200
        assert "SCF Chain console" in root.text
        assert http.get("/app/vendor/cytoscape.esm.mjs").headers["content-type"].startswith("text/javascript")
        charts = http.get("/app/vendor/echarts.esm.mjs")  # Apache ECharts, from node_modules (never committed)
        assert charts.headers["content-type"].startswith("text/javascript") and "registerLocale" in charts.text
        ethers = http.get("/app/vendor/ethers.esm.mjs")  # signs a self-custody member's transactions in the browser
        assert ethers.headers["content-type"].startswith("text/javascript") and "fromEncryptedJson" in ethers.text
        assert http.get("/app/i18n/zh-CN.json").json()["nav.core"] == "核心企业"
        problem(http.get("/app/vendor/nothing.js"), 404, "not-found")
        problem(http.get("/app/no-such-file.js"), 404, "not-found")
        problem(http.get("/v1/no-such-resource"), 404, "not-found")
        problem(http.get("/v1/members/me"), 401, "unauthorized")


def test_sign_in_as_each_role(page: Any, world: ConsoleWorld) -> None:
    expectations = [
        ("supplier", world.supplier.key, "#nav-supplier", "My notes"),
        ("core-enterprise", world.core.key, "#nav-core", "Payables calendar"),
        ("bank", world.bank.key, "#nav-bank", "Verify a note"),
        ("auditor", world.auditor.key, "#nav-oversight", "Alerts"),
        ("operator", world.operator_key, "#nav-operator", "Admit a member"),
    ]
    for name, key, nav, heading in expectations:
        sign_in(page, world.url, key)
        page.locator(nav).click()  # the operator lands on oversight first; members on their first role's view
        page.wait_for_function(
            "(id) => document.getElementById(id)?.getAttribute('aria-current') === 'page'", arg=nav[1:]
        )
        wait_for_view(page)
        assert page.get_by_role("heading", name=heading).is_visible()
        assert unlabelled_controls(page) == []
        screenshot(page, f"view-{name}")
        page.locator("#sign-out").click()
        assert page.get_by_label("API key").is_visible()
    # a member with no such role sees no such view
    sign_in(page, world.url, world.supplier.key)
    assert page.locator("#nav-operator").count() == 0
    assert page.locator("#nav-bank").count() == 0


def test_unknown_key_shows_the_problem_in_plain_words(page: Any, world: ConsoleWorld) -> None:
    page.goto(f"{world.url}/app/")
    page.get_by_label("API key").fill("scf_not-a-real-key")
    page.get_by_role("button", name="Sign in").click()
    status = page.locator("#signin-status.error")
    status.wait_for()
    assert status.inner_text() == "Unauthorized: The API key is unknown or revoked."
    assert page.locator("#sign-out").count() == 0


def unlabelled_controls(page: Any) -> list[str]:
    """Inputs and selects of the current view that a screen reader could not name."""
    found: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('#view input, #view select')]
            .filter((el) => !(el.labels?.length || el.getAttribute('aria-label')))
            .map((el) => el.outerHTML)"""
    )
    return found


def test_keyboard_alone_signs_in_and_switches_views(page: Any, world: ConsoleWorld) -> None:
    page.goto(f"{world.url}/app/")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "lang-switch"  # the language comes first
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "api-key"
    page.keyboard.type(world.operator_key)
    page.keyboard.press("Enter")
    page.locator("#sign-out").wait_for()
    wait_for_view(page)
    assert page.evaluate("() => document.activeElement.id") == "main"  # focus moves to the content after sign-in
    for _ in range(10):  # the views' links come just before it
        page.keyboard.press("Shift+Tab")
        if page.evaluate("() => document.activeElement.id") == "nav-operator":
            break
    else:
        raise AssertionError("the operator view's link is not reachable with Tab")
    page.keyboard.press("Enter")
    page.locator("#view-operator[aria-busy='false']").wait_for()
    assert page.locator("#nav-operator").get_attribute("aria-current") == "page"
    assert unlabelled_controls(page) == []


def test_supplier_splits_a_note_and_sees_the_new_note(page: Any, world: ConsoleWorld) -> None:
    note_id = world.issue("400000.00")
    before = {n["id"] for n in world.notes_of(world.supplier2)}
    sign_in(page, world.url, world.supplier.key)
    form = page.locator("#move-form")  # labels, not ids: the form must be usable by its labels
    form.get_by_label("Note", exact=True).select_option(str(note_id))
    form.get_by_label("To member").select_option(str(world.supplier2.id))
    form.get_by_label("Amount").fill("150,000.00")
    page.locator("#move-submit").click()
    status = page.locator("#move-status.ok")
    status.wait_for()
    wait_for_view(page)
    text = status.inner_text()
    assert f"note {note_id} now holds" in text
    # read-your-writes: the page was re-read after the split and shows the note's new value
    row = page.locator(f"#my-notes tr[data-note-id='{note_id}']")
    assert amount_text(row.locator("td").nth(3).inner_text()) == "250000.00"
    new_notes = [n for n in world.notes_of(world.supplier2) if n["id"] not in before]
    assert len(new_notes) == 1 and new_notes[0]["value"] == "150000.00"
    assert f"new note {new_notes[0]['id']}" in text
    assert world.note(note_id)["value"] == "250000.00"
    screenshot(page, "supplier-after-split")


def test_split_above_the_value_is_refused_readably_and_changes_nothing(page: Any, world: ConsoleWorld) -> None:
    note_id = world.issue("1000.00")
    held_before = world.notes_of(world.supplier)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(f"{request.method} {request.url}"))
    sign_in(page, world.url, world.supplier.key)
    form = page.locator("#move-form")  # labels, not ids: the form must be usable by its labels
    form.get_by_label("Note", exact=True).select_option(str(note_id))
    form.get_by_label("To member").select_option(str(world.supplier3.id))
    form.get_by_label("Amount").fill("1,000.01")
    page.locator("#move-submit").click()
    status = page.locator("#move-status.error")
    status.wait_for()
    assert "is more than note" in status.inner_text()
    assert "Nothing was sent" in status.inner_text()
    assert form.get_by_label("Amount").get_attribute("aria-invalid") == "true"
    assert not [r for r in requests if r.startswith("POST")]
    assert world.notes_of(world.supplier) == held_before
    assert world.note(note_id)["value"] == "1000.00"
    screenshot(page, "supplier-split-refused")


def test_api_refusal_shows_the_problem_detail(page: Any, world: ConsoleWorld) -> None:
    """A refusal only the API can know (an offer on a note that does not exist) shows its problem detail."""
    sign_in(page, world.url, world.bank.key)
    offers_before = ok(world.bank.client.get("/v1/financing/offers"))["items"]
    page.locator("#offer-form").get_by_label("Note id").fill("987654")
    page.locator("#offer-form").get_by_label("Value to buy").fill("100.00")
    page.locator("#offer-submit").click()
    status = page.locator("#make-offer-status.error")
    status.wait_for()
    expected = problem(
        world.bank.client.post(
            "/v1/financing/offers",
            json={"note_id": 987654, "value": "100.00", "rate_bps": 700, "expires_at": _in_days(30)},
        ),
        None,
    )
    assert expected["detail"][1:] in status.inner_text()
    assert status.inner_text().startswith(expected["title"])
    assert ok(world.bank.client.get("/v1/financing/offers"))["items"] == offers_before
    screenshot(page, "bank-offer-refused")


def _in_days(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def test_supplier_accepts_an_offer_and_sees_the_cash_balance_change(page: Any, world: ConsoleWorld) -> None:
    note_id = world.issue("200000.00", days=100)
    body = {"note_id": note_id, "value": "200000.00", "rate_bps": 900, "recourse": True, "expires_at": _in_days(20)}
    offer = ok(world.bank.client.post("/v1/financing/offers", json=body), 201)
    balance_before = ok(world.supplier.client.get("/v1/cash/balance"))["balance"]
    sign_in(page, world.url, world.supplier.key)
    assert page.locator("#cash-balance").get_attribute("data-amount") == balance_before
    page.locator(f"button[data-offer-id='{offer['id']}']").click()
    dialog = page.locator("#offer-dialog")
    dialog.wait_for()
    price = ok(world.supplier.client.get(f"/v1/financing/offers/{offer['id']}"))["price"]
    assert amount_text(dialog.locator("#offer-price").inner_text()) == price
    assert amount_text(dialog.locator("#offer-discount").inner_text()).startswith(
        f"{(minor('200000.00') - minor(price)) / 100:.2f}"
    )
    assert dialog.locator("#offer-recourse").inner_text().startswith("With recourse")
    assert dialog.locator("#offer-days").inner_text().startswith(("99 ", "100 ", "101 "))
    screenshot(page, "supplier-offer-review")
    page.locator("#offer-confirm").click()
    status = page.locator("#offer-status.ok")
    status.wait_for()
    wait_for_view(page)
    balance_after = ok(world.supplier.client.get("/v1/cash/balance"))["balance"]
    assert minor(balance_after) == minor(balance_before) + minor(price)
    assert page.locator("#cash-balance").get_attribute("data-amount") == balance_after
    assert "cash balance went from" in status.inner_text()
    assert ok(world.bank.client.get(f"/v1/financing/offers/{offer['id']}"))["status"] == "accepted"
    screenshot(page, "supplier-after-sale")


def test_bank_verifies_a_note_and_sees_its_provenance_graph(page: Any, world: ConsoleWorld, api: ServerThread) -> None:
    root = world.issue("90000.00")
    first = ok(
        world.supplier.client.post(f"/v1/notes/{root}/split", json={"to": world.supplier2.id, "value": "30000.00"}), 201
    )
    second_parent = first["new_note"]["id"]
    second = ok(
        world.supplier2.client.post(
            f"/v1/notes/{second_parent}/split", json={"to": world.supplier3.id, "value": "10000.00"}
        ),
        201,
    )
    leaf = second["new_note"]["id"]
    # the holder shares its holdings with the bank: without that the bank sees a pseudonym (docs/permissions.md)
    ok(world.supplier3.client.post("/v1/members/me/shares", json={"financier_id": world.bank.id}), 201)
    sign_in(page, world.url, world.bank.key)
    page.locator("#verify-note").fill(str(leaf))
    page.locator("#verify-submit").click()
    page.locator("#verify-status.ok").wait_for()
    facts = page.locator("#verify-facts")
    facts.wait_for()
    # the holder by its company name from the seed's list (the API's holder.name), where it used to say "Member N"
    assert world.names[world.supplier3.id] in facts.inner_text()
    assert f"Member {world.supplier3.id}" not in facts.inner_text()
    assert page.locator("#proof-check").inner_text().startswith("consistent")
    # which node the proof was read from, at which block (number and hash, as that node has them), and how a bank
    # checks the proof on its own node
    node = page.locator("#verify-node").inner_text()
    assert node.startswith("the service's local devchain at block ")
    number = int(node.split("at block ")[1].split()[0])
    block = rpc_call(api.settings.effective_rpc_url, "eth_getBlockByNumber", [hex(number), False])
    assert isinstance(block, dict) and node.endswith(f"({block['hash']})")
    own = page.locator("#verify-own-node").inner_text()
    assert "The proof was read from the service's local devchain" in own
    assert f"scf verify-proof note-{leaf}-proof.json --rpc <your node>" in own
    assert page.locator("#verify-download-proof").get_attribute("download") == f"note-{leaf}-proof.json"
    graph = page.locator("#provenance-graph[data-note-count]")
    graph.wait_for()
    assert graph.get_attribute("data-note-count") == "3"  # the root, its split, and the split of the split
    assert page.locator("#provenance-graph canvas").count() > 0
    # every edge leads to its transaction: tapping it in the graph, or its row's button (the keyboard route)
    edges = page.evaluate("() => window.__scfGraph.edges().map((e) => e.data('edge'))")
    assert [e["kind"] for e in edges].count("split") == 2
    assert second["new_note"]["created_tx"].removeprefix("0x") in {e["tx_hash"].removeprefix("0x") for e in edges}
    details = page.locator("#edge-details")
    tapped = page.evaluate(
        "() => { const e = window.__scfGraph.edges().last(); e.emit('tap'); return e.data('edge'); }"
    )
    assert tapped["tx_hash"] in details.inner_text()
    page.locator("#verify-result table button").first.click()
    assert edges[0]["tx_hash"] in details.inner_text()
    screenshot(page, "bank-verify-provenance")


def test_core_oversight_and_operator_views_show_their_data(page: Any, world: ConsoleWorld) -> None:
    direct = world.note(world.issue("1234.00", days=200))["receivable_id"]  # confirmed directly, no order behind it
    from_order = world.note(world.note_id)["receivable_id"]
    sign_in(page, world.url, world.core.key)
    calendar = page.get_by_role("region", name="Payables calendar")
    shown = calendar.inner_text()
    assert re.search(rf"Receivable {from_order}\b", shown) and re.search(rf"Receivable {direct}\b", shown)
    screenshot(page, "core-payables")
    page.locator("#sign-out").click()
    integrity = ok(world.auditor.client.get("/v1/audit/verify"))
    sign_in(page, world.url, world.auditor.key)
    shown = page.locator("#audit-integrity").inner_text()
    assert shown.startswith("intact" if integrity["ok"] else "broken")
    counted = re.search(r"(\d+) entries", shown)
    assert counted and int(counted.group(1)) >= integrity["entries"]  # reads are audited too: the log only grows
    alerts = ok(world.auditor.client.get("/v1/alerts"))["items"]
    assert page.locator("tr[data-alert-id]").count() == len(alerts)
    screenshot(page, "oversight")
    if alerts:  # the sale above usually raises a concentration alert; its evidence links to the transaction
        evidence = alerts[0]["evidence"][0].lower()
        tx = evidence if evidence.startswith("0x") else "0x" + evidence
        page.locator(f"tr[data-alert-id='{alerts[0]['id']}'] a").first.click()
        page.locator("#tx-hash").wait_for()
        assert page.locator("#tx-hash").inner_text() == tx
        assert f"alert {alerts[0]['id']}" in page.locator("#view").inner_text()
        screenshot(page, "oversight-transaction")
    page.locator("#sign-out").click()
    sign_in(page, world.url, world.operator_key)
    page.locator("#nav-operator").click()
    page.locator("#view-operator[aria-busy='false']").wait_for()
    assert page.locator(f"tr[data-member-id='{world.bank.id}']").is_visible()
    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet
    screenshot(page, "operator-tablet")


def test_core_confirms_accepts_with_an_invoice_and_funds(page: Any, world: ConsoleWorld) -> None:
    due = _in_days(60)
    body = {"buyer_id": world.core.id, "amount": "48000.00", "document_hash": random_hash(), "due_date": due}
    order_id = ok(world.supplier.client.post("/v1/orders", json=body), 201)["id"]
    sign_in(page, world.url, world.core.key)
    page.get_by_role("button", name=f"Confirm order {order_id}").click()
    page.locator("#core-order-status.ok").wait_for()
    wait_for_view(page)
    assert ok(world.core.client.get(f"/v1/orders/{order_id}"))["status"] == "confirmed"
    ok(world.supplier.client.post(f"/v1/orders/{order_id}/deliver"))
    page.reload()
    wait_for_view(page)
    form = page.locator(f"form[data-order-id='{order_id}']")
    form.get_by_label("Maturity").fill(_in_days(75))
    form.get_by_label("Invoice").fill(f"INV-{order_id}-{random_hash()[2:10]}")
    form.get_by_role("button", name="Accept and issue receivable").click()
    page.locator("#core-order-status.ok").wait_for()
    wait_for_view(page)
    order = ok(world.core.client.get(f"/v1/orders/{order_id}"))
    assert order["status"] == "invoiced" and order["receivable_id"]
    assert f"receivable {order['receivable_id']} issued" in page.locator("#core-order-status").inner_text()
    slot = order["receivable_id"]
    page.get_by_label(f"Amount to fund receivable {slot}").fill("12,000.00")
    page.locator(f"input[aria-label='Amount to fund receivable {slot}'] + button").click()
    page.locator("#fund-status.ok").wait_for()
    wait_for_view(page)
    funding = ok(world.core.client.get(f"/v1/settlement/receivables/{slot}"))
    assert (funding["funded"], funding["unfunded"]) == ("12000.00", "36000.00")
    assert page.get_by_label(f"Amount to fund receivable {slot}").input_value() == "36000.00"
    screenshot(page, "core-after-funding")


def test_operator_admits_a_member_and_gets_its_key_once(page: Any, world: ConsoleWorld) -> None:
    sign_in(page, world.url, world.operator_key)
    page.locator("#nav-operator").click()
    page.locator("#view-operator[aria-busy='false']").wait_for()
    form = page.locator("#admit-form")
    form.get_by_label("supplier").check()
    form.get_by_label("KYC document").fill(f"KYC-{random_hash()[2:12]}")
    form.get_by_role("button", name="Admit member").click()
    page.locator("#admit-status.ok").wait_for()
    key = page.locator("#admitted-key").inner_text()
    with httpx.Client(base_url=world.url, timeout=30, headers={"Authorization": f"Bearer {key}"}) as client:
        member = ok(client.get("/v1/members/me"))
    assert member["roles"] == ["supplier"] and member["status"] == "active"
    assert page.locator(f"tr[data-member-id='{member['id']}']").is_visible()  # the list was re-read
    screenshot(page, "operator-after-admit")


def test_operator_sets_a_financiers_mint_ceiling(page: Any, world: ConsoleWorld) -> None:
    """S-5: the operator admits a financier with a mint ceiling, then changes it in the members table."""
    sign_in(page, world.url, world.operator_key)
    page.locator("#nav-operator").click()
    page.locator("#view-operator[aria-busy='false']").wait_for()
    form = page.locator("#admit-form")
    form.locator("#admit-role-financier").check()
    form.get_by_label("KYC document").fill(f"KYC-{random_hash()[2:12]}")
    form.get_by_label("Mint ceiling (financiers)").fill("2500.00")
    form.get_by_role("button", name="Admit member").click()
    page.locator("#admit-status.ok").wait_for()
    key = page.locator("#admitted-key").inner_text()
    with httpx.Client(base_url=world.url, timeout=30, headers={"Authorization": f"Bearer {key}"}) as client:
        member_id = ok(client.get("/v1/members/me"))["id"]
        assert ok(client.get(f"/v1/cash/mint-ceilings/{member_id}"))["ceiling"] == "2500.00"
        page.get_by_label(f"Mint ceiling of member {member_id}", exact=True).fill("7000.00")
        page.get_by_role("button", name=f"Set mint ceiling of member {member_id}").click()
        page.locator("#member-status.ok").wait_for()
        assert ok(client.get(f"/v1/cash/mint-ceilings/{member_id}"))["ceiling"] == "7000.00"


def test_a_member_rotates_its_api_key_in_the_console(page: Any, world: ConsoleWorld) -> None:
    with httpx.Client(base_url=world.url, timeout=60, headers={"Authorization": f"Bearer {world.operator_key}"}) as op:
        admitted = ok(op.post("/v1/members", json={"roles": ["supplier"], "kyc_hash": random_hash()}), 201)
    member_id, old_key = admitted["member"]["id"], admitted["api_key"]
    sign_in(page, world.url, old_key)
    page.locator("#nav-keys").click()
    wait_for_view(page)
    page.get_by_role("heading", name="My API keys").wait_for()  # visible once the view has rendered
    assert unlabelled_controls(page) == []
    page.get_by_label("What the new key is for").fill("erp-connector")
    page.get_by_role("button", name="Issue a new key").click()
    new_key = page.locator("#issued-key").inner_text(timeout=30_000).strip()
    assert new_key.startswith("scf_") and new_key != old_key
    listed = page.get_by_role("table", name="API keys of this member").inner_text()
    assert "erp-connector" in listed and "in use here" in listed  # the key this tab signed in with
    screenshot(page, "member-api-keys")
    # move to the new key, then revoke the old one from the console
    page.locator("#sign-out").click()
    sign_in(page, world.url, new_key)
    page.locator("#nav-keys").click()
    wait_for_view(page)
    (old,) = [
        k
        for k in ok(_as(world.url, new_key).get(f"/v1/members/{member_id}/api-keys"))["items"]
        if k["label"] != "erp-connector"
    ]
    page.get_by_role("button", name=f"Revoke API key {old['id']}").click()
    page.locator("#keys-status.ok").wait_for(timeout=30_000)
    assert "revoked" in page.locator("#keys-status").inner_text()
    problem(_as(world.url, old_key).get("/v1/members/me"), 401, "unauthorized")
    assert ok(_as(world.url, new_key).get("/v1/members/me"))["id"] == member_id


def _as(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {key}"})


def test_the_operator_issues_and_revokes_a_members_keys(page: Any, world: ConsoleWorld) -> None:
    with _as(world.url, world.operator_key) as op:
        admitted = ok(op.post("/v1/members", json={"roles": ["financier"], "kyc_hash": random_hash()}), 201)
    member_id, leaked = admitted["member"]["id"], admitted["api_key"]
    sign_in(page, world.url, world.operator_key)
    page.locator("#nav-operator").click()
    wait_for_view(page)
    page.get_by_label("Member", exact=True).select_option(str(member_id))
    page.get_by_role("button", name="Show keys").click()
    page.get_by_role("heading", name=f"Member {member_id}").wait_for()
    assert unlabelled_controls(page) == []
    page.get_by_label("What the new key is for").fill("replacement")
    page.get_by_role("button", name="Issue a new key").click()
    replacement = page.locator("#issued-key").inner_text(timeout=30_000).strip()
    (old,) = [
        k
        for k in ok(_as(world.url, replacement).get(f"/v1/members/{member_id}/api-keys"))["items"]
        if k["label"] != "replacement"
    ]
    page.get_by_role("button", name=f"Revoke API key {old['id']}").click()
    page.locator("#keys-status.ok").wait_for(timeout=30_000)
    screenshot(page, "operator-member-keys")
    problem(_as(world.url, leaked).get("/v1/members/me"), 401, "unauthorized")
    assert ok(_as(world.url, replacement).get("/v1/members/me"))["id"] == member_id
