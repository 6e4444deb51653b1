"""Mass assignment and broken object level authorization over real HTTP on the session anvil.

A client must not set fields it does not own. Every write body (pydantic `extra="forbid"`) refuses a field
the endpoint does not declare, such as a note's holder, an offer's financier, an object's status or id,
with 422 `.../validation-error` naming exactly that field; every write that takes no body refuses a non-empty
one the same way (api.deps.reject_unexpected_body) instead of ignoring it. Each request is sent by the party
that may legitimately call the endpoint, so without the refusal it could have succeeded; afterwards the block
number and the touched objects are unchanged. Then every GET with an id is read by the object's owner (200)
and by two members with no relation to it (403/404 problem+json with none of the object's fields).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from eth_account import Account

from api.profiles import MemberProfileIn
from api.schemas.api_keys import IssueApiKeyIn
from api.schemas.cash import BurnIn, CashTransferIn, CreditLimitIn, FundIn, MintCeilingIn, MintIn, NoteBatchIn
from api.schemas.core import (
    AcceptOrderIn,
    AdmitMemberIn,
    IssueReceivableIn,
    LockNoteIn,
    MergeNoteIn,
    PayFromNoteIn,
    PledgeOrderIn,
    ProposeOrderIn,
    SplitNoteIn,
    TransferNoteIn,
)
from api.schemas.financing import FinancingRequestIn, MakeOfferIn, OpenLoanIn, RequestOfferIn
from api.schemas.provenance import GrantShareIn
from api.schemas.selfcustody import ChallengeIn, OwnKeyRotationIn, RotationChallengeIn, SignedTxIn
from scripts.companies import CORES, company
from scripts.runtime import Ledger
from tests.conftest import ServerThread, ok, random_hash, with_mint_ceiling

PROBLEM_JSON = "application/problem+json"
MEMBERS: list[tuple[str, list[str], dict[str, str]]] = [
    ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
    ("core2", ["core_enterprise"], {"credit_limit": "1000000.00"}),
    ("supplier", ["supplier"], {}),
    ("supplier2", ["supplier"], {}),
    ("supplier3", ["supplier"], {}),  # a party to nothing
    ("bank", ["financier"], {}),
    ("bank2", ["financier"], {}),
]


def _days(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


@dataclass
class World:
    clients: dict[str, httpx.Client]
    ids: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, name: str) -> int:
        return self.ids[name]

    def post(self, who: str, path: str, body: dict[str, Any] | None = None, status: int = 200) -> dict[str, Any]:
        return ok(self.clients[who].post(path, json=body if body is not None else {}), status)


@pytest.fixture(scope="module")
def world(api: ServerThread, operator_key: str) -> Iterator[World]:
    def client(key: str) -> httpx.Client:
        return httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {key}"})

    w = World({"operator": client(operator_key)})
    for name, roles, extra in MEMBERS:
        admission = with_mint_ceiling(roles, {"roles": roles, "kyc_hash": random_hash(), **extra})
        body = w.post("operator", "/v1/members", admission, 201)
        w.clients[name], w.ids[name] = client(body["api_key"]), body["member"]["id"]
    for who, amount in [("bank", "100000.00"), ("core", "100000.00")]:
        w.post("bank", "/v1/cash/mint", {"member_id": w[who], "amount": amount, "reference": random_hash()}, 201)

    def propose(amount: str = "10000.00") -> int:
        body = {"buyer_id": w["core"], "amount": amount, "document_hash": random_hash(), "due_date": _days(60)}
        return int(w.post("supplier", "/v1/orders", body, 201)["id"])

    w.ids["o_proposed"] = propose()
    w.ids["o_confirmed"] = propose()
    w.post("core", f"/v1/orders/{w['o_confirmed']}/confirm")
    w.ids["o_delivered"] = propose()
    w.post("core", f"/v1/orders/{w['o_delivered']}/confirm")
    w.post("supplier", f"/v1/orders/{w['o_delivered']}/deliver")
    w.ids["o_pledged"] = propose()
    w.post("core", f"/v1/orders/{w['o_pledged']}/confirm")
    w.post("supplier", f"/v1/orders/{w['o_pledged']}/pledge", {"financier_id": w["bank"]})
    loan = {"order_id": w["o_pledged"], "principal": "1000.00", "rate_bps": 600, "due_date": _days(30)}
    w.ids["loan"] = w.post("bank", "/v1/financing/loans", loan, 201)["id"]

    issue = {"creditor_id": w["supplier"], "face_value": "10000.00", "maturity": _days(90)}
    r1 = w.post("core", "/v1/receivables", {**issue, "invoice_hash": random_hash()}, 201)
    w.ids["r1"], w.ids["n1"] = r1["id"], r1["first_note_id"]
    split = w.post("supplier", f"/v1/notes/{w['n1']}/split", {"to": w["supplier2"], "value": "2000.00"}, 201)
    w.ids["n2"] = split["new_note"]["id"]
    # a second note of r1 held by the supplier (a split to oneself is refused: split away, then transfer back)
    locked = w.post("supplier", f"/v1/notes/{w['n1']}/split", {"to": w["supplier2"], "value": "1000.00"}, 201)
    w.ids["n_locked"] = locked["new_note"]["id"]
    w.post("supplier2", f"/v1/notes/{w['n_locked']}/transfer", {"to": w["supplier"]})
    w.post("supplier", f"/v1/notes/{w['n_locked']}/lock", {"lienholder_id": w["bank"]})
    offer = {"value": "500.00", "rate_bps": 700, "recourse": True, "expires_at": _days(10)}
    w.ids["offer_open"] = w.post("bank", "/v1/financing/offers", {"note_id": w["n1"], **offer}, 201)["id"]
    ask = {"note_id": w["n1"], "value": "100.00", "financier_ids": [w["bank"]], "expires_at": _days(10)}
    w.ids["request"] = w.post("supplier", "/v1/financing/requests", ask, 201)["id"]
    sold = w.post("bank", "/v1/financing/offers", {"note_id": w["n2"], **offer}, 201)["id"]
    w.ids["purchase"] = w.post("supplier2", f"/v1/financing/offers/{sold}/accept")["id"]
    yield w
    for c in w.clients.values():
        c.close()


# Fields a client might try to set: who holds, who finances, whose account, what state, which id.
FOREIGN: dict[str, Callable[[World], Any]] = {
    "holder_id": lambda w: w["supplier3"],
    "financier_id": lambda w: w["bank2"],
    "lienholder_id": lambda w: w["bank2"],
    "member_id": lambda w: w["supplier3"],
    "supplier_id": lambda w: w["supplier3"],
    "buyer_id": lambda w: w["core2"],
    "obligor_id": lambda w: w["core2"],
    "creditor_id": lambda w: w["supplier3"],
    "status": lambda w: "settled",
    "id": lambda w: 1,
    "roles": lambda w: ["auditor"],
    "account": lambda w: "0x" + "11" * 20,
}


@dataclass(frozen=True)
class Write:
    endpoint: str  # as the spec names it
    caller: str  # the party that may legitimately call it
    path: Callable[[World], str]
    body: Callable[[World], dict[str, Any]] | None  # None: the endpoint takes no body
    model: type | None  # the request model (its own fields are not foreign to it)
    watch: tuple[str, ...]  # GET paths (formatted with the world) that must not change


def _first_key(w: World, name: str) -> int:
    return int(ok(w.clients["operator"].get(f"/v1/members/{w[name]}/api-keys"))["items"][0]["id"])


def _offer(w: World) -> dict[str, Any]:
    return {"note_id": w["n1"], "value": "1.00", "rate_bps": 700, "recourse": False, "expires_at": _days(5)}


def _new_address() -> str:
    return str(Account.create().address)


def _signed_tx() -> str:
    tx = {"type": 2, "chainId": 31337, "nonce": 0, "to": _new_address(), "value": 0, "data": "0x", "gas": 21_000}
    tx.update(maxFeePerGas=10**9, maxPriorityFeePerGas=1)
    return str(Account.create().sign_transaction(tx).raw_transaction.to_0x_hex())


WRITES: list[Write] = [
    # self-custody (api/routes/transactions.py)
    Write(
        "POST /v1/members/challenge",
        "operator",
        lambda w: "/v1/members/challenge",
        lambda w: {"address": _new_address()},
        ChallengeIn,
        (),
    ),
    Write(
        "POST /v1/members/{member_id}/rotation-challenge",
        "supplier",
        lambda w: f"/v1/members/{w['supplier']}/rotation-challenge",
        lambda w: {"new_address": _new_address()},
        RotationChallengeIn,
        (),
    ),
    Write(
        "POST /v1/members/{member_id}/rotate-own-key",
        "supplier",
        lambda w: f"/v1/members/{w['supplier']}/rotate-own-key",
        lambda w: {
            "new_address": _new_address(),
            "challenge_id": "0" * 32,
            "old_signature": "0x" + "11" * 65,
            "new_signature": "0x" + "22" * 65,
        },
        OwnKeyRotationIn,
        ("/v1/members/{supplier}",),
    ),
    Write(
        "POST /v1/transactions",
        "supplier",
        lambda w: "/v1/transactions",
        lambda w: {"raw": _signed_tx()},
        SignedTxIn,
        (),
    ),
    # writes with a body: the model's extra="forbid" refuses undeclared fields
    Write(
        "POST /v1/members",
        "operator",
        lambda w: "/v1/members",
        lambda w: {"roles": ["supplier"], "kyc_hash": random_hash()},
        AdmitMemberIn,
        (),
    ),
    Write(
        "POST /v1/members/{member_id}/credit-limit",
        "operator",
        lambda w: f"/v1/members/{w['core']}/credit-limit",
        lambda w: {"credit_limit": "5.00"},
        CreditLimitIn,
        ("/v1/members/{core}",),
    ),
    Write(
        "POST /v1/cash/mint-ceilings/{member_id}",
        "operator",
        lambda w: f"/v1/cash/mint-ceilings/{w['bank']}",
        lambda w: {"ceiling": "5.00"},
        MintCeilingIn,
        ("/v1/cash/mint-ceilings/{bank}",),
    ),
    Write(
        "POST /v1/members/{member_id}/profile",
        "operator",
        lambda w: f"/v1/members/{w['core']}/profile",
        lambda w: company(CORES[1], " mass"),
        MemberProfileIn,
        ("/v1/members/{core}",),
    ),
    Write(
        "POST /v1/orders",
        "supplier",
        lambda w: "/v1/orders",
        lambda w: {"buyer_id": w["core"], "amount": "1.00", "document_hash": random_hash(), "due_date": _days(60)},
        ProposeOrderIn,
        (),
    ),
    Write(
        "POST /v1/orders/{order_id}/accept",
        "core",
        lambda w: f"/v1/orders/{w['o_delivered']}/accept",
        lambda w: {"face_value": "10000.00", "maturity": _days(90), "invoice_hash": random_hash()},
        AcceptOrderIn,
        ("/v1/orders/{o_delivered}", "/v1/members/{core}"),
    ),
    Write(
        "POST /v1/orders/{order_id}/pledge",
        "supplier",
        lambda w: f"/v1/orders/{w['o_confirmed']}/pledge",
        lambda w: {"financier_id": w["bank"]},
        PledgeOrderIn,
        ("/v1/orders/{o_confirmed}",),
    ),
    Write(
        "POST /v1/receivables",
        "core",
        lambda w: "/v1/receivables",
        lambda w: {
            "creditor_id": w["supplier"],
            "face_value": "1.00",
            "maturity": _days(90),
            "invoice_hash": random_hash(),
        },
        IssueReceivableIn,
        ("/v1/members/{core}",),
    ),
    Write(
        "POST /v1/notes/{note_id}/split",
        "supplier",
        lambda w: f"/v1/notes/{w['n1']}/split",
        lambda w: {"to": w["supplier2"], "value": "1.00"},
        SplitNoteIn,
        ("/v1/notes/{n1}",),
    ),
    Write(
        "POST /v1/notes/{note_id}/payments",
        "supplier",
        lambda w: f"/v1/notes/{w['n1']}/payments",
        lambda w: {"payments": [{"to": w["supplier2"], "value": "1.00"}]},
        PayFromNoteIn,
        ("/v1/notes/{n1}",),
    ),
    Write(
        "POST /v1/notes/{note_id}/transfer",
        "supplier",
        lambda w: f"/v1/notes/{w['n1']}/transfer",
        lambda w: {"to": w["supplier2"]},
        TransferNoteIn,
        ("/v1/notes/{n1}",),
    ),
    Write(
        "POST /v1/notes/{note_id}/merge",
        "supplier",
        lambda w: f"/v1/notes/{w['n1']}/merge",
        lambda w: {"into": w["n_locked"], "value": "1.00"},
        MergeNoteIn,
        ("/v1/notes/{n1}", "/v1/notes/{n_locked}"),
    ),
    Write(
        "POST /v1/notes/{note_id}/lock",
        "supplier",
        lambda w: f"/v1/notes/{w['n1']}/lock",
        lambda w: {"lienholder_id": w["bank"]},
        LockNoteIn,
        ("/v1/notes/{n1}",),
    ),
    Write(
        "POST /v1/financing/offers", "bank", lambda w: "/v1/financing/offers", _offer, MakeOfferIn, ("/v1/notes/{n1}",)
    ),
    Write(
        "POST /v1/financing/requests",
        "supplier",
        lambda w: "/v1/financing/requests",
        lambda w: {"note_id": w["n1"], "value": "1.00", "financier_ids": [w["bank"]], "expires_at": _days(5)},
        FinancingRequestIn,
        ("/v1/notes/{n1}", "/v1/financing/requests/{request}"),
    ),
    Write(
        "POST /v1/financing/requests/{request_id}/offers",
        "bank",
        lambda w: f"/v1/financing/requests/{w['request']}/offers",
        lambda w: {"rate_bps": 700, "expires_at": _days(5)},
        RequestOfferIn,
        ("/v1/financing/requests/{request}", "/v1/notes/{n1}"),
    ),
    Write(
        "POST /v1/financing/requests/{request_id}/withdraw",
        "supplier",
        lambda w: f"/v1/financing/requests/{w['request']}/withdraw",
        None,
        None,
        ("/v1/financing/requests/{request}",),
    ),
    Write(
        "POST /v1/financing/loans",
        "bank",
        lambda w: "/v1/financing/loans",
        lambda w: {"order_id": w["o_pledged"], "principal": "1.00", "rate_bps": 600, "due_date": _days(30)},
        OpenLoanIn,
        ("/v1/orders/{o_pledged}", "/v1/cash/balance?member_id={supplier}"),
    ),
    Write(
        "POST /v1/cash/mint",
        "bank",
        lambda w: "/v1/cash/mint",
        lambda w: {"member_id": w["supplier"], "amount": "1.00", "reference": random_hash()},
        MintIn,
        ("/v1/cash/balance?member_id={supplier}",),
    ),
    Write(
        "POST /v1/cash/burn",
        "bank",
        lambda w: "/v1/cash/burn",
        lambda w: {"amount": "1.00", "reference": random_hash()},
        BurnIn,
        ("/v1/cash/balance?member_id={bank}",),
    ),
    Write(
        "POST /v1/cash/transfers",
        "core",
        lambda w: "/v1/cash/transfers",
        lambda w: {"to": w["supplier"], "amount": "1.00"},
        CashTransferIn,
        ("/v1/cash/balance?member_id={core}", "/v1/cash/balance?member_id={supplier}"),
    ),
    Write(
        "POST /v1/settlement/receivables/{slot_id}/fund",
        "core",
        lambda w: f"/v1/settlement/receivables/{w['r1']}/fund",
        lambda w: {"amount": "1.00"},
        FundIn,
        ("/v1/settlement/receivables/{r1}", "/v1/cash/balance?member_id={core}"),
    ),
    Write(
        "POST /v1/settlement/receivables/{slot_id}/settle",
        "bank",
        lambda w: f"/v1/settlement/receivables/{w['r1']}/settle",
        lambda w: {},
        NoteBatchIn,
        ("/v1/settlement/receivables/{r1}",),
    ),
    Write(
        "POST /v1/settlement/receivables/{slot_id}/claim-default",
        "bank",
        lambda w: f"/v1/settlement/receivables/{w['r1']}/claim-default",
        lambda w: {},
        NoteBatchIn,
        ("/v1/settlement/receivables/{r1}",),
    ),
    Write(
        "POST /v1/members/me/shares",
        "supplier",
        lambda w: "/v1/members/me/shares",
        lambda w: {"financier_id": w["bank"]},
        GrantShareIn,
        (),
    ),
    # writes without a body: any field is refused (api.deps.reject_unexpected_body)
    Write(
        "POST /v1/members/{member_id}/suspend",
        "operator",
        lambda w: f"/v1/members/{w['supplier3']}/suspend",
        None,
        None,
        ("/v1/members/{supplier3}",),
    ),
    Write(
        "POST /v1/members/{member_id}/reinstate",
        "operator",
        lambda w: f"/v1/members/{w['supplier3']}/reinstate",
        None,
        None,
        ("/v1/members/{supplier3}",),
    ),
    Write(
        "POST /v1/members/{member_id}/clear-default-block",
        "operator",
        lambda w: f"/v1/members/{w['core']}/clear-default-block",
        None,
        None,
        ("/v1/members/{core}",),
    ),
    Write(
        "POST /v1/members/{member_id}/api-keys",
        "supplier",
        lambda w: f"/v1/members/{w['supplier']}/api-keys",
        lambda w: {"label": "mass assignment"},
        IssueApiKeyIn,
        ("/v1/members/{supplier}/api-keys",),
    ),
    Write(
        "POST /v1/members/{member_id}/api-keys/{key_id}/revoke",
        "supplier",
        lambda w: f"/v1/members/{w['supplier']}/api-keys/{_first_key(w, 'supplier')}/revoke",
        None,
        None,
        ("/v1/members/{supplier}/api-keys",),
    ),
    Write(
        "POST /v1/members/{member_id}/rotate-key",
        "operator",
        lambda w: f"/v1/members/{w['supplier3']}/rotate-key",
        None,
        None,
        ("/v1/members/{supplier3}",),
    ),
    Write(
        "POST /v1/orders/{order_id}/confirm",
        "core",
        lambda w: f"/v1/orders/{w['o_proposed']}/confirm",
        None,
        None,
        ("/v1/orders/{o_proposed}",),
    ),
    Write(
        "POST /v1/orders/{order_id}/deliver",
        "supplier",
        lambda w: f"/v1/orders/{w['o_confirmed']}/deliver",
        None,
        None,
        ("/v1/orders/{o_confirmed}",),
    ),
    Write(
        "POST /v1/orders/{order_id}/cancel",
        "supplier",
        lambda w: f"/v1/orders/{w['o_proposed']}/cancel",
        None,
        None,
        ("/v1/orders/{o_proposed}",),
    ),
    Write(
        "POST /v1/orders/{order_id}/release",
        "bank",
        lambda w: f"/v1/orders/{w['o_pledged']}/release",
        None,
        None,
        ("/v1/orders/{o_pledged}",),
    ),
    Write(
        "POST /v1/notes/{note_id}/release",
        "bank",
        lambda w: f"/v1/notes/{w['n_locked']}/release",
        None,
        None,
        ("/v1/notes/{n_locked}",),
    ),
    Write(
        "POST /v1/financing/offers/{offer_id}/cancel",
        "bank",
        lambda w: f"/v1/financing/offers/{w['offer_open']}/cancel",
        None,
        None,
        ("/v1/financing/offers/{offer_open}",),
    ),
    Write(
        "POST /v1/financing/offers/{offer_id}/accept",
        "supplier",
        lambda w: f"/v1/financing/offers/{w['offer_open']}/accept",
        None,
        None,
        ("/v1/financing/offers/{offer_open}", "/v1/notes/{n1}", "/v1/cash/balance?member_id={supplier}"),
    ),
    Write(
        "POST /v1/financing/purchases/{purchase_id}/claim-recourse",
        "bank",
        lambda w: f"/v1/financing/purchases/{w['purchase']}/claim-recourse",
        None,
        None,
        ("/v1/financing/purchases/{purchase}",),
    ),
    Write(
        "POST /v1/financing/purchases/{purchase_id}/pay-recourse",
        "supplier2",
        lambda w: f"/v1/financing/purchases/{w['purchase']}/pay-recourse",
        None,
        None,
        ("/v1/financing/purchases/{purchase}",),
    ),
    Write(
        "POST /v1/financing/loans/{loan_id}/repay",
        "supplier",
        lambda w: f"/v1/financing/loans/{w['loan']}/repay",
        None,
        None,
        ("/v1/financing/loans/{loan}",),
    ),
    Write(
        "POST /v1/financing/loans/{loan_id}/foreclose",
        "bank",
        lambda w: f"/v1/financing/loans/{w['loan']}/foreclose",
        None,
        None,
        ("/v1/financing/loans/{loan}",),
    ),
    Write(
        "POST /v1/settlement/receivables/{slot_id}/mark-default",
        "bank",
        lambda w: f"/v1/settlement/receivables/{w['r1']}/mark-default",
        None,
        None,
        ("/v1/settlement/receivables/{r1}",),
    ),
    Write(
        "POST /v1/settlement/notes/{note_id}/redeem",
        "supplier",
        lambda w: f"/v1/settlement/notes/{w['n1']}/redeem",
        None,
        None,
        ("/v1/notes/{n1}",),
    ),
    Write(
        "POST /v1/members/me/shares/{financier_id}/revoke",
        "supplier",
        lambda w: f"/v1/members/me/shares/{w['bank']}/revoke",
        None,
        None,
        (),
    ),
]


def _foreign_fields(write: Write) -> list[str]:
    declared = set(write.model.model_fields) if write.model is not None else set()  # type: ignore[attr-defined]
    return [name for name in FOREIGN if name not in declared]


def _state(w: World, ledger: Ledger, write: Write) -> dict[str, Any]:
    state: dict[str, Any] = {"block": ledger.w3.eth.block_number}
    for template in write.watch:
        body = ok(w.clients["operator"].get(template.format(**w.ids)))
        state[template] = {k: v for k, v in body.items() if k not in {"price", "amount_owed"}}
    return state


@pytest.mark.parametrize("write", WRITES, ids=[write.endpoint for write in WRITES])
def test_fields_the_client_does_not_own_are_refused(write: Write, world: World, ledger: Ledger) -> None:
    before = _state(world, ledger, write)
    for name in _foreign_fields(write):
        base = write.body(world) if write.body is not None else {}
        response = world.clients[write.caller].post(write.path(world), json={**base, name: FOREIGN[name](world)})
        assert response.status_code == 422, f"{write.endpoint} with {name}: {response.text}"
        assert response.headers["content-type"] == PROBLEM_JSON
        problem = response.json()
        assert problem["type"].endswith("/validation-error"), problem
        # refused for that field alone: the rest of the body was what the legitimate caller would send
        assert [error["location"] for error in problem["errors"]] == [f"body.{name}"], problem
    assert _state(world, ledger, write) == before


def test_every_write_endpoint_is_covered(world: World) -> None:
    spec = ok(world.clients["operator"].get("/openapi.json"))
    posts = {f"POST {path}": "requestBody" in ops["post"] for path, ops in spec["paths"].items() if "post" in ops}
    assert {write.endpoint: write.body is not None for write in WRITES} == posts


def test_a_bodyless_write_still_accepts_an_empty_object(world: World) -> None:
    """The refusal is for fields, not for the `{}` curl helpers send: the offer's own bank buys the note."""
    purchase = world.post("supplier", f"/v1/financing/offers/{world['offer_open']}/accept", {})
    assert purchase["financier_id"] == world["bank"]
    assert ok(world.clients["operator"].get(f"/v1/notes/{purchase['note_id']}"))["holder_id"] == world["bank"]


