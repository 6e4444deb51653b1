"""Dynamic credit and the evidence export over real HTTP, on a chain of their own (the tests move its clock)."""

from __future__ import annotations

import csv
import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner
from web3 import Web3
from web3.contract import Contract

from api.profiles import USCC_ALPHABET, uscc_check_character
from api.services.credit import CreditPolicy
from api.settings import Settings
from chain.node.client import contract
from scripts.cli import app as cli_app
from scripts.runtime import Ledger
from tests.conftest import PrivateWorld, ServerThread, ok, private_world, problem, random_hash, with_mint_ceiling

DAY = 86_400


class Party:
    def __init__(self, api: ServerThread, member: dict[str, Any], key: str) -> None:
        self.id: int = member["id"]
        self.key = key
        self.account: str = Web3.to_checksum_address(member["account"])
        self.client = httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {key}"})


def _profile(display_name: str, legal_zh: str) -> dict[str, str]:
    """A member profile with a valid unified social credit code (GB 32100-2015 check character)."""
    body = "9131" + "".join(secrets.choice(USCC_ALPHABET) for _ in range(13))
    return {
        "legal_name_zh": legal_zh,
        "legal_name_en": f"{display_name} Co., Ltd.",
        "display_name": display_name,
        "uscc": body + uscc_check_character(body),
    }


#: display names: the credit answer and the evidence export carry them beside the member ids
NAMES = {"core": "华东重工", "supplier": "苏州精密", "bank": "招商银行上海分行"}

PARTIES: list[tuple[str, list[str], dict[str, Any]]] = [
    (
        "core",
        ["core_enterprise"],
        {"credit_limit": "10000000.00", "profile": _profile(NAMES["core"], "华东重工有限公司")},
    ),
    ("supplier", ["supplier"], {"profile": _profile(NAMES["supplier"], "苏州精密机械有限公司")}),
    ("other", ["supplier"], {}),
    ("bank", ["financier"], {"profile": _profile(NAMES["bank"], "招商银行股份有限公司上海分行")}),
    ("treasury", ["financier"], {}),  # mints test cash on chain directly
    ("auditor", ["auditor"], {}),
]


@dataclass
class World:
    world: PrivateWorld
    parties: dict[str, Party]
    cash: Contract

    @property
    def ledger(self) -> Ledger:
        return self.world.ledger

    def mint(self, to: Party, amount: int) -> None:
        treasury = self.parties["treasury"].account
        self.ledger.w3.provider.make_request("anvil_impersonateAccount", [treasury])  # type: ignore[arg-type]
        tx = self.cash.functions.mint(to.account, amount, bytes.fromhex(uuid.uuid4().hex * 2)).transact(
            {"from": treasury}
        )
        assert self.ledger.w3.eth.wait_for_transaction_receipt(tx)["status"] == 1

    def advance(self, seconds: int) -> None:
        self.ledger.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def chain_today(self) -> date:
        stamp = int(self.ledger.w3.eth.get_block("latest")["timestamp"])
        return datetime.fromtimestamp(stamp, tz=UTC).date()

    def mark_default(self, slot_id: int) -> None:
        settlement = contract(self.ledger.w3, self.ledger.deployment, self.ledger.artifacts, "Settlement")
        treasury = self.parties["treasury"].account
        self.ledger.w3.provider.make_request("anvil_impersonateAccount", [treasury])  # type: ignore[arg-type]
        tx = settlement.functions.markDefault(slot_id).transact({"from": treasury})
        assert self.ledger.w3.eth.wait_for_transaction_receipt(tx)["status"] == 1


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with private_world(tmp_path_factory.mktemp("scf-credit")) as private:
        parties: dict[str, Party] = {}
        with httpx.Client(
            base_url=private.server.url, timeout=60, headers={"Authorization": f"Bearer {private.operator_key}"}
        ) as op:
            for name, roles, extra in PARTIES:
                identity = {} if "profile" in extra else {"kyc_hash": random_hash()}
                body = ok(
                    op.post("/v1/members", json=with_mint_ceiling(roles, {"roles": roles, **identity, **extra})),
                    201,
                )
                parties[name] = Party(private.server, body["member"], body["api_key"])
        cash = contract(private.ledger.w3, private.ledger.deployment, private.ledger.artifacts, "CashToken")
        yield World(private, parties, cash)
        for party in parties.values():
            party.client.close()


def _receivable(w: World, face: str, days: int) -> dict[str, Any]:
    core, supplier = w.parties["core"], w.parties["supplier"]
    maturity = (w.chain_today() + timedelta(days=days)).isoformat()
    body = {"creditor_id": supplier.id, "face_value": face, "maturity": maturity, "invoice_hash": random_hash()}
    return ok(core.client.post("/v1/receivables", json=body), 201)


