"""The anchor: the log's head (seq, hash) kept outside the database in `audit-head.json` (mode 0600), moved
forward only; deleting the newest entries leaves a valid shorter chain that no longer matches it."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("scf.audit")

ANCHOR_FILE = "audit-head.json"


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str


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


def advance_anchor(anchor_path: Path, seq: int, digest: str) -> None:
    """Moves the anchor forward, never back: the read, compare and replace run under an exclusive lock of a
    lock file beside it (flock: other processes sharing the data dir and other AuditLogs of this one), so a
    slower writer of an older head cannot replace a newer anchor."""
    lock_path = anchor_path.with_name(anchor_path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        log.error("audit: could not open the anchor lock %s: %s", lock_path, exc)
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            current = read_anchor(anchor_path)
        except ValueError:
            current = None
        if current is not None and current.seq >= seq:
            return  # another writer anchored a newer head
        write_private(anchor_path, json.dumps({"seq": seq, "hash": digest}) + "\n")
    except OSError as exc:
        log.error("audit: could not write the anchor %s: %s", anchor_path, exc)
    finally:
        os.close(fd)  # releases the lock


def write_private(path: Path, text: str) -> None:
    """Atomically replaces `path` with `text`, mode 0600."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
