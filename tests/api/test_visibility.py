"""Holder identities under one rule (api/services/visibility.py, docs/permissions.md "Holder identities").

Real HTTP on the session anvil. A world of seven callers: the operator, an auditor, a core enterprise (the obligor
of every receivable), two suppliers (tier 1, tier 2), bank A (tier 1 shares its holdings with it, holds a lien on a
tier-1 note, made an open offer on a tier-2 note, and received value from tier 2 in R3) and bank B (no grant, no
relation). Three receivables:

- R1 (through an order): core owes tier 1 10,000.00; tier 1 splits 4,000.00 to tier 2 (which pays 100.00 of it
  back: a circular-trade alert naming both) and pledges the rest to bank A; bank A offers to buy value of tier 2's
  note (open).
- R2: core owes tier 2 5,000.00; tier 2 splits 2,000.00 to tier 1.
- R3: core owes tier 1 3,000.00; tier 1 splits 1,000.00 to tier 2, which splits 500.00 of it to bank A and
  sells bank A 200.00 more.

And a second order, pledged by tier 1 to bank A, which lends against it.

`SEES` is the rule written out for this world by hand (who sees whom, per receivable). Every read route is called
by every caller: the status must be the one in `ROUTES`, and every member an answer names must be a real id only
where `SEES` says so, else a pseudonym. Then the attack of issue 19: bank B walks every receivable's tree and
learns no holder, while the values still add up.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from api.profiles import USCC_ALPHABET, uscc_check_character
from tests.conftest import Party, ServerThread, admitted, ok, problem, random_hash

TAG = secrets.token_hex(4)


def _profile(name: str) -> dict[str, Any]:
    """A profile whose display name is a marker found nowhere else in an answer (ASCII, so a text search finds it
    however the JSON is encoded)."""
    body = "9144" + "".join(secrets.choice(USCC_ALPHABET) for _ in range(13))
    return {
        "legal_name_zh": f"{name}有限公司{TAG}",
        "legal_name_en": f"{name} Co., Ltd. {TAG}",
        "display_name": display_name(name),
        "uscc": body + uscc_check_character(body),
    }


def display_name(name: str) -> str:
    return f"Shown-{name}-{TAG}"


ROSTER = [
    ("core", ["core_enterprise"], {"credit_limit": "1000000.00", "profile": _profile("core")}),
    ("tier1", ["supplier"], {"profile": _profile("tier1")}),
    ("tier2", ["supplier"], {"profile": _profile("tier2")}),
    ("bankA", ["financier"], {"profile": _profile("bankA")}),
    ("bankB", ["financier"], {"profile": _profile("bankB")}),
    ("auditor", ["auditor"], {"profile": _profile("auditor")}),
]
VIEWERS = ["operator", "auditor", "core", "tier1", "tier2", "bankA", "bankB"]
EVERYTHING = {"operator", "auditor", "core"}  # core is the obligor of every receivable here
# whom each other caller sees (besides itself and the obligor), per receivable of the world
SEES: dict[str, dict[str, set[str]]] = {
    "tier1": {"R1": {"tier2", "bankA"}, "R2": {"tier2"}, "R3": {"tier2"}},
    "tier2": {"R1": {"tier1", "bankA"}, "R2": {"tier1"}, "R3": {"tier1", "bankA"}},
    "bankA": {"R1": {"tier1"}, "R2": {"tier1"}, "R3": {"tier1", "tier2"}},
    "bankB": {"R1": set(), "R2": set(), "R3": set()},
}
# fields that name a member beside a note (a holder, a past holder, a counterparty)
MEMBER_FIELDS = {
    "holder_id",
    "lienholder_id",
    "from_member_id",
    "to_member_id",
    "creditor_id",
    "supplier_id",
    "seller_id",
    "financier_id",
    "borrower_id",
    "client_id",
    "requester_id",
    "member_id",
    "members",
}
PSEUDONYM = re.compile(r"^holder-[0-9a-f]{12}$")


def _days(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


@dataclass
class World:
    url: str
    clients: dict[str, httpx.Client]
    ids: dict[str, int]  # member ids by name
    accounts: dict[str, str]
    objects: dict[str, Any] = field(default_factory=dict)  # receivables, notes, order, offer, invoice hashes

    def name_of(self, member_id: int) -> str:
        return next(name for name, i in self.ids.items() if i == member_id)

    def get(self, who: str, path: str, **params: Any) -> httpx.Response:
        return self.clients[who].get(path, params=params)


def _post(client: httpx.Client, path: str, body: dict[str, Any] | None = None, status: int = 200) -> dict[str, Any]:
    return ok(client.post(path, json=body if body is not None else {}), status)


@pytest.fixture(scope="module")
def world(api: ServerThread, operator_key: str) -> Iterator[World]:
    with (
        admitted(api.url, operator_key, ROSTER) as parties,
        httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {operator_key}"}) as op,
    ):
        p: dict[str, Party] = parties
        c = {name: party.client for name, party in p.items()}
        w = World(
            api.url,
            {"operator": op, **c},
            {name: party.id for name, party in p.items()},
            {name: party.account for name, party in p.items()},
        )
        o = w.objects
        # R1 through an order: tier 1 -> core, 10,000.00
        order = {"buyer_id": p["core"].id, "amount": "10000.00", "document_hash": random_hash(), "due_date": _days(60)}
        o["order"] = _post(c["tier1"], "/v1/orders", order, 201)["id"]
        _post(c["core"], f"/v1/orders/{o['order']}/confirm")
        _post(c["tier1"], f"/v1/orders/{o['order']}/deliver")
        o["invoice1"] = random_hash()
        accept = {"face_value": "10000.00", "maturity": _days(90), "invoice_hash": o["invoice1"]}
        o["R1"] = _post(c["core"], f"/v1/orders/{o['order']}/accept", accept)["receivable_id"]
        o["n1"] = ok(c["tier1"].get(f"/v1/receivables/{o['R1']}"))["first_note_id"]
        o["n2"] = _post(c["tier1"], f"/v1/notes/{o['n1']}/split", {"to": p["tier2"].id, "value": "4000.00"}, 201)[
            "new_note"
        ]["id"]
        # tier 2 pays 100.00 of it back to tier 1: value returns to where it came from, a circular-trade alert
        back = {"to": p["tier1"].id, "value": "100.00"}
        o["n_back"] = _post(c["tier2"], f"/v1/notes/{o['n2']}/split", back, 201)["new_note"]["id"]
        _post(c["tier1"], f"/v1/notes/{o['n1']}/lock", {"lienholder_id": p["bankA"].id})
        offer = {"note_id": o["n2"], "value": "1000.00", "rate_bps": 700, "recourse": False, "expires_at": _days(10)}
        o["offer"] = _post(c["bankA"], "/v1/financing/offers", offer, 201)["id"]
        _post(c["tier1"], "/v1/members/me/shares", {"financier_id": p["bankA"].id}, 201)

        def issue(creditor: str, value: str) -> tuple[int, int]:
            body = {"creditor_id": p[creditor].id, "face_value": value, "maturity": _days(90)}
            made = _post(c["core"], "/v1/receivables", {**body, "invoice_hash": random_hash()}, 201)
            return int(made["id"]), int(made["first_note_id"])

        # R2: core -> tier 2, 5,000.00; 2,000.00 on to tier 1
        o["R2"], o["r2root"] = issue("tier2", "5000.00")
        split = {"to": p["tier1"].id, "value": "2000.00"}
        o["r2b"] = _post(c["tier2"], f"/v1/notes/{o['r2root']}/split", split, 201)["new_note"]["id"]
        # R3: core -> tier 1, 3,000.00; 1,000.00 to tier 2; 500.00 of that to bank A
        o["R3"], o["r3root"] = issue("tier1", "3000.00")
        split = {"to": p["tier2"].id, "value": "1000.00"}
        o["r3b"] = _post(c["tier1"], f"/v1/notes/{o['r3root']}/split", split, 201)["new_note"]["id"]
        split = {"to": p["bankA"].id, "value": "500.00"}
        o["r3c"] = _post(c["tier2"], f"/v1/notes/{o['r3b']}/split", split, 201)["new_note"]["id"]
        # bank A buys 200.00 of tier 2's R3 note (a purchase between parties that see each other already) ...
        mint = {"member_id": p["bankA"].id, "amount": "10000.00", "reference": random_hash()}
        _post(c["bankA"], "/v1/cash/mint", mint, 201)
        offer = {"note_id": o["r3b"], "value": "200.00", "rate_bps": 700, "recourse": False, "expires_at": _days(10)}
        bought = _post(c["bankA"], "/v1/financing/offers", offer, 201)["id"]
        o["purchase"] = _post(c["tier2"], f"/v1/financing/offers/{bought}/accept")["id"]
        # ... and lends 500.00 to tier 1 against a second order, pledged to it
        order = {"buyer_id": p["core"].id, "amount": "2000.00", "document_hash": random_hash(), "due_date": _days(60)}
        o["order2"] = _post(c["tier1"], "/v1/orders", order, 201)["id"]
        _post(c["core"], f"/v1/orders/{o['order2']}/confirm")
        _post(c["tier1"], f"/v1/orders/{o['order2']}/pledge", {"financier_id": p["bankA"].id})
        loan = {"order_id": o["order2"], "principal": "500.00", "rate_bps": 600, "due_date": _days(30)}
        o["loan"] = _post(c["bankA"], "/v1/financing/loans", loan, 201)["id"]
        # tier 2 asks both banks for offers on its R2 note: a request shows neither bank who asks (no dealings, no
        # grant from tier 2); nobody answers, so the rule's table above stays as it is
        ask = {"note_id": o["r2root"], "value": "1000.00", "expires_at": _days(10)}
        ask["financier_ids"] = [p["bankA"].id, p["bankB"].id]
        o["request"] = _post(c["tier2"], "/v1/financing/requests", ask, 201)["id"]
        yield w


# ------------------------------------------------------------------------------------------------ the rule


def _visible(w: World, viewer: str, context: str | None) -> set[int]:
    """Member ids `viewer` may see named in `context` (a receivable of the world; None: any of them)."""
    if viewer in EVERYTHING:
        return set(w.ids.values())
    contexts = [context] if context else ["R1", "R2", "R3"]
    names = {viewer, "core"} | {name for ctx in contexts for name in SEES[viewer][ctx]}
    return {w.ids[name] for name in names}


def _named(body: Any) -> Iterator[Any]:
    """Every value in a member field of an answer, at any depth."""
    if isinstance(body, dict):
        for key, value in body.items():
            if key in MEMBER_FIELDS and not isinstance(value, dict):
                yield from value if isinstance(value, list) else [value]
            else:
                yield from _named(value)
    elif isinstance(body, list):
        for item in body:
            yield from _named(item)


def _check_identities(w: World, viewer: str, context: str | None, response: httpx.Response) -> None:
    """Every member an answer names is a real id the viewer may see, or a pseudonym; no hidden member's address,
    nor its name."""
    allowed = _visible(w, viewer, context)
    ours = set(w.ids.values())
    for value in _named(response.json()):
        if value is None:
            continue
        if isinstance(value, str):
            assert PSEUDONYM.match(value), (viewer, response.request.url, value)
            continue
        if value in ours:
            assert value in allowed, (viewer, context, str(response.request.url), w.name_of(value))
    text = response.text.lower()
    for name, account in w.accounts.items():
        if w.ids[name] not in allowed:
            assert account.lower()[2:] not in text, (viewer, str(response.request.url), name)
            assert display_name(name).lower() not in text, (viewer, str(response.request.url), name)


# ------------------------------------------------------------------------------------------ every read route


@dataclass(frozen=True)
class Route:
    name: str
    path: str  # formatted with the world's objects and member ids
    context: str | None  # the receivable whose holders the answer names (None: a list over several)
    ok_for: frozenset[str]  # who gets 200; everyone else a 403 or 404 problem
    params: tuple[tuple[str, str], ...] = ()
    names_holders: bool = True  # False: the member directory and the like (who is a member is not secret)


ALL = frozenset(VIEWERS)


def _only(*names: str) -> frozenset[str]:
    return frozenset(names)


ROUTES = [
    Route("tree R1", "/v1/receivables/{R1}/tree", "R1", ALL),
    Route("tree R2", "/v1/receivables/{R2}/tree", "R2", ALL),
    Route("tree R3", "/v1/receivables/{R3}/tree", "R3", ALL),
    Route("provenance n2", "/v1/notes/{n2}/provenance", "R1", ALL),
    Route("provenance r2b", "/v1/notes/{r2b}/provenance", "R2", ALL),
    Route("provenance r3c", "/v1/notes/{r3c}/provenance", "R3", ALL),
    Route("verify note n2", "/v1/verify/notes/{n2}", "R1", _only("operator", "auditor", "tier2", "bankA", "bankB")),
    Route("verify note n1", "/v1/verify/notes/{n1}", "R1", _only("operator", "auditor", "tier1", "bankA", "bankB")),
    Route("verify note r3c", "/v1/verify/notes/{r3c}", "R3", _only("operator", "auditor", "bankA", "bankB")),
    Route(
        "proof n2",
        "/v1/verify/notes/{n2}",
        "R1",
        _only("operator", "auditor", "tier2"),  # bank A's open offer does not show it tier 2
        (("proof", "true"),),
    ),
    Route(
        "proof n1", "/v1/verify/notes/{n1}", "R1", _only("operator", "auditor", "tier1", "bankA"), (("proof", "true"),)
    ),
    Route(
        "verify invoice R1",
        "/v1/verify/invoice",
        "R1",
        _only("operator", "auditor", "core", "tier1", "bankA", "bankB"),
        (("hash", "{invoice1}"),),
    ),
    Route("verify order", "/v1/verify/orders/{order}", "R1", ALL - {"tier2"}),
    Route("note n2", "/v1/notes/{n2}", "R1", _only("operator", "auditor", "core", "tier2")),
    Route("note n1", "/v1/notes/{n1}", "R1", _only("operator", "auditor", "core", "tier1", "bankA")),
    Route("notes", "/v1/notes", None, ALL, (("status", "all"), ("limit", "500"))),
    Route("request", "/v1/financing/requests/{request}", "R2", _only("operator", "auditor", "tier2", "bankA", "bankB")),
    Route("requests", "/v1/financing/requests", None, ALL, (("limit", "500"),)),
    Route("offer", "/v1/financing/offers/{offer}", "R1", _only("operator", "auditor", "tier2", "bankA")),
    Route("offers", "/v1/financing/offers", None, ALL, (("limit", "500"),)),
    Route("purchases", "/v1/financing/purchases", None, ALL),
    Route("purchase", "/v1/financing/purchases/{purchase}", "R3", _only("operator", "auditor", "tier2", "bankA")),
    Route("loan", "/v1/financing/loans/{loan}", None, _only("operator", "auditor", "tier1", "bankA")),
    Route("loans", "/v1/financing/loans", None, ALL),
    Route("receivable R1", "/v1/receivables/{R1}", "R1", _only("operator", "auditor", "core", "tier1", "tier2")),
    Route(
        "funding R1", "/v1/settlement/receivables/{R1}", "R1", _only("operator", "auditor", "core", "tier1", "tier2")
    ),
    Route("receivables", "/v1/receivables", None, ALL, (("limit", "500"),)),
    Route("metadata n1", "/v1/metadata/notes/{n1}", "R1", _only("operator", "auditor", "core", "tier1", "bankA")),
    Route("metadata R1", "/v1/metadata/receivables/{R1}", "R1", _only("operator", "auditor", "core", "tier1", "tier2")),
    Route("metadata contract", "/v1/metadata/contract", None, ALL, names_holders=False),
    Route("order", "/v1/orders/{order}", "R1", _only("operator", "auditor", "core", "tier1")),
    Route("orders", "/v1/orders", None, ALL, (("limit", "500"),)),
    Route("holdings tier1", "/v1/verify/holdings/{id:tier1}", None, _only("operator", "auditor", "tier1", "bankA")),
    Route("holdings tier2", "/v1/verify/holdings/{id:tier2}", None, _only("operator", "auditor", "tier2")),
    Route(
        "export tier1",
        "/v1/export/members/{id:tier1}",
        None,
        _only("operator", "auditor", "tier1"),
        (("from", "{today-1}"), ("to", "{today+1}")),
    ),
    Route(
        "export bankA",
        "/v1/export/members/{id:bankA}",
        None,
        _only("operator", "auditor", "bankA"),
        (("from", "{today-1}"), ("to", "{today+1}")),
    ),
    Route("alerts", "/v1/alerts", None, _only("operator", "auditor")),
    Route(
        "cash moves tier1",
        "/v1/cash/moves",
        None,
        _only("operator", "auditor", "tier1"),
        (("member_id", "{id:tier1}"),),
    ),
    Route(
        "mint ceiling bankA",
        "/v1/cash/mint-ceilings/{id:bankA}",
        None,
        _only("operator", "auditor", "bankA"),
        names_holders=False,
    ),
    Route(
        "cash balance tier1",
        "/v1/cash/balance",
        None,
        _only("operator", "auditor", "tier1"),
        (("member_id", "{id:tier1}"),),
    ),
    # a credit assessment is about the member asked for by id, open to every financier (docs/credit.md); it names
    # no holder of anything
    Route("credit tier1", "/v1/members/{id:tier1}/credit", None, ALL - {"core", "tier2"}, names_holders=False),
    Route("shares", "/v1/members/me/shares", None, ALL - {"operator"}),
    Route("api keys tier1", "/v1/members/{id:tier1}/api-keys", None, _only("operator", "tier1"), names_holders=False),
    Route("audit", "/v1/audit", None, _only("operator", "auditor"), names_holders=False),
    Route("members", "/v1/members", None, ALL, (("limit", "500"),), names_holders=False),
    Route("member tier1", "/v1/members/{id:tier1}", None, ALL, names_holders=False),
    Route("verify member tier1", "/v1/verify/members/{id:tier1}", None, ALL, names_holders=False),
    Route("me", "/v1/members/me", None, ALL - {"operator"}, names_holders=False),
]


def _fill(w: World, template: str) -> str:
    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key.startswith("id:"):
            return str(w.ids[key[3:]])
        if key.startswith("today"):
            return _days(int(key[5:]))
        return str(w.objects[key])

    return re.sub(r"\{([^}]+)\}", one, template)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_every_read_route_names_holders_by_the_rule(world: World, route: Route) -> None:
    for viewer in VIEWERS:
        params = {k: _fill(world, v) for k, v in route.params}
        response = world.get(viewer, _fill(world, route.path), **params)
        if viewer not in route.ok_for:
            problem(response, None)
            assert response.status_code in (403, 404), (viewer, route.name, response.text)
            continue
        assert response.status_code == 200, (viewer, route.name, response.text)
        if route.names_holders:
            _check_identities(world, viewer, route.context, response)


def test_the_table_has_every_read_route(world: World) -> None:
    """A GET route added later must join `ROUTES` (and so the rule's check) to pass."""
    paths = ok(world.get("operator", "/openapi.json"))["paths"]
    served = [p for p, methods in paths.items() if p.startswith("/v1/") and "get" in methods]
    # /v1/audit/verify: a yes/no answer, no members; /v1/abi: public, the contracts' ABIs
    called = [_fill(world, route.path) for route in ROUTES] + ["/v1/audit/verify", "/v1/abi"]
    for path in served:
        pattern = re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)) + "$")
        assert any(pattern.match(c) for c in called), f"{path} is not in ROUTES"


