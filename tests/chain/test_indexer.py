"""Indexer against a real anvil: projections, rebuild equality, crash atomicity, reorg rollback."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session
from web3 import Web3

from chain.node.client import contract
from chain.node.roles import Roles
from chain.node.tx import send
from chain.readmodel import projections
from chain.readmodel.indexer import EventDecoder, Indexer
from chain.readmodel.store import PROJECTIONS, Checkpoint, EventRecord, IndexedBlock, Member, make_engine
from scripts.runtime import Ledger
from tests.chain.test_alerts import CORE, UNIT, Actors
from tests.conftest import PG_ADMIN_URL, pg_database_for

SUPPLIER = int(Roles.SUPPLIER)
# Columns whose values depend on insertion history, not on the ledger.
SURROGATE_COLUMNS = {"value_moves": {"id", "event_id"}}


def _admit(ledger: Ledger, roles: int = SUPPLIER, group: int = 0) -> str:
    registry = contract(ledger.w3, ledger.deployment, ledger.artifacts, "MemberRegistry")
    account = Account.create().address
    fn = registry.functions.admit(account, roles, b"\x11" * 32, group, 0)
    send(ledger.w3, ledger.operator, fn.build_transaction({"from": ledger.operator.address}))
    return account


def _engine(tmp_path: Path, name: str) -> Engine:
    """A fresh read model: a SQLite file, or a database of its own on the PostgreSQL pass (SCF_TEST_PG_URL)."""
    if PG_ADMIN_URL is not None:
        return make_engine(pg_database_for(tmp_path / name))
    return make_engine(f"sqlite:///{tmp_path / name}")


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection row, without surrogate ids that depend on insertion history."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with Session(engine) as session:
        for table in PROJECTIONS:
            surrogate = SURROGATE_COLUMNS.get(table.__tablename__, set())
            cols = [c for c in table.__table__.columns if c.name not in surrogate]
            rows = session.execute(select(*cols)).all()
            out[table.__tablename__] = sorted(tuple(r) for r in rows)
    return out


def _indexer(ledger: Ledger, engine: Engine) -> Indexer:
    return Indexer(engine, ledger.w3, ledger.deployment, ledger.artifacts)


def test_members_are_projected_and_sync_is_idempotent(ledger: Ledger, tmp_path: Path) -> None:
    account = _admit(ledger, roles=SUPPLIER | 4, group=7)
    engine = _engine(tmp_path, "a.db")
    indexer = _indexer(ledger, engine)
    head = indexer.sync()
    assert head == ledger.w3.eth.block_number
    with Session(engine) as session:
        member = session.scalar(select(Member).where(Member.account == account))
        assert member is not None
        assert (member.roles, member.group_id, member.status) == (SUPPLIER | 4, 7, "active")
        events = session.query(EventRecord).count()
    indexer.sync()
    with Session(engine) as session:
        assert session.query(EventRecord).count() == events


def test_rebuild_from_block_zero_gives_the_same_tables(ledger: Ledger, tmp_path: Path) -> None:
    for _ in range(3):
        _admit(ledger)
    live = _engine(tmp_path, "live.db")
    live_indexer = _indexer(ledger, live)
    live_indexer.sync()
    _admit(ledger)
    live_indexer.sync()  # incremental
    fresh = _engine(tmp_path, "fresh.db")
    _indexer(ledger, fresh).sync()  # from the deployment block in one go
    assert _dump(live) == _dump(fresh)
    live_indexer.rebuild()  # replay of the stored event log
    assert _dump(live) == _dump(fresh)


def test_a_failure_mid_range_leaves_nothing_half_written(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(tmp_path, "crash.db")
    indexer = _indexer(ledger, engine)
    indexer.sync()
    before = _dump(engine)
    checkpoint = indexer.checkpoint()
    _admit(ledger)
    _admit(ledger)
    calls = {"n": 0}
    original = projections.Projector.apply
    this_thread = threading.get_ident()

    def flaky(self: projections.Projector, record: EventRecord) -> None:
        # The API server's background indexer (another thread, same process) must not trip over the patch.
        if threading.get_ident() != this_thread:
            original(self, record)
            return
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated crash")
        original(self, record)

    assert indexer._rules is not None  # the alert rules' state, kept between passes
    monkeypatch.setattr(projections.Projector, "apply", flaky)
    with pytest.raises(RuntimeError, match="simulated crash"):
        indexer.sync()
    assert indexer.checkpoint() == checkpoint
    assert _dump(engine) == before
    assert indexer._rules is None  # a failed pass drops it: the next pass rebuilds it from the stored events
    monkeypatch.setattr(projections.Projector, "apply", original)
    indexer.sync()
    fresh = _engine(tmp_path, "fresh.db")
    _indexer(ledger, fresh).sync()
    assert _dump(engine) == _dump(fresh)


def test_reorg_is_rolled_back_and_replayed(ledger: Ledger, tmp_path: Path) -> None:
    w3: Web3 = ledger.w3
    engine = _engine(tmp_path, "reorg.db")
    indexer = _indexer(ledger, engine)
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    orphan = _admit(ledger)
    indexer.sync()
    with Session(engine) as session:
        assert session.scalar(select(Member).where(Member.account == orphan)) is not None
    orphan_block = indexer.checkpoint()
    assert orphan_block is not None

    # The chain forgets that block and grows a different one at the same height, and one more.
    assert w3.provider.make_request("evm_revert", [snapshot])["result"]  # type: ignore[arg-type]
    kept = _admit(ledger)
    _admit(ledger)
    assert w3.eth.get_block(orphan_block[0])["hash"].hex() != orphan_block[1]

    indexer.sync()
    with Session(engine) as session:
        accounts = set(session.scalars(select(Member.account)))
        cp = session.get(Checkpoint, "indexer")
    assert orphan not in accounts
    assert kept in accounts
    assert cp is not None and cp.block_number == w3.eth.block_number
    fresh = _engine(tmp_path, "fresh.db")
    _indexer(ledger, fresh).sync()
    assert _dump(engine) == _dump(fresh)


def _sample(typ: str) -> Any:
    if typ.startswith("uint"):
        return 2 ** int(typ[4:] or 256) - 1
    if typ.startswith("int"):
        return -(2 ** (int(typ[3:] or 256) - 1))
    if typ == "address":
        return Account.create().address
    if typ == "bool":
        return True
    if typ == "string":
        return "https://scf.example/v1/metadata/" * 3
    return bytes(range(1, int(typ[5:]) + 1))


def test_decoding_from_hex_equals_eth_abi(ledger: Ledger) -> None:
    """The indexer decodes logs from the node's hex strings by slicing words; every event of the suite must
    come out as eth-abi decodes it (extreme values: max uints, min ints, mixed-case addresses, bytes)."""
    from eth_abi import encode

    decoder = EventDecoder(ledger.deployment, ledger.artifacts)
    checked = 0
    for (address, topic), spec in decoder._specs.items():
        indexed = [_sample(t) for _, t in spec.indexed]
        data = [_sample(t) for _, t in spec.data]
        topics = [topic, *(encode([t], [v]) for (_, t), v in zip(spec.indexed, indexed, strict=True))]
        raw = encode([t for _, t in spec.data], data)
        slow = decoder.decode({"address": address, "topics": topics, "data": raw})
        fast = decoder.decode_raw(Web3.to_checksum_address(address), ["0x" + t.hex() for t in topics], "0x" + raw.hex())
        assert fast == slow, f"{spec.contract}.{spec.name}"
        checked += 1
    assert checked > 40


def _mine(w3: Web3, blocks: int = 1) -> None:
    assert "error" not in w3.provider.make_request("anvil_mine", [hex(blocks)])  # type: ignore[arg-type]


def _block_rows(engine: Engine) -> list[int]:
    with Session(engine) as session:
        return list(session.scalars(select(IndexedBlock.number).order_by(IndexedBlock.number)))


def test_the_blocks_table_keeps_only_the_reorg_window(ledger: Ledger, tmp_path: Path) -> None:
    engine = _engine(tmp_path, "window.db")
    indexer = Indexer(engine, ledger.w3, ledger.deployment, ledger.artifacts, reorg_window=5)
    indexer.sync()
    for round_ in range(30):  # a pass per block, as the service's loop makes at 0.5 s blocks
        if round_ % 7 == 0:
            _admit(ledger)  # a block with events now and then
        else:
            _mine(ledger.w3)
        indexer.sync()
    checkpoint = indexer.checkpoint()
    assert checkpoint is not None
    rows = _block_rows(engine)
    assert rows, "the checkpoint block is stored"
    assert rows[-1] == checkpoint[0]
    assert all(number > checkpoint[0] - 5 for number in rows), rows  # no timestamps stored: no alerts raised
    assert len(rows) <= 5


def test_a_reorg_deeper_than_the_window_rebuilds_from_the_deployment_block(
    ledger: Ledger, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    w3: Web3 = ledger.w3
    engine = _engine(tmp_path, "deep.db")
    indexer = Indexer(engine, w3, ledger.deployment, ledger.artifacts, reorg_window=3)
    indexer.sync()
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    orphans = []
    for _ in range(5):  # 5 blocks with events, each indexed in a pass of its own: all deeper than the window
        orphans.append(_admit(ledger))
        indexer.sync()
    assert w3.provider.make_request("evm_revert", [snapshot])["result"]  # type: ignore[arg-type]
    kept = [_admit(ledger) for _ in range(6)]  # a different, longer chain over the same heights

    with caplog.at_level(logging.INFO, logger="scf.indexer"):
        assert indexer.sync() == w3.eth.block_number
    assert any("deeper than the window" in r.getMessage() for r in caplog.records), caplog.text
    with Session(engine) as session:
        accounts = set(session.scalars(select(Member.account)))
    assert accounts.isdisjoint(orphans)
    assert set(kept) <= accounts
    fresh = _engine(tmp_path, "fresh.db")
    _indexer(ledger, fresh).sync()
    assert _dump(engine) == _dump(fresh)


def test_a_reorg_inside_the_window_rolls_back_to_the_common_ancestor(
    ledger: Ledger, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    w3: Web3 = ledger.w3
    engine = _engine(tmp_path, "shallow.db")
    indexer = Indexer(engine, w3, ledger.deployment, ledger.artifacts, reorg_window=10)
    _admit(ledger)
    indexer.sync()
    ancestor = indexer.checkpoint()
    assert ancestor is not None
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    orphan = _admit(ledger)
    indexer.sync()
    assert w3.provider.make_request("evm_revert", [snapshot])["result"]  # type: ignore[arg-type]
    _admit(ledger)
    _admit(ledger)
    with caplog.at_level(logging.INFO, logger="scf.indexer"):
        indexer.sync()
    messages = [r.getMessage() for r in caplog.records]
    assert f"reorg detected at block {ancestor[0] + 1}; rolling back to {ancestor[0]} and replaying" in messages
    with Session(engine) as session:
        assert session.scalar(select(Member).where(Member.account == orphan)) is None
    fresh = _engine(tmp_path, "fresh.db")
    _indexer(ledger, fresh).sync()
    assert _dump(engine) == _dump(fresh)


def _statements_of(engine: Engine, run: Callable[[], object]) -> list[str]:
    """The SQL `run` sent on `engine`, one line each."""
    seen: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(" ".join(sql.split()))

    event.listen(engine, "before_cursor_execute", statement)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    return seen


def test_a_pass_over_a_block_of_splits_reads_back_nothing_it_wrote(ledger: Ledger, tmp_path: Path) -> None:
    """The statements of a pass over a block with a split (docs/performance.md, round 13 of a split's CPU): each
    table written by one statement, the alert rules fed from the pass's own rows (no query of the value moves, the
    events or the purchases it has just written), the range's blocks stored by one upsert (no read of them), the next
    event id known from the pass before (no `max(events.id)`)."""
    actors = Actors(ledger)
    core, supplier, tier2 = actors.admit(CORE, credit=10_000_000 * UNIT), actors.admit(SUPPLIER), actors.admit(SUPPLIER)
    note = actors.issue(core, supplier, 10_000 * UNIT)
    engine = _engine(tmp_path, "statements.db")
    indexer = _indexer(ledger, engine)
    indexer.sync()
    actors.split(supplier, note, tier2, 950 * UNIT)  # a block of its own (automine)
    actors.split(supplier, note, tier2, 960 * UNIT)
    head = ledger.w3.eth.block_number
    indexer.sync(head - 1)  # the first split's pass: the rules' state continues from here
    sql = [s.replace('"', "") for s in _statements_of(engine, lambda: indexer.sync(head))]  # SQLite's raw inserts
    assert indexer.indexed_block() == head
    listed = "\n".join(sql)
    reads = [s for s in sql if s.startswith("SELECT")]
    assert not [s for s in reads if "value_moves" in s or "purchases" in s], listed
    assert not [s for s in reads if "FROM events" in s], listed  # the next event id is known from the last pass
    assert not [s for s in reads if "FROM blocks" in s], listed
    blocks = [s for s in sql if "blocks" in s and not s.startswith("SELECT")]
    assert len(blocks) == 2, listed  # the upsert of the range's blocks and the window's prune
    assert "ON CONFLICT" in blocks[0], listed
    for written in ("INSERT INTO events", "INSERT INTO value_moves", "UPDATE notes", "INSERT INTO notes"):
        assert len([s for s in sql if s.startswith(written)]) == 1, (written, listed)
    # reads: the checkpoint, the notes, the members' accounts, the touched totals; writes: the events, the
    # recipient's total, the new note, the split note, the value move, the blocks' upsert and prune, the checkpoint
    # (the alert rules: no statement, the audit log's rule is not given to this indexer)
    assert len(sql) == 12, listed
