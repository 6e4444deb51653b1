"""`holding_totals` (the aggregate behind GET /v1/verify/holdings) equals a GROUP BY over the live notes after
seeded random splits, transfers, merges, locks, releases and sales through the API, in the API's own read model
and in a fresh read model indexed from the deployment block; the holdings from either source agree."""

from __future__ import annotations

import random
import time
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from api.services.holdings import holdings, holdings_from_notes
from chain.readmodel.indexer import CHECKPOINT, Indexer
from chain.readmodel.store import Checkpoint, HoldingTotal, Note, Receivable, make_engine
from scripts.runtime import Ledger
from tests.api.test_verify_random import Party, Scenario, cast  # noqa: F401  (cast: the module's fixture)
from tests.conftest import ServerThread

SEED = 8_000_008
OPERATIONS = 40


Row = tuple[int, int, int, int, int, int | None, int | None]


def _from_notes(engine: Engine) -> list[Row]:
    """GROUP BY over the live notes, with the receivable's obligor and maturity (None: receivable unknown)."""
    slot = func.coalesce(Note.slot_id, 0)
    query = (
        select(
            Note.holder_id,
            slot,
            Note.lienholder_id,
            func.count(Note.id),
            func.sum(Note.value),
            Receivable.obligor_id,
            Receivable.maturity,
        )
        .outerjoin(Receivable, Receivable.id == Note.slot_id)
        .where(Note.live.is_(True), Note.holder_id != 0)
        .group_by(Note.holder_id, slot, Note.lienholder_id, Receivable.obligor_id, Receivable.maturity)
    )
    with Session(engine) as session:
        return sorted(
            (int(h), int(s), int(lien), int(c), int(v), o, m) for h, s, lien, c, v, o, m in session.execute(query)
        )


def _caught_up(engine: Engine, head: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        with Session(engine) as session:
            checkpoint = session.get(Checkpoint, CHECKPOINT)
        if checkpoint is not None and checkpoint.block_number >= head:
            return checkpoint.block_number
        assert time.monotonic() < deadline, f"the API's indexer did not reach block {head}"
        time.sleep(0.1)


def _aggregate(engine: Engine) -> list[Row]:
    columns = (HoldingTotal.holder_id, HoldingTotal.slot_id, HoldingTotal.lienholder_id)
    terms = (HoldingTotal.obligor_id, HoldingTotal.maturity)
    with Session(engine) as session:
        rows = session.execute(select(*columns, HoldingTotal.count, HoldingTotal.value, *terms)).all()
    return sorted((int(h), int(s), int(lien), int(c), int(v), o, m) for h, s, lien, c, v, o, m in rows)


def test_aggregate_equals_group_by_over_notes_after_random_operations(
    cast: dict[str, Party],  # noqa: F811
    ledger: Ledger,
    api: ServerThread,
    tmp_path: Path,
) -> None:
    scenario = Scenario(cast, ledger)
    scenario.rng = random.Random(SEED)
    for creditor, face in zip(scenario.suppliers, ("12000.00", "8000.00", "30000.00"), strict=True):
        scenario.issue(creditor, face)
    for _ in range(OPERATIONS):
        scenario.step()
    assert {"split", "transfer", "lock", "sale"} <= set(scenario.done), scenario.done
    notes = scenario.live()  # end with at least one pledged note, whatever the releases did
    supplier_ids = {s.id for s in scenario.suppliers}
    free = [n for n in notes if n["lienholder_id"] is None and n["holder_id"] in supplier_ids]
    scenario.lock(free[0], notes)

    served = make_engine(api.settings.effective_database_url)
    head = _caught_up(served, int(ledger.w3.eth.block_number))  # the API's indexer may be a poll behind
    expected = _from_notes(served)
    held_by = {h for h, *_ in expected}
    assert {p.id for p in (*scenario.suppliers, *scenario.banks)} & held_by, expected
    assert any(row[2] for row in expected), "no pledged notes: the scenario did not lock or foreclose"
    assert all(row[5] is not None for row in expected), "a live note of an unknown receivable"
    assert _aggregate(served) == expected

    # the aggregate is a projection: a fresh read model indexed from block 0, and a rebuild, give the same rows
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    fresh_indexer = Indexer(fresh, ledger.w3, ledger.deployment, ledger.artifacts)
    fresh_indexer.sync(head)
    assert _aggregate(fresh) == _from_notes(fresh)
    fresh_indexer.rebuild()
    assert _aggregate(fresh) == _from_notes(fresh)

    # a read model whose `holding_totals` has the layout before obligor and maturity were copied in: the table
    # is re-created and the indexer rebuilds the projections from the event log when it starts
    with fresh.begin() as conn:
        conn.exec_driver_sql("DROP TABLE holding_totals")
        conn.exec_driver_sql(
            "CREATE TABLE holding_totals (holder_id INTEGER NOT NULL, slot_id BIGINT NOT NULL, lienholder_id INTEGER"
            " NOT NULL, count INTEGER NOT NULL, value BIGINT NOT NULL, PRIMARY KEY (holder_id, slot_id, lienholder_id))"
        )
        conn.exec_driver_sql("INSERT INTO holding_totals VALUES (1, 1, 0, 1, 1)")
    Indexer(fresh, ledger.w3, ledger.deployment, ledger.artifacts)
    assert _aggregate(fresh) == _from_notes(fresh)

    # and the endpoint's grouping read from it equals the grouping over the notes, member by member
    now = int(ledger.w3.eth.get_block("latest")["timestamp"])
    with Session(served) as session:
        for party in cast.values():
            assert holdings(session, party.id, now) == holdings_from_notes(session, party.id, now), party.id
    served.dispose()
    fresh.dispose()
