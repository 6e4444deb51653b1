# ruff: noqa: RUF001  (Chinese answers use full-width punctuation)
"""Problem answers in the caller's language (issue 23 section 2): `title` and `detail` follow `Accept-Language`
(zh-CN, en), the stable `type` and the status do not change, and the answer says `Content-Language`.

Real failing requests over real HTTP (a uvicorn server on the session anvil): each is sent once in English and
once in Chinese, and the two answers are compared."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import httpx
import pytest

from tests.conftest import Party, Roster, ServerThread, admitted, ok, problem, random_hash

CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


@pytest.fixture(scope="module")
def parties(api: ServerThread, operator_key: str) -> Iterator[dict[str, Party]]:
    roster: Roster = [
        ("core", ["core_enterprise"], {"credit_limit": "1000.00"}),
        ("supplier", ["supplier"], {}),
        ("bank", ["financier"], {}),
    ]
    with admitted(api.url, operator_key, roster) as parties:
        yield parties


@pytest.fixture()
def anonymous(api: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=60) as client:
        yield client


def _both(send: Callable[[dict[str, str]], httpx.Response], status: int, slug: str) -> tuple[dict, dict]:
    """The English and the Chinese answer of one failing request; same status and type, each in its language."""
    english, chinese = send(EN), send(ZH)
    en, zh = problem(english, status, slug), problem(chinese, status, slug)
    assert en["type"] == zh["type"] == f"https://scf-chain.dev/problems/{slug}"
    assert en["status"] == zh["status"] == status
    assert "_i18n" not in en and "_i18n" not in zh
    assert english.headers["content-language"] == "en"
    assert chinese.headers["content-language"] == "zh-CN"  # the detail is Chinese too, not only the title
    assert "accept-language" in chinese.headers["vary"].lower()
    assert not CJK.search(en["title"] + en["detail"]), en
    assert CJK.search(zh["title"]) and CJK.search(zh["detail"]), zh
    return en, zh


def _issue(core: Party, supplier: Party, face_value: str, headers: dict[str, str]) -> httpx.Response:
    maturity = (date.today() + timedelta(days=90)).isoformat()
    body = {"creditor_id": supplier.id, "face_value": face_value, "maturity": maturity, "invoice_hash": random_hash()}
    return core.client.post("/v1/receivables", json=body, headers=headers)


def test_unauthenticated(anonymous: httpx.Client) -> None:
    en, zh = _both(lambda h: anonymous.get("/v1/members/me", headers=h), 401, "unauthorized")
    assert (en["title"], zh["title"]) == ("Unauthorized", "未认证")
    assert "Authorization: Bearer" in en["detail"] and "Authorization: Bearer" in zh["detail"]


def test_not_found_and_forbidden(parties: dict[str, Party]) -> None:
    supplier, core = parties["supplier"], parties["core"]
    en, zh = _both(lambda h: supplier.client.get("/v1/notes/987654", headers=h), 404, "not-found")
    assert en["detail"] == "no note 987654"
    assert zh["detail"] == "凭证 987654 不存在"
    en, zh = _both(lambda h: supplier.client.get(f"/v1/cash/balance?member_id={core.id}", headers=h), 403, "forbidden")
    assert zh["title"] == "无权操作"
    assert str(core.id) in zh["detail"]


def test_operator_only(parties: dict[str, Party]) -> None:
    supplier = parties["supplier"]
    body = {"roles": ["supplier"], "kyc_hash": random_hash()}
    en, zh = _both(lambda h: supplier.client.post("/v1/members", json=body, headers=h), 403, "forbidden")
    assert en["detail"] == "only the consortium operator may do this"
    assert zh["detail"] == "只有联盟运营方可以执行此操作"


def test_validation_error_names_the_field_in_chinese(parties: dict[str, Party]) -> None:
    supplier = parties["supplier"]
    send = lambda h: supplier.client.post("/v1/cash/transfers", json={"amount": "1.00"}, headers=h)  # noqa: E731
    en, zh = _both(send, 422, "validation-error")
    assert en["errors"] == zh["errors"]  # the machine-readable list stays as it is
    assert "body.to: Field required" in en["detail"]
    assert "body.to: 缺少此字段" in zh["detail"]


def test_body_guard(parties: dict[str, Party]) -> None:
    supplier = parties["supplier"]
    raw = b'{"to": 1, "amount": "1.00", "amount": "900.00"}'

    def send(h: dict[str, str]) -> httpx.Response:
        return supplier.client.post(
            "/v1/cash/transfers", content=raw, headers={**h, "Content-Type": "application/json"}
        )

    en, zh = _both(send, 400, "duplicate-json-key")
    assert en["key"] == zh["key"] == "amount"
    assert "'amount'" in zh["detail"]


def test_insufficient_value(parties: dict[str, Party]) -> None:
    core, supplier, bank = parties["core"], parties["supplier"], parties["bank"]
    slot = ok(_issue(core, supplier, "100.00", EN), 201)
    note_id = slot["first_note_id"]
    body = {"to": bank.id, "value": "500.00"}
    _en, zh = _both(
        lambda h: supplier.client.post(f"/v1/notes/{note_id}/split", json=body, headers=h), 422, "insufficient-value"
    )
    assert "500.00" in zh["detail"] and "凭证" in zh["detail"]


def test_contract_revert_names_the_decoded_error(parties: dict[str, Party]) -> None:
    """The credit limit is 1,000.00: issuing 5,000.00 is refused by MemberRegistry (CreditLimitExceeded)."""
    core, supplier = parties["core"], parties["supplier"]
    en, zh = _both(lambda h: _issue(core, supplier, "5000.00", h), 409, "credit-limit-exceeded")
    assert en["title"] == "Contract error: CreditLimitExceeded"
    assert zh["title"] == "合约拒绝：超出债务人授信额度（CreditLimitExceeded）"
    assert en["detail"].startswith("the ledger refused the transaction: CreditLimitExceeded(")
    assert zh["detail"].startswith("账本拒绝了该交易：CreditLimitExceeded(")
    assert en["contractError"] == zh["contractError"]


def test_idempotency_conflict_and_a_replay_in_the_replaying_callers_language(parties: dict[str, Party]) -> None:
    core, supplier = parties["core"], parties["supplier"]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    maturity = (date.today() + timedelta(days=90)).isoformat()
    body = {"creditor_id": supplier.id, "face_value": "7000.00", "maturity": maturity, "invoice_hash": random_hash()}
    first = core.client.post("/v1/receivables", json=body, headers={**key, **EN})
    assert problem(first, 409, "credit-limit-exceeded")["title"] == "Contract error: CreditLimitExceeded"
    # the stored refusal, replayed to a Chinese caller, is in Chinese (the stored answer keeps its catalogue keys)
    replay = core.client.post("/v1/receivables", json=body, headers={**key, **ZH})
    assert replay.headers["idempotent-replayed"] == "true"
    replayed = problem(replay, 409, "credit-limit-exceeded")
    assert replayed["title"].startswith("合约拒绝：") and replayed["detail"].startswith("账本拒绝了该交易")
    assert "_i18n" not in replayed
    other = {**body, "face_value": "1.00"}
    _en, zh = _both(
        lambda h: core.client.post("/v1/receivables", json=other, headers={**key, **h}), 422, "idempotency-key-reused"
    )
    assert zh["title"] == "Idempotency-Key 被重复使用"


@pytest.mark.parametrize(
    ("accept", "language"),
    [
        ("zh", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("en;q=0.5, zh-CN;q=0.9", "zh-CN"),
        ("zh-CN;q=0.4, en;q=0.9", "en"),
        ("fr, zh;q=0.3", "zh-CN"),
        ("zh;q=0, *", "en"),
        ("de", "en"),
        ("", "en"),
    ],
)
def test_accept_language_q_values(anonymous: httpx.Client, accept: str, language: str) -> None:
    answer = anonymous.get("/v1/members/me", headers={"Accept-Language": accept})
    body = problem(answer, 401, "unauthorized")
    assert answer.headers["content-language"] == language
    assert body["title"] == ("未认证" if language == "zh-CN" else "Unauthorized")


def test_a_path_id_that_is_not_an_integer(parties: dict[str, Party]) -> None:
    supplier = parties["supplier"]
    en, zh = _both(lambda h: supplier.client.get("/v1/notes/12a", headers=h), 422, "validation-error")
    assert en["errors"] == zh["errors"]
    assert en["detail"].endswith(": Input should be an integer written with digits only")
    assert zh["detail"].startswith("请求无效：") and "须为只用数字书写的整数" in zh["detail"]