# ------------------------------------------------------------------- own vs other member's object (reads)

OUTSIDERS = ("supplier3", "core2")  # members with no relation to the world's objects (no financier: they read more)

READS: list[tuple[str, str, bool]] = [
    # (GET path with the object's id, its owner, whether an unrelated member may read it too)
    ("/v1/members/{supplier}", "supplier", True),  # the member directory is open to every caller
    ("/v1/orders/{o_pledged}", "supplier", False),
    ("/v1/receivables/{r1}", "supplier", False),
    ("/v1/receivables/{r1}/tree", "supplier", False),
    ("/v1/notes/{n1}", "supplier", False),
    ("/v1/notes/{n1}/provenance", "supplier", False),
    ("/v1/financing/offers/{offer_open}", "supplier", False),
    ("/v1/financing/requests/{request}", "supplier", False),
    ("/v1/financing/purchases/{purchase}", "supplier2", False),
    ("/v1/financing/loans/{loan}", "supplier", False),
    ("/v1/settlement/receivables/{r1}", "supplier", False),
    ("/v1/verify/notes/{n1}", "supplier", False),
    ("/v1/metadata/notes/{n1}", "supplier", False),  # a note's tokenURI: served to the parties, like the note
    ("/v1/metadata/receivables/{r1}", "supplier", False),  # a slotURI: like the receivable
    ("/v1/verify/orders/{o_pledged}", "supplier", False),
    ("/v1/verify/holdings/{supplier}", "supplier", False),
    ("/v1/verify/members/{supplier}", "supplier", True),  # a member's profile beside its on-chain hash: open to all
    ("/v1/members/{supplier}/credit", "supplier", False),
    ("/v1/cash/mint-ceilings/{bank}", "bank", False),  # a financier's ceiling: itself, the operator, auditors
    ("/v1/members/{supplier}/api-keys", "supplier", False),
    ("/v1/export/members/{supplier}?from=" + _days(-30) + "&to=" + _days(0), "supplier", False),
]
LEAKY = {"holder_id", "value", "items", "face_value", "notes", "nodes", "balance", "principal", "account"}


