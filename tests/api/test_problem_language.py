# ruff: noqa: RUF001  (Chinese answers use full-width punctuation)
"""Problem answers in the caller's language (issue 23 section 2): `title` and `detail` follow `Accept-Language`
(zh-CN, en), the stable `type` and the status do not change, and the answer says `Content-Language`.

Real failing requests over real HTTP (a uvicorn server on the session anvil): each is sent once in English and
once in Chinese, and the two answers are compared."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.problems import ProblemLanguage, install_handlers
from chain.devnet.devchain import free_port
from tests.api.test_member_profiles import REAL_LEI, profile
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


# The code checks of a member profile (api/profiles.py): each check that fails has its own catalogued detail, with
# the same information in both languages (the code as given, what is wrong, what the standard gives).
_WRONG_LEI = REAL_LEI[0][:18] + ("00" if REAL_LEI[0][18:] != "00" else "01")


@pytest.mark.parametrize(
    ("change", "slug", "english", "chinese"),
    [
        (
            {"uscc": "914403001922038217"},
            "invalid-uscc",
            "unified social credit code '914403001922038217' has check character '7'; GB 32100-2015 gives '6'",
            "统一社会信用代码 '914403001922038217' 的校验码为 '7'，按 GB 32100-2015 应为 '6'",
        ),
        (
            {"uscc": "91440300192203821"},
            "invalid-uscc",
            "a unified social credit code has 18 characters; '91440300192203821' has 17",
            "统一社会信用代码应为 18 个字符；'91440300192203821' 有 17 个",
        ),
        (
            {"uscc": "91440300192203821I"},
            "invalid-uscc",
            "unified social credit code '91440300192203821I' has characters outside GB 32100-2015's alphabet "
            "(digits and upper-case letters except I, O, S, V, Z): 'I'",
            "统一社会信用代码 '91440300192203821I' 含有 GB 32100-2015 字符集以外的字符"
            "（字符集为数字和除 I、O、S、V、Z 以外的大写字母）：'I'",
        ),
        (
            {"lei": _WRONG_LEI},
            "invalid-lei",
            f"LEI {_WRONG_LEI!r} has check digits {_WRONG_LEI[18:]!r}; ISO 7064 MOD 97-10 gives '94'",
            f"LEI {_WRONG_LEI!r} 的校验码为 {_WRONG_LEI[18:]!r}，按 ISO 7064 MOD 97-10 应为 '94'",
        ),
        (
            {"lei": "HWUPKR0MPOU8"},
            "invalid-lei",
            "an LEI has 20 characters; 'HWUPKR0MPOU8' has 12",
            "LEI 应为 20 个字符；'HWUPKR0MPOU8' 有 12 个",
        ),
        (
            {"lei": "hwupkr0mpou8fgxbt394"},
            "invalid-lei",
            "LEI 'hwupkr0mpou8fgxbt394' may hold only digits and upper-case letters A-Z",
            "LEI 'hwupkr0mpou8fgxbt394' 只能包含数字和大写字母 A-Z",
        ),
        (
            {"lei": "HWUPKR0MPOU8FGXBT3AB"},
            "invalid-lei",
            "LEI 'HWUPKR0MPOU8FGXBT3AB' must end in two check digits",
            "LEI 'HWUPKR0MPOU8FGXBT3AB' 必须以两位数字校验码结尾",
        ),
    ],
    ids=["uscc-check", "uscc-length", "uscc-alphabet", "lei-check", "lei-length", "lei-characters", "lei-no-digits"],
)
def test_an_invalid_registration_code_is_named_in_both_languages(
    operator: httpx.Client, change: dict[str, str], slug: str, english: str, chinese: str
) -> None:
    body = {"roles": ["supplier"], "profile": profile(**change)}
    en, zh = _both(lambda h: operator.post("/v1/members", json=body, headers=h), 422, slug)
    assert (en["detail"], zh["detail"]) == (english, chinese)
    assert en["field"] == zh["field"] == slug.removeprefix("invalid-")


def test_a_body_that_is_not_json_is_named_in_chinese(parties: dict[str, Party]) -> None:
    """The JSON decoder's own message (FastAPI's `json_invalid`) is said in Chinese; English keeps the decoder's."""
    supplier = parties["supplier"]

    def send(h: dict[str, str]) -> httpx.Response:
        content = b'{"to": 1, "amount": "1.00",'
        return supplier.client.post(
            "/v1/cash/transfers", content=content, headers={**h, "Content-Type": "application/json"}
        )

    en, zh = _both(send, 422, "validation-error")
    assert en["errors"] == zh["errors"]
    assert "JSON decode error" in en["detail"]
    assert "JSON 无效：此处应有用双引号括起的属性名" in zh["detail"], zh
    assert "Expecting" not in zh["detail"]


def test_the_frameworks_own_words_are_catalogued(parties: dict[str, Party]) -> None:
    """404 for a path no route has and 405 for a method a path does not take: Starlette's words ('Not Found',
    'Method Not Allowed') in the catalogue's."""
    supplier = parties["supplier"]
    en, zh = _both(lambda h: supplier.client.get("/v1/no-such-route", headers=h), 404, "not-found")
    assert (en["detail"], zh["detail"]) == ("Not Found", "未找到该资源")
    en, zh = _both(lambda h: supplier.client.delete("/v1/members/me", headers=h), 405, "method-not-allowed")
    assert (en["detail"], zh["detail"]) == ("Method Not Allowed", "该路径不接受此请求方法")


class _Body(BaseModel):
    to: int


def _framework_app() -> FastAPI:
    """The service's problem handlers and language middleware without its body guard (which refuses, before
    FastAPI's parser, every body this parser could fail on), to reach FastAPI's own 400 and an unlisted status."""
    app = FastAPI()
    install_handlers(app)
    app.add_middleware(ProblemLanguage)

    @app.post("/parse")
    def parse(body: _Body) -> dict[str, int]:
        return {"to": body.to}

    @app.get("/range")
    def out_of_range() -> None:
        raise StarletteHTTPException(416)

    @app.get("/teapot")
    def teapot() -> None:
        raise StarletteHTTPException(418, "the kettle is busy")

    return app


@pytest.fixture(scope="module")
def framework_url() -> Iterator[str]:
    """The app above served over real HTTP (uvicorn on a free port, as the service's ServerThread)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(_framework_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the test server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_frameworks_body_parse_error_and_other_http_errors_in_both_languages(framework_url: str) -> None:
    with httpx.Client(base_url=framework_url, timeout=30) as client:
        not_utf8 = {"Content-Type": "application/json"}

        def send(h: dict[str, str]) -> httpx.Response:
            return client.post("/parse", content=b'{"to": "\xff"}', headers={**h, **not_utf8})

        en, zh = _both(send, 400, "bad-request")
        assert (en["detail"], zh["detail"]) == ("There was an error parsing the body", "无法解析请求体")
        en, zh = _both(lambda h: client.get("/range", headers=h), 416, "http-error")
        assert (en["detail"], zh["detail"]) == (
            "Requested Range Not Satisfiable",
            "请求未能处理：Requested Range Not Satisfiable",
        )
        assert zh["title"] == "HTTP 错误"
        en, zh = _both(lambda h: client.get("/teapot", headers=h), 418, "http-error")
        assert (en["detail"], zh["detail"]) == ("the kettle is busy", "请求未能处理：the kettle is busy")
