"""/v1/verify over real HTTP: banks read notes and invoices straight from the chain, with checkable proofs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from chain.node.client import contract
from chain.node.proofs import ProofError, notes_base_slot, verify_note_proof
from scripts.runtime import Ledger
from tests.conftest import Party, Roster, ServerThread, admitted, ok, problem, random_hash


@pytest.fixture(scope="module")
def parties(api: ServerThread, operator_key: str) -> Iterator[dict[str, Party]]:
    roster: Roster = [
        ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
        ("supplier", ["supplier"], {}),
        ("supplier2", ["supplier"], {}),
        ("bank", ["financier"], {}),
        ("auditor", ["auditor"], {}),
    ]
    with admitted(api.url, operator_key, roster) as parties:
        yield parties


@pytest.fixture(scope="module")
def issued(parties: dict[str, Party]) -> dict[str, Any]:
    core, supplier = parties["core"], parties["supplier"]
    invoice = random_hash()
    before = ok(parties["bank"].client.get("/v1/verify/invoice", params={"hash": invoice}))
    assert before["tokenised"] is False and before["slot_id"] is None
    maturity = (date.today() + timedelta(days=60)).isoformat()
    receivable = ok(
        core.client.post(
            "/v1/receivables",
            json={"creditor_id": supplier.id, "face_value": "2500.00", "maturity": maturity, "invoice_hash": invoice},
        ),
        201,
    )
    note_id = receivable["first_note_id"]
    # the bank sees the note's value but not whose it is, and gets no proof (it would show the holder) ...
    hidden = ok(parties["bank"].client.get(f"/v1/verify/notes/{note_id}"))
    assert str(hidden["holder"]["member_id"]).startswith("holder-") and hidden["holder"]["account"] is None
    assert str(hidden["receivable"]["creditor_id"]).startswith("holder-") and hidden["value"] == "2500.00"
    problem(parties["bank"].client.get(f"/v1/verify/notes/{note_id}", params={"proof": "true"}), 403, "forbidden")
    # ... until the supplier, asking it for financing, shares its holdings with it
    ok(supplier.client.post("/v1/members/me/shares", json={"financier_id": parties["bank"].id}), 201)
    return {"invoice": invoice, "slot_id": receivable["id"], "note_id": note_id}


def test_bank_verifies_a_suppliers_note(parties: dict[str, Party], issued: dict[str, Any], ledger: Ledger) -> None:
    note_id = issued["note_id"]
    body = ok(parties["bank"].client.get(f"/v1/verify/notes/{note_id}"))
    assert body["proof"] is None
    chain_note = _chain_note(ledger, note_id, body["block"]["number"])
    assert body["holder"]["member_id"] == parties["supplier"].id == chain_note[0]
    assert body["value"] == "2500.00"
    assert chain_note[3] == 250_000
    assert body["lienholder_id"] is None and body["parent_id"] is None
    terms = body["receivable"]
    assert terms["slot_id"] == issued["slot_id"] == chain_note[2]
    assert terms["obligor_id"] == parties["core"].id
    assert terms["creditor_id"] == parties["supplier"].id
    assert terms["face_value"] == "2500.00"
    assert terms["invoice_hash"] == issued["invoice"]
    assert terms["status"] == "active"
    header = ledger.w3.eth.get_block(body["block"]["number"])
    assert body["block"]["hash"] == "0x" + bytes(header["hash"]).hex()

    # the holder, an auditor and the operator may verify too
    for party in ("supplier", "auditor"):
        assert ok(parties[party].client.get(f"/v1/verify/notes/{note_id}"))["value"] == "2500.00"


def _chain_note(ledger: Ledger, note_id: int, block: int) -> tuple[int, ...]:
    notes = contract(ledger.w3, ledger.deployment, ledger.artifacts, "ReceivableNotes")
    return tuple(notes.functions.note(note_id).call(block_identifier=block))


def test_proof_bundle_verifies_independently(parties: dict[str, Party], issued: dict[str, Any], ledger: Ledger) -> None:
    body = ok(parties["bank"].client.get(f"/v1/verify/notes/{issued['note_id']}", params={"proof": "true"}))
    bundle = body["proof"]
    root = bytes(ledger.w3.eth.get_block(body["block"]["number"])["stateRoot"])
    # the verifier pins the mapping's slot from the compiled contract it trusts, not from the bundle
    layout = ledger.artifacts["ReceivableNotes"].storage_layout
    verified = verify_note_proof(bundle, root, base_slot=notes_base_slot(layout))
    assert verified.holder_id == parties["supplier"].id
    assert verified.value == 250_000
    assert verified.block_hash == body["block"]["hash"]
    bundle["note"]["holderId"] = parties["bank"].id
    with pytest.raises(ProofError):
        verify_note_proof(bundle, root)


def test_the_answer_names_the_node_and_block_the_proof_was_read_from(
    parties: dict[str, Party], issued: dict[str, Any], ledger: Ledger
) -> None:
    body = ok(parties["bank"].client.get(f"/v1/verify/notes/{issued['note_id']}", params={"proof": "true"}))
    # the test service reads the embedded devchain (`scf up --network` names the consortium node: test_network.py)
    assert body["node"] == {"name": "local devchain", "kind": "devchain", "block": body["block"]}
    number, block_hash = body["node"]["block"]["number"], body["node"]["block"]["hash"]
    assert block_hash == "0x" + bytes(ledger.w3.eth.get_block(number)["hash"]).hex()
    assert body["proof"]["block"]["number"] == number and body["proof"]["block"]["hash"] == block_hash
    # at a past block the node is named with that block
    past = ok(parties["bank"].client.get(f"/v1/verify/notes/{issued['note_id']}", params={"block": str(number)}))
    assert past["node"]["block"] == {"number": number, "hash": block_hash}


def test_past_block_shows_the_state_then(
    parties: dict[str, Party], issued: dict[str, Any], operator: httpx.Client
) -> None:
    note_id = issued["note_id"]
    now = ok(operator.get(f"/v1/verify/notes/{note_id}"))
    past = ok(operator.get(f"/v1/verify/notes/{note_id}", params={"block": str(now["block"]["number"])}))
    assert past["block"] == now["block"]
    problem(operator.get(f"/v1/verify/notes/{note_id}", params={"block": "10000000"}), 404)
    problem(operator.get(f"/v1/verify/notes/{note_id}", params={"block": "yesterday"}), 422)


def test_other_supplier_is_forbidden_and_unknown_is_404(parties: dict[str, Party], issued: dict[str, Any]) -> None:
    body = problem(parties["supplier2"].client.get(f"/v1/verify/notes/{issued['note_id']}"), 403)
    assert "holder" not in body and "value" not in body
    problem(parties["supplier2"].client.get(f"/v1/verify/notes/{issued['note_id']}", params={"proof": "true"}), 403)
    problem(parties["bank"].client.get("/v1/verify/notes/9999999"), 404)
    problem(parties["bank"].client.get("/v1/verify/notes/0"), 404)
    problem(httpx.get(str(parties["bank"].client.base_url) + f"/v1/verify/notes/{issued['note_id']}"), 401)


def test_invoice_check_after_issuance(parties: dict[str, Party], issued: dict[str, Any]) -> None:
    body = ok(parties["bank"].client.get("/v1/verify/invoice", params={"hash": issued["invoice"]}))
    assert body["tokenised"] is True
    assert body["slot_id"] == issued["slot_id"]
    assert body["obligor_id"] == parties["core"].id
    assert body["creditor_id"] == parties["supplier"].id
    # the parties see it, an unrelated supplier does not (whether or not it is tokenised)
    assert ok(parties["core"].client.get("/v1/verify/invoice", params={"hash": issued["invoice"]}))["tokenised"]
    assert ok(parties["supplier"].client.get("/v1/verify/invoice", params={"hash": issued["invoice"]}))["tokenised"]
    problem(parties["supplier2"].client.get("/v1/verify/invoice", params={"hash": issued["invoice"]}), 403)
    problem(parties["supplier2"].client.get("/v1/verify/invoice", params={"hash": random_hash()}), 403)
    problem(parties["bank"].client.get("/v1/verify/invoice", params={"hash": "0x1234"}), 422)


def test_a_block_before_the_deployment_is_a_404_not_a_500(
    parties: dict[str, Party], issued: dict[str, Any], ledger: Ledger
) -> None:
    """Before its deployment block the ledger's contracts have no code: a read there came back empty and web3's
    decoding error was a 500."""
    assert ledger.deployment.block > 0
    bank = parties["bank"].client
    for path in (
        f"/v1/verify/invoice?hash={issued['invoice']}&block=0",
        f"/v1/verify/notes/{issued['note_id']}?block=0",
        "/v1/verify/orders/1?block=0",
    ):
        body = problem(bank.get(path), 404, "unknown-block")
        assert "before the ledger was deployed" in body["detail"], path
    # holdings' `block` is only a floor for the read model (no state is read at it): block 0 is a trivial floor
    supplier = parties["supplier"]
    assert ok(supplier.client.get(f"/v1/verify/holdings/{supplier.id}?block=0"))["member_id"] == supplier.id


def test_a_note_at_an_older_block_answers_the_chains_holder_then(
    parties: dict[str, Party], operator: httpx.Client
) -> None:
    """The note is read with the receivable and holder the read model gives it (its current state); at a block
    before a transfer the chain's note has another holder, and the answer is the chain's: that holder's account."""
    core, supplier, supplier2 = parties["core"], parties["supplier"], parties["supplier2"]
    maturity = (date.today() + timedelta(days=90)).isoformat()
    body = {"creditor_id": supplier.id, "face_value": "900.00", "maturity": maturity, "invoice_hash": random_hash()}
    note_id = ok(core.client.post("/v1/receivables", json=body), 201)["first_note_id"]
    before = ok(operator.get(f"/v1/verify/notes/{note_id}"))
    assert before["holder"]["member_id"] == supplier.id
    ok(supplier.client.post(f"/v1/notes/{note_id}/transfer", json={"to": supplier2.id}))
    now = ok(operator.get(f"/v1/verify/notes/{note_id}"))
    assert now["holder"]["member_id"] == supplier2.id and now["holder"]["account"] != before["holder"]["account"]
    then = ok(operator.get(f"/v1/verify/notes/{note_id}", params={"block": str(before["block"]["number"])}))
    assert then["holder"] == before["holder"]  # the chain's holder then, its account: not the read model's
    assert then["receivable"] == before["receivable"] and then["block"] == before["block"]


