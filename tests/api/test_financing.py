"""Financing over real HTTP against a real anvil: factoring offers (DvP), order loans, permissions, bad input."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import httpx
import pytest
from web3 import Web3
from web3.contract import Contract

from chain.node.client import contract
from scripts.runtime import Ledger
from tests.conftest import ServerThread, ok, private_world, problem, random_hash, with_mint_ceiling

BPS_DAYS = 3_650_000


def _minor(text: str) -> int:
    whole, frac = text.split(".")
    return int(whole) * 100 + int(frac)


def _price(value: int, rate_bps: int, seconds_left: int) -> int:
    days = (seconds_left + 86_399) // 86_400
    discount = value * rate_bps * days // BPS_DAYS
    return 0 if discount >= value else value - discount


def _end_of_day(day: date) -> int:
    return int(datetime.combine(day, dtime(23, 59, 59), tzinfo=UTC).timestamp())


class Party:
    def __init__(self, api: ServerThread, member: dict[str, Any], key: str) -> None:
        self.id: int = member["id"]
        self.account: str = Web3.to_checksum_address(member["account"])
        self.client = httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {key}"})


PARTIES: list[tuple[str, list[str], dict[str, str]]] = [
    ("core", ["core_enterprise"], {"credit_limit": "10000000.00"}),
    ("supplier", ["supplier"], {}),
    ("supplier2", ["supplier"], {}),
    ("bank", ["financier"], {}),
    ("treasury", ["financier"], {}),  # mints test cash on chain directly; never acts through the API
    ("auditor", ["auditor"], {}),
]


def _admit(api: ServerThread, operator_key: str) -> dict[str, Party]:
    admitted: dict[str, Party] = {}
    with httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {operator_key}"}) as op:
        for name, roles, extra in PARTIES:
            body = ok(
                op.post(
                    "/v1/members", json=with_mint_ceiling(roles, {"roles": roles, "kyc_hash": random_hash(), **extra})
                ),
                201,
            )
            admitted[name] = Party(api, body["member"], body["api_key"])
    return admitted


@pytest.fixture(scope="module")
def parties(api: ServerThread, operator_key: str) -> Iterator[dict[str, Party]]:
    admitted = _admit(api, operator_key)
    yield admitted
    for party in admitted.values():
        party.client.close()


@pytest.fixture(scope="module")
def cash(ledger: Ledger) -> Contract:
    return contract(ledger.w3, ledger.deployment, ledger.artifacts, "CashToken")


def _mint(ledger: Ledger, cash: Contract, parties: dict[str, Party], to: Party, amount: int) -> None:
    """Test setup only: the treasury financier mints cash on chain (impersonated on anvil)."""
    treasury = parties["treasury"].account
    ledger.w3.provider.make_request("anvil_impersonateAccount", [treasury])  # type: ignore[arg-type]
    tx_hash = cash.functions.mint(to.account, amount, bytes.fromhex(uuid.uuid4().hex * 2)).transact({"from": treasury})
    receipt = ledger.w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1


def _balance(cash: Contract, party: Party) -> int:
    return int(cash.functions.balanceOf(party.account).call())


def _note(parties: dict[str, Party], face: str, days: int = 90) -> tuple[int, int]:
    """The core enterprise owes the supplier `face`; returns (note id, maturity timestamp)."""
    core, supplier = parties["core"], parties["supplier"]
    maturity = date.today() + timedelta(days=days)
    body = {
        "creditor_id": supplier.id,
        "face_value": face,
        "maturity": maturity.isoformat(),
        "invoice_hash": random_hash(),
    }
    receivable = ok(core.client.post("/v1/receivables", json=body), 201)
    return int(receivable["first_note_id"]), _end_of_day(maturity)


def _offer(bank: Party, note_id: int, value: str, rate_bps: int = 700, **extra: Any) -> dict[str, Any]:
    expires = (date.today() + timedelta(days=10)).isoformat()
    body = {"note_id": note_id, "value": value, "rate_bps": rate_bps, "recourse": False, "expires_at": expires}
    return ok(bank.client.post("/v1/financing/offers", json={**body, **extra}), 201)


def test_factoring_full_note(parties: dict[str, Party], ledger: Ledger, cash: Contract) -> None:
    supplier, supplier2, bank, auditor = parties["supplier"], parties["supplier2"], parties["bank"], parties["auditor"]
    w3 = ledger.w3
    _mint(ledger, cash, parties, bank, 100_000_000)  # 1,000,000.00
    note_id, maturity = _note(parties, "100000.00")

    # a supplier cannot make offers
    expires = (date.today() + timedelta(days=10)).isoformat()
    body = {"note_id": note_id, "value": "100000.00", "rate_bps": 700, "recourse": False, "expires_at": expires}
    problem(supplier.client.post("/v1/financing/offers", json=body), 403, "forbidden")

    offer = _offer(bank, note_id, "100000.00")
    assert offer["status"] == "open"
    assert offer["financier_id"] == bank.id
    assert str(offer["holder_id"]).startswith("holder-")  # an open offer does not show the bank whose note it is
    assert ok(supplier.client.get(f"/v1/financing/offers/{offer['id']}"))["holder_id"] == supplier.id
    assert offer["rate_bps"] == 700
    assert offer["value"] == "100000.00"

    # the quote the holder sees is the contract's formula at the chain's clock
    seen = ok(supplier.client.get(f"/v1/financing/offers/{offer['id']}"))
    now = int(w3.eth.get_block("latest")["timestamp"])
    candidates = {_price(10_000_000, 700, maturity - t) for t in range(now, now + 3)}
    assert _minor(seen["price"]) in candidates
    assert 9_800_000 < _minor(seen["price"]) < 10_000_000  # about 90 days at 7%: ~1.7% discount

    # parties and auditors see it; another member does not (404, not 403: no leak)
    assert offer["id"] in [o["id"] for o in ok(supplier.client.get("/v1/financing/offers"))["items"]]
    assert offer["id"] in [o["id"] for o in ok(auditor.client.get("/v1/financing/offers"))["items"]]
    assert offer["id"] not in [o["id"] for o in ok(supplier2.client.get("/v1/financing/offers"))["items"]]
    problem(supplier2.client.get(f"/v1/financing/offers/{offer['id']}"), 404, "not-found")
    refused = supplier2.client.post(f"/v1/financing/offers/{offer['id']}/accept")
    assert refused.status_code in (403, 404), refused.text
    # the financier cannot accept its own offer
    problem(bank.client.post(f"/v1/financing/offers/{offer['id']}/accept"), 403, "forbidden")

    seller_before, bank_before = _balance(cash, supplier), _balance(cash, bank)
    key = {"Idempotency-Key": f"accept-{uuid.uuid4()}"}
    accepted = supplier.client.post(f"/v1/financing/offers/{offer['id']}/accept", headers=key)
    purchase = ok(accepted)
    block = w3.eth.get_block(w3.eth.get_transaction_receipt(purchase["tx_hash"])["blockNumber"])
    price = _price(10_000_000, 700, maturity - int(block["timestamp"]))
    assert _minor(purchase["price"]) == price
    assert purchase["value"] == "100000.00"
    assert purchase["seller_id"] == supplier.id
    assert purchase["financier_id"] == bank.id
    assert purchase["note_id"] == note_id  # the whole note moved
    assert _balance(cash, supplier) == seller_before + price
    assert _balance(cash, bank) == bank_before - price
    note = ok(bank.client.get(f"/v1/notes/{note_id}"))
    assert note["holder_id"] == bank.id
    assert note["value"] == "100000.00"

    # the offer is now accepted, without a quote
    closed = ok(bank.client.get(f"/v1/financing/offers/{offer['id']}"))
    assert closed["status"] == "accepted"
    assert closed["purchase_id"] == purchase["id"]
    assert closed["price"] is None
    # the seller still sees the offer and the purchase
    assert ok(supplier.client.get(f"/v1/financing/offers/{offer['id']}"))["status"] == "accepted"
    assert purchase["id"] in [p["id"] for p in ok(supplier.client.get("/v1/financing/purchases"))["items"]]
    assert purchase["id"] not in [p["id"] for p in ok(supplier2.client.get("/v1/financing/purchases"))["items"]]
    problem(supplier2.client.get(f"/v1/financing/purchases/{purchase['id']}"), 404, "not-found")

    # idempotent replay: same body, marked replayed, nothing moves again
    replay = supplier.client.post(f"/v1/financing/offers/{offer['id']}/accept", headers=key)
    assert replay.status_code == 200
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == purchase
    assert _balance(cash, supplier) == seller_before + price

    # accepting again without the key: the offer is closed (decoded contract error)
    again = problem(supplier.client.post(f"/v1/financing/offers/{offer['id']}/accept"), 409, "offer-not-open")
    assert again["contractError"]["error"] == "OfferNotOpen"


def test_factoring_partial_offer_splits(parties: dict[str, Party], ledger: Ledger, cash: Contract) -> None:
    supplier, bank = parties["supplier"], parties["bank"]
    _mint(ledger, cash, parties, bank, 10_000_000)
    note_id, _ = _note(parties, "50000.00", days=30)
    offer = _offer(bank, note_id, "20000.00", rate_bps=500)
    before = _balance(cash, supplier)
    purchase = ok(supplier.client.post(f"/v1/financing/offers/{offer['id']}/accept"))
    assert purchase["note_id"] != note_id
    assert _balance(cash, supplier) == before + _minor(purchase["price"])
    left = ok(supplier.client.get(f"/v1/notes/{note_id}"))
    assert left["value"] == "30000.00"
    assert left["holder_id"] == supplier.id
    bought = ok(bank.client.get(f"/v1/notes/{purchase['note_id']}"))
    assert bought["value"] == "20000.00"
    assert bought["holder_id"] == bank.id
    assert bought["parent_id"] == note_id


def test_cancelled_and_expired_offers(parties: dict[str, Party], ledger: Ledger, cash: Contract) -> None:
    supplier, bank = parties["supplier"], parties["bank"]
    _mint(ledger, cash, parties, bank, 10_000_000)
    note_id, _ = _note(parties, "1000.00")

    offer = _offer(bank, note_id, "1000.00")
    problem(supplier.client.post(f"/v1/financing/offers/{offer['id']}/cancel"), 403, "forbidden")
    cancelled = ok(bank.client.post(f"/v1/financing/offers/{offer['id']}/cancel"))
    assert cancelled["status"] == "cancelled"
    assert cancelled["price"] is None
    before = _balance(cash, supplier)
    body = problem(supplier.client.post(f"/v1/financing/offers/{offer['id']}/accept"), 409, "offer-not-open")
    assert body["contractError"]["error"] == "OfferNotOpen"
    problem(bank.client.post(f"/v1/financing/offers/{offer['id']}/cancel"), 409, "offer-not-open")
    listed = ok(supplier.client.get("/v1/financing/offers", params={"status": "cancelled", "note_id": note_id}))
    assert [o["id"] for o in listed["items"]] == [offer["id"]]
    assert _balance(cash, supplier) == before
    # an offer accepted after it expired: test_an_offer_accepted_after_its_expiry_is_refused (moves a chain's clock)


def test_offer_bad_input_changes_nothing(
    parties: dict[str, Party], operator: httpx.Client, ledger: Ledger, cash: Contract
) -> None:
    bank = parties["bank"]
    note_id, _ = _note(parties, "500.00")
    count = len(ok(operator.get("/v1/financing/offers", params={"limit": 500}))["items"])
    balance = _balance(cash, bank)
    expires = (date.today() + timedelta(days=5)).isoformat()
    base: dict[str, Any] = {
        "note_id": note_id,
        "value": "100.00",
        "rate_bps": 700,
        "recourse": False,
        "expires_at": expires,
    }
    changes: list[dict[str, Any]] = [
        {"value": "0.00"},
        {"value": "0"},
        {"value": "-1.00"},
        {"value": "1.001"},
        {"value": 100},
        {"rate_bps": 10_001},
        {"rate_bps": -1},
        {"expires_at": "soon"},
        {"note_id": 0},
        {"surprise": True},
    ]
    for change in changes:
        problem(bank.client.post("/v1/financing/offers", json={**base, **change}), 422, "validation-error")
    problem(bank.client.post("/v1/financing/offers", json={**base, "note_id": 10**9}), 404, "not-found")
    # more value than the note holds, an expiry in the past: the contract refuses
    body = problem(bank.client.post("/v1/financing/offers", json={**base, "value": "500.01"}), 422, "invalid-value")
    assert body["contractError"]["error"] == "InvalidValue"
    body = problem(
        bank.client.post("/v1/financing/offers", json={**base, "expires_at": "2020-01-01"}), 422, "invalid-expiry"
    )
    # the operator key cannot act for a member
    problem(operator.post("/v1/financing/offers", json=base), 403, "forbidden")
    # unknown ids
    for path in ["offers/999999", "loans/999999", "purchases/999999"]:
        problem(bank.client.get(f"/v1/financing/{path}"), 404, "not-found")
    for path in ["offers/999999/accept", "offers/999999/cancel", "loans/999999/repay", "loans/999999/foreclose"]:
        problem(bank.client.post(f"/v1/financing/{path}"), 404, "not-found")
    problem(bank.client.post("/v1/financing/purchases/999999/claim-recourse"), 404, "not-found")
    assert len(ok(operator.get("/v1/financing/offers", params={"limit": 500}))["items"]) == count
    assert _balance(cash, bank) == balance


def _pledged_order(parties: dict[str, Party], amount: str) -> int:
    core, supplier, bank = parties["core"], parties["supplier"], parties["bank"]
    due = (date.today() + timedelta(days=60)).isoformat()
    body = {"buyer_id": core.id, "amount": amount, "document_hash": random_hash(), "due_date": due}
    order_id = int(ok(supplier.client.post("/v1/orders", json=body), 201)["id"])
    ok(core.client.post(f"/v1/orders/{order_id}/confirm"))
    pledged = ok(supplier.client.post(f"/v1/orders/{order_id}/pledge", json={"financier_id": bank.id}))
    assert pledged["lienholder_id"] == bank.id
    return order_id


def test_order_loan_lend_and_repay(parties: dict[str, Party], ledger: Ledger, cash: Contract) -> None:
    supplier, supplier2, bank, auditor = parties["supplier"], parties["supplier2"], parties["bank"], parties["auditor"]
    _mint(ledger, cash, parties, bank, 10_000_000)
    _mint(ledger, cash, parties, supplier, 100_000)  # interest money
    order_id = _pledged_order(parties, "10000.00")
    due = (date.today() + timedelta(days=30)).isoformat()
    base = {"order_id": order_id, "principal": "9000.00", "rate_bps": 1000, "due_date": due}

    # above the 90% advance rate: refused by the contract, nothing moves
    bank_before = _balance(cash, bank)
    body = problem(
        bank.client.post("/v1/financing/loans", json={**base, "principal": "9000.01"}), 409, "advance-exceeded"
    )
    assert body["contractError"]["error"] == "AdvanceExceeded"
    problem(bank.client.post("/v1/financing/loans", json={**base, "rate_bps": 10_001}), 422, "validation-error")
    problem(bank.client.post("/v1/financing/loans", json={**base, "principal": "-5.00"}), 422, "validation-error")
    problem(bank.client.post("/v1/financing/loans", json={**base, "order_id": 10**9}), 404, "not-found")
    problem(supplier.client.post("/v1/financing/loans", json=base), 403, "forbidden")
    assert _balance(cash, bank) == bank_before

    supplier_before = _balance(cash, supplier)
    loan = ok(bank.client.post("/v1/financing/loans", json=base), 201)
    assert loan["status"] == "active"
    assert loan["principal"] == "9000.00"
    assert loan["borrower_id"] == supplier.id
    assert loan["financier_id"] == bank.id
    assert loan["due_date"] == due
    assert _minor(loan["amount_owed"]) >= 900_000
    assert _balance(cash, supplier) == supplier_before + 900_000
    assert _balance(cash, bank) == bank_before - 900_000

    # one loan per order
    body = problem(bank.client.post("/v1/financing/loans", json={**base, "principal": "1.00"}), 409, "loan-exists")

    # visibility
    assert ok(supplier.client.get(f"/v1/financing/loans/{loan['id']}"))["id"] == loan["id"]
    assert ok(auditor.client.get(f"/v1/financing/loans/{loan['id']}"))["id"] == loan["id"]
    problem(supplier2.client.get(f"/v1/financing/loans/{loan['id']}"), 404, "not-found")
    assert loan["id"] in [x["id"] for x in ok(supplier.client.get("/v1/financing/loans"))["items"]]
    assert loan["id"] not in [x["id"] for x in ok(supplier2.client.get("/v1/financing/loans"))["items"]]
    problem(bank.client.post(f"/v1/financing/loans/{loan['id']}/repay"), 403, "forbidden")
    # not due yet: the lender cannot foreclose
    body = problem(bank.client.post(f"/v1/financing/loans/{loan['id']}/foreclose"), 409, "loan-not-due")
    assert body["contractError"]["error"] == "LoanNotDue"

    supplier_before, bank_before = _balance(cash, supplier), _balance(cash, bank)
    repaid = ok(supplier.client.post(f"/v1/financing/loans/{loan['id']}/repay"))
    assert repaid["status"] == "repaid"
    assert repaid["amount_owed"] is None
    interest = _minor(repaid["interest_paid"])
    assert interest in (0, (900_000 * 1000 + BPS_DAYS - 1) // BPS_DAYS)  # at most one day elapsed
    assert _balance(cash, supplier) == supplier_before - 900_000 - interest
    assert _balance(cash, bank) == bank_before + 900_000 + interest
    order = ok(supplier.client.get(f"/v1/orders/{order_id}"))
    assert order["lienholder_id"] is None
    listed = ok(bank.client.get("/v1/financing/loans", params={"status": "repaid", "order_id": order_id}))
    assert [x["id"] for x in listed["items"]] == [loan["id"]]
    problem(supplier.client.post(f"/v1/financing/loans/{loan['id']}/repay"), 409, "loan-not-active")


# ------------------------------------------------------------------ after maturity / due date: a chain of our own
# The session devchain's clock must not move (other tests date things from today), so these tests run against
# their own anvil and server, and move that chain's clock.


class TimeChain:
    def __init__(self, ledger: Ledger, parties: dict[str, Party]) -> None:
        self.ledger = ledger
        self.parties = parties
        self.cash = contract(ledger.w3, ledger.deployment, ledger.artifacts, "CashToken")

    def advance(self, seconds: int) -> None:
        self.ledger.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def mark_default(self, slot_id: int) -> None:
        """Test setup only (the settlement API is not ours): anyone may mark an overdue receivable defaulted."""
        settlement = contract(self.ledger.w3, self.ledger.deployment, self.ledger.artifacts, "Settlement")
        treasury = self.parties["treasury"].account
        self.ledger.w3.provider.make_request("anvil_impersonateAccount", [treasury])  # type: ignore[arg-type]
        tx_hash = settlement.functions.markDefault(slot_id).transact({"from": treasury})
        assert self.ledger.w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 1


@pytest.fixture(scope="module")
def timechain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TimeChain]:
    with private_world(tmp_path_factory.mktemp("scf-financing-time")) as world:
        admitted = _admit(world.server, world.operator_key)
        yield TimeChain(world.ledger, admitted)
        for party in admitted.values():
            party.client.close()


def test_an_offer_accepted_after_its_expiry_is_refused(timechain: TimeChain) -> None:
    """An offer that expires at an ISO datetime, accepted once the chain's clock has passed it (the clock is moved,
    not waited for)."""
    parties, ledger, cash = timechain.parties, timechain.ledger, timechain.cash
    supplier, bank = parties["supplier"], parties["bank"]
    _mint(ledger, cash, parties, bank, 10_000_000)
    note_id, _ = _note(parties, "1000.00")
    before = _balance(cash, supplier)

    timechain.advance(0)  # a fresh head: its time is the chain's now
    expiry = int(ledger.w3.eth.get_block("latest")["timestamp"]) + 600
    expires_at = datetime.fromtimestamp(expiry, tz=UTC).isoformat()
    short = _offer(bank, note_id, "1000.00", expires_at=expires_at)
    assert short["expires_at"] == expires_at
    assert short["status"] == "open"

    timechain.advance(expiry + 1 - int(ledger.w3.eth.get_block("latest")["timestamp"]))
    assert int(ledger.w3.eth.get_block("latest")["timestamp"]) > expiry
    body = problem(supplier.client.post(f"/v1/financing/offers/{short['id']}/accept"), 409, "offer-expired")
    assert body["contractError"]["error"] == "OfferExpired"
    assert _balance(cash, supplier) == before
    assert ok(supplier.client.get(f"/v1/notes/{note_id}"))["holder_id"] == supplier.id


def test_recourse_and_foreclosure_after_the_due_date(timechain: TimeChain) -> None:
    parties, ledger, cash = timechain.parties, timechain.ledger, timechain.cash
    core, supplier, supplier2, bank = parties["core"], parties["supplier"], parties["supplier2"], parties["bank"]
    _mint(ledger, cash, parties, bank, 100_000_000)

    # factoring with recourse of a note maturing in two days, and one without recourse
    note_id, _ = _note(parties, "10000.00", days=2)
    slot_id = ok(supplier.client.get(f"/v1/notes/{note_id}"))["receivable_id"]
    offer = _offer(bank, note_id, "10000.00", rate_bps=900, recourse=True)
    purchase = ok(supplier.client.post(f"/v1/financing/offers/{offer['id']}/accept"))
    assert purchase["recourse"] is True
    assert purchase["recourse_status"] == "none"
    plain_note, _ = _note(parties, "100.00", days=2)
    plain_offer = _offer(bank, plain_note, "100.00")
    plain = ok(supplier.client.post(f"/v1/financing/offers/{plain_offer['id']}/accept"))
    assert plain["recourse"] is False

    # an order loan due tomorrow, its receivable (locked to the bank) maturing in 30 days
    due = (date.today() + timedelta(days=60)).isoformat()
    proposal = {"buyer_id": core.id, "amount": "20000.00", "document_hash": random_hash(), "due_date": due}
    order_id = int(ok(supplier.client.post("/v1/orders", json=proposal), 201)["id"])
    ok(core.client.post(f"/v1/orders/{order_id}/confirm"))
    ok(supplier.client.post(f"/v1/orders/{order_id}/pledge", json={"financier_id": bank.id}))
    loan_due = (date.today() + timedelta(days=1)).isoformat()
    loan_body = {"order_id": order_id, "principal": "10000.00", "rate_bps": 1200, "due_date": loan_due}
    loan = ok(bank.client.post("/v1/financing/loans", json=loan_body), 201)
    ok(supplier.client.post(f"/v1/orders/{order_id}/deliver"))
    maturity = (date.today() + timedelta(days=30)).isoformat()
    accepted = ok(
        core.client.post(
            f"/v1/orders/{order_id}/accept",
            json={"face_value": "20000.00", "maturity": maturity, "invoice_hash": random_hash()},
        )
    )
    loan_note = ok(supplier.client.get(f"/v1/receivables/{accepted['receivable_id']}"))["first_note_id"]
    assert ok(supplier.client.get(f"/v1/notes/{loan_note}"))["lienholder_id"] == bank.id

    # before the default, no recourse
    claim = f"/v1/financing/purchases/{purchase['id']}/claim-recourse"
    early = problem(bank.client.post(claim), 409, "slot-not-defaulted")
    assert early["contractError"]["error"] == "SlotNotDefaulted"

    timechain.advance(12 * 86_400)  # past maturity + the 7-day grace period, past the loan's due date
    timechain.mark_default(slot_id)

    # recourse: only the financier claims, only the seller pays
    problem(supplier.client.post(f"/v1/financing/purchases/{purchase['id']}/claim-recourse"), 403, "forbidden")
    problem(supplier2.client.post(f"/v1/financing/purchases/{purchase['id']}/claim-recourse"), 404, "not-found")
    body = problem(bank.client.post(f"/v1/financing/purchases/{plain['id']}/claim-recourse"), 409, "no-recourse")
    assert body["contractError"]["error"] == "NoRecourse"
    claimed = ok(bank.client.post(f"/v1/financing/purchases/{purchase['id']}/claim-recourse"))
    assert claimed["recourse_status"] == "claimed"
    assert claimed["recourse_amount"] == "10000.00"
    problem(bank.client.post(f"/v1/financing/purchases/{purchase['id']}/pay-recourse"), 403, "forbidden")
    _mint(ledger, cash, parties, supplier, 1_000_000)
    supplier_before, bank_before = _balance(cash, supplier), _balance(cash, bank)
    paid = ok(supplier.client.post(f"/v1/financing/purchases/{purchase['id']}/pay-recourse"))
    assert paid["recourse_status"] == "paid"
    assert _balance(cash, supplier) == supplier_before - 1_000_000
    assert _balance(cash, bank) == bank_before + 1_000_000
    assert ok(supplier.client.get(f"/v1/notes/{note_id}"))["holder_id"] == supplier.id
    claimed_list = ok(bank.client.get("/v1/financing/purchases", params={"recourse_status": "paid"}))
    assert [p["id"] for p in claimed_list["items"]] == [purchase["id"]]

    # foreclosure: the borrower cannot, the lender takes what is owed from the order's note
    active = ok(bank.client.get(f"/v1/financing/loans/{loan['id']}"))
    owed = _minor(active["amount_owed"])
    assert owed > 1_000_000
    problem(supplier.client.post(f"/v1/financing/loans/{loan['id']}/foreclose"), 403, "forbidden")
    foreclosed = ok(bank.client.post(f"/v1/financing/loans/{loan['id']}/foreclose"))
    assert foreclosed["status"] == "foreclosed"
    assert foreclosed["amount_owed"] is None
    taken = _minor(foreclosed["foreclosed_value"])
    assert owed <= taken <= owed + 1_000_000 * 1200 // BPS_DAYS + 1  # a day may have passed since the read
    taken_note = ok(bank.client.get(f"/v1/notes/{foreclosed['taken_note_id']}"))
    assert taken_note["holder_id"] == bank.id
    assert _minor(taken_note["value"]) == taken
    rest = ok(supplier.client.get(f"/v1/notes/{loan_note}"))
    assert _minor(rest["value"]) == 2_000_000 - taken
    assert rest["lienholder_id"] is None
    assert ok(supplier.client.get(f"/v1/orders/{order_id}"))["lienholder_id"] is None