def _tree(w: World, viewer: str, receivable: str) -> dict[str, Any]:
    return ok(w.get(viewer, f"/v1/receivables/{w.objects[receivable]}/tree"))


def _same_name(w: World, allowed: set[int], real: int | None, name: str | None) -> None:
    """A member's name beside it: its display name where its id is shown, else none."""
    if real is None or real not in allowed:
        assert name is None, (real, name)
    else:
        assert name == display_name(w.name_of(real)), (real, name)


def _same(w: World, allowed: set[int], aliases: dict[int, str], real: int | None, shown: Any) -> None:
    """A member as the operator sees it (`real`) and as a caller does (`shown`)."""
    if real is None:
        assert shown is None
    elif real in allowed:
        assert shown == real, (w.name_of(real), shown)
    else:
        assert isinstance(shown, str) and PSEUDONYM.match(shown), (w.name_of(real), shown)
        assert aliases.setdefault(real, shown) == shown  # one pseudonym per member within the tree


@pytest.mark.parametrize("viewer", VIEWERS)
def test_trees_show_each_holder_exactly_as_the_rule_says(world: World, viewer: str) -> None:
    """Node by node and edge by edge against the operator's tree: the same notes and values; each member the real
    id where the rule shows it, else a pseudonym (one per member within a tree)."""
    for receivable in ("R1", "R2", "R3"):
        truth = _tree(world, "operator", receivable)
        seen = _tree(world, viewer, receivable)
        allowed = _visible(world, viewer, receivable)
        aliases: dict[int, str] = {}

        assert [(n["note_id"], n["value"], n["live"]) for n in seen["nodes"]] == [
            (n["note_id"], n["value"], n["live"]) for n in truth["nodes"]
        ]
        for mine, real in zip(seen["nodes"], truth["nodes"], strict=True):
            _same(world, allowed, aliases, real["holder_id"], mine["holder_id"])
            _same(world, allowed, aliases, real["lienholder_id"], mine["lienholder_id"])
            _same_name(world, allowed, real["holder_id"], mine["holder_name"])
            _same_name(world, allowed, real["lienholder_id"], mine["lienholder_name"])
        for mine, real in zip(seen["edges"], truth["edges"], strict=True):
            assert (mine["kind"], mine["value"]) == (real["kind"], real["value"])
            _same(world, allowed, aliases, real["from_member_id"], mine["from_member_id"])
            _same(world, allowed, aliases, real["to_member_id"], mine["to_member_id"])
            _same_name(world, allowed, real["from_member_id"], mine["from_member_name"])
            _same_name(world, allowed, real["to_member_id"], mine["to_member_name"])
        assert len(set(aliases.values())) == len(aliases)  # different members, different pseudonyms


