"""Secrets stay secret: a whole `scf up` run, its logs grepped for every key it handled, and file modes.

The product runs as a user would run it (`scf up` in a subprocess, logs captured from its stdout and
stderr at the most verbose level), members are admitted and act over HTTP, then the captured output and
every plain-text file in the data directory are searched for the operator's and members' API keys, the
members' private keys (decrypted from their keystores here) and the keystore passphrase.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from api.bootstrap import OPERATOR_KEY_FILE
from chain.devnet.devchain import free_port
from chain.node.keystore import keys_dir, load_key
from tests.conftest import ok, random_hash

PASSPHRASE = "correct-horse-battery-staple-7f3a"
SCF = Path(sys.executable).parent / "scf"


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "scf up exited early"
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("scf up did not become healthy")


def test_a_full_run_logs_no_secret_and_keeps_secret_files_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    log_path = tmp_path / "scf-up.log"
    api_port = free_port()
    env = {
        **os.environ,
        "SCF_DATA_DIR": str(data_dir),
        "SCF_RPC_PORT": str(free_port()),
        "SCF_API_PORT": str(api_port),
        "SCF_KEY_PASSPHRASE": PASSPHRASE,
        "PYTHONUNBUFFERED": "1",
    }
    url = f"http://127.0.0.1:{api_port}"
    api_keys: list[str] = []
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(SCF), "up"], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(url, proc)
            operator_key = (data_dir / OPERATOR_KEY_FILE).read_text().strip()
            api_keys.append(operator_key)
            op = {"Authorization": f"Bearer {operator_key}"}
            core = ok(
                httpx.post(
                    f"{url}/v1/members",
                    headers=op,
                    json={"roles": ["core_enterprise"], "kyc_hash": random_hash(), "credit_limit": "1000000.00"},
                    timeout=60,
                ),
                201,
            )
            # with an Idempotency-Key the answer (API key included) must be replayable, yet not stored in clear
            admission = {"roles": ["supplier"], "kyc_hash": random_hash()}
            with_key = {**op, "Idempotency-Key": "admit-supplier-1"}
            supplier = ok(httpx.post(f"{url}/v1/members", headers=with_key, json=admission, timeout=60), 201)
            replay = httpx.post(f"{url}/v1/members", headers=with_key, json=admission, timeout=60)
            assert replay.headers.get("Idempotent-Replayed") == "true"
            assert ok(replay, 201)["api_key"] == supplier["api_key"]
            api_keys += [core["api_key"], supplier["api_key"]]
            as_supplier = {"Authorization": f"Bearer {supplier['api_key']}"}
            order = ok(
                httpx.post(
                    f"{url}/v1/orders",
                    headers=as_supplier,
                    json={
                        "buyer_id": core["member"]["id"],
                        "amount": "5000.00",
                        "document_hash": random_hash(),
                        "due_date": "2030-01-01",
                    },
                    timeout=60,
                ),
                201,
            )
            assert order["status"] == "proposed"
            # a refused request and a bad key also pass through the logs
            assert httpx.get(f"{url}/v1/members/me", headers={"Authorization": "Bearer scf_wrong"}).status_code == 401
            assert httpx.post(f"{url}/v1/notes/999999/split", headers=as_supplier, json={}).status_code in (404, 422)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    logs = log_path.read_text(errors="replace")
    assert "API on http://" in logs and "operator API key created" in logs  # the run was logged at all
    assert "default passphrase" not in logs  # a passphrase of its own: no warning

    keystores = sorted(keys_dir(data_dir).glob("*.json"))
    assert len(keystores) >= 3  # operator + two members
    private_keys = [load_key(data_dir, path.stem, PASSPHRASE).key.hex() for path in keystores]
    secrets = {
        **{f"api key {k[:6]}...": k for k in api_keys},
        **{f"private key of {p.stem}": k.removeprefix("0x") for p, k in zip(keystores, private_keys, strict=True)},
        "keystore passphrase": PASSPHRASE,
    }
    for label, secret in secrets.items():
        assert secret.lower() not in logs.lower(), f"{label} appears in the logs of `scf up`"

    # no secret in any readable file of the data directory either, except where it must be
    for path in data_dir.rglob("*"):
        if not path.is_file() or path.name == OPERATOR_KEY_FILE:
            continue
        content = path.read_bytes().decode("latin-1").lower()
        for label, secret in secrets.items():
            assert secret.lower() not in content, f"{label} stored in plain text in {path.name}"

    # the keystores are encrypted (scrypt) and, like the operator key file, readable by the owner only
    for path in keystores:
        crypto = json.loads(path.read_text())["crypto"]
        assert crypto["kdf"] == "scrypt" and crypto["kdfparams"]["n"] == 2**18  # the full cost outside tests
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(keys_dir(data_dir).stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / OPERATOR_KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
