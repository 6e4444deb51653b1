"""`scf backup DIR` and `scf restore DIR`: a data dir's keys, records, audit anchor and read model, checked.

What a backup holds: every file of the data dir (the encrypted keystores, the operator's API key, the deployment
records, the audit anchor and its spool, the devchain's state when there is one, and whatever else the service
keeps there) except what is rebuilt or regenerated (logs, anvil's disk cache, SQLite's -wal/-shm files), plus a
consistent copy of a SQLite read model (SQLite's online backup API, safe while the service runs) or a `pg_dump` of
a PostgreSQL one. A manifest lists each file with its SHA-256 and names where the keystore passphrase comes from;
the passphrase itself is never written.

Order, so that a backup taken while the service runs restores to a state that verifies:
1. the audit anchor first: entries appended while the backup runs make the log longer than the anchor, which
   verifies; an anchor copied after the log could name an entry the copy lacks ("truncated");
2. the read model next;
3. the keys and records last: a member admitted in between has its key in the backup even if its row is not,
   never the other way round (a row whose key is lost could never sign again).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from api.audit import ANCHOR_FILE, PENDING_FILE
from chain.node.errors import ScfError
from scripts.lang import t

MANIFEST = "manifest.json"
FORMAT = 1
SQLITE_COPY = "read-model.sqlite"
PG_DUMP = "read-model.pgdump"
FIRST = (ANCHOR_FILE, PENDING_FILE)  # copied before the read model (see the module's docstring)
SKIPPED_NAMES = {"anvil.log", "anvil-cache", MANIFEST}
SKIPPED_SUFFIXES = ("-wal", "-shm", "-journal", ".log", ".tmp")


class BackupError(ScfError):
    """A backup or restore cannot go on; nothing was overwritten."""


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    files: int
    read_model: str  # "sqlite", "postgresql" or "none"
    audit_head: dict[str, Any] | None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sqlite_path(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError(t("backup.in_memory", url=database_url))
    return Path(url.database).resolve()


def _skipped(path: Path, data_dir: Path, database: Path | None) -> bool:
    relative = path.relative_to(data_dir)
    if relative.parts[0] in SKIPPED_NAMES or path.name.endswith(SKIPPED_SUFFIXES):
        return True
    return database is not None and path.resolve() == database  # copied through SQLite's backup API


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.copy2(source, target)  # keeps the mode: keystores and the operator key stay 0600


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*"), reverse=True):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _passphrase_reference(default_in_use: bool) -> dict[str, Any]:
    return {
        "source": "SCF_KEY_PASSPHRASE (environment or .env); not stored in this backup",
        "default_in_use": default_in_use,
    }


def backup(data_dir: Path, database_url: str, target: Path, *, default_passphrase: bool) -> BackupSummary:
    """Writes a backup of `data_dir` (and its read model) into the new or empty folder `target`."""
    data_dir = data_dir.resolve()
    if not data_dir.is_dir():
        raise BackupError(t("backup.no_data_dir", dir=data_dir))
    if target.exists() and any(target.iterdir()):
        raise BackupError(t("backup.not_empty", target=target))
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(target, 0o700)  # it holds the encrypted keys and the operator's API key
    files_dir = target / "files"
    database = _sqlite_path(database_url)

    for name in FIRST:
        if (data_dir / name).is_file():
            _copy(data_dir / name, files_dir / name)
    read_model = _backup_read_model(database_url, database, target)
    for path in sorted(data_dir.rglob("*")):
        relative = path.relative_to(data_dir)
        if not path.is_file() or str(relative) in FIRST or _skipped(path, data_dir, database):
            continue
        _copy(path, files_dir / relative)

    entries = {
        str(p.relative_to(target)): {"sha256": _sha256(p), "mode": oct(p.stat().st_mode & 0o777)}
        for p in sorted(target.rglob("*"))
        if p.is_file()
    }
    anchor = files_dir / ANCHOR_FILE
    audit_head = json.loads(anchor.read_text()) if anchor.is_file() else None
    manifest = {
        "format": FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_dir": str(data_dir),
        "read_model": read_model,
        "audit_anchor": audit_head,
        "passphrase": _passphrase_reference(default_passphrase),
        "files": entries,
    }
    manifest_path = target / MANIFEST
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.chmod(manifest_path, 0o600)
    _fsync_tree(target)
    return BackupSummary(target, len(entries), read_model, audit_head)


def _backup_read_model(database_url: str, database: Path | None, target: Path) -> str:
    if database is not None:
        if not database.exists():
            return "none"
        copy = target / SQLITE_COPY
        source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            destination = sqlite3.connect(copy)
            try:
                source.backup(destination)  # a consistent snapshot, even with the service writing
            finally:
                destination.close()
        finally:
            source.close()
        os.chmod(copy, 0o600)
        return "sqlite"
    dump = shutil.which("pg_dump")
    if dump is None:
        raise BackupError(t("backup.no_pg_dump"))
    url = make_url(database_url).set(drivername="postgresql")
    result = subprocess.run(
        [
            dump,
            "--format=custom",
            "--no-owner",
            f"--file={target / PG_DUMP}",
            url.render_as_string(hide_password=False),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(t("backup.pg_dump_failed", reason=result.stderr.strip()))
    return "postgresql"


def verify_backup(source: Path) -> dict[str, Any]:
    """The manifest, after checking every listed file's SHA-256 (raises BackupError naming the first mismatch)."""
    try:
        manifest: dict[str, Any] = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(t("backup.no_manifest", source=source, manifest=MANIFEST, reason=exc)) from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(t("backup.format", format=manifest.get("format"), expected=FORMAT))
    for relative, entry in manifest["files"].items():
        path = source / relative
        if not path.is_file():
            raise BackupError(t("backup.missing", file=relative))
        if _sha256(path) != entry["sha256"]:
            raise BackupError(t("backup.damaged", file=relative))
    return manifest


