"""Appending: a group-commit writer thread chains every entry waiting in one transaction and moves the anchor
once per batch; a failed append is spooled and drained before the next one."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, Engine, PoolProxiedConnection, bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from api.audit import anchor
from api.audit.anchor import ANCHOR_FILE
from api.audit.hashchain import entry_hash, result_of
from api.audit.models import GENESIS_HASH, HEAD_ID, AuditEntry, AuditHead, AuditUnavailableError
from api.audit.rules import DOUBLE_SPEND_TYPES, rejected_attempt_findings
from api.audit.spool import PENDING_FILE, AuditDraft, draft_from_spool, spool_append
from api.tables import ApiKey, hash_api_key
from chain.readmodel.alerts import AlertConfig, store_findings
from chain.readmodel.store import durable_begin, table

log = logging.getLogger("scf.audit")

# The append's statements, built once (it runs for every audited request): Core, bound parameters.
_HEADS = table(AuditHead)
_LOCK_HEAD = update(_HEADS).where(_HEADS.c.id == HEAD_ID).values(seq=_HEADS.c.seq)
_READ_HEAD = select(_HEADS.c.seq, _HEADS.c.hash).where(_HEADS.c.id == HEAD_ID).with_for_update()
# Both in one statement where the database has UPDATE ... RETURNING (PostgreSQL, SQLite 3.35+): one round trip less
# per batch, the same lock (the update's).
_LOCK_READ_HEAD = _LOCK_HEAD.returning(_HEADS.c.seq, _HEADS.c.hash)
_SET_HEAD = update(_HEADS).where(_HEADS.c.id == HEAD_ID).values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
_INSERT_ENTRY = insert(table(AuditEntry))
# The check before an action (`check_available`): a read of the head, Core (an ORM select through a Session of its own
# cost 0.2 ms a write, 2.6% of a split's CPU).
_CHECK_HEAD = select(_HEADS.c.seq).where(_HEADS.c.id == HEAD_ID)
# The same read as a scalar subquery, for a statement the request runs anyway: the body guard asks it beside the
# caller's key (api/body_guard.py), so a write's check of the log is no statement, session or connection of its own.
# That statement succeeding is the check passing; when it fails, `check_available` says whether the log is the cause.
HEAD_SEQ = _CHECK_HEAD.scalar_subquery()
_KEY_OWNER = select(ApiKey.member_id, ApiKey.id).where(ApiKey.key_hash == bindparam("key_hash"))
_COMMIT = "COMMIT"
_ENTRY_COLUMNS = [column.name for column in table(AuditEntry).columns]


class _PipelinedStatements:
    """The append's statements as PostgreSQL text for the driver's pipeline (compiled once per AuditLog from the
    statements above: the tables stay their one definition)."""

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect
        self.lock_read_head = str(_LOCK_READ_HEAD.compile(dialect=dialect))
        self.insert_entry = str(_INSERT_ENTRY.compile(dialect=dialect, column_keys=_ENTRY_COLUMNS))
        self.set_head = str(_SET_HEAD.compile(dialect=dialect))
        self.create_head = str(insert(_HEADS).compile(dialect=dialect, column_keys=["id", "seq", "hash"]))
        self.key_owner = str(_KEY_OWNER.compile(dialect=dialect))
        self.head_id = {"id_1": HEAD_ID}


def _fields(draft: AuditDraft, seq: int, member_id: int | None, key_id: int | None, prev_hash: str) -> dict[str, Any]:
    """The entry's hashed fields (api.audit.hashchain.HASHED_FIELDS)."""
    return {
        "seq": seq,
        "at": draft.at,
        "request_id": draft.request_id,
        "member_id": member_id,
        "api_key_id": key_id,
        "method": draft.method,
        "path": draft.path,
        "action": draft.action,
        "idempotency_key": draft.idempotency_key,
        "status": draft.status,
        "result": result_of(draft.status),
        "problem_type": draft.problem_type,
        "tx_hashes": list(draft.tx_hashes),
        "prev_hash": prev_hash,
    }


