"""The pseudonym key and pseudonyms of the holder-identity rule (api/services/visibility.py)."""

from __future__ import annotations

import stat
from pathlib import Path

from api.services import visibility
from api.services.visibility import PREFIX, pseudonym, pseudonym_secret


def test_the_key_is_made_once_private_and_read_back(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    key = pseudonym_secret(data_dir)
    path = data_dir / "pseudonym.key"
    assert path.read_bytes() == key and len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    visibility._secret_at.cache_clear()  # a restart: the key is read from the file, not made again
    assert pseudonym_secret(data_dir) == key
    assert [p.name for p in data_dir.iterdir()] == ["pseudonym.key"]  # no temporary file left behind


def test_pseudonyms_depend_on_caller_context_member_and_key(tmp_path: Path) -> None:
    key = pseudonym_secret(tmp_path)
    one = pseudonym(key, 7, "receivable:3", 2)
    assert one.startswith(PREFIX) and len(one) == len(PREFIX) + 12
    assert pseudonym(key, 7, "receivable:3", 2) == one  # stable
    others = {
        pseudonym(key, 8, "receivable:3", 2),  # another caller
        pseudonym(key, 7, "receivable:4", 2),  # another receivable
        pseudonym(key, 7, "receivable:3", 5),  # another member
        pseudonym(b"\x01" * 32, 7, "receivable:3", 2),  # another key
    }
    assert one not in others and len(others) == 4
