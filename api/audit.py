"""Tamper-evident audit log of API actions: a hash chain in the database plus an external anchor of its head.

- Every non-GET request (whatever its outcome) and the GETs of /v1/verify/*, /v1/audit* and /v1/export/* are
  appended by `AuditMiddleware` (pure ASGI) once the route has produced its status, before the response is
  sent: who (member id and API key id), what (method, path, route name), when, request id, idempotency key,
  the transactions the request sent (reported by api/writes.py through `record_tx_hash`), status, result
  and problem type.
- Entry n stores `prev_hash` = hash of entry n-1 (64 zeros for entry 1) and `hash` = SHA-256 of the canonical
  JSON of its fields (`canonical_json`, documented in docs/audit.md). Appends are serialised by a one-row
  head table updated first in the inserting transaction (a write lock on SQLite, a row lock on PostgreSQL).
- After each append the head (seq, hash) is written atomically to `audit-head.json` in the data dir (mode
  0600): deleting the newest entries, which leaves a valid shorter chain, no longer matches the anchor.
- Group commit: concurrent requests' entries are queued and appended by one writer thread, as many as are
  waiting in one database transaction with one anchor write (and fsync) per batch; each request still waits
  until its own entry is committed and anchored before its response is sent. (One transaction and fsync per
  entry, behind one lock, made the log the service's bottleneck: 32 concurrent writers queued on it.)
- If the log cannot be read before an action, the request is refused with 503 `audit-unavailable`. If the
  append after the action fails, the answer is still given (the action happened) and the entry is spooled to
  `audit-pending.jsonl`, appended before any later entry once the database answers again. An audited GET
  changes nothing, so it is not checked first: its entry is appended, or spooled like any failed append
  (the answer then carries `Audit-Pending: true`).

The log is not a projection: a read-model rebuild leaves it alone, and the "rejected-attempts" alert rule
(`rejected_attempt_findings`) is re-derived from it.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import logging
import os
import re
import threading
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from concurrent.futures import Future
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from anyio import to_thread
from sqlalchemy import JSON, BigInteger, Connection, Engine, String, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from api.logs import REQUEST_ID
from api.problems import PROBLEM_JSON, TYPE_BASE, catalogued
from api.tables import OPERATOR, ApiKey, hash_api_key
from chain.readmodel.alerts import AlertConfig, Finding, RejectedAttempt, rejected_attempts, store_findings
from chain.readmodel.store import Base, Int, durable_begin, table

log = logging.getLogger("scf.audit")

GENESIS_HASH = "0" * 64
ANCHOR_FILE = "audit-head.json"
PENDING_FILE = "audit-pending.jsonl"
HEAD_ID = 1
REQUEST_ID_HEADER = "X-Request-Id"
_READ_METHODS = frozenset({"GET", "HEAD"})
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_MAX_PATH = 2048
_MAX_PROBLEM_BODY = 65_536  # problem bodies are small; a larger error body is passed on without its type

# The fields covered by `hash`, in the order the API shows them (the canonical JSON sorts them by name).
HASHED_FIELDS = (
    "seq",
    "at",
    "request_id",
    "member_id",
    "api_key_id",
    "method",
    "path",
    "action",
    "idempotency_key",
    "status",
    "result",
    "problem_type",
    "tx_hashes",
    "prev_hash",
)

# Problem types of a refused attempt to issue, pledge, lock or sell something a second time
# (contract errors, slugs by api.writes.contract_error_slug): the "rejected-attempts" alert rule counts them.
DOUBLE_SPEND_SLUGS = (
    "invoice-already-tokenised",  # ReceivableNotes.InvoiceAlreadyTokenised: the invoice already backs a receivable
    "order-already-tokenised",  # ReceivableNotes.OrderAlreadyTokenised: the order already has a receivable
    "order-already-pledged",  # OrderBook.OrderAlreadyPledged: the order already has a lienholder
    "note-is-locked",  # ReceivableNotes.NoteIsLocked: the note is pledged (locked) to a lienholder
    "loan-exists",  # Financing.LoanExists: the order already secures an active loan
    "offer-not-open",  # Financing.OfferNotOpen: the offer was already accepted (sold) or cancelled
)
DOUBLE_SPEND_TYPES = tuple(TYPE_BASE + slug for slug in DOUBLE_SPEND_SLUGS)


class AuditEntry(Base):
    """One audited API action, hash-chained to the previous one. Not a projection: never rebuilt."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32), index=True)  # ISO 8601 UTC, microseconds, "Z"
    request_id: Mapped[str] = mapped_column(String(128), index=True)
    member_id: Mapped[int | None] = mapped_column(Int, nullable=True, index=True)
    api_key_id: Mapped[int | None] = mapped_column(Int, nullable=True)
    method: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(_MAX_PATH))
    action: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[int] = mapped_column(Int)
    result: Mapped[str] = mapped_column(String(16), index=True)  # ok | rejected | error
    problem_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    tx_hashes: Mapped[list[str]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The chain's head (one row, id 1): updated first in every append, so appends are serialised."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Int, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


# The append's statements, built once (it runs for every audited request): Core, bound parameters.
_HEADS = table(AuditHead)
_LOCK_HEAD = update(_HEADS).where(_HEADS.c.id == HEAD_ID).values(seq=_HEADS.c.seq)
_READ_HEAD = select(_HEADS.c.seq, _HEADS.c.hash).where(_HEADS.c.id == HEAD_ID).with_for_update()
_SET_HEAD = update(_HEADS).where(_HEADS.c.id == HEAD_ID).values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
_INSERT_ENTRY = insert(table(AuditEntry))


class AuditUnavailableError(Exception):
    """The audit log cannot be read or written."""


# ------------------------------------------------------------------------------------- hashing


def canonical_json(fields: Mapping[str, Any]) -> str:
    """The hashed form: a JSON object of exactly HASHED_FIELDS, keys sorted, no spaces, ASCII only."""
    return json.dumps({name: fields[name] for name in HASHED_FIELDS}, sort_keys=True, separators=(",", ":"))


def entry_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(fields).encode("ascii")).hexdigest()


