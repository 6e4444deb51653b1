"""Smaller inconsistencies between routes, and between the routes and their docs, over real HTTP (issue 19, point 8).

- Redeeming a burned note answers 409 `note-not-live` (docs/errors.md), not the contract's unknown-token 404.
- Suspending a suspended member and reinstating an active one answer alike: 409 naming the member's state.
- What docs/permissions.md says of suspension in the API: a suspended member cannot issue itself an API key
  (the operator can), and can still grant a holdings share.
- A 401 says how to authenticate (`WWW-Authenticate`); a 405 says what is allowed (`Allow`).
- A split to oneself is refused as a transfer to oneself is: 422 `self-transfer`.
- An offer on a matured note is refused (409 `slot-matured`, the problem its sale would have met).
(A body in another charset than the declared one: tests/api/test_strict_input.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest

from chain.node.rpc import rpc_call
from tests.conftest import Party, PrivateWorld, ServerThread, admitted, ok, private_world, problem, random_hash

ROSTER = [
    ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
    ("supplier", ["supplier"], {}),
    ("supplier2", ["supplier"], {}),
    ("bank", ["financier"], {}),
]


def _issue(core: Party, creditor: Party, face_value: str, days: int) -> dict[str, int]:
    body = {
        "creditor_id": creditor.id,
        "face_value": face_value,
        "maturity": (date.today() + timedelta(days=days)).isoformat(),
        "invoice_hash": random_hash(),
    }
    return ok(core.client.post("/v1/receivables", json=body), 201)


@pytest.fixture(scope="module")
def parties(api: ServerThread, operator_key: str) -> Iterator[dict[str, Party]]:
    with admitted(api.url, operator_key, ROSTER) as found:
        yield found


def test_suspend_and_reinstate_refuse_alike(operator: httpx.Client, parties: dict[str, Party]) -> None:
    member = parties["supplier2"].id
    refused = problem(operator.post(f"/v1/members/{member}/reinstate"), 409, "member-not-suspended")
    assert refused["memberStatus"] == "active"
    assert ok(operator.post(f"/v1/members/{member}/suspend"))["status"] == "suspended"
    try:
        refused = problem(operator.post(f"/v1/members/{member}/suspend"), 409, "member-already-suspended")
        assert refused["memberStatus"] == "suspended"
    finally:
        assert ok(operator.post(f"/v1/members/{member}/reinstate"))["status"] == "active"


def test_what_a_suspended_member_may_still_do_in_the_api(operator: httpx.Client, parties: dict[str, Party]) -> None:
    """docs/permissions.md: a suspended member cannot issue itself a key, the operator can; a share it can grant."""
    supplier = parties["supplier"]
    ok(operator.post(f"/v1/members/{supplier.id}/suspend"))
    try:
        issue = f"/v1/members/{supplier.id}/api-keys"
        problem(supplier.client.post(issue, json={"label": "mine"}), 403, "member-not-active")
        ok(operator.post(issue, json={"label": "by the operator"}), 201)
        grant = {"financier_id": parties["bank"].id}
        ok(supplier.client.post("/v1/members/me/shares", json=grant), 201)
    finally:
        ok(operator.post(f"/v1/members/{supplier.id}/reinstate"))


def test_401_says_how_to_authenticate_and_405_what_is_allowed(http: httpx.Client, operator: httpx.Client) -> None:
    for response in (http.get("/v1/members/me"), http.post("/v1/orders", json={})):
        problem(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    refused = http.put("/health")
    problem(refused, 405, "method-not-allowed")
    assert refused.headers["Allow"] == "GET"
    # a path served by two routes (list and admit) names both methods, as the spec documents them
    refused = operator.put("/v1/members")
    problem(refused, 405, "method-not-allowed")
    assert refused.headers["Allow"] == "GET, POST"


def test_a_split_to_oneself_is_refused_as_a_transfer_to_oneself(parties: dict[str, Party]) -> None:
    supplier = parties["supplier"]
    note = _issue(parties["core"], supplier, "1000.00", 60)["first_note_id"]
    split = supplier.client.post(f"/v1/notes/{note}/split", json={"to": supplier.id, "value": "10.00"})
    transfer = supplier.client.post(f"/v1/notes/{note}/transfer", json={"to": supplier.id})
    assert problem(split, 422, "self-transfer")["type"] == problem(transfer, 422, "self-transfer")["type"]
    after = ok(supplier.client.get(f"/v1/notes/{note}"))
    assert (after["value"], after["holder_id"]) == ("1000.00", supplier.id)


# ------------------------------------------------------- on a chain of its own, whose clock the test moves


@pytest.fixture(scope="module")
def matured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PrivateWorld, dict[str, Party]]]:
    with (
        private_world(tmp_path_factory.mktemp("scf-consistency")) as world,
        admitted(world.server.url, world.operator_key, ROSTER) as found,
    ):
        yield world, found


def test_matured_notes_cannot_be_offered_and_a_burned_note_is_not_live(
    matured: tuple[PrivateWorld, dict[str, Party]],
) -> None:
    world, p = matured
    core, supplier, bank = p["core"], p["supplier"], p["bank"]
    ok(bank.client.post("/v1/cash/mint", json={"member_id": core.id, "amount": "5000.00", "reference": "r"}), 201)
    funded, other = _issue(core, supplier, "1000.00", 1), _issue(core, supplier, "1000.00", 1)
    unfunded = _issue(core, supplier, "1000.00", 1)
    for slot in (funded, other):
        ok(core.client.post(f"/v1/settlement/receivables/{slot['id']}/fund", json={"amount": "1000.00"}))
    offer = {"value": "100.00", "rate_bps": 500, "recourse": False, "expires_at": date.today() + timedelta(days=5)}
    offer["expires_at"] = str(offer["expires_at"])
    ok(bank.client.post("/v1/financing/offers", json={"note_id": unfunded["first_note_id"], **offer}), 201)

    rpc_call(world.chain.url, "evm_increaseTime", [2 * 86_400])
    rpc_call(world.chain.url, "evm_mine")

    refused = bank.client.post("/v1/financing/offers", json={"note_id": unfunded["first_note_id"], **offer})
    assert "matured" in problem(refused, 409, "slot-matured")["detail"]

    redeem = f"/v1/settlement/notes/{funded['first_note_id']}/redeem"
    ok(supplier.client.post(redeem))
    problem(supplier.client.post(redeem), 409, "note-not-live")
    # a retry of the redemption itself (same Idempotency-Key) still gets its first answer
    key = {"Idempotency-Key": "redeem-again"}
    again = f"/v1/settlement/notes/{other['first_note_id']}/redeem"
    first = ok(supplier.client.post(again, headers=key))
    replay = supplier.client.post(again, headers=key)
    assert ok(replay) == first and replay.headers.get("Idempotent-Replayed") == "true"
