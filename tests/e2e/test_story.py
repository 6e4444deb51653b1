"""The whole story over real HTTP on a real anvil of its own (time moves to maturity), checked to the cent.

Operator admits a core enterprise, three tiers of suppliers and two banks; tier-1 proposes an order, the
core enterprise confirms; tier-1 pledges it to bank B and borrows; delivery accepted, receivable of
1,000,000.00 issued locked to bank B; loan repaid, lien released; tier-1 splits 300,000.00 to tier-2,
tier-2 splits 100,000.00 to tier-3; tier-3 sells its note to bank A at 7% a year with 90 days left and
receives the exact price; time moves to maturity; the core enterprise funds; settlement pays every holder.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from web3 import Web3

from chain.devnet.devchain import DevChain
from chain.node.rpc import rpc_call
from tests.conftest import ServerThread, private_world, random_hash, with_mint_ceiling

WALL_CLOCK_MATURITY_S = 75  # a wall-clock chain's receivable matures this long after the head time at issue
BEIJING = timezone(timedelta(hours=8))


def cents(text: str) -> int:
    whole, frac = text.split(".")
    return int(whole) * 100 + int(frac)


class Party:
    def __init__(self, url: str, member: dict[str, Any], key: str) -> None:
        self.id: int = member["id"]
        self.client = httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {key}"})

    def post(self, path: str, body: dict[str, Any] | None = None, status: int = 200) -> dict[str, Any]:
        response = self.client.post(path, json=body or {})
        assert response.status_code == status, f"{path}: {response.text}"
        result: dict[str, Any] = response.json()
        return result

    def get(self, path: str) -> dict[str, Any]:
        response = self.client.get(path)
        assert response.status_code == 200, f"{path}: {response.text}"
        result: dict[str, Any] = response.json()
        return result

    def cash(self) -> int:
        return cents(self.get("/v1/cash/balance")["balance"])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevChain, ServerThread, str, Web3]]:
    with private_world(tmp_path_factory.mktemp("scf-story")) as own:
        yield own.chain, own.server, own.operator_key, own.ledger.w3


def test_the_whole_story_to_the_cent(world: tuple[DevChain, ServerThread, str, Web3]) -> None:
    chain, server, operator_key, w3 = world

    def move_clock(seconds: int) -> None:
        rpc_call(chain.url, "evm_increaseTime", [seconds])
        rpc_call(chain.url, "evm_mine")

    run_story(server.url, operator_key, w3, move_clock)


def run_story(url: str, operator_key: str, w3: Web3, move_clock: Callable[[int], None] | None) -> None:
    """The story against the API at `url`. `move_clock(seconds)` moves the chain's clock to maturity (anvil: the
    receivable matures at the end of a day 89 days on). A chain whose clock cannot move (geth Clique follows the
    wall clock) passes None: the receivable then matures 75 s after the chain's head time, given as
    an RFC 3339 timestamp with an offset (Beijing time), the discounted sale is priced with its one day left, the
    story waits (a deadline) until the chain's time passes maturity, and settles; every balance to the cent."""
    parties: dict[str, Party] = {}
    with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {operator_key}"}) as op:
        for name, roles, extra in [
            ("core", ["core_enterprise"], {"credit_limit": "5000000.00"}),
            ("tier1", ["supplier"], {}),
            ("tier2", ["supplier"], {}),
            ("tier3", ["supplier"], {}),
            ("bankA", ["financier"], {}),
            ("bankB", ["financier"], {}),
        ]:
            response = op.post(
                "/v1/members", json=with_mint_ceiling(roles, {"roles": roles, "kyc_hash": random_hash(), **extra})
            )
            assert response.status_code == 201, response.text
            parties[name] = Party(url, response.json()["member"], response.json()["api_key"])
    core, tier1, tier2, tier3 = parties["core"], parties["tier1"], parties["tier2"], parties["tier3"]
    bank_a, bank_b = parties["bankA"], parties["bankB"]

    # deposits: banks fund themselves, the core enterprise and tier-1 (for the loan's interest)
    bank_a.post("/v1/cash/mint", {"member_id": bank_a.id, "amount": "500000.00", "reference": "a-own"}, 201)
    bank_a.post("/v1/cash/mint", {"member_id": core.id, "amount": "1000000.00", "reference": "core-dep"}, 201)
    bank_a.post("/v1/cash/mint", {"member_id": tier1.id, "amount": "10000.00", "reference": "t1-dep"}, 201)
    bank_b.post("/v1/cash/mint", {"member_id": bank_b.id, "amount": "1000000.00", "reference": "b-own"}, 201)

    today = date.today()
    order = tier1.post(
        "/v1/orders",
        {
            "buyer_id": core.id,
            "amount": "1000000.00",
            "document_hash": random_hash(),
            "due_date": str(today + timedelta(60)),
        },
        201,
    )
    order_id = order["id"]
    assert core.post(f"/v1/orders/{order_id}/confirm")["status"] == "confirmed"
    assert tier1.post(f"/v1/orders/{order_id}/pledge", {"financier_id": bank_b.id})["lienholder_id"] == bank_b.id
    loan = bank_b.post(
        "/v1/financing/loans",
        {"order_id": order_id, "principal": "800000.00", "rate_bps": 600, "due_date": str(today + timedelta(30))},
        201,
    )
    assert tier1.cash() == cents("810000.00")

    assert tier1.post(f"/v1/orders/{order_id}/deliver")["status"] == "delivered"
    maturity = today + timedelta(days=89)  # payable at the end of that day: 89 days and some hours left
    maturity_text = str(maturity)
    if move_clock is None:  # the wall clock: maturity 75 s after the chain's time, the second given with its offset
        head_time = int(w3.eth.get_block("latest")["timestamp"])
        maturity_text = datetime.fromtimestamp(head_time + WALL_CLOCK_MATURITY_S, BEIJING).isoformat()
    accepted = core.post(
        f"/v1/orders/{order_id}/accept",
        {"face_value": "1000000.00", "maturity": maturity_text, "invoice_hash": random_hash()},
    )
    slot_id = accepted["receivable_id"]
    receivable = tier1.get(f"/v1/receivables/{slot_id}")
    assert receivable["face_value"] == "1000000.00"
    note1 = receivable["first_note_id"]
    assert tier1.get(f"/v1/notes/{note1}")["lienholder_id"] == bank_b.id  # issued locked to bank B

    repaid = tier1.post(f"/v1/financing/loans/{loan['id']}/repay")
    assert repaid["status"] == "repaid"
    # repaid the same day: one started day, ceil(80,000,000 * 600 * 1 / 3,650,000) = ceil(13,150.68) minor units
    interest = math.ceil(cents("800000.00") * 600 * 1 / 3_650_000)
    assert cents(repaid["interest_paid"]) == interest == 13151
    assert tier1.get(f"/v1/notes/{note1}")["lienholder_id"] is None
    assert tier1.get(f"/v1/orders/{order_id}")["lienholder_id"] is None

    note2 = tier1.post(f"/v1/notes/{note1}/split", {"to": tier2.id, "value": "300000.00"}, 201)["new_note"]["id"]
    note3 = tier2.post(f"/v1/notes/{note2}/split", {"to": tier3.id, "value": "100000.00"}, 201)["new_note"]["id"]

    offer = bank_a.post(
        "/v1/financing/offers",
        {
            "note_id": note3,
            "value": "100000.00",
            "rate_bps": 700,
            "recourse": False,
            "expires_at": str(today + timedelta(1)),
        },
        201,
    )
    purchase = tier3.post(f"/v1/financing/offers/{offer['id']}/accept")
    block = w3.eth.get_block(w3.eth.get_transaction_receipt(purchase["tx_hash"])["blockNumber"])
    chain_maturity = _receivable_maturity(slot_id, tier1)
    days_left = math.ceil((chain_maturity - block["timestamp"]) / 86400)
    if move_clock is None:  # the sale is less than a day before maturity: one started day of discount
        assert chain_maturity == int(datetime.fromisoformat(maturity_text).timestamp())
        assert block["timestamp"] < chain_maturity and days_left == 1
        price = cents("100000.00") - (cents("100000.00") * 700 * 1) // 3_650_000
        assert price == 9998083  # 100,000.00 less floor(1,917.80) cents
    else:
        # 90 days left when sold on the day of issue (the story crosses midnight UTC on a slow run: 89)
        assert days_left == (maturity - datetime.fromtimestamp(block["timestamp"], UTC).date()).days + 1
        price = cents("100000.00") - (cents("100000.00") * 700 * days_left) // 3_650_000
        assert price == 9827398 or days_left != 90
    assert cents(purchase["price"]) == price
    assert tier3.cash() == price
    assert bank_a.get(f"/v1/notes/{note3}")["holder_id"] == bank_a.id

    # time moves to maturity (the wall clock: wait for the chain's time to pass it); the core enterprise funds; a
    # keeper settles every note
    if move_clock is None:
        _wait_for_chain_time(w3, chain_maturity + 1)
    else:
        move_clock(chain_maturity - block["timestamp"] + 1)
    core.post(f"/v1/settlement/receivables/{slot_id}/fund", {"amount": "1000000.00"})
    result = bank_a.post(f"/v1/settlement/receivables/{slot_id}/settle", {})
    assert sorted(result["note_ids"]) == sorted([note1, note2, note3])
    assert result["receivable"]["status"] == "settled"

    assert core.cash() == 0
    assert tier1.cash() == cents("810000.00") - cents("800000.00") - interest + cents("700000.00")
    assert tier1.cash() == cents("709868.49")
    assert tier2.cash() == cents("200000.00")
    assert tier3.cash() == price
    assert bank_a.cash() == cents("500000.00") - price + cents("100000.00")
    assert bank_b.cash() == cents("1000000.00") - cents("800000.00") + cents("800000.00") + interest
    assert bank_b.cash() == cents("1000131.51")
    for note in (note1, note2, note3):
        assert tier1.client.get(f"/v1/notes/{note}").json().get("live") in (False, None)
    for party in parties.values():
        party.client.close()


def _wait_for_chain_time(w3: Web3, timestamp: int) -> None:
    """Polls the chain's head until its time reaches `timestamp` (a deadline, not a sleep of a guessed length)."""
    deadline = time.monotonic() + WALL_CLOCK_MATURITY_S * 4 + 120
    while int(w3.eth.get_block("latest")["timestamp"]) < timestamp:
        assert time.monotonic() < deadline, f"the chain's time did not reach {timestamp} (head stalled?)"
        time.sleep(0.5)


def _receivable_maturity(slot_id: int, reader: Party) -> int:
    """The receivable's maturity as the chain holds it (unix seconds), from the API's ISO timestamp."""
    text = reader.get(f"/v1/receivables/{slot_id}")["maturity"]
    return int(datetime.fromisoformat(text).timestamp())
