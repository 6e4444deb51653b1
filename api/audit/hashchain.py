"""The hash chain: the canonical JSON each entry's hash covers, and the pure check of a whole log against its
anchor (what `scf audit verify` runs on a downloaded log too)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.audit.anchor import Anchor, read_anchor
from api.audit.models import GENESIS_HASH, AuditEntry

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


def load_entries(session: Session) -> list[dict[str, Any]]:
    return [entry_dict(e) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]


def verify_database(engine: Engine, anchor_path: Path | None) -> AuditVerification:
    """Reads the anchor first, then the log: an append in between can only make the log longer than the anchor."""
    anchor = read_anchor(anchor_path) if anchor_path is not None else None
    with Session(engine) as session:
        return verify_chain(load_entries(session), anchor)