def test_bank_without_a_grant_cannot_rebuild_holdings_from_trees(world: World) -> None:
    """Issue 19 point 7: bank B walks the tree of every receivable on the ledger. It sees every note's value (the
    totals add up) but no holder, lienholder or counterparty other than pseudonyms, and no pseudonym spans two
    receivables, so values cannot be summed per holder across them."""
    everything = ok(world.get("operator", "/v1/receivables", limit="500"))["items"]
    assert {world.objects[r] for r in ("R1", "R2", "R3")} <= {r["id"] for r in everything}
    contexts: dict[str, int] = {}
    for receivable in everything:
        response = world.get("bankB", f"/v1/receivables/{receivable['id']}/tree")
        assert response.status_code == 200, response.text
        tree = response.json()
        for value in _named(tree):
            assert value is None or (isinstance(value, str) and PSEUDONYM.match(value)), (receivable["id"], value)
            if value is not None:
                assert contexts.setdefault(value, receivable["id"]) == receivable["id"], value
        for account in world.accounts.values():
            assert account.lower()[2:] not in response.text.lower()
        live = sum(Decimal(n["value"]) for n in tree["nodes"] if n["live"])
        assert live == Decimal(tree["outstanding"])
        assert Decimal(tree["outstanding"]) == Decimal(tree["face_value"]) - Decimal(tree["redeemed"])
        assert tree["balanced"] is True
    # and what it would have rebuilt: tier 1 holds 6,100.00 (R1) + 2,000.00 (R2) + 2,000.00 (R3) today
    held = ok(world.get("tier1", f"/v1/verify/holdings/{world.ids['tier1']}"))["totals"]["total"]
    assert Decimal(held) == Decimal("10100.00")
    problem(world.get("bankB", f"/v1/verify/holdings/{world.ids['tier1']}"), 403, "forbidden")


