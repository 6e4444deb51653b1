"""`scf seed`: fill a running ledger with a synthetic supply chain, through the HTTP API.

The shape (who sells to whom, sizes, amounts, maturities, which notes are split and sold) comes from one
random generator, so `--seed S` plans the same supply chain every time. What must differ on every run is
new: members are admitted afresh, invoice hashes are random and every idempotency key carries a random run
tag, so the command can run again and again on the same chain.

Writes go through a bounded thread pool. One member's writes run one after the other (its account signs
them in order); different members' writes run in parallel. A write that fails in transport, is still in
flight or meets a lagging read model is retried with the same `Idempotency-Key`, which is safe: the API
replays the first answer or resumes the stored transaction.
"""

from __future__ import annotations

import math
import random
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.amounts import display_amount, format_amount
from scripts.client import ApiClient, ApiError, ApiUnreachable, ClientError
from scripts.companies import for_role
from scripts.demo import HINT, DemoError, operator_key_from
from scripts.lang import t

MIN_NOTE = 100_00  # minor units: no note planned below 100.00 (the contracts' minimum split is 1.00)
MAX_LIVE_NOTES = 500  # the contracts' default live-note cap: no note of a receivable below face / cap (S-3)
PARETO_ALPHA = 1.16  # the "80/20" shape of firm sizes
MAX_SIZE = 40.0  # one supplier is at most this many times the smallest
RETRIES = 6
RETRIED_TYPES = ("request-in-flight", "indexer-lagging", "chain-unavailable")


class SeedError(DemoError):
    """A one-line failure the CLI prints without a traceback."""


# ------------------------------------------------------------------------------------------- the plan


@dataclass
class PlannedMember:
    key: str  # "core-1", "t2-3", "bank-1": stable across runs with the same seed
    role: str
    tier: int  # 0 for cores and financiers
    size: float
    credit_limit: int = 0
    index: int = 0  # its place among the members of its role (picks its company name, scripts/companies.py)
    id: int = 0
    api_key: str = ""


@dataclass
class PlannedNote:
    key: str
    holder: str  # member key
    value: int
    slot: str  # receivable key
    wave: int  # the wave that creates it: 0 = issuance, n = the n-th round of splits
    id: int = 0


@dataclass
class PlannedReceivable:
    key: str
    obligor: str
    creditor: str
    face_value: int
    maturity_days: int
    id: int = 0


@dataclass(frozen=True)
class PlannedSplit:
    parent: str
    child: str
    holder: str
    to: str
    value: int


@dataclass(frozen=True)
class PlannedSale:
    note: str
    holder: str
    financier: str
    value: int
    rate_bps: int


@dataclass
class Plan:
    members: dict[str, PlannedMember] = field(default_factory=dict)
    receivables: list[PlannedReceivable] = field(default_factory=list)
    notes: dict[str, PlannedNote] = field(default_factory=dict)
    splits: list[PlannedSplit] = field(default_factory=list)
    sales: list[PlannedSale] = field(default_factory=list)
    mints: dict[str, int] = field(default_factory=dict)  # financier key -> its own deposit

    def of(self, role: str, tier: int = 0) -> list[PlannedMember]:
        return [m for m in self.members.values() if m.role == role and m.tier == tier]

    @property
    def writes(self) -> int:
        return len(self.members) + len(self.mints) + len(self.receivables) + len(self.splits) + 2 * len(self.sales)


def _size(rng: random.Random) -> float:
    return min(rng.paretovariate(PARETO_ALPHA), MAX_SIZE)


def _pick(rng: random.Random, members: list[PlannedMember]) -> PlannedMember:
    return rng.choices(members, weights=[m.size for m in members])[0]


def _tiers(suppliers: int) -> tuple[int, int, int]:
    """How many suppliers in tiers 1, 2 and 3: roughly 1 : 2 : 3, at least one in each."""
    tier1 = max(1, round(suppliers / 6))
    tier2 = max(1, round(suppliers / 3))
    return tier1, tier2, suppliers - tier1 - tier2


