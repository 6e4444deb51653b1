"""Bulk payment in the supplier's view, in zh-CN and en: Debian's Chromium against the real API, chain and database.

The supplier pastes "member id, amount" lines and pays them out of one note in one transaction; a line that is not
one is refused before anything is sent; a recipient the ledger refuses fails the whole batch, and the page shows the
problem naming that payment."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import ConsoleWorld, amount_text, catalogue, screenshot, sign_in_any_language, wait_for_view


def test_supplier_pays_several_members_from_one_note(lang_page: Any, world: ConsoleWorld) -> None:
    page, texts = lang_page, catalogue(lang_page.lang)
    note_id = world.issue("10000.00")
    before = {m.id: {n["id"] for n in world.notes_of(m)} for m in (world.supplier2, world.supplier3)}
    sign_in_any_language(page, world.url, world.supplier.key)
    form = page.locator("#pay-form")  # by its labels, in the page's language
    form.get_by_label(texts["move.note"], exact=True).select_option(str(note_id))
    form.get_by_label(texts["pay.lines"]).fill(f"{world.supplier2.id}, 1,000.00\n\n{world.supplier3.id};2500.5\n")
    summary = page.locator("#pay-summary")
    assert summary.inner_text().startswith(texts["pay.summary"].split("{count}")[0] + "2")
    page.locator("#pay-submit").click()
    status = page.locator("#pay-status.ok")
    status.wait_for()
    wait_for_view(page)
    assert str(note_id) in status.inner_text()
    # read-your-writes: the page was re-read after the payment and shows what is left in the note
    row = page.locator(f"#my-notes tr[data-note-id='{note_id}']")
    assert amount_text(row.locator("td").nth(3).inner_text()) == "6499.50"
    assert world.note(note_id)["value"] == "6499.50"
    for member, value in ((world.supplier2, "1000.00"), (world.supplier3, "2500.50")):
        new = [n for n in world.notes_of(member) if n["id"] not in before[member.id]]
        assert [(n["value"], n["parent_id"]) for n in new] == [(value, note_id)]
    screenshot(page, f"supplier-bulk-payment-{page.lang}")


def test_a_bad_line_or_recipient_is_refused_and_changes_nothing(lang_page: Any, world: ConsoleWorld) -> None:
    page, texts = lang_page, catalogue(lang_page.lang)
    note_id = world.issue("5000.00")
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    sign_in_any_language(page, world.url, world.supplier.key)
    form = page.locator("#pay-form")
    form.get_by_label(texts["move.note"], exact=True).select_option(str(note_id))
    lines = form.get_by_label(texts["pay.lines"])
    lines.fill(f"{world.supplier2.id}, 1000.00\nabc 12")
    page.locator("#pay-submit").click()
    status = page.locator("#pay-status.error")
    status.wait_for()
    assert "abc 12" in status.inner_text()  # the line is named
    assert lines.get_attribute("aria-invalid") == "true"
    assert [p for p in posts if "/payments" in p] == []

    # the auditor holds no notes: the ledger refuses the batch, the page shows the problem naming payments[1]
    lines.fill(f"{world.supplier2.id}, 1000.00\n{world.auditor.id}, 1000.00")
    page.locator("#pay-submit").click()
    page.locator("#pay-status.error:has-text('payments[1]')").wait_for()
    assert world.note(note_id)["value"] == "5000.00"
    screenshot(page, f"supplier-bulk-payment-refused-{page.lang}")
