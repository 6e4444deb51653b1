"""GET /v1/alerts over real HTTP: a related-party factoring deal raises an alert that auditors see."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from web3 import Web3

from api.profiles import USCC_ALPHABET, uscc_check_character
from api.settings import Settings
from chain.node.client import contract
from chain.readmodel.alerts import AlertConfig
from scripts.runtime import Ledger
from tests.conftest import ServerThread, ok, random_hash, with_mint_ceiling


class Party:
    def __init__(self, api: ServerThread, member: dict[str, Any], key: str) -> None:
        self.id: int = member["id"]
        self.account: str = Web3.to_checksum_address(member["account"])
        self.client = httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {key}"})


TAG = secrets.token_hex(3)
NAMES = {"supplier": f"宁波供应链{TAG}", "bank": f"浦江银行{TAG}"}


def _profile(display_name: str) -> dict[str, str]:
    body = "9133" + "".join(secrets.choice(USCC_ALPHABET) for _ in range(13))
    return {
        "legal_name_zh": f"{display_name}有限公司",
        "legal_name_en": f"{display_name} Co., Ltd.",
        "display_name": display_name,
        "uscc": body + uscc_check_character(body),
    }


@pytest.fixture(scope="module")
def parties(api: ServerThread, operator_key: str) -> Iterator[dict[str, Party]]:
    group = 900_000 + uuid.uuid4().int % 100_000
    admitted: dict[str, Party] = {}
    with httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {operator_key}"}) as op:
        for name, roles, extra in [
            ("core", ["core_enterprise"], {"credit_limit": "1000000.00", "kyc_hash": random_hash()}),
            ("supplier", ["supplier"], {"group_id": group, "profile": _profile(NAMES["supplier"])}),
            ("bank", ["financier"], {"group_id": group, "profile": _profile(NAMES["bank"])}),
            ("auditor", ["auditor"], {"kyc_hash": random_hash()}),
        ]:
            body = ok(op.post("/v1/members", json=with_mint_ceiling(roles, {"roles": roles, **extra})), 201)
            admitted[name] = Party(api, body["member"], body["api_key"])
    yield admitted
    for party in admitted.values():
        party.client.close()


def _related_party_sale(parties: dict[str, Party], ledger: Ledger) -> None:
    core, supplier, bank = parties["core"], parties["supplier"], parties["bank"]
    cash = contract(ledger.w3, ledger.deployment, ledger.artifacts, "CashToken")
    ledger.w3.provider.make_request("anvil_impersonateAccount", [bank.account])  # type: ignore[arg-type]
    tx_hash = cash.functions.mint(bank.account, 100_000, b"\x33" * 32).transact({"from": bank.account})
    assert ledger.w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 1
    maturity = (date.today() + timedelta(days=60)).isoformat()
    body = {"creditor_id": supplier.id, "face_value": "5000.00", "maturity": maturity, "invoice_hash": random_hash()}
    note_id = ok(core.client.post("/v1/receivables", json=body), 201)["first_note_id"]
    expires = (date.today() + timedelta(days=5)).isoformat()
    offer = {"note_id": note_id, "value": "500.00", "rate_bps": 0, "recourse": False, "expires_at": expires}
    offer_id = ok(bank.client.post("/v1/financing/offers", json=offer), 201)["id"]
    ok(supplier.client.post(f"/v1/financing/offers/{offer_id}/accept"))


def test_auditor_sees_alerts_and_a_supplier_gets_403(
    parties: dict[str, Party], ledger: Ledger, operator: httpx.Client
) -> None:
    supplier, bank, auditor = parties["supplier"], parties["bank"], parties["auditor"]
    _related_party_sale(parties, ledger)

    page = ok(auditor.client.get("/v1/alerts", params={"rule": "related_party", "member_id": supplier.id}))
    [alert] = page["items"]
    assert alert["severity"] == "high"
    assert alert["members"] == [supplier.id, bank.id]
    assert alert["member_names"] == [NAMES["supplier"], NAMES["bank"]]  # names beside the ids, in their order
    assert len(alert["evidence"]) == 1 and len(alert["evidence"][0].removeprefix("0x")) == 64
    assert page["next_cursor"] is None
    assert ok(auditor.client.get("/v1/alerts", params={"severity": "low", "member_id": supplier.id}))["items"] == []
    assert ok(auditor.client.get("/v1/alerts", params={"member_id": parties["core"].id}))["items"] == []

    # cursor pagination over everything the operator sees
    seen: list[int] = []
    cursor: str | None = "0"
    while cursor is not None:
        page = ok(operator.get("/v1/alerts", params={"limit": 1, "cursor": cursor}))
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
    assert alert["id"] in seen and seen == sorted(set(seen))

    forbidden = supplier.client.get("/v1/alerts")
    assert forbidden.status_code == 403, forbidden.text
    assert bank.client.get("/v1/alerts").status_code == 403
    assert auditor.client.get("/v1/alerts", params={"rule": "nope"}).status_code == 422


def test_alert_thresholds_come_from_settings() -> None:
    settings = Settings(alert_structuring_threshold="500.00", alert_concentration_percent=70)  # type: ignore[call-arg]
    config = settings.alert_config()
    assert config.structuring_threshold == 50_000
    assert config.concentration_percent == 70
    assert Settings().alert_config() == AlertConfig()  # type: ignore[call-arg]