def make_plan(suppliers: int, notes: int, rng: random.Random) -> Plan:
    """The whole supply chain, decided before the first write (so the result only depends on the seed)."""
    plan = Plan()
    cores = min(3, max(1, suppliers // 5))
    for i in range(1, cores + 1):
        plan.members[f"core-{i}"] = PlannedMember(f"core-{i}", "core_enterprise", 0, _size(rng) * 5, index=i - 1)
    supplier_index = 0
    for tier, count in enumerate(_tiers(suppliers), start=1):
        for i in range(1, count + 1):
            planned = PlannedMember(f"t{tier}-{i}", "supplier", tier, _size(rng), index=supplier_index)
            plan.members[f"t{tier}-{i}"] = planned
            supplier_index += 1
    for i in (1, 2):
        plan.members[f"bank-{i}"] = PlannedMember(f"bank-{i}", "financier", 0, 1.0, index=i - 1)

    # receivables: each core owes tier-1 suppliers; about one receivable per five notes
    receivable_count = min(notes, max(cores, round(notes / 5)))
    core_list, tier1 = plan.of("core_enterprise"), plan.of("supplier", 1)
    for i in range(1, receivable_count + 1):
        obligor = core_list[(i - 1) % cores] if i <= cores else _pick(rng, core_list)
        creditor = _pick(rng, tier1)
        face = round(rng.uniform(0.5, 1.5) * 50_000 * creditor.size) * 100  # whole currency units
        receivable = PlannedReceivable(f"r{i}", obligor.key, creditor.key, face, rng.randint(30, 180))
        plan.receivables.append(receivable)
        plan.notes[f"r{i}.n"] = PlannedNote(f"r{i}.n", creditor.key, face, receivable.key, 0)
        obligor.credit_limit += face
    for core in core_list:
        core.credit_limit = max(1, math.ceil(core.credit_limit * 1.25 / 100_000_000)) * 100_000_000

    # splits: a holder in tier t pays a supplier of tier t+1 with part of a note, until there are `notes`
    faces = {r.key: r.face_value for r in plan.receivables}

    def smallest(note: PlannedNote) -> int:
        """The least value a note of its receivable may have: 100.00, or face / cap when larger (S-3)."""
        return max(MIN_NOTE, -(-faces[note.slot] // MAX_LIVE_NOTES))

    for n in range(notes - receivable_count):
        candidates = [
            p
            for p in plan.notes.values()
            if plan.members[p.holder].tier in (1, 2) and p.value >= 4 * smallest(p) and p.key.count(".") < 12
        ]
        if not candidates:
            break
        parent = rng.choices(candidates, weights=[math.sqrt(p.value) for p in candidates])[0]
        tier = plan.members[parent.holder].tier
        to = _pick(rng, plan.of("supplier", tier + 1))
        floor = smallest(parent)
        value = max(floor, round(parent.value * rng.uniform(0.15, 0.45) / 100) * 100)
        value = min(value, parent.value - floor)
        parent.value -= value
        child = PlannedNote(f"{parent.key}.{n}", to.key, value, parent.slot, parent.wave + 1)
        plan.notes[child.key] = child
        plan.splits.append(PlannedSplit(parent.key, child.key, parent.holder, to.key, value))

    # sales: about one note in ten held in tiers 2 and 3 is sold whole to a bank at a discount
    sellable = [p for p in plan.notes.values() if plan.members[p.holder].tier in (2, 3)]
    for note in rng.sample(sellable, min(len(sellable), max(1, round(len(plan.notes) / 10)))):
        bank = f"bank-{rng.randint(1, 2)}"
        plan.sales.append(PlannedSale(note.key, note.holder, bank, note.value, rng.randrange(400, 1201, 25)))
    for bank in ("bank-1", "bank-2"):
        bought = sum(s.value for s in plan.sales if s.financier == bank)
        plan.mints[bank] = max(1_000_000_00, math.ceil(bought * 1.1 / 100_000_00) * 100_000_00)
    return plan


# ---------------------------------------------------------------------------------------- HTTP


class SeedApi:
    """One `ApiClient` (scripts/client.py) whose pool the workers share; each call names the member key it acts
    with. A write in flight or a lagging read model is retried with the same Idempotency-Key."""

    def __init__(self, base_url: str, workers: int) -> None:
        self.base_url = base_url
        self.client = ApiClient(base_url, timeout=120, max_connections=workers + 2)
        self.writes = 0
        self._lock = threading.Lock()

    def close(self) -> None:
        self.client.close()

    def get(self, path: str, key: str = "") -> dict[str, Any]:
        try:
            return self._dict(f"GET {path}", self.client.get(path, api_key=key or None))
        except ClientError as exc:
            raise self._error(f"GET {path}", exc) from exc

    def post(self, path: str, body: dict[str, Any], key: str, idempotency_key: str) -> dict[str, Any]:
        for attempt in range(RETRIES):
            last = attempt == RETRIES - 1
            try:
                data = self.client.post(path, body, idempotency_key=idempotency_key, api_key=key)
            except ClientError as exc:
                if last or not _retryable(exc):
                    raise self._error(f"POST {path}", exc) from exc
            else:
                with self._lock:
                    self.writes += 1
                return self._dict(f"POST {path}", data)
            time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _error(self, action: str, exc: ClientError) -> SeedError:
        if isinstance(exc, ApiUnreachable):
            return SeedError(f"cannot reach the SCF Chain API at {self.base_url} ({exc.reason}); {HINT}")
        if isinstance(exc, ApiError):
            return SeedError(f"{action}: {exc.title} ({exc.status}): {exc.detail}")
        return SeedError(f"{action}: {exc}")

    @staticmethod
    def _dict(action: str, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise SeedError(f"{action}: unexpected answer {str(data)[:200]}")
        return data


def _retryable(exc: ClientError) -> bool:
    """No answer, or a write in flight / a lagging read model / a node away (a 503 without a problem body too)."""
    if isinstance(exc, ApiUnreachable):
        return True
    if not isinstance(exc, ApiError) or exc.status not in (409, 503):
        return False
    return exc.slug in RETRIED_TYPES or (exc.status == 503 and not exc.body)


# ----------------------------------------------------------------------------------------- running


@dataclass
class Seeder:
    api: SeedApi
    operator_key: str
    plan: Plan
    workers: int
    progress: Progress
    tag: str = field(default_factory=lambda: secrets.token_hex(3))

    def _key(self, step: str) -> str:
        return f"seed-{self.tag}-{step}"

    def _in_parallel(self, phase: str, jobs: dict[str, list[Callable[[], None]]]) -> None:
        """Runs each member's jobs in order, members in parallel (at most `workers` at once)."""
        total = sum(len(j) for j in jobs.values())
        task = self.progress.add_task(phase, total=total)

        def run_member(member_jobs: list[Callable[[], None]]) -> None:
            for job in member_jobs:
                job()
                self.progress.advance(task)

        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="scf-seed") as pool:
            futures = [pool.submit(run_member, member_jobs) for member_jobs in jobs.values() if member_jobs]
            for future in futures:
                future.result()  # re-raises the first SeedError

    def run(self, today: date) -> None:
        plan = self.plan

        def admit(member: PlannedMember) -> Callable[[], None]:
            def job() -> None:
                body = {
                    "roles": [member.role],
                    "profile": for_role(member.role, member.index, f" {self.tag}"),
                    "label": f"seed {self.tag} {member.key}",
                    "credit_limit": format_amount(member.credit_limit),
                }
                if member.role == "financier":  # S-5: a financier mints only up to its ceiling (0 until set)
                    body["mint_ceiling"] = format_amount(2 * max(plan.mints.get(member.key, 0), 1_000_000_00))
                admitted = self.api.post("/v1/members", body, self.operator_key, self._key(f"admit-{member.key}"))
                member.id, member.api_key = int(admitted["member"]["id"]), str(admitted["api_key"])

            return job

        # the operator signs every admission: one account, but the API pipelines its nonces
        self._in_parallel(t("seed.phase.admit"), {m.key: [admit(m)] for m in plan.members.values()})

        def mint(bank: str, minor: int) -> Callable[[], None]:
            member = plan.members[bank]
            body = {"member_id": member.id, "amount": format_amount(minor), "reference": f"seed-{self.tag}-{bank}"}

            def job() -> None:
                self._post(bank, "/v1/cash/mint", body, f"mint-{bank}")

            return job

        def issue(receivable: PlannedReceivable) -> Callable[[], None]:
            def job() -> None:
                body = {
                    "creditor_id": plan.members[receivable.creditor].id,
                    "face_value": format_amount(receivable.face_value),
                    "maturity": str(today + timedelta(days=receivable.maturity_days)),
                    "invoice_hash": "0x" + secrets.token_hex(32),
                }
                issued = self._post(receivable.obligor, "/v1/receivables", body, f"issue-{receivable.key}")
                receivable.id = int(issued["id"])
                plan.notes[f"{receivable.key}.n"].id = int(issued["first_note_id"])

            return job

        jobs: dict[str, list[Callable[[], None]]] = {k: [mint(k, v)] for k, v in plan.mints.items()}
        for receivable in plan.receivables:
            jobs.setdefault(receivable.obligor, []).append(issue(receivable))
        self._in_parallel(t("seed.phase.issue"), jobs)

        def split(s: PlannedSplit) -> Callable[[], None]:
            def job() -> None:
                parent = plan.notes[s.parent]
                body = {"to": plan.members[s.to].id, "value": format_amount(s.value)}
                result = self._post(s.holder, f"/v1/notes/{parent.id}/split", body, f"split-{s.child}")
                plan.notes[s.child].id = int(result["new_note"]["id"])

            return job

        waves = sorted({plan.notes[s.child].wave for s in plan.splits})
        for wave in waves:
            jobs = {}
            for s in plan.splits:
                if plan.notes[s.child].wave == wave:
                    jobs.setdefault(s.holder, []).append(split(s))
            self._in_parallel(t("seed.phase.split", wave=wave), jobs)

        offers: dict[str, int] = {}

        def offer(sale: PlannedSale) -> Callable[[], None]:
            def job() -> None:
                body = {
                    "note_id": plan.notes[sale.note].id,
                    "value": format_amount(sale.value),
                    "rate_bps": sale.rate_bps,
                    "recourse": False,
                    "expires_at": str(today + timedelta(days=7)),
                }
                made = self._post(sale.financier, "/v1/financing/offers", body, f"offer-{sale.note}")
                offers[sale.note] = int(made["id"])

            return job

        def accept(sale: PlannedSale) -> Callable[[], None]:
            def job() -> None:
                self._post(sale.holder, f"/v1/financing/offers/{offers[sale.note]}/accept", {}, f"sell-{sale.note}")
                plan.notes[sale.note].holder = sale.financier

            return job

        jobs = {}
        for sale in plan.sales:
            jobs.setdefault(sale.financier, []).append(offer(sale))
        self._in_parallel(t("seed.phase.offer"), jobs)
        jobs = {}
        for sale in plan.sales:
            jobs.setdefault(sale.holder, []).append(accept(sale))
        self._in_parallel(t("seed.phase.sale"), jobs)

    def _post(self, member: str, path: str, body: dict[str, Any], step: str) -> dict[str, Any]:
        return self.api.post(path, body, self.plan.members[member].api_key, self._key(step))


def chain_date(health: dict[str, Any]) -> date:
    """Today on the chain's clock (a devchain's clock may run ahead after `scf demo`)."""
    stamp = health.get("chain", {}).get("latestBlockTimestamp")
    return datetime.fromtimestamp(int(stamp) if stamp is not None else time.time(), UTC).date()


def run_seed(
    api_url: str,
    data_dir: Path,
    *,
    suppliers: int,
    notes: int,
    seed: int | None = None,
    workers: int = 8,
    console: Console | None = None,
    progress_console: Console | None = None,
) -> dict[str, Any]:
    """Seeds the ledger once and returns the summary; raises SeedError (one line) on any failure."""
    if suppliers < 3:
        raise SeedError("--suppliers must be at least 3 (one per tier)")
    if notes < 1:
        raise SeedError("--notes must be at least 1")
    if not 1 <= workers <= 64:
        raise SeedError("--workers must be between 1 and 64")
    base = api_url.rstrip("/")
    api = SeedApi(base, workers)
    try:
        health = api.get("/health")  # unreachable API: one line and a hint before anything else
        if not health.get("deployment"):
            raise SeedError(f"the API at {base} has no contract deployment; {HINT}")
        try:
            operator_key = operator_key_from(data_dir)
        except DemoError as exc:
            raise SeedError(str(exc)) from exc
        seed = secrets.randbelow(2**31) if seed is None else seed
        plan = make_plan(suppliers, notes, random.Random(seed))
        columns = (TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        started = time.monotonic()
        with Progress(*columns, console=progress_console or Console(stderr=True), transient=False) as progress:
            seeder = Seeder(api, operator_key, plan, workers, progress)
            seeder.run(chain_date(health))
        seconds = time.monotonic() - started
        summary = _summary(seeder, seed, seconds, base)
    finally:
        api.close()
    if console is not None:
        console.print(summary_table(summary))
    return summary


def _summary(seeder: Seeder, seed: int, seconds: float, api_url: str) -> dict[str, Any]:
    plan = seeder.plan

    def ids(role: str, tier: int = 0) -> list[int]:
        return sorted(m.id for m in plan.of(role, tier))

    face = sum(r.face_value for r in plan.receivables)
    return {
        "api": api_url,
        "run": seeder.tag,
        "seed": seed,
        "members": {
            "core_enterprises": ids("core_enterprise"),
            "tier1": ids("supplier", 1),
            "tier2": ids("supplier", 2),
            "tier3": ids("supplier", 3),
            "financiers": ids("financier"),
        },
        "member_count": len(plan.members),
        "receivables": sorted(r.id for r in plan.receivables),
        "receivable_count": len(plan.receivables),
        "note_count": len(plan.notes),
        "split_count": len(plan.splits),
        "sale_count": len(plan.sales),
        "face_value": format_amount(face),
        "value_passed_down": format_amount(sum(s.value for s in plan.splits)),
        "value_sold": format_amount(sum(s.value for s in plan.sales)),
        "writes": seeder.api.writes,
        "seconds": round(seconds, 2),
        "writes_per_second": round(seeder.api.writes / seconds, 2) if seconds > 0 else None,
    }


def summary_table(summary: dict[str, Any]) -> Table:
    members = summary["members"]
    table = Table(title=t("seed.title", run=summary["run"], seed=summary["seed"]))
    table.add_column(t("seed.column.what"))
    table.add_column(t("seed.column.count"), justify="right")
    table.add_column(t("seed.column.detail"))
    tiers = {f"tier{n}": len(members[f"tier{n}"]) for n in (1, 2, 3)}
    core, banks = len(members["core_enterprises"]), len(members["financiers"])
    table.add_row(
        t("seed.row.members"), str(summary["member_count"]), t("seed.members", core=core, banks=banks, **tiers)
    )
    face = display_amount(summary["face_value"])
    table.add_row(t("seed.row.receivables"), str(summary["receivable_count"]), t("seed.face_value", amount=face))
    table.add_row(t("seed.row.notes"), str(summary["note_count"]), t("seed.splits", splits=summary["split_count"]))
    sold = display_amount(summary["value_sold"])
    table.add_row(t("seed.row.sales"), str(summary["sale_count"]), t("seed.sold", amount=sold))
    table.add_row(t("seed.row.writes"), str(summary["writes"]), t("seed.rate", rate=summary["writes_per_second"]))
    table.add_row(t("seed.row.time"), t("seed.seconds", seconds=summary["seconds"]), summary["api"])
    return table


__all__ = ["SeedError", "make_plan", "run_seed", "summary_table"]
