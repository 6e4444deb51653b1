"""`scf demo`: the whole supply-chain-finance story, narrated, against a running SCF Chain API.

Only the HTTP API acts on the ledger; the one direct chain call moves a devchain's clock to maturity
(evm_increaseTime + evm_mine), and the demo refuses to do that on anything but anvil. Dates are taken
from the chain's own clock, so the demo runs again and again on the same chain.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from api.amounts import display_amount, minor_units
from api.bootstrap import OPERATOR_KEY_FILE
from chain.node.errors import ChainUnavailableError
from chain.node.rpc import rpc_call
from scripts.client import ApiClient, ApiError, ApiUnreachable, ClientError
from scripts.companies import BANKS, CORES, SUPPLIERS, company
from scripts.lang import language, t, term
from scripts.terminal import make_console

HINT = "start it with `make run` (or `scf up`)"


class DemoError(Exception):
    """A one-line failure the CLI prints without a traceback."""


class ApiProblem(DemoError):
    """The API answered with an application/problem+json (or another error)."""

    def __init__(self, action: str, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.type = str(body.get("type", ""))
        self.title = str(body.get("title", f"HTTP {status}"))
        self.detail = str(body.get("detail", ""))
        super().__init__(f"{action}: {self.title} ({status}): {self.detail}")


def _hash() -> str:
    return "0x" + secrets.token_hex(32)


class Api:
    """A party's connection: the CLI's `ApiClient` (scripts/client.py), its errors as DemoError / ApiProblem."""

    def __init__(self, base_url: str, key: str, own_key: LocalAccount | None = None) -> None:
        self.base_url = base_url
        # refusals come back in the narration's language; a self-custody member's key, on "its own machine", signs
        # each prepared transaction
        signer = self._sign if own_key is not None else None
        self.client = ApiClient(base_url, key or None, timeout=120, signer=signer, language=language())
        self.own_key = own_key
        self.signed = 0

    def _sign(self, prepared: dict[str, Any]) -> dict[str, str]:
        assert self.own_key is not None
        tx = {k: v for k, v in prepared["transaction"].items() if k != "from"}
        self.signed += 1
        return {
            "raw": self.own_key.sign_transaction(tx).raw_transaction.to_0x_hex(),
            "prepared_id": prepared["prepared_id"],
        }

    def close(self) -> None:
        self.client.close()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            if method == "GET":
                data = self.client.get(path)
            else:
                data = self.client.post(path, body or {}, idempotency_key=secrets.token_hex(16))
        except ApiUnreachable as exc:
            raise DemoError(f"cannot reach the SCF Chain API at {self.base_url} ({exc.reason}); {HINT}") from exc
        except ApiError as exc:
            body = exc.body or {"title": exc.title, "detail": exc.detail}
            raise ApiProblem(f"{method} {path}", exc.status, body) from exc
        except ClientError as exc:
            raise DemoError(f"{method} {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise DemoError(f"{method} {path}: unexpected answer {str(data)[:200]}")
        return data

    def get(self, path: str) -> dict[str, Any]:
        return self.call("GET", path)

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.call("POST", path, body)


@dataclass
class Party:
    name: str
    role: str
    id: int
    api: Api
    key: str = ""  # its API key (shown once by the admission): the demo prints it to sign in to the console


@dataclass
class Demo:
    api_url: str
    operator_key: str
    rpc_url: str
    fast: bool = False
    console: Console = field(default_factory=Console)
    parties: dict[str, Party] = field(default_factory=dict)
    step_no: int = 0

    # narration -----------------------------------------------------------------------------------
    def step(self, title: str, why: str) -> None:
        if self.step_no and not self.fast:
            time.sleep(1.0)
        self.step_no += 1
        self.console.print()
        self.console.rule(f"[bold cyan]{self.step_no}. {title}", align="left")
        self.console.print(f"[dim]{why}[/]")

    def result(self, text: str) -> None:
        self.console.print(f"  [green]✓[/] {text}")

    def who(self, key: str) -> str:
        p = self.parties[key]
        return f"[bold]{p.name}[/] (#{p.id})"

    def name_of(self, member_id: int) -> str:
        for p in self.parties.values():
            if p.id == member_id:
                return f"{p.name} (#{member_id})"
        return f"member #{member_id}"

    # chain clock (read-only, except the one move to maturity) -------------------------------------
    def _rpc(self, method: str, params: list[object] | None = None) -> object:
        try:
            return rpc_call(self.rpc_url, method, params, timeout=10)
        except ChainUnavailableError as exc:
            raise DemoError(f"{exc} (the devchain's RPC: set SCF_RPC_PORT / SCF_RPC_URL as for the service)") from exc

    def chain_time(self) -> int:
        block = self._rpc("eth_getBlockByNumber", ["latest", False])
        if not isinstance(block, dict):
            raise DemoError(f"no latest block from {self.rpc_url}")
        return int(str(block["timestamp"]), 16)

    def check_devchain(self, chain_id: int) -> None:
        version = str(self._rpc("web3_clientVersion"))
        if not version.lower().startswith("anvil"):
            raise DemoError(
                f"the chain at {self.rpc_url} is {version!r}, not a local anvil devchain: the demo moves the "
                "chain's clock to maturity and only does that on a devchain; run it against `make run`"
            )
        rpc_chain = int(str(self._rpc("eth_chainId")), 16)
        if rpc_chain != chain_id:
            raise DemoError(
                f"the RPC at {self.rpc_url} is chain {rpc_chain}, but the API serves chain {chain_id}; "
                "set SCF_RPC_PORT / SCF_RPC_URL as for the service"
            )

    # the story -----------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        operator = Api(self.api_url, self.operator_key)
        try:
            return self._run(operator)
        finally:
            operator.close()
            for p in self.parties.values():
                p.api.close()

    def _run(self, op: Api) -> dict[str, Any]:
        c = self.console
        health = op.get("/health")
        chain_id = int(health["chain"]["chainId"])
        if not health.get("deployment"):
            raise DemoError(f"the API at {self.api_url} has no contract deployment on chain {chain_id}; {HINT}")
        self.check_devchain(chain_id)
        now = self.chain_time()
        today = datetime.fromtimestamp(now, UTC).date()
        tag = secrets.token_hex(2).upper()
        said = t(
            "demo.start", tag=tag, url=self.api_url, chain_id=chain_id, block=health["chain"]["latestBlock"], date=today
        )
        c.print(said)

        self.step(t("demo.admission"), t("demo.admission_why"))
        # named companies (scripts/companies.py): names in both languages and a valid unified social credit code;
        # the profile's hash is each member's KYC hash on chain
        suffix = f" {tag}"
        cast = [
            ("core", company(CORES[0], suffix), "core_enterprise", {"credit_limit": "5000000.00"}),
            ("tier1", company(SUPPLIERS[0], suffix), "supplier", {}),  # axles
            ("tier2", company(SUPPLIERS[1], suffix), "supplier", {}),  # bearings
            ("tier3", company(SUPPLIERS[2], suffix), "supplier", {}),  # steel balls
            # S-5: each bank mints only up to the ceiling the operator sets (0 until set)
            ("bankA", company(BANKS[0], suffix), "financier", {"mint_ceiling": "5000000.00"}),
            ("bankB", company(BANKS[1], suffix), "financier", {"mint_ceiling": "5000000.00"}),
        ]
        for key, profile, role, extra in cast:
            name = profile["display_name"]
            own_key: LocalAccount | None = None
            if key == "bankA":  # Bank A holds its own key: the service never has anything that signs for it
                own_key = Account.create()
                challenge = op.post("/v1/members/challenge", {"address": own_key.address})
                signature = own_key.sign_message(encode_defunct(text=challenge["message"])).signature.to_0x_hex()
                extra = {**extra, "address": own_key.address, "challenge_id": challenge["challenge_id"]}
                extra["signature"] = signature
            admitted = op.post("/v1/members", {"roles": [role], "profile": profile, "label": name[:64], **extra})
            member = admitted["member"]
            api = Api(self.api_url, admitted["api_key"], own_key)
            self.parties[key] = Party(name, role, int(member["id"]), api, str(admitted["api_key"]))
            how = t("demo.own_key") if own_key else ""
            legal = f"{profile['legal_name_zh']}, {profile['legal_name_en']}, {profile['uscc']}"
            self.result(t("demo.admitted", who=self.who(key), legal=legal, role=t("demo.role_" + role), how=how))
        core, tier1, tier2, tier3 = (self.parties[k] for k in ("core", "tier1", "tier2", "tier3"))
        bank_a, bank_b = self.parties["bankA"], self.parties["bankB"]

        self.step(t("demo.deposits"), t("demo.deposits_why"))
        for bank, member, amount, ref in [
            (bank_a, bank_a, "500000.00", "a-own"),
            (bank_a, core, "1000000.00", "core-dep"),
            (bank_a, tier1, "10000.00", "t1-dep"),
            (bank_b, bank_b, "1000000.00", "b-own"),
        ]:
            bank.api.post("/v1/cash/mint", {"member_id": member.id, "amount": amount, "reference": f"{ref}-{tag}"})
            self.result(t("demo.credits", bank=bank.name, amount=display_amount(amount), member=member.name))

        self.step(t("demo.order"), t("demo.order_why"))
        order = tier1.api.post(
            "/v1/orders",
            {
                "buyer_id": core.id,
                "amount": "1000000.00",
                "document_hash": _hash(),
                "due_date": str(today + timedelta(60)),
            },
        )
        order_id = int(order["id"])
        confirmed = core.api.post(f"/v1/orders/{order_id}/confirm")
        said = t(
            "demo.order_status", id=order_id, amount=display_amount(order["amount"]), status=term(confirmed["status"])
        )
        self.result(said)

        self.step(t("demo.order_financing"), t("demo.order_financing_why"))
        tier1.api.post(f"/v1/orders/{order_id}/pledge", {"financier_id": bank_b.id})
        loan = bank_b.api.post(
            "/v1/financing/loans",
            {"order_id": order_id, "principal": "800000.00", "rate_bps": 600, "due_date": str(today + timedelta(30))},
        )
        self.result(t("demo.loan", id=loan["id"], principal=display_amount(loan["principal"]), bank=bank_b.name))

        self.step(t("demo.delivery"), t("demo.delivery_why"))
        tier1.api.post(f"/v1/orders/{order_id}/deliver")
        maturity = today + timedelta(days=89)
        invoice_hash = _hash()
        accepted = core.api.post(
            f"/v1/orders/{order_id}/accept",
            {"face_value": "1000000.00", "maturity": str(maturity), "invoice_hash": invoice_hash},
        )
        slot_id = int(accepted["receivable_id"])
        receivable = tier1.api.get(f"/v1/receivables/{slot_id}")
        note1 = int(receivable["first_note_id"])
        first = tier1.api.get(f"/v1/notes/{note1}")
        lien = self.name_of(int(first["lienholder_id"])) if first["lienholder_id"] else t("none_word")
        said = t(
            "demo.receivable", id=slot_id, maturity=receivable["maturity"], note=note1, holder=tier1.name, lien=lien
        )
        self.result(said)

        self.step(t("demo.repaid"), t("demo.repaid_why"))
        repaid = tier1.api.post(f"/v1/financing/loans/{loan['id']}/repay")
        interest = minor_units(repaid["interest_paid"])
        self.result(
            t(
                "demo.loan_repaid",
                id=loan["id"],
                status=term(repaid["status"]),
                interest=display_amount(repaid["interest_paid"]),
            )
        )

        self.step(t("demo.splits"), t("demo.splits_why"))
        note2 = int(
            tier1.api.post(f"/v1/notes/{note1}/split", {"to": tier2.id, "value": "300000.00"})["new_note"]["id"]
        )
        self.result(t("demo.split", note=note2, value="300,000.00", to=tier2.name))
        note3 = int(
            tier2.api.post(f"/v1/notes/{note2}/split", {"to": tier3.id, "value": "100000.00"})["new_note"]["id"]
        )
        self.result(t("demo.split", note=note3, value="100,000.00", to=tier3.name))

        self.step(t("demo.factoring"), t("demo.factoring_why"))
        offer = bank_a.api.post(
            "/v1/financing/offers",
            {
                "note_id": note3,
                "value": "100000.00",
                "rate_bps": 700,
                "recourse": False,
                "expires_at": str(today + timedelta(1)),
            },
        )
        purchase = tier3.api.post(f"/v1/financing/offers/{offer['id']}/accept")
        price = minor_units(purchase["price"])
        self.result(
            t("demo.sold", seller=tier3.name, price=display_amount(purchase["price"]), bank=bank_a.name, note=note3)
        )
        self.result(t("demo.self_signed", bank=bank_a.name, count=bank_a.api.signed))

        self.step(t("demo.double"), t("demo.double_why"))
        try:
            core.api.post(
                "/v1/receivables",
                {
                    "creditor_id": tier1.id,
                    "face_value": "1000000.00",
                    "maturity": str(maturity),
                    "invoice_hash": invoice_hash,
                },
            )
        except ApiProblem as problem:
            rejected = {
                "status": problem.status,
                "type": problem.type,
                "title": problem.title,
                "detail": problem.detail,
            }
            self.result(t("demo.refused", status=problem.status, type=problem.type))
            c.print(f"    [yellow]{problem.title}:[/] {problem.detail}")
        else:
            raise DemoError("the ledger accepted the same invoice twice")

        tree_before = {n: core.api.get(f"/v1/notes/{n}") for n in (note1, note2, note3)}
        provenance_before = self._receivable_tree(core, slot_id)
        chain_maturity = int(datetime.fromisoformat(receivable["maturity"]).timestamp())

        self.step(t("demo.time"), t("demo.time_why"))
        seconds = chain_maturity - self.chain_time() + 1
        if seconds > 0:
            self._rpc("evm_increaseTime", [seconds])
        self._rpc("evm_mine")
        self.result(t("demo.chain_time", time=f"{datetime.fromtimestamp(self.chain_time(), UTC):%Y-%m-%d %H:%M:%S}"))

        self.step(t("demo.funding"), t("demo.funding_why"))
        core.api.post(f"/v1/settlement/receivables/{slot_id}/fund", {"amount": "1000000.00"})
        self.result(t("demo.funded", core=core.name, id=slot_id, amount="1,000,000.00"))

        self.step(t("demo.settlement"), t("demo.settlement_why"))
        settled = bank_a.api.post(f"/v1/settlement/receivables/{slot_id}/settle", {})
        status = term(settled["receivable"]["status"])
        self.result(t("demo.settled", id=slot_id, status=status, notes=sorted(settled["note_ids"])))

        balances = {key: minor_units(p.api.get("/v1/cash/balance")["balance"]) for key, p in self.parties.items()}
        table = Table(title=t("demo.balances", tag=tag))
        table.add_column(t("demo.col_party"))
        table.add_column(t("demo.col_role"))
        table.add_column(t("demo.col_member"), justify="right")
        table.add_column(t("demo.col_balance"), justify="right")
        for key, p in self.parties.items():
            table.add_row(p.name, t("demo.role_" + p.role), f"#{p.id}", display_amount(balances[key]))
        c.print()
        c.print(table)

        tree_after = {n: core.api.get(f"/v1/notes/{n}") for n in (note1, note2, note3)}
        provenance_after = self._receivable_tree(core, slot_id)
        if provenance_before is not None and provenance_after is not None:
            c.print(self._provenance_tree(slot_id, receivable, provenance_before, provenance_after))
        else:  # an API without GET /v1/receivables/{slot}/tree: draw the three notes the demo knows
            c.print(self._note_tree(slot_id, receivable, tree_before, tree_after))
        sign_in = self._sign_in(tag)
        c.print(f"\n[bold green]{t('demo.complete', tag=tag)}[/]")
        return {
            "sign_in": sign_in,
            "tag": tag,
            "balances": balances,
            "ids": {k: p.id for k, p in self.parties.items()},
            "price": price,
            "interest": interest,
            "receivable_id": slot_id,
            "note_ids": [note1, note2, note3],
            "rejected": rejected,
            "tree": provenance_after,
            "self_custody": {"bankA": str(bank_a.api.own_key.address) if bank_a.api.own_key else None},
            "signed_by_bankA": bank_a.api.signed,
        }

    def _sign_in(self, tag: str) -> dict[str, str]:
        """Prints the API key of each party (and the operator's): what to paste into the console's sign-in."""
        keys = {"operator": self.operator_key} | {k: p.key for k, p in self.parties.items()}
        table = Table(title=t("demo.sign_in_title", tag=tag))
        for column in ("party", "role", "member"):
            table.add_column(t(f"demo.col_{column}"))
        table.add_column(t("demo.col_key"), no_wrap=True)
        table.add_row("operator", "operator", "-", self.operator_key)
        for p in self.parties.values():
            table.add_row(p.name, p.role.replace("_", " "), f"#{p.id}", p.key)
        self.console.print()
        self.console.print(table)
        console_url = f"{self.api_url}/app/"
        self.console.print(t("demo.sign_in_hint", console=console_url), soft_wrap=True, markup=False)
        return keys

    @staticmethod
    def _receivable_tree(party: Party, slot_id: int) -> dict[str, Any] | None:
        """The receivable's provenance tree (nodes and edges), or None when the API does not serve it."""
        try:
            return party.api.get(f"/v1/receivables/{slot_id}/tree")
        except ApiProblem as problem:
            if problem.status == 404:
                return None
            raise

    def _provenance_tree(
        self, slot_id: int, receivable: dict[str, Any], before: dict[str, Any], after: dict[str, Any]
    ) -> Tree:
        """Notes as nodes (value and holder before settlement), each with the movements that touched it."""
        obligor = self.name_of(int(receivable["obligor_id"]))
        tree = Tree(
            f"[bold]receivable #{slot_id}[/] {display_amount(receivable['face_value'])} owed by {obligor} "
            f"[dim](provenance: {len(after['nodes'])} notes, {len(after['edges'])} movements)[/]"
        )
        live = {int(n["note_id"]): bool(n["live"]) for n in after["nodes"]}
        moves: dict[int, list[str]] = {}
        for edge in after["edges"]:
            note_id = edge.get("to_note_id") or edge.get("from_note_id")
            if note_id is None:
                continue
            parties = " → ".join(
                self.name_of(int(edge[k])) for k in ("from_member_id", "to_member_id") if edge.get(k) is not None
            )
            value = f" {display_amount(edge['value'])}" if edge.get("value") else ""
            moves.setdefault(int(note_id), []).append(f"{edge['kind']}{value} {parties}".rstrip())
        nodes: dict[int, Tree] = {}
        for node in sorted(before["nodes"], key=lambda n: int(n["note_id"])):
            note_id = int(node["note_id"])
            state = "live" if live.get(note_id) else "settled"
            holder = self.name_of(int(node["holder_id"]))
            label = f"note #{note_id}: {display_amount(node['value'])} held by {holder} [dim]({state})[/]"
            if moves.get(note_id):
                label += "\n[dim]" + "; ".join(moves[note_id]) + "[/]"
            nodes[note_id] = nodes.get(int(node.get("parent_id") or 0), tree).add(label)
        return tree

    def _note_tree(
        self,
        slot_id: int,
        receivable: dict[str, Any],
        before: dict[int, dict[str, Any]],
        after: dict[int, dict[str, Any]],
    ) -> Tree:
        obligor = self.name_of(int(receivable["obligor_id"]))
        tree = Tree(f"[bold]receivable #{slot_id}[/] {display_amount(receivable['face_value'])} owed by {obligor}")
        nodes: dict[int, Tree] = {}
        for note_id in sorted(before):
            note = before[note_id]
            state = "live" if after[note_id].get("live") else "settled"
            holder = self.name_of(int(note["holder_id"]))
            label = f"note #{note_id}: {display_amount(note['value'])} held by {holder} [dim]({state})[/]"
            parent = int(note.get("parent_id") or 0)
            nodes[note_id] = nodes.get(parent, tree).add(label)
        return tree


def operator_key_from(data_dir: Path) -> str:
    path = data_dir / OPERATOR_KEY_FILE
    try:
        key = path.read_text().strip()
    except OSError as exc:
        raise DemoError(f"no operator API key at {path}; {HINT} with the same data dir (--data-dir)") from exc
    if not key:
        raise DemoError(f"the operator API key file {path} is empty")
    return key


def run_demo(
    api_url: str, data_dir: Path, rpc_url: str, *, fast: bool = False, console: Console | None = None
) -> dict[str, Any]:
    """Runs the story once; returns balances (minor units) and ids. Raises DemoError on any failure."""
    probe = Api(api_url.rstrip("/"), "")
    try:
        probe.get("/health")  # unreachable API: one line and a hint, before anything else
    except ApiProblem:
        pass  # it answered (a degraded service says so in its own steps)
    finally:
        probe.close()
    demo = Demo(api_url.rstrip("/"), operator_key_from(data_dir), rpc_url, fast=fast, console=console or make_console())
    return demo.run()


__all__ = ["ApiProblem", "DemoError", "run_demo"]
