# ruff: noqa: RUF001  (Chinese answers use full-width punctuation)
"""Self-custody members over real HTTP against a real anvil: admitted by a signed challenge, no key in the
service, every write prepared (202), signed by the member, checked and sent by the service (issue 26)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from web3 import Web3

from api.custody import Custody
from chain.node.client import contract
from chain.node.rpc import rpc_call
from tests.conftest import (
    TEST_SCRYPT_N,
    PrivateWorld,
    ok,
    private_world,
    problem,
    random_hash,
    wait_until,
    with_mint_ceiling,
)

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}


class Member:
    """A member of the test: its API client and, for a self-custody one, its own key (never given to the API)."""

    def __init__(self, url: str, admitted: dict[str, Any], own: LocalAccount | None) -> None:
        self.id: int = admitted["member"]["id"]
        self.account = Web3.to_checksum_address(admitted["member"]["account"])
        self.own = own
        self.client = httpx.Client(
            base_url=url, timeout=120, headers={"Authorization": f"Bearer {admitted['api_key']}"}
        )

    def sign(self, prepared: dict[str, Any], **changes: Any) -> str:
        assert self.own is not None
        tx = {k: v for k, v in prepared["transaction"].items() if k != "from"}
        tx.update(changes)
        return str(self.own.sign_transaction(tx).raw_transaction.to_0x_hex())

    def write(self, path: str, body: dict[str, Any] | None = None, status: int = 200) -> dict[str, Any]:
        """A write as the member does it: custodial in one call; self-custody by signing each prepared tx."""
        response = self.client.post(path, json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
        while response.status_code == 202:
            prepared = response.json()
            raw = self.sign(prepared)
            response = self.client.post("/v1/transactions", json={"raw": raw, "prepared_id": prepared["prepared_id"]})
        return ok(response, status)


def admit_self_custody(operator: httpx.Client, url: str, roles: list[str], **extra: Any) -> Member:
    own: LocalAccount = Account.create()
    challenge = ok(operator.post("/v1/members/challenge", json={"address": own.address}), 201)
    assert str(own.address) in challenge["message"] and "Chain id: 31337" in challenge["message"]
    signature = own.sign_message(encode_defunct(text=challenge["message"])).signature.to_0x_hex()
    body = {
        "roles": roles,
        "kyc_hash": random_hash(),
        "address": own.address,
        "challenge_id": challenge["challenge_id"],
        "signature": signature,
        **extra,
    }
    admitted = ok(operator.post("/v1/members", json=with_mint_ceiling(roles, body)), 201)
    assert admitted["member"]["custody"] == "self"
    assert admitted["member"]["account"].lower() == own.address.lower()
    return Member(url, admitted, own)


def admit_custodial(operator: httpx.Client, url: str, roles: list[str], **extra: Any) -> Member:
    body = with_mint_ceiling(roles, {"roles": roles, "kyc_hash": random_hash(), **extra})
    admitted = ok(operator.post("/v1/members", json=body), 201)
    assert admitted["member"]["custody"] == "service"
    return Member(url, admitted, None)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateWorld]:
    with private_world(tmp_path_factory.mktemp("scf-self-custody")) as w:
        yield w


@pytest.fixture(scope="module")
def op(world: PrivateWorld) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {world.operator_key}"}
    with httpx.Client(base_url=world.server.url, timeout=120, headers=headers) as client:
        yield client


@pytest.fixture(scope="module")
def members(world: PrivateWorld, op: httpx.Client) -> dict[str, Member]:
    url = world.server.url
    out = {
        "core": admit_self_custody(op, url, ["core_enterprise"], credit_limit="10000000.00"),
        "supplier": admit_self_custody(op, url, ["supplier"]),
        "bank": admit_self_custody(op, url, ["financier"]),
        "supplier2": admit_custodial(op, url, ["supplier"]),
        "treasury": admit_custodial(op, url, ["financier"]),
    }
    treasury = out["treasury"]
    for name in ("core", "bank"):
        mint = {"member_id": out[name].id, "amount": "1000000.00", "reference": random_hash()}
        treasury.write("/v1/cash/mint", mint, 201)
    return out


def _nonce(world: PrivateWorld, account: str) -> int:
    return int(world.ledger.w3.eth.get_transaction_count(Web3.to_checksum_address(account), "pending"))


def _cents(text: str) -> int:
    whole, frac = text.split(".")
    return int(whole) * 100 + int(frac)


def test_admission_needs_a_valid_single_use_signature(world: PrivateWorld, op: httpx.Client) -> None:
    own, other = Account.create(), Account.create()
    challenge = ok(op.post("/v1/members/challenge", json={"address": own.address}), 201)
    body = {"roles": ["supplier"], "kyc_hash": random_hash(), "address": own.address}
    body["challenge_id"] = challenge["challenge_id"]
    forged = other.sign_message(encode_defunct(text=challenge["message"])).signature.to_0x_hex()
    problem(op.post("/v1/members", json={**body, "signature": forged}), 422, "invalid-signature")
    problem(op.post("/v1/members", json={**body, "address": other.address, "signature": forged}), 422)
    partial = {"roles": ["supplier"], "kyc_hash": random_hash(), "address": own.address}
    problem(op.post("/v1/members", json=partial), 422, "validation-error")
    good = own.sign_message(encode_defunct(text=challenge["message"])).signature.to_0x_hex()
    ok(op.post("/v1/members", json={**body, "signature": good}), 201)
    again = {**body, "kyc_hash": random_hash(), "signature": good}  # the address is a member now
    problem(op.post("/v1/members", json=again), 409, "address-in-use")
    fresh = ok(op.post("/v1/members/challenge", json={"address": own.address}), 201)
    resigned = own.sign_message(encode_defunct(text=fresh["message"])).signature.to_0x_hex()
    twice = {**body, "kyc_hash": random_hash(), "challenge_id": fresh["challenge_id"], "signature": resigned}
    problem(op.post("/v1/members", json=twice), 409, "address-in-use")
    # only the operator issues challenges
    members_key = ok(op.post("/v1/members", json={"roles": ["supplier"], "kyc_hash": random_hash()}), 201)["api_key"]
    response = httpx.post(
        world.server.url + "/v1/members/challenge",
        json={"address": own.address},
        headers={"Authorization": f"Bearer {members_key}"},
    )
    problem(response, 403, "forbidden")


def test_bank_with_its_own_key_buys_at_a_discount_and_collects(
    world: PrivateWorld, op: httpx.Client, members: dict[str, Member]
) -> None:
    core, supplier, bank, supplier2 = members["core"], members["supplier"], members["bank"], members["supplier2"]
    w3 = world.ledger.w3

    # the service holds no key for a self-custody member
    keys = Path(world.settings.data_dir) / "keys"
    for member in (core, supplier, bank):
        needle = member.account.lower()[2:]
        assert not any(needle in path.read_text().lower() for path in keys.glob("*.json")), member.account
        assert (
            Custody(world.settings.data_dir, world.settings.key_passphrase, TEST_SCRYPT_N).account_by_address(
                _session(world), member.account
            )
            is None
        )
    assert ok(bank.client.get("/v1/members/me"))["custody"] == "self"

    # a self-custody write without an Idempotency-Key cannot be finished later: refused, nothing prepared
    maturity = date.today() + timedelta(days=2)
    issue = {"creditor_id": supplier.id, "face_value": "500000.00", "maturity": maturity.isoformat()}
    problem(core.client.post("/v1/receivables", json={**issue, "invoice_hash": random_hash()}), 428)

    receivable = core.write("/v1/receivables", {**issue, "invoice_hash": random_hash()}, 201)
    note_id = int(receivable["first_note_id"])

    # split (self-custody supplier): the 202 names the transaction and says what it does, in the caller's language
    response = supplier.client.post(
        f"/v1/notes/{note_id}/split",
        json={"to": supplier2.id, "value": "300000.00"},
        headers={"Idempotency-Key": "split-1", "Accept-Language": "en-US,en;q=0.9"},
    )
    assert response.status_code == 202, response.text
    assert response.headers["content-language"] == "en"
    prepared = response.json()
    tx = prepared["transaction"]
    assert tx["from"] == supplier.account and tx["chainId"] == 31337 and tx["nonce"] == _nonce(world, supplier.account)
    assert tx["type"] == 2 and tx["maxFeePerGas"] >= tx["maxPriorityFeePerGas"] and tx["gas"] > 21_000
    call = f"ReceivableNotes.transferFrom(fromTokenId={note_id}, to=member {supplier2.id}, value=300,000.00)"
    assert prepared["summary"] == f"POST /v1/notes/{note_id}/split: {call} signed by member {supplier.id}"
    assert prepared["detail"].startswith("sign this transaction with the member's key")
    # the same request again, from a Chinese console: the same prepared transaction, said in Chinese (the
    # function and argument names are the contract's and stay; the words around them and "member N" do not)
    again = supplier.client.post(
        f"/v1/notes/{note_id}/split",
        json={"to": supplier2.id, "value": "300000.00"},
        headers={"Idempotency-Key": "split-1", "Accept-Language": "zh-CN,zh;q=0.9"},
    )
    assert again.status_code == 202 and again.json()["prepared_id"] == prepared["prepared_id"]
    assert again.headers["content-language"] == "zh-CN"
    chinese = again.json()
    assert chinese["transaction"] == tx
    assert chinese["summary"] == (
        f"POST /v1/notes/{note_id}/split：ReceivableNotes.transferFrom（fromTokenId={note_id}，to=成员 {supplier2.id}，"
        f"value=300,000.00），签名方：成员 {supplier.id}"
    )
    assert chinese["detail"].startswith("请用该成员的私钥签署此交易")

    # altered before signing: other calldata, other recipient -> refused before broadcast
    nonce_before = _nonce(world, supplier.account)
    other_data = tx["data"][:-2] + ("00" if tx["data"][-2:] != "00" else "01")
    for altered in (supplier.sign(prepared, data=other_data), supplier.sign(prepared, to=bank.account)):
        body = problem(
            supplier.client.post("/v1/transactions", json={"raw": altered, "prepared_id": prepared["prepared_id"]}),
            422,
            "transaction-mismatch",
        )
        assert "prepared" in body["detail"]
    problem(supplier.client.post("/v1/transactions", json={"raw": "0x1234"}), 422, "invalid-signed-transaction")
    # signed by another key (the bank's) for the supplier's prepared transaction
    forged = bank.sign(prepared)
    problem(supplier.client.post("/v1/transactions", json={"raw": forged, "prepared_id": prepared["prepared_id"]}), 422)
    assert _nonce(world, supplier.account) == nonce_before

    raw = supplier.sign(prepared)
    split = ok(supplier.client.post("/v1/transactions", json={"raw": raw}), 201)  # found by sender and nonce
    assert split["new_note"]["value"] == "300000.00" and split["new_note"]["holder_id"] == supplier2.id
    assert split["note"]["value"] == "200000.00"  # read-your-writes, as a custodial split
    # the same signed transaction again: one write, the same answer
    replay = supplier.client.post("/v1/transactions", json={"raw": raw, "prepared_id": prepared["prepared_id"]})
    assert ok(replay, 201) == split and replay.headers.get("Idempotent-Replayed") == "true"
    assert _nonce(world, supplier.account) == nonce_before + 1

    # transfer (self-custody): the supplier2 pays a piece to the supplier, which passes it on whole
    piece = supplier2.write(f"/v1/notes/{split['new_note']['id']}/split", {"to": supplier.id, "value": "1000.00"}, 201)
    moved = supplier.write(f"/v1/notes/{piece['new_note']['id']}/transfer", {"to": supplier2.id})
    assert moved["holder_id"] == supplier2.id

    # the bank (own key) offers to buy 100,000.00 of the supplier's note at a discount; the supplier accepts
    expires = (date.today() + timedelta(days=1)).isoformat()
    offer_body = {"note_id": note_id, "value": "100000.00", "rate_bps": 3650, "recourse": False, "expires_at": expires}
    offer = bank.write("/v1/financing/offers", offer_body, 201)
    offer_id = int(offer["id"])

    # the operator's key cannot act for the bank on chain: its cancelling the bank's offer reverts
    financing = contract(w3, world.ledger.deployment, world.ledger.artifacts, "Financing")
    operator_account = Custody(world.settings.data_dir, world.settings.key_passphrase, TEST_SCRYPT_N).operator()
    with pytest.raises(Exception, match=r"revert|0x"):
        financing.functions.cancelOffer(offer_id).call({"from": operator_account.address})
    signed = operator_account.sign_transaction(
        {
            **financing.functions.cancelOffer(offer_id).build_transaction(
                {"from": operator_account.address, "gas": 200_000, "nonce": _nonce(world, operator_account.address)}
            )
        }
    )
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
    assert receipt["status"] == 0
    # and the operator's API key is refused for a member's act
    problem(op.post(f"/v1/financing/offers/{offer_id}/cancel"), 403)

    bank_before = _cents(ok(bank.client.get("/v1/cash/balance"))["balance"])
    purchase = supplier.write(f"/v1/financing/offers/{offer_id}/accept", None)
    price = _cents(purchase["price"])
    assert 0 < price < 10_000_000  # at a discount
    assert _cents(ok(bank.client.get("/v1/cash/balance"))["balance"]) == bank_before - price
    bank_note = int(purchase["note_id"])

    # maturity: the core enterprise (own key) funds; the bank (own key) redeems its note
    ok(core.client.get(f"/v1/settlement/receivables/{receivable['id']}"))
    funding = core.write(f"/v1/settlement/receivables/{receivable['id']}/fund", {"amount": "500000.00"})
    assert funding["funding_status"] == "fully_funded"
    rpc_call(world.chain.url, "evm_increaseTime", [3 * 86_400])
    rpc_call(world.chain.url, "evm_mine")
    redeemed = bank.write(f"/v1/settlement/notes/{bank_note}/redeem", None)
    assert redeemed["note_ids"] == [bank_note]
    assert _cents(ok(bank.client.get("/v1/cash/balance"))["balance"]) == bank_before - price + 10_000_000


def _session(world: PrivateWorld) -> Any:
    from sqlalchemy.orm import Session

    from chain.readmodel.store import make_engine

    return Session(make_engine(world.settings.effective_database_url))


def test_rotation_needs_both_keys_and_is_audited(
    world: PrivateWorld, op: httpx.Client, members: dict[str, Member]
) -> None:
    bank, supplier2 = members["bank"], members["supplier2"]
    assert bank.own is not None
    old_key: LocalAccount = bank.own
    new_key: LocalAccount = Account.create()
    # only the member itself (or the operator) asks; a custodial member has no own key to rotate
    problem(
        supplier2.client.post(f"/v1/members/{bank.id}/rotation-challenge", json={"new_address": new_key.address}), 403
    )
    problem(
        supplier2.client.post(f"/v1/members/{supplier2.id}/rotation-challenge", json={"new_address": new_key.address}),
        409,
        "not-self-custody",
    )
    challenge = ok(
        bank.client.post(f"/v1/members/{bank.id}/rotation-challenge", json={"new_address": new_key.address}), 201
    )
    assert old_key.address in challenge["message"] and new_key.address in challenge["message"]

    def signed(account: LocalAccount) -> str:
        return str(account.sign_message(encode_defunct(text=challenge["message"])).signature.to_0x_hex())

    body = {"new_address": new_key.address, "challenge_id": challenge["challenge_id"]}
    stranger = Account.create()
    for old_sig, new_sig in [(signed(stranger), signed(new_key)), (signed(old_key), signed(stranger))]:
        refused = bank.client.post(
            f"/v1/members/{bank.id}/rotate-own-key",
            json={**body, "old_signature": old_sig, "new_signature": new_sig},
        )
        problem(refused, 422, "invalid-signature")
    assert ok(bank.client.get("/v1/members/me"))["account"].lower() == old_key.address.lower()

    # the bank holds a live note: a rotation must announce it (ERC-721 Transfer) and finish, or the member stays
    # frozen (MemberRotating) and every later write of the bank reverts
    core = members["core"]
    maturity = (datetime.now(UTC).date() + timedelta(days=60)).isoformat()
    issued = core.write(
        "/v1/receivables",
        {"creditor_id": supplier2.id, "face_value": "1000.00", "maturity": maturity, "invoice_hash": random_hash()},
        201,
    )
    split = supplier2.write(f"/v1/notes/{issued['first_note_id']}/split", {"to": bank.id, "value": "100.00"}, 201)
    held_note = split["new_note"]["id"]

    balance = ok(bank.client.get("/v1/cash/balance"))["balance"]
    rotated = ok(
        bank.client.post(
            f"/v1/members/{bank.id}/rotate-own-key",
            json={**body, "old_signature": signed(old_key), "new_signature": signed(new_key)},
        )
    )
    assert rotated["member"]["account"].lower() == new_key.address.lower()
    assert rotated["member"]["custody"] == "self" and rotated["old_account"].lower() == old_key.address.lower()
    assert ok(bank.client.get("/v1/cash/balance"))["balance"] == balance  # the cash followed the member
    notes = world.ledger.w3.eth.contract(
        address=world.ledger.deployment.contracts["ReceivableNotes"].address,
        abi=[
            {
                "type": "function",
                "name": "ownerOf",
                "stateMutability": "view",
                "inputs": [{"name": "tokenId", "type": "uint256"}],
                "outputs": [{"name": "", "type": "address"}],
            }
        ],
    )
    assert notes.functions.ownerOf(held_note).call().lower() == new_key.address.lower()
    # the challenge is single-use: the same proof again is refused
    again = bank.client.post(
        f"/v1/members/{bank.id}/rotate-own-key",
        json={**body, "old_signature": signed(old_key), "new_signature": signed(new_key)},
    )
    problem(again, 409, "challenge-used")

    # the new key signs the bank's writes; a transaction signed with the old one is refused before broadcast
    bank.own = new_key
    response = bank.client.post(
        "/v1/cash/transfers",
        json={"to": supplier2.id, "amount": "1.00"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 202, response.text
    prepared = response.json()
    assert prepared["transaction"]["from"].lower() == new_key.address.lower()
    old_raw = old_key.sign_transaction({k: v for k, v in prepared["transaction"].items() if k != "from"})
    stale = {"raw": old_raw.raw_transaction.to_0x_hex(), "prepared_id": prepared["prepared_id"]}
    problem(bank.client.post("/v1/transactions", json=stale), 422, "transaction-mismatch")
    ok(bank.client.post("/v1/transactions", json={"raw": bank.sign(prepared), "prepared_id": prepared["prepared_id"]}))

    # audited: who asked, and the transactions the operator key sent for it
    entries = ok(op.get("/v1/audit", params={"action": "rotate_own_key", "member_id": bank.id}))["items"]
    done = [e for e in entries if e["status"] == 200]
    assert len(done) == 1 and len(done[0]["tx_hashes"]) >= 2  # rotateAccount, recoverRotatedBalance (+ gas on anvil)


def test_a_member_may_send_its_signed_transaction_through_its_own_node(
    world: PrivateWorld, members: dict[str, Member]
) -> None:
    core, supplier, bank = members["core"], members["supplier"], members["bank"]
    w3 = world.ledger.w3
    today = datetime.fromtimestamp(int(w3.eth.get_block("latest")["timestamp"]), UTC).date()  # the clock moved
    maturity = (today + timedelta(days=30)).isoformat()
    issue = {"creditor_id": supplier.id, "face_value": "2000.00", "maturity": maturity, "invoice_hash": random_hash()}
    note_id = int(core.write("/v1/receivables", issue, 201)["first_note_id"])
    expires = (today + timedelta(days=2)).isoformat()
    body = {"note_id": note_id, "value": "2000.00", "rate_bps": 100, "recourse": False, "expires_at": expires}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    prepared = bank.client.post("/v1/financing/offers", json=body, headers=key)
    assert prepared.status_code == 202, prepared.text
    raw = bank.sign(prepared.json())

    # the bank broadcasts it itself (its own node: here the same anvil); the read model picks it up from the chain
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw))
    assert receipt["status"] == 1
    offers = wait_until(
        lambda: ok(bank.client.get("/v1/financing/offers", params={"note_id": note_id}))["items"],
        "the read model to list the offer the bank broadcast itself",
    )
    assert [o["financier_id"] for o in offers] == [bank.id]

    # the original request again, unsigned: its nonce is used, so it is not prepared a second time
    problem(bank.client.post("/v1/financing/offers", json=body, headers=key), 409, "prepared-nonce-used")
    # submitting the signed transaction finishes the request with the write's answer: the same single offer
    done = ok(bank.client.post("/v1/transactions", json={"raw": raw}), 201)
    assert done["id"] == offers[0]["id"]
    replay = bank.client.post("/v1/financing/offers", json=body, headers=key)
    assert ok(replay, 201) == done and replay.headers.get("Idempotent-Replayed") == "true"
    assert len(ok(bank.client.get("/v1/financing/offers", params={"note_id": note_id}))["items"]) == 1


def test_a_signed_transaction_that_reverts_gets_the_custodial_problem(
    world: PrivateWorld, op: httpx.Client, members: dict[str, Member]
) -> None:
    core, supplier, bank = members["core"], members["supplier"], members["bank"]
    w3 = world.ledger.w3
    today = datetime.fromtimestamp(int(w3.eth.get_block("latest")["timestamp"]), UTC).date()
    issue = {
        "creditor_id": supplier.id,
        "face_value": "3000.00",
        "maturity": (today + timedelta(days=30)).isoformat(),
        "invoice_hash": random_hash(),
    }
    note_id = int(core.write("/v1/receivables", issue, 201)["first_note_id"])
    offer_body = {
        "note_id": note_id,
        "value": "3000.00",
        "rate_bps": 100,
        "recourse": False,
        "expires_at": (today + timedelta(days=2)).isoformat(),
    }
    offer_id = int(bank.write("/v1/financing/offers", offer_body, 201)["id"])
    # the supplier prepares its acceptance; before it signs, the bank withdraws the offer
    prepared = supplier.client.post(
        f"/v1/financing/offers/{offer_id}/accept", headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert prepared.status_code == 202, prepared.text
    assert bank.write(f"/v1/financing/offers/{offer_id}/cancel")["status"] == "cancelled"
    raw = supplier.sign(prepared.json())
    # prepared in English, submitted from a Chinese console: the refusal is in the submitter's language
    submitted = supplier.client.post("/v1/transactions", json={"raw": raw}, headers=ZH)
    refused = problem(submitted, 409, "offer-not-open")
    assert refused["contractError"]["error"] == "OfferNotOpen"
    assert refused["title"].startswith("合约拒绝：") and refused["detail"].startswith("账本拒绝了该交易")
    assert submitted.headers["content-language"] == "zh-CN"
    # the custodial path would answer the same way, and the answer is the request's: replayed as such, in the
    # replaying request's language
    again = supplier.client.post("/v1/transactions", json={"raw": raw}, headers=ZH)
    assert problem(again, 409, "offer-not-open") == refused
    english = problem(supplier.client.post("/v1/transactions", json={"raw": raw}), 409, "offer-not-open")
    assert english["detail"].startswith("the ledger refused the transaction") and english["type"] == refused["type"]
    # the operator's custodial key rotation does not apply to a member that holds its own key
    problem(op.post(f"/v1/members/{bank.id}/rotate-key"), 409, "not-in-custody")