def entry_dict(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in (*HASHED_FIELDS, "hash")}


def utc_iso(moment: datetime) -> str:
    """The one timestamp format of the log: 2026-11-27T13:28:51.123456Z (sorts as text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def result_of(status: int) -> str:
    return "ok" if status < 400 else "rejected" if status < 500 else "error"


# ------------------------------------------------------------------------------------ verifying


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None  # edited | deleted | reordered | truncated
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify_chain(entries: Sequence[Mapping[str, Any]], anchor: Anchor | None = None) -> AuditVerification:
    """Checks a whole log (from seq 1, in the order given): hashes, links, seq continuity, and the anchor.

    Pure: needs only the entries (as dicts with HASHED_FIELDS and `hash`) and optionally the anchored head.
    """
    seqs = {int(e["seq"]) for e in entries}
    prev_hash = GENESIS_HASH
    expected = 1

    def bad(seq: int, reason: str, detail: str) -> AuditVerification:
        return AuditVerification(False, len(entries), expected - 1, prev_hash, seq, reason, detail)

    for entry in entries:
        seq = int(entry["seq"])
        if seq != expected:
            if expected in seqs or seq < expected:
                return bad(expected, "reordered", f"entry {seq} stands where entry {expected} belongs")
            return bad(expected, "deleted", f"entries {expected}..{seq - 1} are missing (next present: {seq})")
        try:
            recomputed = entry_hash(entry)
        except (KeyError, TypeError, ValueError) as exc:
            return bad(seq, "edited", f"entry {seq} is malformed: {exc}")
        if recomputed != entry["hash"]:
            return bad(
                seq, "edited", f"entry {seq} does not match its hash (stored {entry['hash']}, computed {recomputed})"
            )
        if entry["prev_hash"] != prev_hash:
            return bad(seq, "edited", f"entry {seq} does not link to entry {seq - 1}: an earlier entry was rewritten")
        prev_hash = str(entry["hash"])
        expected += 1
    head_seq = expected - 1
    if anchor is not None:
        if anchor.seq > head_seq:
            return bad(
                head_seq + 1, "truncated", f"the anchor names entry {anchor.seq} but the log ends at entry {head_seq}"
            )
        if anchor.seq >= 1 and entries[anchor.seq - 1]["hash"] != anchor.hash:
            return bad(anchor.seq, "edited", f"entry {anchor.seq} differs from the anchored head ({anchor.hash})")
    detail = f"{head_seq} entries intact" + (f", anchor at entry {anchor.seq} matches" if anchor else "")
    return AuditVerification(True, len(entries), head_seq, prev_hash, None, None, detail)


def read_anchor(path: Path) -> Anchor | None:
    """The anchored head, or None when there is no anchor file; raises ValueError on an unreadable one."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"unreadable audit anchor {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("seq"), int) or not isinstance(data.get("hash"), str):
        raise ValueError(f"audit anchor {path} must be {{seq: int, hash: str}}")
    return Anchor(data["seq"], data["hash"])