def test_pseudonyms_are_stable_per_caller_and_differ_between_callers(world: World) -> None:
    first = _tree(world, "bankB", "R1")
    again = _tree(world, "bankB", "R1")
    assert [n["holder_id"] for n in first["nodes"]] == [n["holder_id"] for n in again["nodes"]]
    by_b = {n["note_id"]: n["holder_id"] for n in _tree(world, "bankB", "R2")["nodes"]}
    by_a = {n["note_id"]: n["holder_id"] for n in _tree(world, "bankA", "R2")["nodes"]}
    root = world.objects["r2root"]  # tier 2's note: hidden from both banks
    assert isinstance(by_a[root], str) and isinstance(by_b[root], str)
    assert by_a[root] != by_b[root]


def test_a_proof_is_served_only_to_who_may_see_the_holder(world: World) -> None:
    n2 = world.objects["n2"]
    hidden = ok(world.get("bankB", f"/v1/verify/notes/{n2}"))
    assert PSEUDONYM.match(hidden["holder"]["member_id"]) and hidden["holder"]["account"] is None
    assert hidden["holder"]["name"] is None
    assert Decimal(hidden["value"]) == Decimal("3900.00")
    body = problem(world.get("bankB", f"/v1/verify/notes/{n2}", proof="true"), 403, "forbidden")
    assert "holder" in body["detail"]
    shown = ok(world.get("tier2", f"/v1/verify/notes/{n2}", proof="true"))
    tier2 = {"member_id": world.ids["tier2"], "account": world.accounts["tier2"], "name": display_name("tier2")}
    assert shown["holder"] == tier2
    assert shown["proof"] is not None


