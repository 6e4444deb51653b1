"""The spool: entries kept in `audit-pending.jsonl` while the database is away, appended before any later entry
once it answers again. A spooled entry holds the API key's hash, never the key."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from api.audit.models import AuditUnavailableError
from api.tables import hash_api_key

log = logging.getLogger("scf.audit")

PENDING_FILE = "audit-pending.jsonl"


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


def draft_from_spool(data: dict[str, Any]) -> tuple[AuditDraft, str | None]:
    key_hash = data.pop("api_key_sha256", None)
    return AuditDraft(**data), key_hash


def spool_append(pending_path: Path, draft: AuditDraft) -> None:
    """Appends the entry to the spool (fsync'd); raises AuditUnavailableError if that fails too."""
    line = json.dumps(draft.to_spool(), separators=(",", ":")) + "\n"
    try:
        fd = os.open(pending_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        log.critical("audit: entry lost, neither appended nor spooled: %s (%s)", line.strip(), exc)
        raise AuditUnavailableError(str(exc)) from exc