def load_entries(session: Session) -> list[dict[str, Any]]:
    return [entry_dict(e) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]


def verify_database(engine: Engine, anchor_path: Path | None) -> AuditVerification:
    """Reads the anchor first, then the log: an append in between can only make the log longer than the anchor."""
    anchor = read_anchor(anchor_path) if anchor_path is not None else None
    with Session(engine) as session:
        return verify_chain(load_entries(session), anchor)


# ----------------------------------------------------------------------------- the alert rule


def rejected_attempt_findings(session: Session, config: AlertConfig) -> list[Finding]:
    """The "rejected-attempts" rule over the audit log (an `extra_rules` function of `alerts.evaluate`)."""
    query = (
        select(AuditEntry.member_id, AuditEntry.at, AuditEntry.request_id)
        .where(AuditEntry.result == "rejected", AuditEntry.problem_type.in_(DOUBLE_SPEND_TYPES))
        .where(AuditEntry.member_id.is_not(None), AuditEntry.member_id != OPERATOR)
        .order_by(AuditEntry.seq)
    )
    attempts = [
        RejectedAttempt(member_id, datetime.fromisoformat(at), request_id)
        for member_id, at, request_id in session.execute(query).all()
        if member_id is not None
    ]
    return rejected_attempts(attempts, config)


# ---------------------------------------------------------------------------------- appending


@dataclass
class AuditDraft:
    """An entry before it is chained: what the middleware saw."""

    at: str
    request_id: str
    method: str
    path: str
    action: str | None
    idempotency_key: str | None
    status: int
    problem_type: str | None
    tx_hashes: list[str] = field(default_factory=list)
    api_key: str | None = None  # the bearer token, resolved to (member id, key id) when appended; never stored

    def to_spool(self) -> dict[str, Any]:
        data = asdict(self)
        data["api_key_sha256"] = hash_api_key(self.api_key) if self.api_key else None  # not the key itself
        del data["api_key"]
        return data


