"""`python -m bench.holdings [--notes 1000000]`: the holdings query of `GET /v1/verify/holdings` at scale.

Fills a fresh SQLite read model (temp dir, the product's schema and engine settings) with `--notes` live
notes over 5,000 receivables of 20 obligors, then times, for a member holding many notes and one holding
few, the grouping the endpoint runs (`api.services.holdings.holdings`, one statement over the maintained
`holding_totals` aggregate with the receivables' obligor and maturity copied in, filled here from the
generated notes) against two baselines measured in the same run: the SQL
grouping straight over the notes (`holdings_from_notes`, the endpoint's query before the aggregate) and
loading the member's rows and grouping them in Python. Prints a table.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from api.services.holdings import bucket_of, holdings, holdings_from_notes, holdings_query
from chain.readmodel.store import HoldingTotal, Note, Receivable, create_schema, make_engine

DAY = 86_400
NOW = 1_800_000_000
SLOTS = 5_000
OBLIGORS = 20
BIG_HOLDER, SMALL_HOLDER = 7, 8


def _fill(session: Session, notes: int, big_share: float) -> None:
    rng = random.Random(42)
    receivables = [
        {
            "id": slot,
            "obligor_id": 1 + slot % OBLIGORS,
            "creditor_id": 100,
            "face_value": 10**9,
            "cash_token": "0x" + "00" * 20,
            "maturity": NOW + rng.randint(-30, 400) * DAY,
            "invoice_hash": f"0x{slot:064x}",
            "order_id": None,
            "status": "active",
            "first_note_id": slot,
            "issued_block": 1,
            "issued_tx": "0x" + "00" * 32,
        }
        for slot in range(1, SLOTS + 1)
    ]
    session.execute(insert(Receivable), receivables)
    terms = {int(r["id"]): (int(r["obligor_id"]), int(r["maturity"])) for r in receivables}  # type: ignore[arg-type]
    batch: list[dict[str, object]] = []
    totals: dict[tuple[int, int, int], list[int]] = defaultdict(lambda: [0, 0])
    for note_id in range(1, notes + 1):
        roll = rng.random()
        holder = (
            BIG_HOLDER if roll < big_share else SMALL_HOLDER if roll < big_share + 0.0001 else 1000 + note_id % 5000
        )
        batch.append(
            {
                "id": note_id,
                "slot_id": rng.randint(1, SLOTS),
                "holder_id": holder,
                "value": rng.randint(100, 10**7),
                "parent_id": None,
                "lienholder_id": 9 if rng.random() < 0.1 else 0,
                "live": rng.random() < 0.9,
                "created_block": 1,
                "created_tx": "0x" + "00" * 32,
            }
        )
        row = batch[-1]
        if row["live"]:
            total = totals[(int(row["holder_id"]), int(row["slot_id"]), int(row["lienholder_id"]))]  # type: ignore[call-overload]
            total[0] += 1
            total[1] += int(row["value"])  # type: ignore[call-overload]
        if len(batch) == 50_000:
            session.execute(insert(Note), batch)
            batch.clear()
    if batch:
        session.execute(insert(Note), batch)
    session.execute(
        insert(HoldingTotal),
        [
            {
                "holder_id": h,
                "slot_id": s,
                "lienholder_id": lien,
                "count": c,
                "value": v,
                "obligor_id": terms[s][0],
                "maturity": terms[s][1],
            }
            for (h, s, lien), (c, v) in totals.items()
        ],
    )
    session.commit()


def _python_grouping(session: Session, member_id: int) -> int:
    """Baseline: every live note of the member loaded into Python and grouped there."""
    rows = session.execute(
        select(Receivable.obligor_id, Receivable.maturity, Note.value, Note.lienholder_id)
        .join(Receivable, Receivable.id == Note.slot_id)
        .where(Note.holder_id == member_id, Note.live.is_(True))
    ).all()
    groups: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    for obligor, maturity, value, _lien in rows:
        group = groups[(obligor, bucket_of(maturity, NOW))]
        group[0] += 1
        group[1] += value
    return len(groups)


def _time(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notes", type=int, default=1_000_000)
    parser.add_argument("--big-share", type=float, default=0.2, help="share of all notes the big holder holds")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        create_schema(engine)
        start = time.perf_counter()
        with Session(engine) as session:
            _fill(session, args.notes, args.big_share)
        print(f"filled {args.notes:,} notes in {time.perf_counter() - start:.1f} s")
        with Session(engine) as session:
            print("| holder | live notes held | holding_totals ms | SQL over notes ms | Python grouping ms | groups |")
            print("|---|---:|---:|---:|---:|---:|")
            for member in (BIG_HOLDER, SMALL_HOLDER):
                result = holdings(session, member, NOW)
                assert result == holdings_from_notes(session, member, NOW)
                held = sum(g.count for g in result.groups)
                agg_ms = _time(lambda m=member: holdings(session, m, NOW), args.repeat)  # type: ignore[misc]
                sql_ms = _time(lambda m=member: holdings_from_notes(session, m, NOW), args.repeat)  # type: ignore[misc]
                py_ms = _time(lambda m=member: _python_grouping(session, m), args.repeat)  # type: ignore[misc]
                assert len(result.groups) == _python_grouping(session, member)
                print(f"| {member} | {held:,} | {agg_ms:,.1f} | {sql_ms:,.1f} | {py_ms:,.1f} | {len(result.groups)} |")
            query = holdings_query(BIG_HOLDER, NOW).compile(engine, compile_kwargs={"literal_binds": True})
            plan = session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {query}")
            print("plan of the holdings query:", "; ".join(str(row[-1]) for row in plan))
        engine.dispose()


if __name__ == "__main__":
    main()