def test_an_open_offer_does_not_show_the_holder_to_its_financier(world: World) -> None:
    """Anyone with the financier role may offer on any note: were an offer to show the holder, offers would be the
    bypass. The holder, addressed by the offer, sees the financier."""
    offer = world.objects["offer"]
    seen_by_bank = ok(world.get("bankA", f"/v1/financing/offers/{offer}"))
    assert PSEUDONYM.match(seen_by_bank["holder_id"]) and seen_by_bank["financier_id"] == world.ids["bankA"]
    seen_by_holder = ok(world.get("tier2", f"/v1/financing/offers/{offer}"))
    assert (seen_by_holder["holder_id"], seen_by_holder["financier_id"]) == (world.ids["tier2"], world.ids["bankA"])
    export = ok(world.get("bankA", f"/v1/export/members/{world.ids['bankA']}", **{"from": _days(-1), "to": _days(1)}))
    [row] = [r for r in export["financings"] if r["kind"] == "offer" and r["id"] == offer]
    assert PSEUDONYM.match(row["client_id"])


def test_a_grant_shows_its_giver_and_revoking_it_hides_it_again(world: World) -> None:
    tier1, bank_a = world.ids["tier1"], world.ids["bankA"]
    r2b = world.objects["r2b"]  # tier 1's note in R2, where bank A has no dealings

    def holder_seen() -> Any:
        return next(n["holder_id"] for n in _tree(world, "bankA", "R2")["nodes"] if n["note_id"] == r2b)

    assert holder_seen() == tier1
    _post(world.clients["tier1"], f"/v1/members/me/shares/{bank_a}/revoke")
    try:
        assert PSEUDONYM.match(holder_seen())
        problem(world.get("bankA", f"/v1/verify/holdings/{tier1}"), 403, "forbidden")
        # where bank A dealt with tier 1 (its lien on n1 in R1) it still sees it
        n1 = next(n for n in _tree(world, "bankA", "R1")["nodes"] if n["note_id"] == world.objects["n1"])
        assert n1["holder_id"] == tier1
    finally:
        _post(world.clients["tier1"], "/v1/members/me/shares", {"financier_id": bank_a}, 201)
    assert holder_seen() == tier1