def restore(source: Path, data_dir: Path, database_url: str) -> dict[str, Any]:
    """Restores a verified backup into `data_dir`, which must hold no keys, records or read model yet."""
    manifest = verify_backup(source)
    data_dir = data_dir.resolve()
    database = _sqlite_path(database_url)
    clashes = [
        str(relative)
        for relative in (Path(r).relative_to("files") for r in manifest["files"] if r.startswith("files/"))
        if (data_dir / relative).exists()
    ]
    if database is not None and database.exists():
        clashes.append(str(database))
    if clashes:
        raise BackupError(t("backup.clash", dir=data_dir, files=", ".join(sorted(clashes)[:5])))
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    read_model = manifest["read_model"]
    if read_model == "sqlite":
        if database is None:
            raise BackupError(t("backup.sqlite_elsewhere"))
        database.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / SQLITE_COPY, database)
    elif read_model == "postgresql":
        if database is not None:
            raise BackupError(t("backup.pg_needs_url"))
        _pg_restore(source / PG_DUMP, database_url)
    for relative in manifest["files"]:
        if relative.startswith("files/"):
            _copy(source / relative, data_dir / Path(relative).relative_to("files"))
    if (data_dir / "keys").is_dir():
        os.chmod(data_dir / "keys", 0o700)
    return manifest


def _pg_restore(dump: Path, database_url: str) -> None:
    tool = shutil.which("pg_restore")
    if tool is None:
        raise BackupError(t("backup.no_pg_restore"))
    url = make_url(database_url).set(drivername="postgresql")
    result = subprocess.run(
        [tool, "--no-owner", "--exit-on-error", f"--dbname={url.render_as_string(hide_password=False)}", str(dump)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(t("backup.pg_restore_failed", reason=result.stderr.strip()))


def passphrase_opens_keys(data_dir: Path, passphrase: str) -> bool | None:
    """Whether `passphrase` decrypts the first keystore in `data_dir` (None when there is none)."""
    from chain.node.keystore import KeystoreError, load_key

    keystores = sorted((data_dir / "keys").glob("*.json")) if (data_dir / "keys").is_dir() else []
    if not keystores:
        return None
    try:
        load_key(data_dir, keystores[0].stem, passphrase)
    except KeystoreError:
        return False
    return True
