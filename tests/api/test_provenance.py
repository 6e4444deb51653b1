"""Provenance, receivable trees and order verification over real HTTP against a real anvil.

One story: order -> confirm -> deliver -> accept (issue) -> split -> transfer -> lock -> sale. The
provenance of the sold note must list exactly those steps, each with a transaction the chain confirms.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from web3 import Web3
from web3.logs import DISCARD

from chain.node.client import contract
from scripts.runtime import Ledger
from tests.conftest import Party, Roster, ServerThread, admitted, ok, problem, random_hash


@pytest.fixture(scope="module")
def parties(api: ServerThread, operator_key: str) -> Iterator[dict[str, Party]]:
    roster: Roster = [
        ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
        ("tier1", ["supplier"], {}),
        ("tier2", ["supplier"], {}),
        ("tier3", ["supplier"], {}),
        ("bank", ["financier"], {}),
        ("outsider", ["supplier"], {}),
        ("auditor", ["auditor"], {}),
    ]
    with admitted(api.url, operator_key, roster) as parties:
        yield parties


def _order(core: Party, supplier: Party, amount: str) -> dict[str, Any]:
    due = (date.today() + timedelta(days=60)).isoformat()
    body = {"buyer_id": core.id, "amount": amount, "document_hash": random_hash(), "due_date": due}
    return ok(supplier.client.post("/v1/orders", json=body), 201)


@pytest.fixture(scope="module")
def story(parties: dict[str, Party]) -> dict[str, Any]:
    core, tier1, tier2, tier3, bank = (parties[n] for n in ("core", "tier1", "tier2", "tier3", "bank"))
    order = _order(core, tier1, "10000.00")
    ok(core.client.post(f"/v1/orders/{order['id']}/confirm"))
    ok(tier1.client.post(f"/v1/orders/{order['id']}/deliver"))
    invoice = random_hash()
    maturity = (date.today() + timedelta(days=90)).isoformat()
    accepted = ok(
        core.client.post(
            f"/v1/orders/{order['id']}/accept",
            json={"face_value": "10000.00", "maturity": maturity, "invoice_hash": invoice},
        )
    )
    slot_id = accepted["receivable_id"]
    receivable = ok(tier1.client.get(f"/v1/receivables/{slot_id}"))
    root = receivable["first_note_id"]
    split = ok(tier1.client.post(f"/v1/notes/{root}/split", json={"to": tier2.id, "value": "4000.00"}), 201)
    child = split["new_note"]["id"]
    ok(tier2.client.post(f"/v1/notes/{child}/transfer", json={"to": tier3.id}))
    ok(tier1.client.post(f"/v1/notes/{root}/lock", json={"lienholder_id": bank.id}))
    ok(bank.client.post("/v1/cash/mint", json={"member_id": bank.id, "amount": "5000.00", "reference": "own-1"}), 201)
    offer = ok(
        bank.client.post(
            "/v1/financing/offers",
            json={
                "note_id": child,
                "value": "1000.00",
                "rate_bps": 500,
                "expires_at": (date.today() + timedelta(days=30)).isoformat(),
            },
        ),
        201,
    )
    purchase = ok(tier3.client.post(f"/v1/financing/offers/{offer['id']}/accept"))
    assert ok(bank.client.get(f"/v1/financing/purchases/{purchase['id']}"))["tx_hash"] == purchase["tx_hash"]
    return {
        "order": order,
        "invoice": invoice,
        "slot_id": slot_id,
        "receivable": receivable,
        "root": root,
        "child": child,
        "child_tx": split["new_note"]["created_tx"],
        "sold": purchase["note_id"],
        "purchase": purchase,
    }


def _0x(tx_hash: str) -> str:
    """Write responses carry hashes as the read model stores them; provenance prefixes them with 0x."""
    return tx_hash if tx_hash.startswith("0x") else "0x" + tx_hash


def _log_of(ledger: Ledger, tx_hash: str, name: str, contract_name: str, log_index: int) -> dict[str, Any]:
    """The decoded `name` event at `log_index` of the mined transaction: proof the chain has that step."""
    receipt = ledger.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    assert receipt["status"] == 1
    handle = contract(ledger.w3, ledger.deployment, ledger.artifacts, contract_name)
    for entry in handle.events[name]().process_receipt(receipt, errors=DISCARD):
        if entry["logIndex"] == log_index:
            return {"receipt": receipt, "args": dict(entry["args"])}
    raise AssertionError(f"{contract_name}.{name} is not log {log_index} of {tx_hash}")


def test_provenance_lists_every_step_with_chain_transactions(
    parties: dict[str, Party], story: dict[str, Any], ledger: Ledger
) -> None:
    bank, tier1, tier2, tier3 = (parties[n] for n in ("bank", "tier1", "tier2", "tier3"))
    sold, child, root = story["sold"], story["child"], story["root"]
    body = ok(parties["auditor"].client.get(f"/v1/notes/{sold}/provenance"))  # sees every member
    assert body["source"] == "read-model"
    assert body["note_id"] == sold and body["slot_id"] == story["slot_id"]
    assert body["lineage"] == [root, child, sold]

    order = body["order"]
    assert order["order_id"] == story["order"]["id"]
    assert [s["step"] for s in order["steps"]] == ["proposed", "confirmed", "delivered", "accepted"]
    assert order["steps"][0]["tx_hash"] == _0x(story["order"]["proposed_tx"])
    assert order["steps"][3]["tx_hash"] == _0x(story["receivable"]["issued_tx"])
    event_names = ["OrderProposed", "OrderConfirmed", "OrderDelivered", "OrderAccepted"]
    for step, name in zip(order["steps"], event_names, strict=True):
        log = _log_of(ledger, step["tx_hash"], name, "OrderBook", step["log_index"])
        assert log["args"]["orderId"] == story["order"]["id"]
        assert log["receipt"]["blockNumber"] == step["block_number"]
        assert "0x" + bytes(log["receipt"]["blockHash"]).hex() == step["block_hash"]
        assert step["at"] is not None
    assert body["receivable"]["issued_tx"] == _0x(story["receivable"]["issued_tx"])
    assert body["receivable"]["creditor_id"] == tier1.id

    events = body["events"]
    assert [e["kind"] for e in events] == ["issue", "split", "transfer", "pledge", "sale"]
    issue, split, transfer, pledge, sale = events
    assert issue["tx_hash"] == _0x(story["receivable"]["issued_tx"])
    assert (issue["to_note_id"], issue["to_member_id"], issue["value"]) == (root, tier1.id, "10000.00")
    assert split["tx_hash"] == _0x(story["child_tx"])
    assert (split["from_note_id"], split["to_note_id"], split["value"]) == (root, child, "4000.00")
    assert (split["from_member_id"], split["to_member_id"]) == (tier1.id, tier2.id)
    assert (transfer["from_member_id"], transfer["to_member_id"], transfer["note_id"]) == (tier2.id, tier3.id, child)
    assert (pledge["note_id"], pledge["from_member_id"], pledge["to_member_id"]) == (root, tier1.id, bank.id)
    assert pledge["value"] == "6000.00"  # the root's value when it was pledged
    assert sale["tx_hash"] == _0x(story["purchase"]["tx_hash"])
    assert sale["purchase_id"] == story["purchase"]["id"]
    assert (sale["from_note_id"], sale["to_note_id"], sale["value"]) == (child, sold, "1000.00")
    assert (sale["from_member_id"], sale["to_member_id"]) == (tier3.id, bank.id)

    # every event is a log the chain has, in the block the provenance names
    expected = {
        "issue": ("ReceivableNotes", "TransferValue"),
        "split": ("ReceivableNotes", "TransferValue"),
        "transfer": ("ReceivableNotes", "Transfer"),
        "pledge": ("ReceivableNotes", "NoteLocked"),
        "sale": ("ReceivableNotes", "TransferValue"),
    }
    for event in events:
        contract_name, name = expected[event["kind"]]
        log = _log_of(ledger, event["tx_hash"], name, contract_name, event["log_index"])
        assert log["receipt"]["blockNumber"] == event["block_number"]
        assert "0x" + bytes(log["receipt"]["blockHash"]).hex() == event["block_hash"]
    assert body["indexed_block"] >= events[-1]["block_number"]
    positions = [(e["block_number"], e["log_index"]) for e in events]
    assert positions == sorted(positions)
    assert events[3]["block_number"] > events[2]["block_number"]

    # the bank sees those it dealt with (tier 1: its lien; tier 3: the sale), and tier 2 only as a pseudonym
    seen = ok(bank.client.get(f"/v1/notes/{sold}/provenance"))["events"]
    assert [e["tx_hash"] for e in seen] == [e["tx_hash"] for e in events]
    assert (seen[1]["from_member_id"], seen[2]["to_member_id"], seen[4]["from_member_id"]) == (
        tier1.id,
        tier3.id,
        tier3.id,
    )
    assert seen[1]["to_member_id"] == seen[2]["from_member_id"] != tier2.id
    assert str(seen[1]["to_member_id"]).startswith("holder-")

    # past holders of the note's ancestors, the obligor and auditors see it too; an unrelated supplier does not
    for who in ("tier1", "tier2", "tier3", "core", "bank"):
        again = ok(parties[who].client.get(f"/v1/notes/{sold}/provenance"))
        assert [e["tx_hash"] for e in again["events"]] == [e["tx_hash"] for e in events]
    refused = problem(parties["outsider"].client.get(f"/v1/notes/{sold}/provenance"), 403, "forbidden")
    assert "events" not in refused and story["purchase"]["tx_hash"] not in str(refused)
    problem(bank.client.get("/v1/notes/987654321/provenance"), 404, "not-found")
    problem(bank.client.get(f"/v1/notes/{2**70}/provenance"), 404, "not-found")
    problem(bank.client.get("/v1/notes/-1/provenance"), 404, "not-found")


def test_provenance_of_the_first_note_has_no_descendants(parties: dict[str, Party], story: dict[str, Any]) -> None:
    body = ok(parties["tier1"].client.get(f"/v1/notes/{story['root']}/provenance"))
    assert body["lineage"] == [story["root"]]
    # the split and the pledge touch the root; the transfer and the sale only touch its descendants
    assert [e["kind"] for e in body["events"]] == ["issue", "split", "pledge"]


def test_tree_has_every_note_and_movement(parties: dict[str, Party], story: dict[str, Any]) -> None:
    slot_id = story["slot_id"]
    tree = ok(parties["auditor"].client.get(f"/v1/receivables/{slot_id}/tree"))
    assert tree["slot_id"] == slot_id and tree["root_note_id"] == story["root"]
    nodes = {n["note_id"]: n for n in tree["nodes"]}
    assert sorted(nodes) == sorted([story["root"], story["child"], story["sold"]])
    assert nodes[story["root"]]["value"] == "6000.00"
    assert nodes[story["root"]]["lienholder_id"] == parties["bank"].id
    assert nodes[story["child"]]["value"] == "3000.00"
    assert nodes[story["child"]]["holder_id"] == parties["tier3"].id
    assert nodes[story["sold"]]["parent_id"] == story["child"]
    assert nodes[story["sold"]]["holder_id"] == parties["bank"].id
    live_sum = sum(int(n["value"].replace(".", "")) for n in tree["nodes"] if n["live"])
    assert live_sum == 1_000_000  # 10000.00 in minor units: nothing redeemed yet
    assert tree["outstanding"] == "10000.00" and tree["balanced"] is True
    assert [e["kind"] for e in tree["edges"]] == ["issue", "split", "transfer", "pledge", "sale"]
    sale = tree["edges"][-1]
    assert (sale["from_note_id"], sale["to_note_id"], sale["tx_hash"]) == (
        story["child"],
        story["sold"],
        _0x(story["purchase"]["tx_hash"]),
    )

    problem(parties["outsider"].client.get(f"/v1/receivables/{slot_id}/tree"), 403, "forbidden")
    problem(parties["core"].client.get("/v1/receivables/987654321/tree"), 404, "not-found")
    problem(parties["core"].client.get(f"/v1/receivables/{2**70}/tree"), 404, "not-found")
    assert ok(parties["core"].client.get(f"/v1/receivables/{slot_id}/tree"))["nodes"] == tree["nodes"]  # the obligor
    # a past holder sees the same notes; the bank, with which tier 2 never dealt, only as a pseudonym
    past = ok(parties["tier2"].client.get(f"/v1/receivables/{slot_id}/tree"))
    assert [(n["note_id"], n["value"]) for n in past["nodes"]] == [(n["note_id"], n["value"]) for n in tree["nodes"]]
    mine = {n["note_id"]: n for n in past["nodes"]}
    assert mine[story["child"]]["holder_id"] == parties["tier3"].id
    assert mine[story["sold"]]["holder_id"] == mine[story["root"]]["lienholder_id"] != parties["bank"].id


def test_verify_tokenised_order_shows_sales_and_pledges(parties: dict[str, Party], story: dict[str, Any]) -> None:
    order_id = story["order"]["id"]
    body = ok(parties["bank"].client.get(f"/v1/verify/orders/{order_id}"))
    assert body["status"] == "invoiced"
    assert body["tokenised"] is True and body["slot_id"] == story["slot_id"]
    assert body["tokenised_by"] == parties["core"].id
    assert body["pledged"] is False and body["lienholder_id"] is None and body["loans"] == []
    financing = body["financing"]
    assert financing["sold"] is True and financing["sold_value"] == "1000.00"
    [sale] = financing["sales"]
    assert (sale["purchase_id"], sale["note_id"]) == (story["purchase"]["id"], story["sold"])
    assert (sale["seller_id"], sale["financier_id"]) == (parties["tier3"].id, parties["bank"].id)
    assert financing["pledged"] is True
    assert financing["pledged_notes"] == [
        {
            "note_id": story["root"],
            "holder_id": parties["tier1"].id,
            "lienholder_id": parties["bank"].id,
            "value": "6000.00",
        }
    ]
    assert body["receivable"]["invoice_hash"] == story["invoice"]

    # the invoice check carries the same summary for those allowed to see the receivable, under the same rule:
    # tier 1 sees its lienholder, not tier 3 (which it never dealt with)
    invoice = ok(parties["tier1"].client.get("/v1/verify/invoice", params={"hash": story["invoice"]}))
    assert invoice["financing"]["pledged_notes"] == financing["pledged_notes"]
    [seen] = invoice["financing"]["sales"]
    assert seen["financier_id"] == parties["bank"].id and str(seen["seller_id"]).startswith("holder-")

    # at the block before the sale, nothing was sold yet (the chain is read at that block)
    sale_block = ok(parties["bank"].client.get(f"/v1/notes/{story['sold']}/provenance"))["events"][-1]["block_number"]
    before = ok(parties["bank"].client.get(f"/v1/verify/orders/{order_id}", params={"block": sale_block - 1}))
    assert before["financing"]["sold"] is False

    problem(parties["outsider"].client.get(f"/v1/verify/orders/{order_id}"), 403, "forbidden")
    problem(parties["bank"].client.get("/v1/verify/orders/987654321"), 404, "not-found")
    problem(parties["bank"].client.get(f"/v1/verify/orders/{2**70}"), 404, "not-found")


def test_verify_pledged_and_untokenised_orders(parties: dict[str, Party]) -> None:
    core, tier1, bank, outsider = (parties[n] for n in ("core", "tier1", "bank", "outsider"))
    pledged = _order(core, tier1, "2000.00")
    ok(core.client.post(f"/v1/orders/{pledged['id']}/confirm"))
    ok(tier1.client.post(f"/v1/orders/{pledged['id']}/pledge", json={"financier_id": bank.id}))
    ok(bank.client.post("/v1/cash/mint", json={"member_id": bank.id, "amount": "1000.00", "reference": "own-2"}), 201)
    due = (date.today() + timedelta(days=30)).isoformat()
    loan = ok(
        bank.client.post(
            "/v1/financing/loans",
            json={"order_id": pledged["id"], "principal": "500.00", "rate_bps": 600, "due_date": due},
        ),
        201,
    )
    body = ok(tier1.client.get(f"/v1/verify/orders/{pledged['id']}"))
    assert body["pledged"] is True and body["lienholder_id"] == bank.id
    assert body["tokenised"] is False and body["slot_id"] is None and body["financing"] is None
    assert [(x["loan_id"], x["financier_id"], x["principal"], x["status"]) for x in body["loans"]] == [
        (loan["id"], bank.id, "500.00", "active")
    ]
    assert Web3.is_checksum_address(body["contract"])

    plain = _order(core, tier1, "300.00")
    body = ok(core.client.get(f"/v1/verify/orders/{plain['id']}"))
    assert body["status"] == "proposed"
    assert body["tokenised"] is False and body["pledged"] is False and body["loans"] == []
    assert (body["supplier_id"], body["buyer_id"], body["holder_id"]) == (tier1.id, core.id, tier1.id)
    refused = problem(outsider.client.get(f"/v1/verify/orders/{plain['id']}"), 403, "forbidden")
    assert "supplier_id" not in refused
    problem(core.client.get(f"/v1/verify/orders/{plain['id']}", params={"block": "soon"}), 422, "validation-error")


def test_merge_is_told_apart_from_a_split(parties: dict[str, Party]) -> None:
    core, tier1, tier2 = parties["core"], parties["tier1"], parties["tier2"]
    maturity = (date.today() + timedelta(days=40)).isoformat()
    body = {"creditor_id": tier1.id, "face_value": "900.00", "maturity": maturity, "invoice_hash": random_hash()}
    receivable = ok(core.client.post("/v1/receivables", json=body), 201)
    root = receivable["first_note_id"]
    child = ok(tier1.client.post(f"/v1/notes/{root}/split", json={"to": tier2.id, "value": "400.00"}), 201)
    merged = ok(tier1.client.post(f"/v1/notes/{root}/merge", json={"into": child["new_note"]["id"], "value": "100.00"}))
    assert merged["value"] == "500.00"

    tree = ok(tier2.client.get(f"/v1/receivables/{receivable['id']}/tree"))
    assert [e["kind"] for e in tree["edges"]] == ["issue", "split", "merge"]
    merge = tree["edges"][2]
    assert (merge["from_note_id"], merge["to_note_id"], merge["value"]) == (root, child["new_note"]["id"], "100.00")
    assert (merge["from_member_id"], merge["to_member_id"]) == (tier1.id, tier2.id)
    assert {n["note_id"]: n["value"] for n in tree["nodes"]} == {root: "400.00", child["new_note"]["id"]: "500.00"}
    assert tree["balanced"] is True and tree["outstanding"] == "900.00"
    provenance = ok(tier2.client.get(f"/v1/notes/{child['new_note']['id']}/provenance"))
    assert provenance["order"] is None  # issued directly, not for a purchase order
    assert [e["kind"] for e in provenance["events"]] == ["issue", "split", "merge"]