def test_alerts_in_a_members_export_name_only_itself(world: World) -> None:
    """A member's export carries the alerts naming it; the other members an alert names are pseudonyms to it
    (alerts have no receivable context: only itself and its grantors), while the auditor sees every id."""
    tier1, tier2 = world.ids["tier1"], world.ids["tier2"]
    span = {"from": _days(-1), "to": _days(1)}
    by_auditor = ok(world.get("auditor", f"/v1/export/members/{tier1}", **span))["alerts"]
    [circular] = [a for a in by_auditor if a["rule"] == "circular_trade" and tier2 in a["members"]]
    own = ok(world.get("tier1", f"/v1/export/members/{tier1}", **span))["alerts"]
    [mine] = [a for a in own if a["id"] == circular["id"]]
    assert tier1 in mine["members"] and tier2 not in mine["members"]
    [other] = [m for m in mine["members"] if m != tier1]
    assert PSEUDONYM.match(other)


def test_names_stand_beside_the_ids_a_caller_sees(world: World) -> None:
    """Display names beside ids in notes, receivables, offers and purchases (a leak is caught by the rule check)."""
    o = world.objects
    receivable = ok(world.get("tier1", f"/v1/receivables/{o['R1']}"))
    assert (receivable["obligor_name"], receivable["creditor_name"]) == (display_name("core"), display_name("tier1"))
    note = ok(world.get("tier1", f"/v1/notes/{o['n1']}"))
    assert (note["holder_name"], note["lienholder_name"]) == (display_name("tier1"), display_name("bankA"))
    assert note["obligor_name"] == display_name("core")
    offer = ok(world.get("tier2", f"/v1/financing/offers/{o['offer']}"))
    assert (offer["financier_name"], offer["holder_name"]) == (display_name("bankA"), display_name("tier2"))
    purchase = ok(world.get("bankA", f"/v1/financing/purchases/{o['purchase']}"))
    assert (purchase["seller_name"], purchase["financier_name"]) == (display_name("tier2"), display_name("bankA"))
    order = ok(world.get("core", f"/v1/orders/{o['order']}"))
    assert (order["supplier_name"], order["buyer_name"]) == (display_name("tier1"), display_name("core"))
    listed = ok(world.get("bankB", "/v1/members", limit=500))["items"]
    assert {m["id"]: m["name"] for m in listed}[world.ids["tier2"]] == display_name("tier2")
