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
  entry, behind one lock, made the log the service's bottleneck: 32 concurrent writers queued on it.) On
  PostgreSQL a batch is two round trips in psycopg's pipeline, on a connection the writer keeps while it runs.
- If the log cannot be read before an action, the request is refused with 503 `audit-unavailable`. If the
  append after the action fails, the answer is still given (the action happened) and the entry is spooled to
  `audit-pending.jsonl`, appended before any later entry once the database answers again. An audited GET
  changes nothing, so it is not checked first: its entry is appended, or spooled like any failed append
  (the answer then carries `Audit-Pending: true`).

The log is not a projection: a read-model rebuild leaves it alone, and the "rejected-attempts" alert rule
(`rejected_attempt_findings`) is re-derived from it.

The package, by concern: `models` (the tables), `hashchain` (hashing and the pure check), `anchor` (the head kept
outside the database), `spool` (entries kept while the database is away), `writer` (`AuditLog`, the group-commit
appender), `rules` (the alert rule) and `middleware` (`AuditMiddleware`, `record_tx_hash`).
"""

from __future__ import annotations

from api.audit.anchor import ANCHOR_FILE, Anchor, read_anchor
from api.audit.hashchain import (
    HASHED_FIELDS,
    AuditVerification,
    canonical_json,
    entry_dict,
    entry_hash,
    load_entries,
    result_of,
    utc_iso,
    verify_chain,
    verify_database,
)
from api.audit.middleware import REQUEST_ID_HEADER, AuditMiddleware, is_audited, record_tx_hash
from api.audit.models import GENESIS_HASH, HEAD_ID, AuditEntry, AuditHead, AuditUnavailableError
from api.audit.rules import DOUBLE_SPEND_SLUGS, DOUBLE_SPEND_TYPES, rejected_attempt_findings
from api.audit.spool import PENDING_FILE, AuditDraft
from api.audit.writer import AuditLog

__all__ = [
    "ANCHOR_FILE",
    "DOUBLE_SPEND_SLUGS",
    "DOUBLE_SPEND_TYPES",
    "GENESIS_HASH",
    "HASHED_FIELDS",
    "HEAD_ID",
    "PENDING_FILE",
    "REQUEST_ID_HEADER",
    "Anchor",
    "AuditDraft",
    "AuditEntry",
    "AuditHead",
    "AuditLog",
    "AuditMiddleware",
    "AuditUnavailableError",
    "AuditVerification",
    "canonical_json",
    "entry_dict",
    "entry_hash",
    "is_audited",
    "load_entries",
    "read_anchor",
    "record_tx_hash",
    "rejected_attempt_findings",
    "result_of",
    "utc_iso",
    "verify_chain",
    "verify_database",
]