def _loan(w: World, amount: str, principal: str, due_in_days: int) -> dict[str, Any]:
    core, supplier, bank = w.parties["core"], w.parties["supplier"], w.parties["bank"]
    due = (w.chain_today() + timedelta(days=60)).isoformat()
    proposal = {"buyer_id": core.id, "amount": amount, "document_hash": random_hash(), "due_date": due}
    order_id = int(ok(supplier.client.post("/v1/orders", json=proposal), 201)["id"])
    ok(core.client.post(f"/v1/orders/{order_id}/confirm"))
    ok(supplier.client.post(f"/v1/orders/{order_id}/pledge", json={"financier_id": bank.id}))
    loan_due = (w.chain_today() + timedelta(days=due_in_days)).isoformat()
    body = {"order_id": order_id, "principal": principal, "rate_bps": 0, "due_date": loan_due}
    return ok(bank.client.post("/v1/financing/loans", json=body), 201)


def _credit(w: World, who: str = "supplier") -> dict[str, Any]:
    return ok(w.parties[who].client.get(f"/v1/members/{w.parties['supplier'].id}/credit"))


def test_credit_follows_the_history_and_its_visibility(world: World) -> None:
    w = world
    supplier, other, bank, auditor = (w.parties[n] for n in ("supplier", "other", "bank", "auditor"))
    w.mint(bank, 100_000_000)
    w.mint(supplier, 10_000_000)

    fresh = _credit(w)
    assert fresh["capacity"] == "0.00" and fresh["currency"] == "CNY"
    assert fresh["components"]["confirmed_volume_365d"] == "0.00"

    _receivable(w, "10000.00", days=90)
    c = _credit(w)
    assert c["member_id"] == supplier.id and c["member_name"] == NAMES["supplier"]
    assert c["components"]["confirmed_volume_365d"] == "10000.00"
    assert c["components"]["base"] == "5000.00"
    assert c["components"]["score"] == "1.0000"
    assert c["capacity"] == "5000.00"
    assert c["formula"].endswith("= max(0, 5000.00 x 1.0000 - 0.00) = 5000.00"), c["formula"]
    assert c["as_of_block"] >= 1

    # an open loan is exposure; repaying it on time raises the score
    loan = _loan(w, "10000.00", "9000.00", due_in_days=30)
    c = _credit(w)
    assert c["components"]["exposure"] == "9000.00" and c["components"]["loan_exposure"] == "9000.00"
    assert c["capacity"] == "0.00"
    ok(supplier.client.post(f"/v1/financing/loans/{loan['id']}/repay"))
    c = _credit(w)
    assert c["components"]["on_time_repayments"] == 1 and c["components"]["on_time_loans"] == 1
    assert c["components"]["score"] == "1.0500"
    assert c["capacity"] == "5250.00"

    # notes sold with recourse are exposure until they are settled
    def sell_with_recourse(face: str) -> tuple[int, dict[str, Any]]:
        note = _receivable(w, face, days=2)
        expires = (w.chain_today() + timedelta(days=1)).isoformat()
        offer = {
            "note_id": note["first_note_id"],
            "value": face,
            "rate_bps": 0,
            "recourse": True,
            "expires_at": expires,
        }
        offer_id = ok(bank.client.post("/v1/financing/offers", json=offer), 201)["id"]
        return note["id"], ok(supplier.client.post(f"/v1/financing/offers/{offer_id}/accept"))

    slot_id, purchase = sell_with_recourse("2000.00")
    paid_slot, _ = sell_with_recourse("1000.00")
    core = w.parties["core"]
    ok(
        bank.client.post("/v1/cash/mint", json={"member_id": core.id, "amount": "1000.00", "reference": "dep-credit"}),
        201,
    )
    ok(core.client.post(f"/v1/settlement/receivables/{paid_slot}/fund", json={"amount": "1000.00"}))
    c = _credit(w)
    assert c["components"]["confirmed_volume_365d"] == "13000.00"
    assert c["components"]["recourse_exposure"] == "3000.00"
    assert c["capacity"] == "3825.00"  # 6500.00 x 1.05 - 3000.00

    # a loan repaid after its due date is late
    late = _loan(w, "1000.00", "900.00", due_in_days=1)
    assert _credit(w)["capacity"] == "2925.00"  # 6825.00 - 3900.00
    w.advance(3 * DAY)
    ok(supplier.client.post(f"/v1/financing/loans/{late['id']}/repay"))
    c = _credit(w)
    assert (c["components"]["on_time_repayments"], c["components"]["late_repayments"]) == (1, 1)
    assert c["components"]["score"] == "0.9000"
    assert c["capacity"] == "2850.00"  # 6500.00 x 0.90 - 3000.00

    # the funded receivable is settled at maturity with recourse never claimed: an on-time repayment
    ok(bank.client.post(f"/v1/settlement/receivables/{paid_slot}/settle", json={}))
    c = _credit(w)
    assert c["components"]["on_time_recourse_sales"] == 1 and c["components"]["on_time_repayments"] == 2
    assert c["components"]["recourse_exposure"] == "2000.00"
    assert c["capacity"] == "4175.00"  # 6500.00 x 0.95 - 2000.00

    # the receivable sold with recourse defaults and the bank exercises recourse: a default, capacity zero
    w.advance(10 * DAY)
    w.mark_default(slot_id)
    ok(bank.client.post(f"/v1/financing/purchases/{purchase['id']}/claim-recourse"))
    c = _credit(w)
    assert c["components"]["defaults"] == 1 and c["components"]["recourse_claims"] == 1
    assert c["components"]["recent_default"] is True
    assert c["components"]["last_default_block"] <= c["as_of_block"]
    assert c["components"]["score"] == "0.4500"
    assert c["capacity"] == "0.00"
    assert "within the last 180 days" in c["formula"]

    # visibility: the member, financiers, auditors and the operator; others get 403 without data
    assert _credit(w, "bank")["capacity"] == "0.00"
    assert _credit(w, "auditor")["capacity"] == "0.00"
    with httpx.Client(
        base_url=w.world.server.url, headers={"Authorization": f"Bearer {w.world.operator_key}"}, timeout=60
    ) as op:
        assert ok(op.get(f"/v1/members/{supplier.id}/credit"))["member_id"] == supplier.id
    body = problem(other.client.get(f"/v1/members/{supplier.id}/credit"), 403, "forbidden")
    assert "capacity" not in body
    problem(other.client.get("/v1/members/999999/credit"), 403, "forbidden")
    problem(auditor.client.get("/v1/members/999999/credit"), 404, "not-found")
    problem(auditor.client.get(f"/v1/members/{2**70}/credit"), 404, "not-found")
    assert ok(other.client.get(f"/v1/members/{other.id}/credit"))["capacity"] == "0.00"