@pytest.mark.parametrize(("template", "owner", "open_to_all"), READS, ids=[r[0] for r in READS])
def test_own_object_is_readable_and_another_members_is_not(
    template: str, owner: str, open_to_all: bool, world: World
) -> None:
    path = template.format(**world.ids)
    assert world.clients[owner].get(path).status_code == 200, path
    for outsider in OUTSIDERS:
        response = world.clients[outsider].get(path)
        if open_to_all:
            assert response.status_code == 200, f"{path} as {outsider}: {response.text}"
            continue
        assert response.status_code in (403, 404), f"{path} as {outsider}: {response.text}"
        assert response.headers["content-type"] == PROBLEM_JSON
        assert not LEAKY & set(response.json()), response.text


def test_every_get_with_an_id_is_covered(world: World) -> None:
    spec = ok(world.clients["operator"].get("/openapi.json"))
    with_id = {path for path, ops in spec["paths"].items() if "get" in ops and "{" in path}

    def shape(path: str) -> str:
        return "/".join("{}" if part.startswith("{") else part for part in path.split("?")[0].split("/"))

    assert {shape(path) for path in with_id} == {shape(template) for template, _, _ in READS}


def test_matrix_size() -> None:
    """The number of cells the tables above check (reported in the issue's closing figures)."""
    writes = sum(len(_foreign_fields(write)) for write in WRITES)
    reads = len(READS) * (1 + len(OUTSIDERS))
    print(f"\nmass assignment cells: {writes}; own/other read cells: {reads}")
    assert writes >= 300 and reads == 63