def _draft_from_spool(data: dict[str, Any]) -> tuple[AuditDraft, str | None]:
    key_hash = data.pop("api_key_sha256", None)
    return AuditDraft(**data), key_hash


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

    def check_available(self) -> None:
        try:
            with Session(self.engine) as session:
                session.execute(select(AuditHead.seq).where(AuditHead.id == HEAD_ID)).first()
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
                if not self._queue_cond.wait_for(lambda: bool(self._queue), timeout=self.WRITER_IDLE_S):
                    self._writer = None
                    return
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.MAX_BATCH))]
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
        for attempt in range(3):
            try:
                chained: list[tuple[int, str]] = []
                rows: list[dict[str, Any]] = []
                with durable_begin(self.engine) as conn:  # on disk before the anchor names it
                    # Update the head first: on SQLite this takes the database's write lock for the whole
                    # transaction; on PostgreSQL it locks the row (FOR UPDATE below keeps that explicit).
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
                        fields: dict[str, Any] = {
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
                            "prev_hash": prev,
                        }
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

    def _who(self, conn: Connection, key_hash: str | None) -> tuple[int | None, int | None]:
        """(member id, API key id) of the bearer key, revoked or not; (None, None) for no or an unknown key.
        A key's row never changes owner, so a found key is remembered (an unknown one is looked up again)."""
        if key_hash is None:
            return None, None
        known = self._key_owners.get(key_hash)
        if known is not None:
            return known
        row = conn.execute(select(ApiKey.member_id, ApiKey.id).where(ApiKey.key_hash == key_hash)).first()
        if row is None:
            return None, None
        owner = (int(row[0]), int(row[1]))
        if len(self._key_owners) < 100_000:
            self._key_owners[key_hash] = owner
        return owner

    def _write_anchor(self, seq: int, digest: str) -> None:
        """Moves the anchor forward, never back: the read, compare and replace run under an exclusive lock of a
        lock file beside it (flock: other processes sharing the data dir and other AuditLogs of this one), so a
        slower writer of an older head cannot replace a newer anchor."""
        lock_path = self.anchor_path.with_name(self.anchor_path.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            log.error("audit: could not open the anchor lock %s: %s", lock_path, exc)
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = read_anchor(self.anchor_path)
            except ValueError:
                current = None
            if current is not None and current.seq >= seq:
                return  # another writer anchored a newer head
            _write_private(self.anchor_path, json.dumps({"seq": seq, "hash": digest}) + "\n")
        except OSError as exc:
            log.error("audit: could not write the anchor %s: %s", self.anchor_path, exc)
        finally:
            os.close(fd)  # releases the lock

    def spool(self, draft: AuditDraft) -> None:
        """Keeps an entry for later (the database is away); raises AuditUnavailableError if that fails too."""
        with self._lock:
            self._spool(draft)

    def _spool(self, draft: AuditDraft) -> None:
        line = json.dumps(draft.to_spool(), separators=(",", ":")) + "\n"
        try:
            fd = os.open(self.pending_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            log.critical("audit: entry lost, neither appended nor spooled: %s (%s)", line.strip(), exc)
            raise AuditUnavailableError(str(exc)) from exc

    def _drain(self) -> None:
        """Appends spooled entries in their order, removing each from the spool once it is in the log."""
        try:
            lines = [line for line in self.pending_path.read_text().splitlines() if line.strip()]
        except FileNotFoundError:
            return
        while lines:
            draft, key_hash = _draft_from_spool(json.loads(lines[0]))
            seq, digest = self._insert(draft, key_hash)
            self._write_anchor(seq, digest)
            lines.pop(0)
            if lines:
                _write_private(self.pending_path, "\n".join(lines) + "\n")
            else:
                self.pending_path.unlink()

    def _evaluate_rejected_attempts(self) -> None:
        try:
            with Session(self.engine) as session, session.begin():
                found = rejected_attempt_findings(session, self.alert_config)
                store_findings(session, found, lambda _block: 0)
        except SQLAlchemyError as exc:  # e.g. the indexer stored the same alert at the same moment
            log.warning("audit: rejected-attempts rule not evaluated now (the indexer re-derives it): %s", exc)


def _write_private(path: Path, text: str) -> None:
    """Atomically replaces `path` with `text`, mode 0600."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


# ------------------------------------------------------------------ tx hashes from the write pipeline

_SENT_TX: ContextVar[list[str] | None] = ContextVar("scf_audit_sent_tx", default=None)


def record_tx_hash(tx_hash: str) -> None:
    """Called by the write pipeline for every transaction it signs and sends (or re-sends) for this request."""
    sent = _SENT_TX.get()
    if sent is not None and tx_hash not in sent:
        sent.append(tx_hash)


# ---------------------------------------------------------------------------------- middleware

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def is_audited(method: str, path: str) -> bool:
    if method not in ("GET", "HEAD"):
        return True
    return path.startswith(("/v1/verify/", "/v1/export/")) or path == "/v1/audit" or path.startswith("/v1/audit/")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _bearer(scope: Scope) -> str | None:
    value = _header(scope, b"authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def _problem_type(headers: list[tuple[bytes, bytes]], body: bytes) -> str | None:
    content_type = next((bytes(v).decode("latin-1") for k, v in headers if k.lower() == b"content-type"), "")
    if not content_type.startswith(PROBLEM_JSON):
        return None
    try:
        value = json.loads(body).get("type")
    except (ValueError, AttributeError):
        return None
    return str(value)[:255] if value is not None else None


class AuditMiddleware:
    """Pure ASGI: adds `X-Request-Id` to every response and appends an audit entry for audited requests.

    Successful responses pass through unbuffered (streaming keeps working); only error bodies (problem+json,
    small) are held until complete to read their `type`. The entry is appended before the response starts.
    """

    def __init__(self, app: ASGIApp, audit: AuditLog) -> None:
        self.app = app
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given is not None and _REQUEST_ID_RE.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        REQUEST_ID.set(request_id)  # for the logs of this request (api.logs); the task's context ends with it
        id_header = (REQUEST_ID_HEADER.lower().encode(), request_id.encode())
        if not is_audited(scope["method"], scope["path"]):
            await self._run(scope, receive, send, id_header)
            return
        draft = AuditDraft(
            at=utc_iso(datetime.now(UTC)),
            request_id=request_id,
            method=str(scope["method"])[:16],
            path=str(scope["path"])[:_MAX_PATH],
            action=None,
            idempotency_key=(_header(scope, b"idempotency-key") or None),
            status=0,
            problem_type=None,
            api_key=_bearer(scope),
        )
        if draft.idempotency_key is not None:
            draft.idempotency_key = draft.idempotency_key[:255]
        if draft.method not in _READ_METHODS:  # an action: refused unless the log can be read first
            try:
                await to_thread.run_sync(self.audit.check_available)
            except AuditUnavailableError as exc:
                await self._refuse(scope, send, draft, id_header, exc)
                return
        sent: list[str] = []
        token = _SENT_TX.set(sent)
        try:
            await self._run(scope, receive, send, id_header, draft, sent)
        finally:
            _SENT_TX.reset(token)

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        id_header: tuple[bytes, bytes],
        draft: AuditDraft | None = None,
        sent: list[str] | None = None,
    ) -> None:
        held_start: Message | None = None
        held_body: list[bytes] = []
        started = False

        async def finish(start: Message, problem_type: str | None) -> None:
            nonlocal started
            headers = [*start.get("headers", []), id_header]
            if draft is not None:
                # the endpoint's name (route factories rename theirs after registering: confirm_order...)
                endpoint = getattr(scope.get("route"), "endpoint", None)
                draft.action = getattr(endpoint, "__name__", None)
                draft.status = int(start["status"])
                draft.problem_type = problem_type
                draft.tx_hashes = list(sent or [])
                if await self._append(draft) is None:
                    headers.append((b"audit-pending", b"true"))
            started = True
            await send({**start, "headers": headers})

        async def audited_send(message: Message) -> None:
            nonlocal held_start
            if message["type"] == "http.response.start":
                if draft is not None and int(message["status"]) >= 400:
                    held_start = message  # hold an error until its body names the problem type
                    return
                await finish(message, None)
                return
            if message["type"] == "http.response.body" and held_start is not None:
                held_body.append(bytes(message.get("body", b"")))
                size = sum(len(part) for part in held_body)
                if message.get("more_body", False) and size <= _MAX_PROBLEM_BODY:
                    return
                start, held = held_start, b"".join(held_body)
                held_start = None
                kind = _problem_type(list(start.get("headers", [])), held) if size <= _MAX_PROBLEM_BODY else None
                await finish(start, kind)
                await send({**message, "body": held})
                return
            await send(message)

        try:
            await self.app(scope, receive, audited_send)
        except Exception:
            if started:
                raise
            log.exception("unexpected failure in %s %s", scope["method"], scope["path"])
            problem = catalogued(500, "internal-error", "internal-error.service-failed-unexpectedly")
            body = json.dumps(problem.body(scope["path"])).encode()
            start = {
                "type": "http.response.start",
                "status": 500,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())],
            }
            await finish(start, problem.body()["type"])
            await send({"type": "http.response.body", "body": body})

    async def _append(self, draft: AuditDraft) -> int | None:
        try:  # waits on the writer thread's batch without holding one of the worker threads
            return await asyncio.wrap_future(self.audit.submit(draft))
        except AuditUnavailableError:
            return None  # logged with the full entry; the answer is still given (the action happened)

    async def _refuse(
        self, scope: Scope, send: Send, draft: AuditDraft, id_header: tuple[bytes, bytes], exc: Exception
    ) -> None:
        problem = catalogued(503, "audit-unavailable", "audit-unavailable.nothing-done")
        draft.status, draft.problem_type = 503, TYPE_BASE + problem.slug
        draft.action = None
        log.error("audit: log unavailable, refusing %s %s: %s", draft.method, draft.path, exc)
        pending = b"true"
        try:
            await to_thread.run_sync(self.audit.spool, draft)
        except AuditUnavailableError:
            pending = b"false"
        body = json.dumps(problem.body(str(scope["path"]))).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"audit-pending", pending),
                    id_header,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