def test_export_bundle_range_and_access(world: World, tmp_path: Path) -> None:
    w = world
    supplier, other, bank, auditor = (w.parties[n] for n in ("supplier", "other", "bank", "auditor"))
    if not ok(supplier.client.get("/v1/financing/loans"))["items"]:
        test_credit_follows_the_history_and_its_visibility(w)
    start = (date.today() - timedelta(days=1)).isoformat()
    end = (w.chain_today() + timedelta(days=1)).isoformat()
    path = f"/v1/export/members/{supplier.id}"

    bundle = ok(auditor.client.get(path, params={"from": start, "to": end}))
    assert bundle["member"]["id"] == supplier.id
    assert bundle["range"]["from"] == start and bundle["range"]["to"] == end
    assert bundle["range"]["from_block"] <= bundle["range"]["to_block"] <= bundle["indexed_block"]
    events = [row["event"] for row in bundle["orders"]]
    assert events.count("OrderProposed") == 2 and events.count("OrderPledged") == 2
    assert all(len(row["tx_hash"]) == 66 and row["at"] for row in bundle["orders"])
    kinds = {(row["kind"], row["event"]) for row in bundle["financings"]}
    assert {("loan", "LoanOpened"), ("loan", "LoanRepaid"), ("purchase", "OfferAccepted")} <= kinds
    assert ("purchase", "RecourseClaimed") in kinds and ("offer", "OfferMade") in kinds
    strangers = [r for r in bundle["financings"] if supplier.id not in (r["financier_id"], r["client_id"])]
    assert strangers == []
    mints = [t for t in bundle["transfers"] if t["kind"] == "mint" and t["to_member_id"] == supplier.id]
    assert {t["value"] for t in mints} >= {"10000.00", "2000.00"}
    sold = [t for t in bundle["transfers"] if t["to_member_id"] == bank.id]
    assert sold and sold[0]["value"] == "2000.00"
    note_ids = {n["note_id"] for n in bundle["notes"]}
    assert {t["to_note_id"] for t in mints} <= note_ids

    # names beside the member ids the bundle shows (null for a member without a profile, and for nobody)
    assert bundle["member"]["name"] == NAMES["supplier"]
    assert {t["to_member_name"] for t in mints} == {NAMES["supplier"]}
    assert all(t["from_member_id"] is None and t["from_member_name"] is None for t in mints)
    assert sold[0]["to_member_name"] == NAMES["bank"]
    assert {(r["supplier_name"], r["buyer_name"]) for r in bundle["orders"]} == {(NAMES["supplier"], NAMES["core"])}
    assert {r["financier_name"] for r in bundle["financings"]} == {NAMES["bank"]}
    assert {r["client_name"] for r in bundle["financings"] if r["client_id"] == supplier.id} == {NAMES["supplier"]}
    assert {n["obligor_name"] for n in bundle["notes"] if n["obligor_id"] == w.parties["core"].id} == {NAMES["core"]}
    named = {w.parties[n].id: name for n, name in NAMES.items()}
    assert all(n["holder_name"] == named.get(n["holder_id"]) for n in bundle["notes"]), bundle["notes"]

    # the member itself and the operator may export; a financier or another member may not
    assert ok(supplier.client.get(path, params={"from": start, "to": end}))["member"]["id"] == supplier.id
    problem(bank.client.get(path, params={"from": start, "to": end}), 403, "forbidden")
    body = problem(other.client.get(path, params={"from": start, "to": end}), 403, "forbidden")
    assert "orders" not in body
    problem(auditor.client.get("/v1/export/members/999999", params={"from": start, "to": end}), 404, "not-found")

    # a range before the chain existed is empty; bad dates and reversed ranges are 422
    empty = ok(auditor.client.get(path, params={"from": "2020-01-01", "to": "2020-01-31"}))
    assert all(empty[s] == [] for s in ("orders", "notes", "transfers", "financings", "alerts"))
    assert empty["range"]["to_block"] < empty["range"]["from_block"]
    problem(auditor.client.get(path, params={"from": end, "to": start}), 422, "invalid-date-range")
    problem(auditor.client.get(path, params={"from": "2026-13-01", "to": end}), 422, "validation-error")
    problem(auditor.client.get(path, params={"from": start}), 422, "validation-error")

    # only the days after the clock moved: the later loan's repayment and the recourse claim, not the openings
    later = (w.chain_today() - timedelta(days=9)).isoformat()
    tail = ok(auditor.client.get(path, params={"from": later, "to": end}))
    tail_events = {row["event"] for row in tail["financings"]}
    assert "RecourseClaimed" in tail_events and "LoanOpened" not in tail_events
    assert tail["orders"] == []

    # the CLI writes the same bundle as JSON and CSV
    out = tmp_path / "evidence"
    connection = ["--api", w.world.server.url, "--key", auditor.key]
    result = CliRunner().invoke(
        cli_app, ["export", "--member", str(supplier.id), "--from", start, "--to", end, "--out", str(out), *connection]
    )
    assert result.exit_code == 0, result.output
    assert "Evidence of member" in result.output
    written = json.loads((out / "bundle.json").read_text())
    assert written["orders"] == bundle["orders"] and written["financings"] == bundle["financings"]
    with (out / "transfers.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(bundle["transfers"]) and rows[0]["tx_hash"] == bundle["transfers"][0]["tx_hash"]
    assert NAMES["supplier"] in {row["to_member_name"] for row in rows}
    for section in ("orders", "notes", "financings", "alerts"):
        with (out / f"{section}.csv").open(newline="") as fh:
            assert len(list(csv.DictReader(fh))) == len(bundle[section]), section
    empty_out = tmp_path / "empty"
    quiet = ["--from", "2020-01-01", "--to", "2020-01-31", "--out", str(empty_out), *connection]
    assert CliRunner().invoke(cli_app, ["export", "--member", str(supplier.id), *quiet]).exit_code == 0
    with (empty_out / "transfers.csv").open(newline="") as fh:
        header, *data = list(csv.reader(fh))
    assert data == [] and {"kind", "value", "tx_hash", "at"} <= set(header)
    reversed_range = ["--from", end, "--to", start, "--out", str(tmp_path / "x"), *connection]
    refused = CliRunner().invoke(cli_app, ["export", "--member", str(supplier.id), *reversed_range])
    assert refused.exit_code == 1 and "after" in refused.output
    assert not (tmp_path / "x").exists()


def test_openapi_documents_credit_and_export(world: World) -> None:
    spec = httpx.get(f"{world.world.server.url}/openapi.json", timeout=30).json()
    credit = spec["paths"]["/v1/members/{member_id}/credit"]["get"]
    export = spec["paths"]["/v1/export/members/{member_id}"]["get"]
    assert credit["summary"] and export["summary"]
    assert credit["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/CreditOut")
    assert export["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/EvidenceBundle")
    assert {p["name"] for p in export["parameters"]} >= {"member_id", "from", "to"}


def test_credit_policy_comes_from_settings() -> None:
    settings = Settings(credit_volume_share_bps=2_500, credit_default_lookback_days=30)  # type: ignore[call-arg]
    policy = settings.credit_policy()
    assert policy.volume_share_bps == 2_500 and policy.default_lookback_days == 30
    assert Settings().credit_policy() == CreditPolicy()  # type: ignore[call-arg]
