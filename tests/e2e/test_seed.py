"""`scf seed` against the session's real chain and API: what it reports is what the ledger holds afterwards."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner

from api.amounts import parse_amount
from api.settings import Settings
from scripts.cli import app
from scripts.seed import make_plan, run_seed
from tests.conftest import ServerThread, ok


def _all_notes(client: httpx.Client, obligor_id: int) -> list[dict[str, Any]]:
    notes: list[dict[str, Any]] = []
    cursor = "0"
    while cursor is not None:
        page = ok(client.get("/v1/notes", params={"obligor_id": obligor_id, "status": "all", "cursor": cursor}))
        notes.extend(page["items"])
        cursor = page["next_cursor"]
    return notes


def _check_ledger(client: httpx.Client, summary: dict[str, Any]) -> None:
    """The counts on the ledger match the summary."""
    members = summary["members"]
    roles = {"core_enterprises": "core_enterprise", "financiers": "financier"}
    every_id = [i for ids in members.values() for i in ids]
    assert len(every_id) == len(set(every_id)) == summary["member_count"]
    for group, ids in members.items():
        for member_id in ids:
            assert ok(client.get(f"/v1/members/{member_id}"))["roles"] == [roles.get(group, "supplier")]
    assert all(len(members[tier]) >= 1 for tier in ("tier1", "tier2", "tier3"))

    notes = [n for core in members["core_enterprises"] for n in _all_notes(client, core)]
    assert len(notes) == summary["note_count"]
    assert all(n["live"] for n in notes)
    slots = {n["receivable_id"] for n in notes}
    assert slots == set(summary["receivables"])
    assert len(slots) == summary["receivable_count"]
    face = sum(parse_amount(ok(client.get(f"/v1/receivables/{slot}"))["face_value"]) for slot in slots)
    assert face == parse_amount(summary["face_value"])
    assert sum(parse_amount(n["value"]) for n in notes) == face  # splits move value, never create it
    holders = {n["holder_id"] for n in notes}
    assert holders <= set(every_id)
    assert sum(1 for n in notes if n["holder_id"] in members["financiers"]) == summary["sale_count"]
    # tier 1 keeps the first note of each receivable; every split handed value down to tier 2 or 3
    assert sum(1 for n in notes if n["holder_id"] in members["tier1"]) == summary["receivable_count"]
    down = set(members["tier2"]) | set(members["tier3"]) | set(members["financiers"])
    assert sum(1 for n in notes if n["holder_id"] in down) == summary["split_count"]
    assert any(n["holder_id"] in members["tier3"] for n in notes) or summary["sale_count"]


@pytest.fixture()
def operator_client(api: ServerThread, operator_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {operator_key}"}) as client:
        yield client


def test_seed_fills_the_ledger_and_runs_again(
    api: ServerThread, settings: Settings, operator_client: httpx.Client
) -> None:
    out = io.StringIO()
    first = run_seed(
        api.url,
        settings.data_dir,
        suppliers=6,
        notes=40,
        seed=7,
        console=Console(file=out, width=120),
        progress_console=Console(file=io.StringIO()),
    )
    assert first["note_count"] == 40
    assert first["writes"] == make_plan(6, 40, random.Random(7)).writes
    assert first["writes_per_second"] > 0
    _check_ledger(operator_client, first)
    assert "Seeded run" in out.getvalue() and "writes/s" in out.getvalue()

    # again on the same chain, through the CLI, same seed: the same shape, with fresh members
    args = ["seed", "--suppliers", "6", "--notes", "40", "--seed", "7", "--api", api.url, "--json"]
    result = CliRunner().invoke(app, [*args, "--data-dir", str(settings.data_dir)])
    assert result.exit_code == 0, result.output
    second = json.loads(result.stdout)
    _check_ledger(operator_client, second)
    for field in ("note_count", "receivable_count", "split_count", "sale_count", "face_value", "value_sold"):
        assert second[field] == first[field], field
    first_ids = {i for ids in first["members"].values() for i in ids}
    assert first_ids.isdisjoint(i for ids in second["members"].values() for i in ids)
    assert second["run"] != first["run"]


def test_seed_plan_is_deterministic_and_power_law() -> None:
    a, b = make_plan(60, 400, random.Random(3)), make_plan(60, 400, random.Random(3))
    assert [(s.parent, s.to, s.value) for s in a.splits] == [(s.parent, s.to, s.value) for s in b.splits]
    assert make_plan(60, 400, random.Random(4)).splits != a.splits
    assert len(a.notes) == 400
    sizes = sorted((m.size for m in a.members.values() if m.role == "supplier"), reverse=True)
    assert sum(sizes[: len(sizes) // 5]) > 0.4 * sum(sizes)  # a few large suppliers, many small ones
    for receivable in a.receivables:
        assert 30 <= receivable.maturity_days <= 180
    tiers = {m.key: m.tier for m in a.members.values()}
    assert all(tiers[s.to] == tiers[s.holder] + 1 for s in a.splits)  # value passes down one tier at a time


def test_unreachable_api_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["seed", "--suppliers", "3", "--notes", "5", "--api", "http://127.0.0.1:9", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    message = result.output.strip()
    assert len(message.splitlines()) == 1, message
    assert "cannot reach" in message and "make run" in message


def test_bad_sizes_are_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["seed", "--suppliers", "2", "--api", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "at least 3" in result.output