class AuditLog:
    """Appends entries (serialised in-process by a lock and across processes by the head row)."""

    def __init__(self, engine: Engine, data_dir: Path, alert_config: AlertConfig | None = None) -> None:
        self.engine = engine
        self.anchor_path = data_dir / ANCHOR_FILE
        self.pending_path = data_dir / PENDING_FILE
        self.alert_config = alert_config or AlertConfig()
        self._lock = threading.Lock()  # one appender at a time in this process (the writer, a drain, a spool)
        self._queue: deque[tuple[AuditDraft, Future[int | None]]] = deque()
        self._queue_cond = threading.Condition()
        self._writer: threading.Thread | None = None
        self._key_owners: dict[str, tuple[int, int]] = {}  # API key hash -> (member id, key id), see _who
        # PostgreSQL: the appends' own connection, held between batches while the writer runs (_append_pipelined).
        self._pipelined = _PipelinedStatements(engine) if engine.dialect.name == "postgresql" else None
        self._held: PoolProxiedConnection | None = None

    def ensure_head(self) -> None:
        """Creates the head row of an empty log, and appends entries spooled while the database was away."""
        try:
            with Session(self.engine) as session, session.begin():
                if session.get(AuditHead, HEAD_ID) is None:
                    session.add(AuditHead(id=HEAD_ID, seq=0, hash=GENESIS_HASH))
        except IntegrityError:
            pass  # another process created it at the same moment
        with self._lock:
            try:
                self._drain()
            except SQLAlchemyError as exc:
                log.error("audit: spooled entries not appended yet: %s", exc)
            finally:
                self._release_held()

    def check_available(self) -> None:
        """Raises AuditUnavailableError when the log cannot be read (nothing may be done then)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(_CHECK_HEAD).first()
        except SQLAlchemyError as exc:
            raise AuditUnavailableError(str(exc)) from exc

    def append(self, draft: AuditDraft) -> int | None:
        """Chains the entry; returns its seq, or None when the database failed and the entry was spooled.

        Raises AuditUnavailableError only when the entry could be neither appended nor spooled.
        """
        return self.submit(draft).result()

    def submit(self, draft: AuditDraft) -> Future[int | None]:
        """Queues the entry for the writer thread; the future gives what `append` returns."""
        future: Future[int | None] = Future()
        with self._queue_cond:
            self._queue.append((draft, future))
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(target=self._write_loop, name="audit-writer", daemon=True)
                self._writer.start()
            self._queue_cond.notify()
        return future

    MAX_BATCH = 256
    WRITER_IDLE_S = 5.0  # the writer thread ends after this long without entries (a new one starts on demand)

    def _write_loop(self) -> None:
        while True:
            with self._queue_cond:
                idle = not self._queue_cond.wait_for(lambda: bool(self._queue), timeout=self.WRITER_IDLE_S)
                if idle:
                    self._writer = None
                else:
                    batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.MAX_BATCH))]
            if idle:
                with self._lock:  # an idle writer gives its connection back (PostgreSQL)
                    self._release_held()
                return
            try:
                self._write_batch(batch)
            except Exception as exc:  # never leave a request waiting on a dead writer
                log.exception("audit: writing %d entries failed", len(batch))
                for _draft, future in batch:
                    if not future.done():
                        future.set_exception(AuditUnavailableError(str(exc)))

    def _write_batch(self, batch: list[tuple[AuditDraft, Future[int | None]]]) -> None:
        drafts = [draft for draft, _ in batch]
        results: list[int | None]
        with self._lock:
            try:
                self._drain()
                chained = self._insert_many([(d, hash_api_key(d.api_key) if d.api_key else None) for d in drafts])
                results = [seq for seq, _ in chained]
                self._write_anchor(*chained[-1])
            except SQLAlchemyError as exc:
                log.error("audit: append failed, spooling %d entries: %s", len(drafts), exc)
                results = []
                for draft, future in batch:
                    try:
                        self._spool(draft)
                        results.append(None)
                    except AuditUnavailableError as lost:
                        future.set_exception(lost)
                        results.append(None)
        if any(result_of(d.status) == "rejected" and d.problem_type in DOUBLE_SPEND_TYPES for d in drafts):
            self._evaluate_rejected_attempts()  # before answering: the alert is there when the response is
        for (_draft, future), seq in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(seq)

    def _insert(self, draft: AuditDraft, key_hash: str | None) -> tuple[int, str]:
        return self._insert_many([(draft, key_hash)])[0]

    def _insert_many(self, drafts: Sequence[tuple[AuditDraft, str | None]]) -> list[tuple[int, str]]:
        """Chains the entries in order in one transaction; their (seq, hash). Core statements (no ORM unit of
        work): with group commit this runs for every audited request, reads included."""
        if self._pipelined is not None:
            return self._insert_many_pipelined(self._pipelined, drafts)
        for attempt in range(3):
            try:
                chained: list[tuple[int, str]] = []
                rows: list[dict[str, Any]] = []
                with durable_begin(self.engine) as conn:  # on disk before the anchor names it
                    # Update the head first: on SQLite this takes the database's write lock for the whole
                    # transaction; on PostgreSQL it locks the row to the commit (FOR UPDATE keeps that explicit
                    # where the head is read by a statement of its own).
                    if conn.dialect.update_returning:
                        head = conn.execute(_LOCK_READ_HEAD).first()
                    else:
                        conn.execute(_LOCK_HEAD)
                        head = conn.execute(_READ_HEAD).first()
                    if head is None:
                        conn.execute(insert(table(AuditHead)).values(id=HEAD_ID, seq=0, hash=GENESIS_HASH))
                        seq, prev = 0, GENESIS_HASH
                    else:
                        seq, prev = int(head[0]), str(head[1])
                    for draft, key_hash in drafts:
                        member_id, key_id = self._who(conn, key_hash)
                        seq += 1
                        fields = _fields(draft, seq, member_id, key_id, prev)
                        prev = entry_hash(fields)
                        rows.append({**fields, "hash": prev})
                        chained.append((seq, prev))
                    conn.execute(_INSERT_ENTRY, rows)
                    conn.execute(_SET_HEAD, {"new_seq": seq, "new_hash": prev})
                return chained
            except IntegrityError:
                if attempt == 2:  # another writer took the seq (or created the head): try again
                    raise
        raise AssertionError("unreachable")

    def _insert_many_pipelined(
        self, sql: _PipelinedStatements, drafts: Sequence[tuple[AuditDraft, str | None]]
    ) -> list[tuple[int, str]]:
        """PostgreSQL: the same transaction in two round trips instead of six, on a connection the writer holds
        between batches (taken from the pool once, so no pre-ping and no check-in per batch). The head's lock and
        read go with the `BEGIN` (the hashes need the head); the inserts, the head's update and the `COMMIT` go
        together in psycopg's pipeline. The row lock and what is committed are those of `durable_begin` above.

        A held connection the server dropped (a restart while the writer was idle) fails at the first round trip,
        before anything is written: the batch is tried once more on a new connection, which is what the pool's
        pre-ping would have done. Errors come out as SQLAlchemy's (the caller spools on SQLAlchemyError)."""
        for attempt in range(3):
            fresh = self._held is None
            if self._held is None:
                self._held = self.engine.raw_connection()
            conn = self._held.driver_connection
            assert isinstance(conn, psycopg.Connection)
            stage = ["head"]
            try:
                return self._append_pipelined(conn, sql, drafts, stage)
            except psycopg.Error as exc:
                broken = conn.broken or conn.closed
                self._release_held(invalidate=broken)
                if attempt < 2 and (
                    isinstance(exc, psycopg.IntegrityError)  # another writer took the seq: try again
                    or (broken and not fresh and stage[0] == "head")  # nothing sent was committed
                ):
                    continue
                raise DBAPIError.instance(None, None, exc, psycopg.Error) from exc
            except BaseException:
                self._release_held()  # the pool rolls back an open transaction: the head's row lock goes with it
                raise
        raise AssertionError("unreachable")

    def _append_pipelined(
        self,
        conn: psycopg.Connection[Any],
        sql: _PipelinedStatements,
        drafts: Sequence[tuple[AuditDraft, str | None]],
        stage: list[str],
    ) -> list[tuple[int, str]]:
        with conn.pipeline(), conn.cursor() as cur:
            cur.execute(sql.lock_read_head, sql.head_id)  # BEGIN and the head's row lock, to the commit
            head = cur.fetchone()  # the pipeline's first sync
            stage[0] = "chain"
            if head is None:
                cur.execute(sql.create_head, {"id": HEAD_ID, "seq": 0, "hash": GENESIS_HASH})
                seq, prev = 0, GENESIS_HASH
            else:
                seq, prev = int(head[0]), str(head[1])
            chained: list[tuple[int, str]] = []
            rows: list[dict[str, Any]] = []
            for draft, key_hash in drafts:
                member_id, key_id = self._who_pipelined(cur, sql, key_hash)
                seq += 1
                fields = _fields(draft, seq, member_id, key_id, prev)
                prev = entry_hash(fields)
                rows.append({**fields, "tx_hashes": json.dumps(fields["tx_hashes"]), "hash": prev})
                chained.append((seq, prev))
            cur.executemany(sql.insert_entry, rows)
            cur.execute(sql.set_head, {"new_seq": seq, "new_hash": prev, "id_1": HEAD_ID})
            stage[0] = "commit"
            # The COMMIT as a statement of the pipeline, not `conn.commit()`, which syncs once more after it (a
            # round trip with nothing in it); psycopg reads the transaction's state from the server's answer.
            cur.execute(_COMMIT)
        # Leaving the pipeline is its second sync: the insert, the head's update and the COMMIT answered together.
        if conn.info.transaction_status != TransactionStatus.IDLE:
            raise psycopg.OperationalError("the audit append's COMMIT did not end its transaction")
        return chained

    def _who_pipelined(
        self, cur: psycopg.Cursor[Any], sql: _PipelinedStatements, key_hash: str | None
    ) -> tuple[int | None, int | None]:
        if key_hash is None:
            return None, None
        known = self._key_owners.get(key_hash)
        if known is not None:
            return known
        cur.execute(sql.key_owner, {"key_hash": key_hash})  # a key not seen yet: one round trip more, once
        row = cur.fetchone()
        if row is None:
            return None, None
        return self._remember(key_hash, (int(row[0]), int(row[1])))

    def _release_held(self, *, invalidate: bool = False) -> None:
        """Gives the appends' connection back to the pool (or has the pool discard a broken one)."""
        held, self._held = self._held, None
        if held is None:
            return
        try:
            if invalidate:
                held.invalidate()
            else:
                held.close()
        except Exception as exc:  # the connection is gone either way
            log.warning("audit: giving the append connection back failed: %s", exc)

    def _who(self, conn: Connection, key_hash: str | None) -> tuple[int | None, int | None]:
        """(member id, API key id) of the bearer key, revoked or not; (None, None) for no or an unknown key.
        A key's row never changes owner, so a found key is remembered (an unknown one is looked up again)."""
        if key_hash is None:
            return None, None
        known = self._key_owners.get(key_hash)
        if known is not None:
            return known
        row = conn.execute(_KEY_OWNER, {"key_hash": key_hash}).first()
        if row is None:
            return None, None
        return self._remember(key_hash, (int(row[0]), int(row[1])))

    def _remember(self, key_hash: str, owner: tuple[int, int]) -> tuple[int, int]:
        if len(self._key_owners) < 100_000:
            self._key_owners[key_hash] = owner
        return owner

    def _write_anchor(self, seq: int, digest: str) -> None:
        anchor.advance_anchor(self.anchor_path, seq, digest)

    def spool(self, draft: AuditDraft) -> None:
        """Keeps an entry for later (the database is away); raises AuditUnavailableError if that fails too."""
        with self._lock:
            self._spool(draft)

    def _spool(self, draft: AuditDraft) -> None:
        with self._spool_locked():
            spool_append(self.pending_path, draft)

    @contextmanager
    def _spool_locked(self) -> Iterator[None]:
        """The spool file to this process alone (flock of a lock file beside it): the processes of `scf serve
        --workers` share the data dir, and a drain rewrites the file a spooling process appends to."""
        lock_path = self.pending_path.with_name(self.pending_path.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:  # the spool itself says what fails next
            log.error("audit: could not open the spool lock %s: %s", lock_path, exc)
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _drain(self) -> None:
        """Appends spooled entries in their order, removing each from the spool once it is in the log."""
        if not self.pending_path.exists():  # the common case, without taking the lock
            return
        with self._spool_locked():
            self._drain_locked()

    def _drain_locked(self) -> None:
        try:
            lines = [line for line in self.pending_path.read_text().splitlines() if line.strip()]
        except FileNotFoundError:
            return
        while lines:
            draft, key_hash = draft_from_spool(json.loads(lines[0]))
            seq, digest = self._insert(draft, key_hash)
            self._write_anchor(seq, digest)
            lines.pop(0)
            if lines:
                anchor.write_private(self.pending_path, "\n".join(lines) + "\n")
            else:
                self.pending_path.unlink()

    def _evaluate_rejected_attempts(self) -> None:
        try:
            with Session(self.engine) as session, session.begin():
                found = rejected_attempt_findings(session, self.alert_config)
                store_findings(session, found, lambda _block: 0)
        except SQLAlchemyError as exc:  # e.g. the indexer stored the same alert at the same moment
            log.warning("audit: rejected-attempts rule not evaluated now (the indexer re-derives it): %s", exc)
