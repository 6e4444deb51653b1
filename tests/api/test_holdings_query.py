"""The holdings statement (`api.services.holdings.holdings_at`: one range of the (holder, maturity) index per
bucket) against its Python twin `bucket_of`, on `holding_totals` rows put at every bucket edge, pledged and not,
and of receivables not known yet; and `create_schema` giving an existing read model that index. On the test
database (SQLite, or PostgreSQL in the PostgreSQL pass); no chain needed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session

from api.services.holdings import BUCKETS, DAY, Group, Holdings, bucket_of, holdings_at
from chain.readmodel.indexer import CHECKPOINT
from chain.readmodel.store import Checkpoint, HoldingTotal, create_schema, make_engine, table
from tests.conftest import database_url_of

NOW = 1_800_000_000
MEMBER, OTHER, BANK = 7, 8, 9


def _rows() -> list[dict[str, int | None]]:
    """The member's rows: one receivable per maturity at each bucket edge and a second either side of it, over two
    obligors, every third pledged to BANK; a pledged and a free note of a receivable not known yet (slot 0)."""
    edges = [NOW] + [NOW + days * DAY for days in (30, 60, 90, 180)]
    maturities = sorted({m + d for m in edges for d in (-1, 0, 1)} | {NOW - 400 * DAY, NOW + 900 * DAY})
    rows: list[dict[str, int | None]] = []
    for i, maturity in enumerate(maturities):
        slot = 100 + i
        rows.append(
            {
                "holder_id": MEMBER,
                "slot_id": slot,
                "lienholder_id": BANK if i % 3 == 0 else 0,
                "count": 1 + i % 4,
                "value": 1_000 * (i + 1),
                "obligor_id": 1 + i % 2,
                "maturity": maturity,
            }
        )
    rows += [
        {"holder_id": MEMBER, "slot_id": 0, "lienholder_id": BANK, "count": 2, "value": 500, "obligor_id": None},
        {"holder_id": MEMBER, "slot_id": 0, "lienholder_id": 0, "count": 1, "value": 70, "obligor_id": None},
        {"holder_id": OTHER, "slot_id": 100, "lienholder_id": 0, "count": 5, "value": 9, "obligor_id": 1},
    ]
    for row in rows:
        row.setdefault("maturity", None)
    return rows


def _expected(rows: list[dict[str, int | None]], member: int) -> Holdings:
    """What grouping the member's rows in Python gives (bucket_of, the SQL's twin)."""
    groups: dict[tuple[int, int], list[int]] = {}
    pledged: dict[int, list[int]] = {}
    for row in rows:
        if row["holder_id"] != member:
            continue
        count, value, lien = int(row["count"] or 0), int(row["value"] or 0), int(row["lienholder_id"] or 0)
        if lien:
            mine = pledged.setdefault(lien, [0, 0])
            mine[0] += count
            mine[1] += value
        if row["obligor_id"] is None:
            continue
        bucket = BUCKETS.index(bucket_of(int(row["maturity"] or 0), NOW))
        group = groups.setdefault((int(row["obligor_id"]), bucket), [0, 0, 0, 0])
        group[0] += count
        group[1] += value
        if lien:
            group[2] += count
            group[3] += value
    return Holdings(
        [Group(o, BUCKETS[b], c, t, pc, pt) for (o, b), (c, t, pc, pt) in sorted(groups.items())],
        [(lien, c, t) for lien, (c, t) in sorted(pledged.items())],
    )


def test_holdings_by_bucket_edges_pledges_and_unknown_receivables(tmp_path: Path) -> None:
    engine = make_engine(database_url_of(tmp_path))
    create_schema(engine)
    rows = _rows()
    try:
        with Session(engine) as session:
            assert holdings_at(session, MEMBER, NOW) == (Holdings(), 0)  # nothing indexed, nothing held
            session.execute(insert(table(HoldingTotal)), rows)
            session.execute(insert(table(Checkpoint)), [{"name": CHECKPOINT, "block_number": 42, "block_hash": "00"}])
            session.commit()
            result, indexed = holdings_at(session, MEMBER, NOW)
            assert indexed == 42
            assert result == _expected(rows, MEMBER)
            assert {g.bucket for g in result.groups} == set(BUCKETS)  # every bucket has rows: the edges are covered
            assert result.pledged[0][0] == BANK and result.pledged[0][1] > 2  # the unknown receivable's pledge too
            assert holdings_at(session, 12345, NOW) == (Holdings(), 42)
    finally:
        engine.dispose()


def test_create_schema_adds_the_maturity_index_to_an_existing_read_model(tmp_path: Path) -> None:
    engine = make_engine(database_url_of(tmp_path))
    try:
        create_schema(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX ix_holding_totals_maturity")  # a read model made before the index
        assert "ix_holding_totals_maturity" not in {i["name"] for i in inspect(engine).get_indexes("holding_totals")}
        create_schema(engine)
        assert "ix_holding_totals_maturity" in {i["name"] for i in inspect(engine).get_indexes("holding_totals")}
    finally:
        engine.dispose()
