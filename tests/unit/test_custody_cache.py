"""Custody decrypts a member's keystore once per process, however many requests want it at once (api/custody.py).

Each decryption takes scrypt's memory (256 MiB at the default cost): 48 writes of one member arriving together
after a start decrypted it 48 times at once and the kernel killed the service (12 GB)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

import api.custody
from api.custody import Custody
from chain.node.keystore import create_key, load_key
from tests.conftest import TEST_SCRYPT_N

WANTS = 8


def test_concurrent_requests_for_a_key_decrypt_it_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    created = create_key(tmp_path, "member-a", "pass", scrypt_n=TEST_SCRYPT_N)
    custody = Custody(tmp_path, "pass", TEST_SCRYPT_N)
    decrypting: list[str] = []
    go_on = threading.Event()

    def slow_load_key(data_dir: Path, name: str, passphrase: str) -> LocalAccount:  # the real one, held back
        decrypting.append(name)
        go_on.wait(30)
        return load_key(data_dir, name, passphrase)

    monkeypatch.setattr(api.custody, "load_key", slow_load_key)
    got: list[LocalAccount] = []
    threads = [threading.Thread(target=lambda: got.append(custody._load("member-a"))) for _ in range(WANTS)]
    for thread in threads:
        thread.start()

    def parked(thread: threading.Thread) -> bool:  # waiting in `_load` for the one decrypting, or decrypting
        frame = sys._current_frames().get(thread.ident or -1)
        if frame is not None and frame.f_code.co_name == "_load":  # blocked on a lock
            return True
        while frame is not None and frame.f_code.co_name != "slow_load_key":
            frame = frame.f_back
        return frame is not None

    deadline = time.monotonic() + 30
    while not (decrypting and all(parked(t) for t in threads)) and len(decrypting) < WANTS:
        assert time.monotonic() < deadline, "the requests never reached the key"
        time.sleep(0.01)
    go_on.set()
    for thread in threads:
        thread.join(30)
    assert decrypting == ["member-a"]
    assert len(got) == WANTS and {a.address for a in got} == {created.address}
