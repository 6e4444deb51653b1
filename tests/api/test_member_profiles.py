"""Member profiles over real HTTP against a real anvil: codes checked (422 naming the problem), the profile's hash
on chain as the KYC hash, the member verification route, the operator's update (audited) and search."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from api.profiles import USCC_ALPHABET, lei_problem, profile_hash, uscc_check_character, uscc_problem
from chain.node.client import contract
from scripts.runtime import Ledger
from tests.conftest import ServerThread, ok, problem

# Real, published codes (each checked by the algorithm below): Huawei Technologies Co., Ltd., Alibaba (China) Co.,
# Ltd., Tencent (Shenzhen), Bank of China, ICBC; LEIs of Apple Inc., ICBC and Bank of China.
REAL_USCC = ["914403001922038216", "91330100716105852F", "9144030071526726XG", "911000001000013428"]
REAL_LEI = ["HWUPKR0MPOU8FGXBT394", "5493002ERZU2K9PZDL40", "54930053HGCFWVHYZX42"]


def fresh_uscc() -> str:
    """A valid code nobody has used: 17 random characters of the alphabet and their check character."""
    body = "9131" + "".join(secrets.choice(USCC_ALPHABET) for _ in range(13))
    return body + uscc_check_character(body)


def profile(**extra: Any) -> dict[str, Any]:
    tag = secrets.token_hex(3)
    return {
        "legal_name_zh": f"上海浦江精密制造有限公司{tag}",
        "legal_name_en": f"Shanghai Pujiang Precision Manufacturing Co., Ltd. {tag}",
        "display_name": f"浦江精密 {tag}",
        "uscc": fresh_uscc(),
        "lei": None,
        "contact": "finance@pujiang.example",
        **extra,
    }


def _member_count(ledger: Ledger) -> int:
    registry = contract(ledger.w3, ledger.deployment, ledger.artifacts, "MemberRegistry")
    return int(registry.functions.memberCount().call())


def _kyc_on_chain(ledger: Ledger, member_id: int) -> str:
    registry = contract(ledger.w3, ledger.deployment, ledger.artifacts, "MemberRegistry")
    return "0x" + bytes(registry.functions.member(member_id).call()[8]).hex()


@pytest.mark.parametrize("code", REAL_USCC)
def test_real_unified_social_credit_codes_pass_and_each_corruption_fails(code: str) -> None:
    assert uscc_problem(code) is None
    wrong = next(c for c in USCC_ALPHABET if c != code[17])
    assert "check character" in str(uscc_problem(code[:17] + wrong))
    swapped = code[:5] + code[6] + code[5] + code[7:]
    assert code[5] == code[6] or uscc_problem(swapped) is not None


@pytest.mark.parametrize("code", REAL_LEI)
def test_real_leis_pass_and_each_corruption_fails(code: str) -> None:
    assert lei_problem(code) is None
    digits = f"{(int(code[18:]) + 1) % 100:02d}"
    assert "check digits" in str(lei_problem(code[:18] + digits))


@pytest.mark.parametrize(
    ("change", "type_suffix", "fragment"),
    [
        ({"uscc": "914403001922038217"}, "invalid-uscc", "gives '6'"),  # wrong check character
        ({"uscc": "91440300192203821"}, "invalid-uscc", "18 characters"),  # too short
        ({"uscc": "9144030019220382160"}, "invalid-uscc", "18 characters"),  # too long
        ({"uscc": "91440300192203821I"}, "invalid-uscc", "'I'"),  # I is not in the alphabet
        ({"uscc": "914403001922o38216"}, "invalid-uscc", "'o'"),  # lower case
        ({"lei": "HWUPKR0MPOU8FGXBT395"}, "invalid-lei", "gives '94'"),  # wrong check digits
        ({"lei": "HWUPKR0MPOU8FGXBT39"}, "invalid-lei", "20 characters"),
        ({"lei": "HWUPKR0MPOU8FGXBT3-4"}, "invalid-lei", "upper-case"),
    ],
)
def test_an_invalid_code_is_a_422_naming_the_problem_and_admits_nobody(
    operator: httpx.Client, ledger: Ledger, change: dict[str, Any], type_suffix: str, fragment: str
) -> None:
    before = _member_count(ledger)
    body = problem(
        operator.post("/v1/members", json={"roles": ["supplier"], "profile": profile(**change)}), 422, type_suffix
    )
    assert fragment in body["detail"], body
    assert _member_count(ledger) == before


def test_admission_needs_a_profile_or_a_kyc_hash_and_a_kyc_hash_beside_a_profile_must_be_its_hash(
    operator: httpx.Client, ledger: Ledger
) -> None:
    before = _member_count(ledger)
    problem(operator.post("/v1/members", json={"roles": ["supplier"]}), 422, "validation-error")
    wrong = {"roles": ["supplier"], "profile": profile(), "kyc_hash": "0x" + "ab" * 32}
    assert "profile's hash" in problem(operator.post("/v1/members", json=wrong), 422, "validation-error")["detail"]
    assert _member_count(ledger) == before


def test_admission_with_a_profile_puts_its_hash_on_chain_and_the_verification_route_matches(
    operator: httpx.Client, api: ServerThread, ledger: Ledger
) -> None:
    given = profile(lei=REAL_LEI[0])
    admitted = ok(operator.post("/v1/members", json={"roles": ["supplier"], "profile": given}), 201)
    member = admitted["member"]
    digest = profile_hash(given)
    assert member["name"] == given["display_name"]
    assert member["profile"]["uscc"] == given["uscc"]
    assert member["profile"]["profile_hash"] == digest == member["kyc_hash"]
    assert _kyc_on_chain(ledger, member["id"]) == digest

    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {admitted['api_key']}"}) as own:
        assert ok(own.get("/v1/members/me"))["profile"]["legal_name_zh"] == given["legal_name_zh"]
        verified = ok(own.get(f"/v1/verify/members/{member['id']}"))
    assert verified["matches"] is True
    assert verified["kyc_hash"] == verified["profile_hash"] == digest
    assert verified["profile"]["legal_name_en"] == given["legal_name_en"]
    assert verified["block"]["number"] >= 1

    # another member sees the display name in the directory, not the codes and contact
    other = ok(operator.post("/v1/members", json={"roles": ["financier"], "profile": profile()}), 201)
    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {other['api_key']}"}) as bank:
        seen = ok(bank.get(f"/v1/members/{member['id']}"))
        assert seen["name"] == given["display_name"]
        assert seen["profile"] is None
        assert ok(bank.get(f"/v1/verify/members/{member['id']}"))["matches"] is True

    # the same code again is refused before anything is sent
    before = _member_count(ledger)
    again = {"roles": ["supplier"], "profile": profile(uscc=given["uscc"])}
    assert problem(operator.post("/v1/members", json=again), 409, "uscc-in-use")["memberId"] == member["id"]
    assert _member_count(ledger) == before


def test_a_member_admitted_with_only_a_kyc_hash_has_no_profile_and_does_not_match(operator: httpx.Client) -> None:
    member = ok(operator.post("/v1/members", json={"roles": ["supplier"], "kyc_hash": "0x" + "cd" * 32}), 201)
    assert member["member"]["name"] is None
    verified = ok(operator.get(f"/v1/verify/members/{member['member']['id']}"))
    assert verified["profile"] is None
    assert verified["matches"] is False
    assert verified["kyc_hash"] == "0x" + "cd" * 32


def test_the_operator_updates_a_profile_on_chain_and_the_update_is_audited(
    operator: httpx.Client, ledger: Ledger
) -> None:
    member = ok(operator.post("/v1/members", json={"roles": ["supplier"], "kyc_hash": "0x" + "ef" * 32}), 201)
    member_id = member["member"]["id"]
    given = profile()
    problem(operator.post(f"/v1/members/{member_id}/profile", json={**given, "uscc": given["uscc"][:17] + "?"}), 422)
    assert _kyc_on_chain(ledger, member_id) == "0x" + "ef" * 32

    updated = ok(operator.post(f"/v1/members/{member_id}/profile", json=given))
    assert updated["name"] == given["display_name"]
    assert _kyc_on_chain(ledger, member_id) == profile_hash(given) == updated["kyc_hash"]
    assert ok(operator.get(f"/v1/verify/members/{member_id}"))["matches"] is True

    renamed = {**given, "display_name": "浦江新名"}
    assert ok(operator.post(f"/v1/members/{member_id}/profile", json=renamed))["name"] == "浦江新名"
    assert _kyc_on_chain(ledger, member_id) == profile_hash(renamed)
    entries = ok(operator.get("/v1/audit", params={"action": "update_member_profile", "limit": 500}))["items"]
    assert sum(e["path"] == f"/v1/members/{member_id}/profile" and e["result"] == "ok" for e in entries) == 2


def test_search_by_chinese_name_english_name_and_code_with_pages(operator: httpx.Client, api: ServerThread) -> None:
    tag = secrets.token_hex(4)
    first = profile(
        legal_name_zh=f"深圳前海{tag}供应链管理有限公司", legal_name_en=f"Shenzhen Qianhai {tag} Supply Chain"
    )
    second = profile(legal_name_zh=f"深圳前海{tag}商业保理有限公司", legal_name_en=f"Shenzhen Qianhai {tag} Factoring")
    ids = [
        ok(operator.post("/v1/members", json={"roles": ["supplier"], "profile": p}), 201)["member"]["id"]
        for p in (first, second)
    ]
    supplier_key = ok(operator.post("/v1/members", json={"roles": ["supplier"], "profile": profile()}), 201)["api_key"]

    def found(q: str, **params: Any) -> list[int]:
        return [m["id"] for m in ok(operator.get("/v1/members", params={"q": q, **params}))["items"]]

    assert found(f"前海{tag}") == ids
    assert found(f"前海{tag}商业保理") == [ids[1]]
    assert found(f"qianhai {tag} supply") == [ids[0]]  # English names match whatever the case
    assert found(first["uscc"].lower()) == [ids[0]]
    assert found("%") == [] and found("no such name " + tag) == []  # a wildcard is a plain character
    page = ok(operator.get("/v1/members", params={"q": f"前海{tag}", "limit": 1}))
    assert [m["id"] for m in page["items"]] == [ids[0]] and page["next_cursor"] == str(ids[0])
    rest = ok(operator.get("/v1/members", params={"q": f"前海{tag}", "limit": 1, "cursor": page["next_cursor"]}))
    assert [m["id"] for m in rest["items"]] == [ids[1]] and rest["next_cursor"] is None

    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {supplier_key}"}) as supplier:
        problem(supplier.get("/v1/members", params={"q": f"前海{tag}"}), 403, "forbidden")
        assert ok(supplier.get("/v1/members"))["items"]  # the plain directory stays open to members


def test_profiles_survive_a_rebuild_of_the_read_model(operator: httpx.Client, api: ServerThread) -> None:
    given = profile()
    member_id = ok(operator.post("/v1/members", json={"roles": ["supplier"], "profile": given}), 201)["member"]["id"]
    ledger = api.server.config.app.state.ledger  # type: ignore[attr-defined]
    ledger.get().indexer.rebuild()  # drops and replays the projections from the event log
    assert ok(operator.get(f"/v1/members/{member_id}"))["name"] == given["display_name"]
    verified = ok(operator.get(f"/v1/verify/members/{member_id}"))
    assert verified["matches"] is True and verified["profile"]["uscc"] == given["uscc"]


def test_a_retried_admission_with_a_profile_answers_as_the_first(operator: httpx.Client, ledger: Ledger) -> None:
    body = {"roles": ["supplier"], "profile": profile()}
    headers = {"Idempotency-Key": secrets.token_hex(16)}
    first = ok(operator.post("/v1/members", json=body, headers=headers), 201)
    count = _member_count(ledger)
    again = ok(operator.post("/v1/members", json=body, headers=headers), 201)  # not a 409 uscc-in-use
    assert again["member"]["id"] == first["member"]["id"] and _member_count(ledger) == count
    update = body["profile"] | {"display_name": "改名"}
    member_path = f"/v1/members/{first['member']['id']}/profile"
    headers = {"Idempotency-Key": secrets.token_hex(16)}  # a key names one request
    assert ok(operator.post(member_path, json=update, headers=headers))["name"] == "改名"
    assert ok(operator.post(member_path, json=update, headers=headers))["name"] == "改名"
