"""SCF_LOG_FORMAT=json: `scf serve` logs one JSON object a line, each request's with the id the client got back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from chain.devnet.devchain import free_port
from tests.conftest import TEST_SCRYPT_N, chain_world

SCF = Path(sys.executable).parent / "scf"


def test_json_logs_carry_the_request_id(tmp_path: Path) -> None:
    with chain_world(tmp_path) as world:
        port = free_port()
        env = {
            **os.environ,
            "SCF_DATA_DIR": str(tmp_path),
            "SCF_RPC_PORT": str(world.chain.port),
            "SCF_API_PORT": str(port),
            "SCF_KEY_SCRYPT_N": str(TEST_SCRYPT_N),
            "SCF_LOG_FORMAT": "json",
        }
        env.pop("SCF_KEY_PASSPHRASE", None)  # the default passphrase: a warning at start
        log_path = tmp_path / "serve.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen([str(SCF), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None, log_path.read_text()
                try:
                    if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "scf serve did not answer"
                time.sleep(0.2)
            request_id = uuid.uuid4().hex
            response = httpx.get(f"{url}/v1/members/me", headers={"X-Request-Id": request_id}, timeout=10)
            assert response.status_code == 401
            assert response.headers["X-Request-Id"] == request_id
            chosen = httpx.get(f"{url}/health", timeout=10).headers["X-Request-Id"]  # the service chose this one
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
    text = log_path.read_text()
    assert "warning: the keystores use the default passphrase" in text
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    assert records, log_path.read_text()
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
    mine = [r for r in records if r.get("request_id") == request_id]
    assert mine and "/v1/members/me" in mine[0]["message"], records
    assert any(r.get("request_id") == chosen and "/health" in r["message"] for r in records), records
