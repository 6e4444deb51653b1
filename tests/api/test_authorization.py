"""Authorization per endpoint over real HTTP on the session anvil: wrong callers are refused and nothing changes.

One module-scoped world (members of every role, cash, orders in each useful state, a receivable split into
notes, open and accepted factoring offers, a loan on a pledged order, a locked note, a suspended member) is
built through the API. Then every POST endpoint is sent, by every caller that may not act on that object,
a request that would otherwise be well formed: another member of the same role, members of other roles,
the auditor, the operator key where the endpoint is for members, a suspended member, and no / an unknown
API key. Each must get a 4xx problem+json (401 / 403, or 404 where the API hides the object), and a
snapshot of every object of the world (read model via the operator, balances and block number on chain)
must be unchanged afterwards. The chain's clock is never moved.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from eth_account import Account
from web3 import Web3
from web3.contract import Contract

from chain.node.client import contract
from scripts.companies import CORES, company
from scripts.runtime import Ledger
from tests.conftest import ServerThread, ok, random_hash, with_mint_ceiling

PROBLEM_JSON = "application/problem+json"
VOLATILE = {"price", "amount_owed"}  # quotes and accrued interest move with the wall clock


def _days(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


class Party:
    def __init__(self, url: str, key: str, member: dict[str, Any] | None = None) -> None:
        self.id: int = member["id"] if member else 0
        self.account: str = Web3.to_checksum_address(member["account"]) if member else ""
        self.client = httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {key}"})

    def post(self, path: str, body: dict[str, Any] | None = None, status: int = 200) -> dict[str, Any]:
        return ok(self.client.post(path, json=body if body is not None else {}), status)

    def get(self, path: str) -> dict[str, Any]:
        return ok(self.client.get(path))


MEMBERS: list[tuple[str, list[str], dict[str, str]]] = [
    ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
    ("core2", ["core_enterprise"], {"credit_limit": "1000000.00"}),
    ("supplier", ["supplier"], {}),
    ("supplier2", ["supplier"], {}),
    ("supplier3", ["supplier"], {}),  # suspended once the world is built
    ("bank", ["financier"], {}),
    ("bank2", ["financier"], {}),
    ("auditor", ["auditor"], {}),
]


@dataclass
class World:
    url: str
    parties: dict[str, Party]
    ids: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, name: str) -> int:
        if name in self.ids:
            return self.ids[name]
        return self.parties[name].id


@pytest.fixture(scope="module")
def cash_token(ledger: Ledger) -> Contract:
    return contract(ledger.w3, ledger.deployment, ledger.artifacts, "CashToken")


@pytest.fixture(scope="module")
def world(api: ServerThread, operator_key: str) -> Iterator[World]:
    parties: dict[str, Party] = {"operator": Party(api.url, operator_key)}
    op = parties["operator"]
    for name, roles, extra in MEMBERS:
        admission = with_mint_ceiling(roles, {"roles": roles, "kyc_hash": random_hash(), "label": name, **extra})
        body = op.post("/v1/members", admission, 201)
        parties[name] = Party(api.url, body["api_key"], body["member"])
    parties["nokey"] = Party(api.url, "x")
    parties["nokey"].client.headers.pop("Authorization")
    parties["badkey"] = Party(api.url, "scf_" + uuid.uuid4().hex)
    w = World(api.url, parties)
    p = parties
    core, core2, supplier, supplier2, bank = p["core"], p["core2"], p["supplier"], p["supplier2"], p["bank"]

    # deposits
    for who, amount in [("bank", "500000.00"), ("core", "100000.00"), ("supplier", "1000.00")]:
        bank.post("/v1/cash/mint", {"member_id": p[who].id, "amount": amount, "reference": f"dep-{uuid.uuid4()}"}, 201)

    # orders in each state (supplier -> core)
    def propose(amount: str = "10000.00") -> int:
        body = {"buyer_id": core.id, "amount": amount, "document_hash": random_hash(), "due_date": _days(60)}
        return int(supplier.post("/v1/orders", body, 201)["id"])

    w.ids["o_proposed"] = propose()
    w.ids["o_confirmed"] = propose()
    core.post(f"/v1/orders/{w['o_confirmed']}/confirm")
    w.ids["o_delivered"] = propose()
    core.post(f"/v1/orders/{w['o_delivered']}/confirm")
    supplier.post(f"/v1/orders/{w['o_delivered']}/deliver")
    w.ids["o_pledged"] = propose("50000.00")
    core.post(f"/v1/orders/{w['o_pledged']}/confirm")
    supplier.post(f"/v1/orders/{w['o_pledged']}/pledge", {"financier_id": bank.id})
    loan = bank.post(
        "/v1/financing/loans",
        {"order_id": w["o_pledged"], "principal": "20000.00", "rate_bps": 600, "due_date": _days(30)},
        201,
    )
    w.ids["loan"] = loan["id"]

    # receivable R1: core owes supplier 10,000.00; split 2,000.00 to supplier2 and 1,000.00 to supplier3
    r1 = core.post(
        "/v1/receivables",
        {"creditor_id": supplier.id, "face_value": "10000.00", "maturity": _days(90), "invoice_hash": random_hash()},
        201,
    )
    w.ids["r1"] = r1["id"]
    w.ids["n1"] = r1["first_note_id"]
    w.ids["n2"] = supplier.post(f"/v1/notes/{w['n1']}/split", {"to": supplier2.id, "value": "2000.00"}, 201)[
        "new_note"
    ]["id"]
    w.ids["n4"] = supplier.post(f"/v1/notes/{w['n1']}/split", {"to": p["supplier3"].id, "value": "1000.00"}, 201)[
        "new_note"
    ]["id"]
    # an open offer by bank on supplier's note
    offer = {"value": "1000.00", "rate_bps": 700, "recourse": False, "expires_at": _days(10)}
    w.ids["offer_open"] = bank.post("/v1/financing/offers", {"note_id": w["n1"], **offer}, 201)["id"]
    # an accepted offer (with recourse) on supplier2's note: a purchase
    offer2 = bank.post("/v1/financing/offers", {"note_id": w["n2"], **offer, "recourse": True}, 201)
    w.ids["offer_taken"] = offer2["id"]
    purchase = supplier2.post(f"/v1/financing/offers/{offer2['id']}/accept")
    w.ids["purchase"] = purchase["id"]
    w.ids["n_bought"] = purchase["note_id"]

    # a financing request: supplier asks bank for offers on part of n1
    ask = {"note_id": w["n1"], "value": "1.00", "financier_ids": [bank.id], "expires_at": _days(10)}
    w.ids["request"] = supplier.post("/v1/financing/requests", ask, 201)["id"]

    # receivable R2: core2 owes supplier; its note is locked to bank
    r2 = core2.post(
        "/v1/receivables",
        {"creditor_id": supplier.id, "face_value": "3000.00", "maturity": _days(90), "invoice_hash": random_hash()},
        201,
    )
    w.ids["r2"] = r2["id"]
    w.ids["n3"] = r2["first_note_id"]
    supplier.post(f"/v1/notes/{w['n3']}/lock", {"lienholder_id": bank.id})

    op.post(f"/v1/members/{p['supplier3'].id}/suspend")
    yield w
    for party in parties.values():
        party.client.close()


# ------------------------------------------------------------------------------------ state snapshot

TEMPLATES: dict[str, list[str]] = {
    "o": ["/v1/orders/{}"],
    "r": ["/v1/receivables/{}", "/v1/settlement/receivables/{}"],
    "n": ["/v1/notes/{}"],
    "offer": ["/v1/financing/offers/{}"],
    "purchase": ["/v1/financing/purchases/{}"],
    "loan": ["/v1/financing/loans/{}"],
    "request": ["/v1/financing/requests/{}"],
}
LISTS_OF: dict[str, tuple[str, str]] = {  # what a refused create must not have added, seen by the would-be party
    "list:orders": ("core", "/v1/orders?limit=500"),
    "list:notes": ("supplier", "/v1/notes?status=all&limit=500"),
    "list:offers": ("supplier", "/v1/financing/offers?limit=500"),
    "list:loans": ("supplier", "/v1/financing/loans?limit=500"),
    "list:requests": ("supplier", "/v1/financing/requests?limit=500"),
    "list:members": ("operator", "/v1/members?limit=500&cursor={cursor}"),
    "list:moves": ("supplier", "/v1/cash/moves?limit=500"),
}
EVERYTHING = [
    "o_proposed",
    "o_confirmed",
    "o_delivered",
    "o_pledged",
    "r1",
    "r2",
    "n1",
    "n2",
    "n3",
    "n4",
    "n_bought",
    "offer_open",
    "offer_taken",
    "purchase",
    "loan",
    "request",
    *(f"member:{name}" for name, _, _ in MEMBERS),
    *(f"cash:{name}" for name, _, _ in MEMBERS),
    "keys:supplier",
    "ceiling:bank",
    *LISTS_OF,
]


def _strip(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in VOLATILE}


def snapshot(w: World, ledger: Ledger, cash_token: Contract, keys: Iterable[str]) -> dict[str, Any]:
    """The block number on chain, and each watched object as the operator reads it (or a balance on chain)."""
    op = w.parties["operator"]
    state: dict[str, Any] = {"block": ledger.w3.eth.block_number}
    for key in keys:
        if key.startswith("member:"):
            state[key] = op.get(f"/v1/members/{w[key[7:]]}")
        elif key.startswith("keys:"):
            state[key] = op.client.get(f"/v1/members/{w[key[5:]]}/api-keys").json()
        elif key.startswith("ceiling:"):
            state[key] = op.get(f"/v1/cash/mint-ceilings/{w[key[8:]]}")
        elif key.startswith("cash:"):
            state[key] = int(cash_token.functions.balanceOf(w.parties[key[5:]].account).call())
        elif key.startswith("list:"):
            caller, path = LISTS_OF[key]
            items = w.parties[caller].get(path.format(cursor=w["core"] - 1))["items"]
            state[key] = [item["id"] for item in items]
        else:
            for template in TEMPLATES[key.split("_")[0].rstrip("0123456789")]:
                state[f"{template}:{key}"] = _strip(op.get(template.format(w[key])))
    return state


@pytest.fixture(scope="module")
def baseline(world: World, ledger: Ledger, cash_token: Contract) -> dict[str, Any]:
    return snapshot(world, ledger, cash_token, EVERYTHING)


# ----------------------------------------------------------------------------------- the table

Body = Callable[[World], dict[str, Any]] | None

MEMBER_WRONG = ["core", "supplier", "bank", "auditor"]  # for operator-only endpoints
KEYS_WRONG = ["core", "supplier2", "bank", "auditor", "supplier3"]  # for the supplier's own API keys


def _first_key(w: World, name: str) -> int:
    keys = w.parties["operator"].client.get(f"/v1/members/{w[name]}/api-keys").json()["items"]
    return int(keys[0]["id"])


ANON = ["nokey", "badkey"]


@dataclass(frozen=True)
class Case:
    endpoint: str  # "POST /v1/orders/{order_id}/confirm", as the router declares it
    path: Callable[[World], str]
    body: Body
    callers: tuple[str, ...]


def _c(endpoint: str, path: Callable[[World], str], body: Body, callers: list[str]) -> Case:
    return Case(endpoint, path, body, tuple(callers + ANON))


def _foreign_signed_tx() -> str:
    tx = {"type": 2, "chainId": 31337, "nonce": 0, "to": Account.create().address, "value": 0, "data": "0x"}
    tx.update(gas=21_000, maxFeePerGas=10**9, maxPriorityFeePerGas=1)
    return str(Account.create().sign_transaction(tx).raw_transaction.to_0x_hex())


def _admit(_: World) -> dict[str, Any]:
    return {"roles": ["financier"], "kyc_hash": random_hash()}


CASES: list[Case] = [
    # members (operator only)
    _c("POST /v1/members", lambda w: "/v1/members", _admit, MEMBER_WRONG),
    _c("POST /v1/members/{id}/suspend", lambda w: f"/v1/members/{w['supplier2']}/suspend", None, MEMBER_WRONG),
    _c("POST /v1/members/{id}/reinstate", lambda w: f"/v1/members/{w['supplier3']}/reinstate", None, MEMBER_WRONG),
    _c(
        "POST /v1/members/{id}/clear-default-block",
        lambda w: f"/v1/members/{w['core']}/clear-default-block",
        None,
        MEMBER_WRONG,
    ),
    _c(
        "POST /v1/members/{id}/credit-limit",
        lambda w: f"/v1/members/{w['core']}/credit-limit",
        lambda w: {"credit_limit": "99999999.00"},
        [*MEMBER_WRONG, "core2"],
    ),
    _c(
        "POST /v1/members/{id}/profile",
        lambda w: f"/v1/members/{w['core']}/profile",
        lambda w: company(CORES[0], " authz"),
        MEMBER_WRONG,
    ),
    _c("POST /v1/members/{id}/rotate-key", lambda w: f"/v1/members/{w['bank']}/rotate-key", None, MEMBER_WRONG),
    # self-custody (api/routes/transactions.py): challenges for the operator; rotation for the member itself
    _c(
        "POST /v1/members/challenge",
        lambda w: "/v1/members/challenge",
        lambda w: {"address": Account.create().address},
        MEMBER_WRONG,
    ),
    _c(
        "POST /v1/members/{member_id}/rotation-challenge",
        lambda w: f"/v1/members/{w['supplier']}/rotation-challenge",
        lambda w: {"new_address": Account.create().address},
        KEYS_WRONG,
    ),
    _c(
        "POST /v1/members/{member_id}/rotate-own-key",
        lambda w: f"/v1/members/{w['supplier']}/rotate-own-key",
        lambda w: {
            "new_address": Account.create().address,
            "challenge_id": uuid.uuid4().hex,
            "old_signature": "0x" + "11" * 65,
            "new_signature": "0x" + "22" * 65,
        },
        KEYS_WRONG,
    ),
    _c(  # a signed transaction nobody prepared for the caller: hidden (404); the operator may not submit (403)
        "POST /v1/transactions",
        lambda w: "/v1/transactions",
        lambda w: {"raw": _foreign_signed_tx()},
        ["core", "supplier", "bank", "operator"],
    ),
    # a member's API keys (the operator or the member itself)
    _c(
        "POST /v1/members/{id}/api-keys",
        lambda w: f"/v1/members/{w['supplier']}/api-keys",
        lambda w: {"label": "not yours"},
        KEYS_WRONG,
    ),
    _c(
        "POST /v1/members/{id}/api-keys/{key_id}/revoke",
        lambda w: f"/v1/members/{w['supplier']}/api-keys/{_first_key(w, 'supplier')}/revoke",
        None,
        KEYS_WRONG,
    ),
    # orders
    _c(
        "POST /v1/orders",
        lambda w: "/v1/orders",
        lambda w: {"buyer_id": w["core"], "amount": "1.00", "document_hash": random_hash(), "due_date": _days(60)},
        ["core", "bank", "auditor", "operator", "supplier3"],
    ),
    _c(
        "POST /v1/orders/{id}/confirm",
        lambda w: f"/v1/orders/{w['o_proposed']}/confirm",
        None,
        ["supplier", "supplier2", "core2", "bank", "auditor", "operator"],
    ),
    _c(
        "POST /v1/orders/{id}/cancel",
        lambda w: f"/v1/orders/{w['o_proposed']}/cancel",
        None,
        ["supplier2", "core2", "bank", "auditor", "operator"],
    ),
    _c(
        "POST /v1/orders/{id}/deliver",
        lambda w: f"/v1/orders/{w['o_confirmed']}/deliver",
        None,
        ["core", "supplier2", "core2", "bank", "auditor", "operator"],
    ),
    _c(
        "POST /v1/orders/{id}/pledge",
        lambda w: f"/v1/orders/{w['o_confirmed']}/pledge",
        lambda w: {"financier_id": w["bank2"]},
        ["core", "supplier2", "bank", "bank2", "auditor", "operator"],
    ),
    _c(
        "POST /v1/orders/{id}/accept",
        lambda w: f"/v1/orders/{w['o_delivered']}/accept",
        lambda w: {"face_value": "10000.00", "maturity": _days(90), "invoice_hash": random_hash()},
        ["supplier", "supplier2", "core2", "bank", "auditor", "operator"],
    ),
    _c(
        "POST /v1/orders/{id}/release",
        lambda w: f"/v1/orders/{w['o_pledged']}/release",
        None,
        ["supplier", "core", "supplier2", "bank2", "auditor", "operator"],
    ),
    # receivables
    _c(
        "POST /v1/receivables",
        lambda w: "/v1/receivables",
        lambda w: {
            "creditor_id": w["supplier"],
            "face_value": "1.00",
            "maturity": _days(90),
            "invoice_hash": random_hash(),
        },
        ["supplier", "bank", "auditor", "operator"],
    ),
    # notes
    _c(
        "POST /v1/notes/{id}/split",
        lambda w: f"/v1/notes/{w['n1']}/split",
        lambda w: {"to": w["supplier2"], "value": "1.00"},
        ["supplier2", "core", "core2", "bank", "auditor", "operator"],
    ),
    _c(
        "POST /v1/notes/{id}/split (suspended holder)",
        lambda w: f"/v1/notes/{w['n4']}/split",
        lambda w: {"to": w["supplier"], "value": "1.00"},
        ["supplier3"],
    ),
    _c(
        "POST /v1/notes/{id}/payments",
        lambda w: f"/v1/notes/{w['n1']}/payments",
        lambda w: {"payments": [{"to": w["supplier2"], "value": "1.00"}, {"to": w["bank"], "value": "1.00"}]},
        ["supplier2", "core", "core2", "bank", "auditor", "operator"],
    ),
    _c(
        "POST /v1/notes/{id}/payments (suspended holder)",
        lambda w: f"/v1/notes/{w['n4']}/payments",
        lambda w: {"payments": [{"to": w["supplier"], "value": "1.00"}]},
        ["supplier3"],
    ),
    _c(
        "POST /v1/notes/{id}/transfer",
        lambda w: f"/v1/notes/{w['n1']}/transfer",
        lambda w: {"to": w["supplier2"]},
        ["supplier2", "core", "bank", "auditor", "operator"],
    ),
    _c(
        "POST /v1/notes/{id}/transfer (suspended holder)",
        lambda w: f"/v1/notes/{w['n4']}/transfer",
        lambda w: {"to": w["supplier"]},
        ["supplier3"],
    ),
    _c(
        "POST /v1/notes/{id}/merge",
        lambda w: f"/v1/notes/{w['n1']}/merge",
        lambda w: {"into": w["n2"], "value": "1.00"},
        ["supplier2", "core", "bank", "auditor", "operator"],
    ),
    _c(
        "POST /v1/notes/{id}/lock",
        lambda w: f"/v1/notes/{w['n1']}/lock",
        lambda w: {"lienholder_id": w["bank2"]},
        ["supplier2", "core", "bank", "bank2", "auditor", "operator"],
    ),
    _c(
        "POST /v1/notes/{id}/release",
        lambda w: f"/v1/notes/{w['n3']}/release",
        None,
        ["supplier", "core2", "supplier2", "bank2", "auditor", "operator"],
    ),
    # financing: offers, purchases, loans
    _c(
        "POST /v1/financing/offers",
        lambda w: "/v1/financing/offers",
        lambda w: {"note_id": w["n1"], "value": "1.00", "rate_bps": 700, "recourse": False, "expires_at": _days(5)},
        ["supplier", "supplier2", "core", "auditor", "operator"],
    ),
    _c(
        "POST /v1/financing/requests",
        lambda w: "/v1/financing/requests",
        lambda w: {"note_id": w["n1"], "value": "1.00", "financier_ids": [w["bank2"]], "expires_at": _days(5)},
        ["supplier2", "supplier3", "core", "bank", "auditor", "operator"],
    ),
    _c(
        "POST /v1/financing/requests/{id}/withdraw",
        lambda w: f"/v1/financing/requests/{w['request']}/withdraw",
        None,
        ["supplier2", "bank", "bank2", "core", "auditor", "operator"],
    ),
    _c(
        "POST /v1/financing/requests/{id}/offers",
        lambda w: f"/v1/financing/requests/{w['request']}/offers",
        lambda w: {"rate_bps": 700, "expires_at": _days(5)},
        ["supplier", "supplier2", "bank2", "core", "auditor", "operator"],
    ),
    _c(
        "POST /v1/financing/offers/{id}/cancel",
        lambda w: f"/v1/financing/offers/{w['offer_open']}/cancel",
        None,
        ["supplier", "supplier2", "bank2", "core", "auditor", "operator"],
    ),
    _c(
        "POST /v1/financing/offers/{id}/accept",
        lambda w: f"/v1/financing/offers/{w['offer_open']}/accept",
        None,
        ["bank", "supplier2", "bank2", "core", "auditor", "operator"],
    ),
    _c(
        "POST /v1/financing/purchases/{id}/claim-recourse",
        lambda w: f"/v1/financing/purchases/{w['purchase']}/claim-recourse",
        None,
        ["supplier2", "supplier", "bank2", "core", "auditor", "operator"],
    ),
    _c(
        "POST /v1/financing/purchases/{id}/pay-recourse",
        lambda w: f"/v1/financing/purchases/{w['purchase']}/pay-recourse",
        None,
        ["bank", "supplier", "bank2", "core", "auditor", "operator"],
    ),
    _c(
        "POST /v1/financing/loans",
        lambda w: "/v1/financing/loans",
        lambda w: {"order_id": w["o_pledged"], "principal": "1.00", "rate_bps": 600, "due_date": _days(30)},
        ["bank2", "supplier", "core", "auditor", "operator"],
    ),
    _c(
        "POST /v1/financing/loans/{id}/repay",
        lambda w: f"/v1/financing/loans/{w['loan']}/repay",
        None,
        ["bank", "supplier2", "bank2", "core", "auditor", "operator"],
    ),
    _c(
        "POST /v1/financing/loans/{id}/foreclose",
        lambda w: f"/v1/financing/loans/{w['loan']}/foreclose",
        None,
        ["supplier", "bank2", "core", "auditor", "operator"],
    ),
    # cash
    _c(
        "POST /v1/cash/mint",
        lambda w: "/v1/cash/mint",
        lambda w: {"member_id": w["supplier"], "amount": "1000.00", "reference": "forged"},
        ["supplier", "core", "auditor", "operator"],
    ),
    _c(
        "POST /v1/cash/mint-ceilings/{id}",
        lambda w: f"/v1/cash/mint-ceilings/{w['bank']}",
        lambda w: {"ceiling": "99999999999.00"},
        MEMBER_WRONG,
    ),
    _c(
        "POST /v1/cash/burn",
        lambda w: "/v1/cash/burn",
        lambda w: {"amount": "1.00", "reference": "forged"},
        ["supplier", "core", "auditor", "operator"],
    ),
    _c(
        "POST /v1/cash/transfers",
        lambda w: "/v1/cash/transfers",
        lambda w: {"to": w["supplier"], "amount": "1.00"},
        ["operator"],
    ),
    # settlement
    _c(
        "POST /v1/settlement/receivables/{id}/fund",
        lambda w: f"/v1/settlement/receivables/{w['r1']}/fund",
        lambda w: {"amount": "1.00"},
        ["supplier", "core2", "bank", "auditor", "operator"],
    ),
    # keepers: any member (or the operator) may pay out, so only an unauthenticated caller is refused
    _c(
        "POST /v1/settlement/receivables/{id}/settle",
        lambda w: f"/v1/settlement/receivables/{w['r1']}/settle",
        None,
        [],
    ),
    _c(
        "POST /v1/settlement/receivables/{id}/claim-default",
        lambda w: f"/v1/settlement/receivables/{w['r1']}/claim-default",
        None,
        [],
    ),
    _c(
        "POST /v1/settlement/receivables/{id}/mark-default",
        lambda w: f"/v1/settlement/receivables/{w['r1']}/mark-default",
        None,
        [],
    ),
    _c(
        "POST /v1/settlement/notes/{id}/redeem",
        lambda w: f"/v1/settlement/notes/{w['n1']}/redeem",
        None,
        ["core", "supplier2", "bank", "auditor", "operator"],
    ),
    # sharing grants: any member shares its own holdings; the operator has none
    _c(
        "POST /v1/members/me/shares",
        lambda w: "/v1/members/me/shares",
        lambda w: {"financier_id": w["bank"]},
        ["operator"],
    ),
    _c(
        "POST /v1/members/me/shares/{financier_id}/revoke",
        lambda w: f"/v1/members/me/shares/{w['bank']}/revoke",
        None,
        ["operator"],
    ),
]

# what each refused request must have left unchanged (besides the block number, checked for every case)
WATCH: dict[str, list[str]] = {
    "POST /v1/members": ["list:members"],
    "POST /v1/members/{id}/suspend": ["member:supplier2"],
    "POST /v1/members/{id}/reinstate": ["member:supplier3"],
    "POST /v1/members/{id}/clear-default-block": ["member:core"],
    "POST /v1/members/{id}/credit-limit": ["member:core"],
    "POST /v1/members/{id}/profile": ["member:core"],
    "POST /v1/members/{id}/rotate-key": ["member:bank", "cash:bank"],
    "POST /v1/members/{id}/api-keys": ["keys:supplier"],
    "POST /v1/members/{id}/api-keys/{key_id}/revoke": ["keys:supplier"],
    "POST /v1/orders": ["list:orders"],
    "POST /v1/orders/{id}/confirm": ["o_proposed"],
    "POST /v1/orders/{id}/cancel": ["o_proposed"],
    "POST /v1/orders/{id}/deliver": ["o_confirmed"],
    "POST /v1/orders/{id}/pledge": ["o_confirmed"],
    "POST /v1/orders/{id}/accept": ["o_delivered", "member:core"],
    "POST /v1/orders/{id}/release": ["o_pledged", "loan"],
    "POST /v1/receivables": ["list:notes", "member:core"],
    "POST /v1/notes/{id}/split": ["n1", "list:notes"],
    "POST /v1/notes/{id}/split (suspended holder)": ["n4"],
    "POST /v1/notes/{id}/payments": ["n1", "list:notes"],
    "POST /v1/notes/{id}/payments (suspended holder)": ["n4"],
    "POST /v1/notes/{id}/transfer": ["n1"],
    "POST /v1/notes/{id}/transfer (suspended holder)": ["n4"],
    "POST /v1/notes/{id}/merge": ["n1", "n2"],
    "POST /v1/notes/{id}/lock": ["n1"],
    "POST /v1/notes/{id}/release": ["n3"],
    "POST /v1/financing/offers": ["list:offers"],
    "POST /v1/financing/requests": ["list:requests"],
    "POST /v1/financing/requests/{id}/withdraw": ["request"],
    "POST /v1/financing/requests/{id}/offers": ["request", "list:offers"],
    "POST /v1/financing/offers/{id}/cancel": ["offer_open"],
    "POST /v1/financing/offers/{id}/accept": ["offer_open", "n1", "cash:supplier", "cash:bank"],
    "POST /v1/financing/purchases/{id}/claim-recourse": ["purchase"],
    "POST /v1/financing/purchases/{id}/pay-recourse": ["purchase", "n_bought"],
    "POST /v1/financing/loans": ["list:loans", "cash:supplier"],
    "POST /v1/financing/loans/{id}/repay": ["loan", "o_pledged", "cash:supplier"],
    "POST /v1/financing/loans/{id}/foreclose": ["loan", "o_pledged"],
    "POST /v1/cash/mint": ["cash:supplier", "list:moves"],
    "POST /v1/cash/mint-ceilings/{id}": ["ceiling:bank"],
    "POST /v1/cash/burn": ["cash:supplier", "cash:core"],
    "POST /v1/cash/transfers": ["cash:supplier"],
    "POST /v1/settlement/receivables/{id}/fund": ["r1", "cash:core"],
    "POST /v1/settlement/receivables/{id}/settle": ["r1"],
    "POST /v1/settlement/receivables/{id}/claim-default": ["r1"],
    "POST /v1/settlement/receivables/{id}/mark-default": ["r1"],
    "POST /v1/settlement/notes/{id}/redeem": ["n1", "r1"],
    "POST /v1/members/challenge": [],  # service data, not chain state
    "POST /v1/members/{member_id}/rotation-challenge": [],
    "POST /v1/members/{member_id}/rotate-own-key": ["member:supplier"],
    "POST /v1/transactions": [],
    "POST /v1/members/me/shares": [],  # service data, not chain state: the block number must not move
    "POST /v1/members/me/shares/{financier_id}/revoke": [],
}

PARAMS = [pytest.param(case, caller, id=f"{case.endpoint} as {caller}") for case in CASES for caller in case.callers]


REFUSALS = {
    "unauthorized",
    "forbidden",
    "not-found",
    "missing-role",
    "member-not-active",
    "not-order-party",
    "not-order-holder",
    "not-lienholder",
    "not-obligor",
    "not-note-holder",
}


def _expected(caller: str) -> set[int]:
    if caller in ANON:
        return {401}
    if caller in ("operator", "auditor", "supplier3"):
        return {403}  # they see everything (or are suspended): refused for permission, never hidden
    return {403, 404}


@pytest.mark.parametrize(("case", "caller"), PARAMS)
def test_wrong_caller_is_refused_and_nothing_changes(
    case: Case, caller: str, world: World, baseline: dict[str, Any], ledger: Ledger, cash_token: Contract
) -> None:
    body = case.body(world) if case.body is not None else None
    response = world.parties[caller].client.post(case.path(world), json=body)
    assert response.status_code in _expected(caller), f"{case.endpoint} as {caller}: {response.text}"
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["status"] == response.status_code
    # refused for who is calling, not for the object's state or the request's shape
    assert problem["type"].rsplit("/", 1)[-1] in REFUSALS, problem
    keys = WATCH[case.endpoint]
    expected = {key: value for key, value in baseline.items() if key == "block" or any(key.endswith(k) for k in keys)}
    assert snapshot(world, ledger, cash_token, keys) == expected


def test_world_unchanged_after_every_refusal(
    world: World, baseline: dict[str, Any], ledger: Ledger, cash_token: Contract
) -> None:
    """Runs after the table: every object, balance and list of the world is as it was before it."""
    assert snapshot(world, ledger, cash_token, EVERYTHING) == baseline


def test_every_post_endpoint_is_covered(world: World) -> None:
    spec = world.parties["operator"].get("/openapi.json")
    posts = {path for path, ops in spec["paths"].items() if "post" in ops}
    covered = {case.endpoint.split(" ")[1] for case in CASES}

    def shape(path: str) -> str:
        return "/".join("{}" if part.startswith("{") else part for part in path.split("/"))

    assert {shape(p) for p in posts} == {shape(p) for p in covered}
    assert set(WATCH) == {case.endpoint for case in CASES}


# ------------------------------------------------------------------------------------- read side

READS: list[tuple[str, str, list[str], list[str]]] = [
    # (path template, object, refused callers, allowed callers)
    ("/v1/notes/{}", "n1", ["supplier2", "core2", "bank", "bank2"], ["supplier", "core", "auditor", "operator"]),
    ("/v1/notes/{}", "n3", ["core", "supplier2", "bank2"], ["supplier", "bank", "core2", "auditor", "operator"]),
    (
        "/v1/orders/{}",
        "o_pledged",
        ["supplier2", "core2", "bank2"],
        ["supplier", "core", "bank", "auditor", "operator"],
    ),
    ("/v1/orders/{}", "o_proposed", ["supplier2", "core2", "bank"], ["supplier", "core", "auditor", "operator"]),
    ("/v1/receivables/{}", "r2", ["core", "supplier2", "bank2"], ["supplier", "core2", "auditor", "operator"]),
    (
        "/v1/settlement/receivables/{}",
        "r2",
        ["core", "supplier2", "bank2"],
        ["supplier", "core2", "auditor", "operator"],
    ),
    ("/v1/financing/loans/{}", "loan", ["supplier2", "bank2", "core"], ["supplier", "bank", "auditor", "operator"]),
    (
        "/v1/financing/purchases/{}",
        "purchase",
        ["supplier", "bank2", "core"],
        ["supplier2", "bank", "auditor", "operator"],
    ),
    (
        "/v1/financing/offers/{}",
        "offer_open",
        ["supplier2", "bank2", "core"],
        ["supplier", "bank", "auditor", "operator"],
    ),
    (
        "/v1/financing/requests/{}",
        "request",
        ["supplier2", "bank2", "core"],
        ["supplier", "bank", "auditor", "operator"],
    ),
    ("/v1/cash/balance?member_id={}", "supplier", ["supplier2", "core", "bank"], ["supplier", "auditor", "operator"]),
    ("/v1/cash/moves?member_id={}", "supplier", ["supplier2", "core", "bank"], ["supplier", "auditor", "operator"]),
    ("/v1/cash/mint-ceilings/{}", "bank", ["supplier", "core", "bank2"], ["bank", "auditor", "operator"]),
    ("/v1/verify/holdings/{}", "supplier", ["supplier2", "core", "bank"], ["supplier", "auditor", "operator"]),
]

READ_PARAMS = [
    pytest.param(template, name, refused, allowed, id=template.split("{")[0] + name)
    for template, name, refused, allowed in READS
]


@pytest.mark.parametrize(("template", "name", "refused", "allowed"), READ_PARAMS)
def test_private_objects_are_hidden_from_other_members(
    template: str, name: str, refused: list[str], allowed: list[str], world: World
) -> None:
    path = template.format(world[name])
    for caller in refused:
        response = world.parties[caller].client.get(path)
        assert response.status_code in (403, 404), f"{path} as {caller}: {response.text}"
        assert response.headers["content-type"] == PROBLEM_JSON
    for caller in allowed:
        assert world.parties[caller].client.get(path).status_code == 200, f"{path} as {caller}"
    for caller in ANON:
        assert world.parties[caller].client.get(path).status_code == 401


LISTS: list[tuple[str, str, list[str], list[str]]] = [
    # (list path, object, members whose list must not contain it, callers whose list must)
    ("/v1/notes?status=all&limit=500", "n1", ["supplier2", "bank", "bank2", "core2"], ["supplier"]),
    ("/v1/orders?limit=500", "o_pledged", ["supplier2", "core2", "bank2"], ["supplier", "core", "bank"]),
    ("/v1/financing/loans?limit=500", "loan", ["supplier2", "bank2", "core"], ["supplier", "bank"]),
    ("/v1/financing/purchases?limit=500", "purchase", ["supplier", "bank2", "core"], ["supplier2", "bank"]),
    ("/v1/financing/offers?limit=500", "offer_open", ["supplier2", "bank2", "core"], ["supplier", "bank"]),
    ("/v1/financing/requests?limit=500", "request", ["supplier2", "bank2", "core"], ["supplier", "bank"]),
]


@pytest.mark.parametrize(("path", "name", "without", "with_"), LISTS, ids=[x[0].split("?")[0] for x in LISTS])
def test_lists_show_only_own_objects(path: str, name: str, without: list[str], with_: list[str], world: World) -> None:
    for caller in without:
        ids = [item["id"] for item in world.parties[caller].get(path)["items"]]
        assert world[name] not in ids, f"{path} as {caller} lists {name}"
    for caller in with_:
        ids = [item["id"] for item in world.parties[caller].get(path)["items"]]
        assert world[name] in ids, f"{path} as {caller} misses {name}"


def test_auditor_and_operator_see_everything(world: World) -> None:
    for caller in ("auditor", "operator"):
        client = world.parties[caller]
        note_ids = {n["id"] for n in client.get(f"/v1/notes?status=all&obligor_id={world['core']}&limit=500")["items"]}
        assert {world["n1"], world["n2"], world["n4"]} <= note_ids
        orders = {o["id"] for o in client.get("/v1/orders?limit=500&cursor=" + str(world["o_proposed"] - 1))["items"]}
        assert {world["o_proposed"], world["o_confirmed"], world["o_delivered"], world["o_pledged"]} <= orders
        assert client.get(f"/v1/cash/balance?member_id={world['core']}")["member_id"] == world["core"]


def test_me_is_refused_without_a_key_and_not_a_member_for_the_operator(world: World) -> None:
    for caller in ANON:
        assert world.parties[caller].client.get("/v1/members/me").status_code == 401
    assert world.parties["operator"].client.get("/v1/members/me").status_code == 404
    assert world.parties["supplier"].get("/v1/members/me")["id"] == world["supplier"]
