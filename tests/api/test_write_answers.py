"""A note write answers with its notes and the display names beside their ids (holder, lienholder, obligor), read in
one statement with the notes: the same names a read of the note gives, for one note, two, and more than three."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from api.profiles import USCC_ALPHABET, uscc_check_character
from tests.conftest import Party, ServerThread, admitted, ok, random_hash


def _profile(display_name: str) -> dict[str, str]:
    body = "9131" + "".join(secrets.choice(USCC_ALPHABET) for _ in range(13))
    return {
        "legal_name_zh": display_name + "有限公司",
        "legal_name_en": f"{display_name} Co., Ltd.",
        "display_name": display_name,
        "uscc": body + uscc_check_character(body),
    }


NAMES = {"core": "答写核心", "supplier": "答写供应", "tier2": "答写二级", "bank": "答写银行"}


@pytest.fixture(scope="module")
def parties(api: ServerThread, operator_key: str) -> Iterator[dict[str, Party]]:
    roster = [
        ("core", ["core_enterprise"], {"credit_limit": "1000000.00", "profile": _profile(NAMES["core"])}),
        ("supplier", ["supplier"], {"profile": _profile(NAMES["supplier"])}),
        ("tier2", ["supplier"], {"profile": _profile(NAMES["tier2"])}),
        ("bank", ["financier"], {"profile": _profile(NAMES["bank"])}),
        ("nameless", ["supplier"], {}),
    ]
    with admitted(api.url, operator_key, roster) as p:
        yield p


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL this process runs meanwhile (the API server runs in this process)."""
    seen: list[str] = []
    lock = threading.Lock()

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        with lock:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def _issue(p: dict[str, Party], face_value: str) -> int:
    receivable = {
        "creditor_id": p["supplier"].id,
        "face_value": face_value,
        "maturity": (date.today() + timedelta(days=90)).isoformat(),
        "invoice_hash": random_hash(),
    }
    return int(ok(p["core"].client.post("/v1/receivables", json=receivable), 201)["first_note_id"])


def _names(note: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    return note["holder_name"], note["lienholder_name"], note["obligor_name"]


def test_a_split_answers_the_names_a_read_gives_from_one_statement(parties: dict[str, Party]) -> None:
    p = parties
    note_id = _issue(p, "1000.00")
    with statements() as seen:
        answer = ok(
            p["supplier"].client.post(f"/v1/notes/{note_id}/split", json={"to": p["tier2"].id, "value": "100.00"}), 201
        )
    assert _names(answer["note"]) == (NAMES["supplier"], None, NAMES["core"])
    assert _names(answer["new_note"]) == (NAMES["tier2"], None, NAMES["core"])
    for note, reader in ((answer["note"], "supplier"), (answer["new_note"], "tier2")):
        assert _names(ok(p[reader].client.get(f"/v1/notes/{note['id']}"))) == _names(note)
    profile_reads = [s for s in seen if "member_profiles" in s]
    assert profile_reads, "the answer's names come from the profiles"
    assert all(" notes" in s for s in profile_reads), profile_reads  # read with the notes, not after them


def test_a_pledge_answers_the_lienholders_name(parties: dict[str, Party]) -> None:
    p = parties
    note_id = _issue(p, "500.00")
    answer = ok(p["supplier"].client.post(f"/v1/notes/{note_id}/lock", json={"lienholder_id": p["bank"].id}))
    assert _names(answer) == (NAMES["supplier"], NAMES["bank"], NAMES["core"])


def test_a_bulk_payment_answers_every_recipients_name(parties: dict[str, Party]) -> None:
    """Four notes in the answer (more than the plain-parameter statements cover), one recipient without a profile."""
    p = parties
    note_id = _issue(p, "1000.00")
    payments = [{"to": p[name].id, "value": "10.00"} for name in ("tier2", "nameless", "tier2")]
    with statements() as seen:
        answer = ok(p["supplier"].client.post(f"/v1/notes/{note_id}/payments", json={"payments": payments}), 201)
    assert _names(answer["note"]) == (NAMES["supplier"], None, NAMES["core"])
    assert [_names(n) for n in answer["new_notes"]] == [
        (NAMES["tier2"], None, NAMES["core"]),
        (None, None, NAMES["core"]),
        (NAMES["tier2"], None, NAMES["core"]),
    ]
    assert all(" notes" in s for s in seen if "member_profiles" in s)