def test_without_a_key_a_malformed_parameter_is_a_422_and_a_wellformed_request_a_401(http: httpx.Client) -> None:
    """The caller is looked up on the route's worker thread, after FastAPI has checked the parameters."""
    problem(http.get("/v1/verify/notes/1", params={"proof": "maybe"}), 422, "validation-error")
    problem(http.get("/v1/verify/holdings/1", params={"check": "yes"}), 422, "validation-error")
    problem(http.get("/v1/verify/notes/1"), 401, "unauthorized")
    problem(http.get("/v1/verify/holdings/1"), 401, "unauthorized")


def test_a_note_at_latest_shares_a_recent_head_but_sees_every_indexed_write(
    parties: dict[str, Party], operator: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`latest` is the head this process read at most HEAD_MAX_AGE ago (here an hour) while the read model is not
    past it: a second verification with no block mined between asks the node for no head. A write this service
    answered is indexed before its answer, so the next verification reads the head again and sees it
    (read-your-writes)."""
    from api.services import verify
    from chain.node.reader import ChainReader

    monkeypatch.setattr(verify, "HEAD_MAX_AGE", 3600.0)
    heads: list[int | str] = []
    header = ChainReader.header

    def counted(self: ChainReader, identifier: int | str) -> Any:  # the real read, counted
        heads.append(identifier)
        return header(self, identifier)

    monkeypatch.setattr(ChainReader, "header", counted)
    core, supplier, supplier2 = parties["core"], parties["supplier"], parties["supplier2"]
    maturity = (date.today() + timedelta(days=90)).isoformat()
    body = {"creditor_id": supplier.id, "face_value": "700.00", "maturity": maturity, "invoice_hash": random_hash()}
    note_id = ok(core.client.post("/v1/receivables", json=body), 201)["first_note_id"]
    first = ok(operator.get(f"/v1/verify/notes/{note_id}"))
    heads.clear()
    again = ok(operator.get(f"/v1/verify/notes/{note_id}"))  # automine: no block since
    assert heads == [] and again["block"] == first["block"]
    split = ok(supplier.client.post(f"/v1/notes/{note_id}/split", json={"to": supplier2.id, "value": "200.00"}), 201)
    child = ok(operator.get(f"/v1/verify/notes/{split['new_note']['id']}"))
    assert heads == ["latest"] and child["block"]["number"] > first["block"]["number"]
    assert (child["holder"]["member_id"], child["value"]) == (supplier2.id, "200.00")
    assert ok(operator.get(f"/v1/verify/notes/{note_id}"))["value"] == "500.00"
