# ruff: noqa: RUF001  (Chinese answers use full-width punctuation)
"""A self-custody member (issue 26) writes from the console: the API answers 202 with a transaction to sign, the
console shows its summary, the member signs it in the browser with its own keystore file (never sent to the
server) or elsewhere (download, sign, upload), and the write finishes as a custodial one would."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from scripts.companies import for_role
from scripts.localkey import sign_prepared
from tests.conftest import TEST_SCRYPT_N, ServerThread, ok, random_hash
from tests.web.conftest import ConsoleWorld, amount_text, catalogue, screenshot, sign_in_any_language, wait_for_view
from tests.web.test_console_i18n import VISIBLE_TEXT, english_words, ledger_names

PASSPHRASE = "correct horse battery staple 持有私钥"


@dataclass
class OwnKeyMember:
    id: int
    key: str
    name: str
    own: LocalAccount
    keystore: Path  # the member's key file, as `scf keys new` writes it (a lighter scrypt for the test's speed)
    client: httpx.Client


@pytest.fixture(scope="module")
def own_key_supplier(
    api: ServerThread, operator_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OwnKeyMember]:
    own: LocalAccount = Account.create()
    keystore = tmp_path_factory.mktemp("own-key") / "key.json"
    keystore.write_text(json.dumps(Account.encrypt(own.key, PASSPHRASE, iterations=TEST_SCRYPT_N)))
    profile = for_role("supplier", 3, str(100 + secrets.randbelow(900)))
    with httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {operator_key}"}) as op:
        challenge = ok(op.post("/v1/members/challenge", json={"address": own.address}), 201)
        signature = own.sign_message(encode_defunct(text=challenge["message"])).signature.to_0x_hex()
        body = {
            "roles": ["supplier"],
            "profile": profile,
            "address": own.address,
            "challenge_id": challenge["challenge_id"],
            "signature": signature,
        }
        admitted = ok(op.post("/v1/members", json=body), 201)
    assert admitted["member"]["custody"] == "self"
    client = httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {admitted['api_key']}"})
    yield OwnKeyMember(admitted["member"]["id"], admitted["api_key"], profile["display_name"], own, keystore, client)
    client.close()


def _issue_to(world: ConsoleWorld, member: OwnKeyMember, face: str) -> int:
    body = {
        "creditor_id": member.id,
        "face_value": face,
        "maturity": (date.today() + timedelta(days=120)).isoformat(),
        "invoice_hash": random_hash(),
    }
    return int(ok(world.core.client.post("/v1/receivables", json=body), 201)["first_note_id"])


def _record_requests(page: Any) -> list[tuple[str, str, str]]:
    """Every request the page makes: method, URL and body (a file upload would show here as a body)."""
    seen: list[tuple[str, str, str]] = []
    page.on("request", lambda r: seen.append((r.method, r.url, r.post_data or "")))
    return seen


def _assert_key_file_never_sent(requests: list[tuple[str, str, str]], keystore: Path) -> None:
    secret_parts = json.loads(keystore.read_text())["crypto"]
    needles = [secret_parts["ciphertext"], secret_parts["kdfparams"]["salt"], secret_parts["mac"], PASSPHRASE]
    for method, url, body in requests:
        assert not any(n in body or n in url for n in needles), f"the key file or its passphrase went in {method} {url}"
    posted = [url for method, url, _ in requests if method == "POST"]
    assert any(url.endswith("/v1/transactions") for url in posted), posted


def test_own_key_member_splits_a_note_signing_in_the_browser(
    lang_page: Any, world: ConsoleWorld, own_key_supplier: OwnKeyMember
) -> None:
    page, member = lang_page, own_key_supplier
    texts = catalogue(page.lang)
    note_id = _issue_to(world, member, "80000.00")
    before = {n["id"] for n in world.notes_of(world.supplier2)}
    requests = _record_requests(page)
    sign_in_any_language(page, world.url, member.key)
    assert member.name in page.locator("#who-label").inner_text()  # its company name, not "Member N"
    page.locator("#move-note").select_option(str(note_id))
    page.locator("#move-to").select_option(str(world.supplier2.id))
    page.locator("#move-amount").fill("30000.00")
    page.locator("#move-submit").click()

    # the API prepared the split (202): the console shows what it does and asks for the member's signature
    dialog = page.locator("#sign-dialog")
    dialog.wait_for()
    summary = page.locator("#sign-summary").inner_text()
    assert "split" in summary and str(note_id) in summary and member.name in summary, summary
    # said in the console's language (the API renders it for the request's Accept-Language); the function and
    # argument names are the contract's and stay
    assert "transferFrom(" in summary.replace("（", "(") and "fromTokenId=" in summary, summary
    if page.lang == "zh-CN":
        assert f"签名方：{member.name}（成员 {member.id}）" in summary, summary
        assert "signed by" not in summary and "member" not in summary, summary
    else:
        assert f"signed by {member.name} (member {member.id})" in summary, summary
    assert dialog.get_by_role("heading", name=texts["sign.title"]).is_visible()
    assert texts["sign.key_file_hint"] in dialog.inner_text()
    if page.lang == "zh-CN":
        found = english_words(page.evaluate(VISIBLE_TEXT), ledger_names(world))
        assert found == [], f"English left in the zh-CN signing dialog: {found}"
    assert world.note(note_id)["value"] == "80000.00"  # nothing sent before the member signs
    screenshot(page, f"self-custody-sign-{page.lang}")

    # a wrong passphrase is caught in the browser, and nothing is sent
    page.locator("#sign-key-file").set_input_files(str(member.keystore))
    page.locator("#sign-passphrase").fill("not the passphrase")
    page.locator("#sign-submit").click()
    page.locator("#sign-status.error").wait_for()
    assert page.locator("#sign-status").inner_text() == texts["sign.bad_passphrase"]
    assert not [url for method, url, _ in requests if method == "POST" and url.endswith("/v1/transactions")]

    page.locator("#sign-passphrase").fill(PASSPHRASE)
    page.locator("#sign-submit").click()
    page.locator("#move-status.ok").wait_for(timeout=60_000)
    wait_for_view(page)
    assert page.locator("#sign-dialog").count() == 0

    # the result, as for a custodial write: the sentence naming the new state, and the view re-read
    new_notes = [n for n in world.notes_of(world.supplier2) if n["id"] not in before]
    assert len(new_notes) == 1 and new_notes[0]["value"] == "30000.00"
    assert world.note(note_id)["value"] == "50000.00"
    status = page.locator("#move-status").inner_text()
    assert str(new_notes[0]["id"]) in status and str(note_id) in status
    row = page.locator(f"#my-notes tr[data-note-id='{note_id}']")
    assert amount_text(row.locator("td").nth(3).inner_text()) == "50000.00"
    _assert_key_file_never_sent(requests, member.keystore)
    screenshot(page, f"self-custody-after-split-{page.lang}")


def test_own_key_member_accepts_an_offer_signing_elsewhere(
    page: Any, world: ConsoleWorld, own_key_supplier: OwnKeyMember, tmp_path: Path
) -> None:
    """The other way: download the prepared transaction, sign it off the page (as `scf keys sign` does), upload it."""
    member = own_key_supplier
    note_id = _issue_to(world, member, "60000.00")
    expires = (date.today() + timedelta(days=20)).isoformat()
    offer = {"note_id": note_id, "value": "60000.00", "rate_bps": 600, "recourse": False, "expires_at": expires}
    offer_id = ok(world.bank.client.post("/v1/financing/offers", json=offer), 201)["id"]
    balance_before = ok(member.client.get("/v1/cash/balance"))["balance"]
    requests = _record_requests(page)
    sign_in_any_language(page, world.url, member.key)
    page.locator(f"button[data-offer-id='{offer_id}']").click()
    page.locator("#offer-confirm").click()
    page.locator("#sign-dialog").wait_for()
    assert "acceptOffer" in page.locator("#sign-summary").inner_text()

    # a pasted text that is no signed transaction is refused in the page
    page.locator("#sign-raw").fill("0xnot-a-transaction")
    page.locator("#sign-send-raw").click()
    page.locator("#sign-status.error").wait_for()
    assert page.locator("#sign-raw").get_attribute("aria-invalid") == "true"

    with page.expect_download() as info:
        page.locator("#sign-download").click()
    prepared = json.loads(Path(info.value.path()).read_text())
    assert prepared["status"] == "signature-required" and prepared["transaction"]["from"] == member.own.address
    signed = tmp_path / "signed.json"
    signed.write_text(json.dumps(sign_prepared(member.own, prepared)))  # what `scf keys sign` prints
    page.locator("#sign-raw-file").set_input_files(str(signed))
    page.wait_for_function("() => document.querySelector('#sign-raw').value.startsWith('{')")
    page.locator("#sign-send-raw").click()
    page.locator("#offer-status.ok").wait_for(timeout=60_000)
    wait_for_view(page)
    assert ok(world.bank.client.get(f"/v1/financing/offers/{offer_id}"))["status"] == "accepted"
    balance_after = ok(member.client.get("/v1/cash/balance"))["balance"]
    assert page.locator("#cash-balance").get_attribute("data-amount") == balance_after != balance_before
    submitted = [body for method, url, body in requests if method == "POST" and url.endswith("/v1/transactions")]
    assert len(submitted) == 1 and json.loads(submitted[0])["prepared_id"] == prepared["prepared_id"]
    screenshot(page, "self-custody-after-sale")


def test_cancelling_the_signature_sends_nothing(page: Any, world: ConsoleWorld, own_key_supplier: OwnKeyMember) -> None:
    member = own_key_supplier
    note_id = _issue_to(world, member, "10000.00")
    requests = _record_requests(page)
    sign_in_any_language(page, world.url, member.key)
    page.locator("#move-note").select_option(str(note_id))
    page.locator("#move-to").select_option(str(world.supplier2.id))
    page.locator("#move-amount").fill("1000.00")
    page.locator("#move-submit").click()
    page.locator("#sign-dialog").wait_for()
    page.locator("#sign-cancel").click()
    page.locator("#move-status.error").wait_for()
    assert page.locator("#move-status").inner_text() == catalogue("en")["sign.cancelled"]
    assert not [url for method, url, _ in requests if method == "POST" and url.endswith("/v1/transactions")]
    assert world.note(note_id)["value"] == "10000.00"
