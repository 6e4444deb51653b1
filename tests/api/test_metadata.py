"""Token metadata: ReceivableNotes' tokenURI, slotURI and contractURI point at this service's /v1/metadata/ (fixed
at deploy), and the JSON served there carries a note's value and slot and a receivable's terms."""

from __future__ import annotations

from datetime import date, timedelta

import httpx

from scripts.runtime import Ledger
from tests.conftest import ServerThread, admitted, ok, problem, random_hash

ROSTER = [
    ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
    ("supplier", ["supplier"], {}),
    ("stranger", ["supplier"], {}),
]


def test_the_uris_on_chain_serve_the_metadata(api: ServerThread, operator_key: str, ledger: Ledger) -> None:
    notes = ledger.w3.eth.contract(
        address=ledger.deployment.contracts["ReceivableNotes"].address, abi=ledger.artifacts["ReceivableNotes"].abi
    )
    day = (date.today() + timedelta(days=60)).isoformat()
    with admitted(api.url, operator_key, ROSTER) as p:
        receivable = {"creditor_id": p["supplier"].id, "face_value": "9000.00", "maturity": day}
        issued = ok(p["core"].client.post("/v1/receivables", json={**receivable, "invoice_hash": random_hash()}), 201)
        slot_id, note_id = issued["id"], issued["first_note_id"]
        split = {"to": p["stranger"].id, "value": "1000.00"}
        child = ok(p["supplier"].client.post(f"/v1/notes/{note_id}/split", json=split), 201)

        token_uri = notes.functions.tokenURI(note_id).call()
        assert token_uri == f"{api.url}/v1/metadata/notes/{note_id}"
        note = ok(p["supplier"].client.get(token_uri))
        assert (note["balance"], note["slot"]) == (800000, slot_id)
        assert note["properties"] == {"receivable_id": slot_id, "value": "8000.00", "currency": "CNY", "live": True}
        assert (
            ok(p["stranger"].client.get(notes.functions.tokenURI(child["new_note"]["id"]).call()))["balance"] == 100000
        )

        slot_uri = notes.functions.slotURI(slot_id).call()
        assert slot_uri == f"{api.url}/v1/metadata/receivables/{slot_id}"
        terms = ok(p["supplier"].client.get(slot_uri))["properties"]
        assert terms == {
            "obligor_id": p["core"].id,
            "face_value": "9000.00",
            "currency": "CNY",
            "maturity": issued["maturity"],
            "status": "active",
        }

        contract = ok(p["stranger"].client.get(notes.functions.contractURI().call()))
        assert (contract["name"], contract["valueDecimals"]) == (notes.functions.name().call(), 2)

        # the same visibility as GET /v1/notes/{id}: a member with no part in the note is refused; no key, 401
        problem(p["stranger"].client.get(token_uri), 403, "forbidden")
        problem(httpx.get(slot_uri), 401, "unauthorized")
