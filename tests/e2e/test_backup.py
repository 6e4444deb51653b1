"""`scf backup` and `scf restore`: a restore into a fresh data dir gives the same audit verification and holdings.

Real commands in subprocesses against a real chain and API; the backup is taken while the API runs.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import (
    PG_ADMIN_URL,
    TEST_SCRYPT_N,
    Roster,
    ServerThread,
    admitted,
    database_url_of,
    make_settings,
    ok,
    private_world,
    random_hash,
)

SCF = Path(sys.executable).parent / "scf"


def _scf(*args: str, data_dir: Path, rpc_port: int) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SCF_DATA_DIR": str(data_dir),
        "SCF_RPC_PORT": str(rpc_port),
        "SCF_KEY_SCRYPT_N": str(TEST_SCRYPT_N),
        "SCF_DATABASE_URL": database_url_of(data_dir),  # SQLite in the dir, or its PostgreSQL database
        "NO_COLOR": "1",
    }
    return subprocess.run([str(SCF), *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def test_backup_then_restore_into_a_fresh_data_dir(tmp_path: Path) -> None:
    source_dir, backup_dir, restored_dir = tmp_path / "live", tmp_path / "backup", tmp_path / "restored"
    roster: Roster = [
        ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
        ("supplier", ["supplier"], {}),
        ("tier2", ["supplier"], {}),
        ("auditor", ["auditor"], {}),
    ]
    with private_world(source_dir) as world, admitted(world.server.url, world.operator_key, roster) as parties:
        core, supplier, tier2, auditor = (parties[n] for n in ("core", "supplier", "tier2", "auditor"))
        maturity = (datetime.now(UTC).date() + timedelta(days=90)).isoformat()
        body = {
            "creditor_id": supplier.id,
            "face_value": "1000.00",
            "maturity": maturity,
            "invoice_hash": random_hash(),
        }
        note = ok(core.client.post("/v1/receivables", json=body), 201)["first_note_id"]
        ok(supplier.client.post(f"/v1/notes/{note}/split", json={"to": tier2.id, "value": "250.00"}), 201)
        audit_before = ok(auditor.client.get("/v1/audit/verify"))
        holdings_before = {
            name: ok(party.client.get(f"/v1/verify/holdings/{party.id}"))
            for name, party in (("supplier", supplier), ("tier2", tier2))
        }

        made = _scf("backup", str(backup_dir), data_dir=source_dir, rpc_port=world.chain.port)
        assert made.returncode == 0, made.stdout + made.stderr
        assert "passphrase is not in the backup" in made.stdout
        manifest = json.loads((backup_dir / "manifest.json").read_text())
        assert manifest["read_model"] == ("postgresql" if PG_ADMIN_URL else "sqlite")
        assert "files/operator-api-key" in manifest["files"] and "files/audit-head.json" in manifest["files"]
        assert any(name.startswith("files/keys/") for name in manifest["files"])
        assert stat.S_IMODE((backup_dir / "files" / "operator-api-key").stat().st_mode) == 0o600
        # the passphrase never lands in the backup
        everything = b"".join(p.read_bytes() for p in backup_dir.rglob("*") if p.is_file())
        assert world.settings.key_passphrase.encode() not in everything

        # a restore never overwrites: the live data dir is refused
        refused = _scf("restore", str(backup_dir), data_dir=source_dir, rpc_port=world.chain.port)
        assert refused.returncode != 0 and "restore into a new one" in refused.stdout + refused.stderr

        restored = _scf("restore", str(backup_dir), data_dir=restored_dir, rpc_port=world.chain.port)
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert "does not open" not in restored.stdout + restored.stderr

        with ServerThread(make_settings(restored_dir, world.chain.port)) as server:
            for party in parties.values():
                party.client.base_url = server.url  # the same API keys, now against the restored service
            audit_after = ok(auditor.client.get("/v1/audit/verify"))
            holdings_after = {
                name: ok(party.client.get(f"/v1/verify/holdings/{party.id}"))
                for name, party in (("supplier", supplier), ("tier2", tier2))
            }
            # the restored custodial keys still sign: a write through the restored service
            tier2_note = ok(tier2.client.get("/v1/notes"))["items"][0]["id"]
            split = {"to": supplier.id, "value": "50.00"}
            ok(tier2.client.post(f"/v1/notes/{tier2_note}/split", json=split), 201)

    assert audit_before["ok"] is True, audit_before
    assert audit_after["ok"] is True, audit_after
    assert audit_after["entries"] >= audit_before["entries"]
    for name in holdings_before:
        for field in ("groups", "totals", "pledged"):
            assert holdings_after[name][field] == holdings_before[name][field], (name, field)


def test_a_damaged_backup_is_refused(tmp_path: Path) -> None:
    from scripts.backup import BackupError, backup, verify_backup

    data_dir = tmp_path / "data"
    (data_dir / "keys").mkdir(parents=True)
    (data_dir / "keys" / "member-1.json").write_text("{}")
    (data_dir / "audit-head.json").write_text('{"seq": 1, "hash": "00"}\n')
    backup(data_dir, f"sqlite:///{data_dir / 'scf.db'}", tmp_path / "b", default_passphrase=True)
    assert verify_backup(tmp_path / "b")["read_model"] == "none"
    (tmp_path / "b" / "files" / "keys" / "member-1.json").write_text('{"tampered": true}')
    try:
        verify_backup(tmp_path / "b")
    except BackupError as exc:
        assert "member-1.json differs" in str(exc)
    else:
        raise AssertionError("a tampered keystore passed the check")
