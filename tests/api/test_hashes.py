"""Every transaction and block hash in an answer is 0x-prefixed hex (api/hexes.py), write answers included.

The read model stores hashes without 0x and web3's `HexBytes.hex()` has none either: before api/hexes.py the
admission, cash, order, receivable, note, offer, purchase and settlement answers mixed both forms.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx

from tests.conftest import ServerThread, admitted, ok, random_hash

HASH = re.compile(r"^0x[0-9a-f]{64}$")
HASH_KEYS = re.compile(r"(^|_)(tx|tx_hash|tx_hashes|block_hash)$")


def _hashes(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) of every field of a JSON answer whose name says it holds a transaction or block hash."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}"
            if HASH_KEYS.search(key):
                for one in item if isinstance(item, list) else [item]:
                    yield where, one
            else:
                yield from _hashes(item, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _hashes(item, f"{path}[{i}]")


def test_hash_scanner_sees_nested_fields() -> None:
    answer = {"tx_hash": "ab", "member": {"admitted_tx": "0x1"}, "items": [{"tx_hashes": ["c"]}], "hash": "x"}
    assert [p for p, _ in _hashes(answer)] == [".tx_hash", ".member.admitted_tx", ".items[0].tx_hashes"]


def test_write_answers_carry_0x_prefixed_hashes(api: ServerThread, operator_key: str, operator: httpx.Client) -> None:
    roster = [
        ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
        ("supplier", ["supplier"], {}),
        ("supplier2", ["supplier"], {}),
        ("bank", ["financier"], {}),
    ]
    answers: dict[str, Any] = {}
    admission = {"roles": ["supplier"], "kyc_hash": random_hash()}
    answers["POST /v1/members"] = ok(operator.post("/v1/members", json=admission), 201)
    with admitted(api.url, operator_key, roster) as p:
        core, supplier, supplier2, bank = p["core"], p["supplier"], p["supplier2"], p["bank"]
        due = (date.today() + timedelta(days=60)).isoformat()
        mint = {"member_id": core.id, "amount": "200000.00", "reference": f"core-{random_hash()}"}
        answers["POST /v1/cash/mint"] = ok(bank.client.post("/v1/cash/mint", json=mint), 201)
        mint = {"member_id": bank.id, "amount": "200000.00", "reference": f"bank-{random_hash()}"}
        ok(bank.client.post("/v1/cash/mint", json=mint), 201)
        order = {"buyer_id": core.id, "amount": "100000.00", "document_hash": random_hash(), "due_date": due}
        proposed = answers["POST /v1/orders"] = ok(supplier.client.post("/v1/orders", json=order), 201)
        answers["POST confirm"] = ok(core.client.post(f"/v1/orders/{proposed['id']}/confirm"))
        ok(supplier.client.post(f"/v1/orders/{proposed['id']}/deliver"))
        accept = {"face_value": "100000.00", "maturity": due, "invoice_hash": random_hash()}
        accepted = answers["POST accept"] = ok(core.client.post(f"/v1/orders/{proposed['id']}/accept", json=accept))
        slot = accepted["receivable_id"]
        receivable = answers["GET receivable"] = ok(supplier.client.get(f"/v1/receivables/{slot}"))
        note = receivable["first_note_id"]
        split = {"to": supplier2.id, "value": "30000.00"}
        answers["POST split"] = _ok_any(supplier.client.post(f"/v1/notes/{note}/split", json=split))
        new_note = answers["POST split"]["new_note"]["id"]
        offer = {"note_id": new_note, "value": "30000.00", "rate_bps": 700, "expires_at": due}
        made = answers["POST offer"] = ok(bank.client.post("/v1/financing/offers", json=offer), 201)
        answers["POST offer accept"] = ok(supplier2.client.post(f"/v1/financing/offers/{made['id']}/accept"))
        answers["POST fund"] = ok(
            core.client.post(f"/v1/settlement/receivables/{slot}/fund", json={"amount": "100.00"})
        )
        answers["GET cash moves"] = ok(core.client.get("/v1/cash/moves"))
        answers["GET provenance"] = ok(bank.client.get(f"/v1/notes/{new_note}/provenance"))

    seen: dict[str, list[str]] = {}
    for route, answer in answers.items():
        for path, value in _hashes(answer):
            seen.setdefault(route, []).append(path)
            assert isinstance(value, str) and HASH.match(value), f"{route}: {path} = {value!r} is not 0x-hex"
    # the scan saw the hash fields of the write answers, not an empty set
    for route in ("POST /v1/members", "POST /v1/cash/mint", "POST /v1/orders", "POST accept", "POST offer"):
        assert seen.get(route), f"{route}: no hash field in {answers[route]}"
    assert sum(len(paths) for paths in seen.values()) >= 12, seen


def _ok_any(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body
