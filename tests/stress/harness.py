"""Shared pieces of the fault suite: a chain of the test's own, the API as a real subprocess, scale knobs.

`SCF_STRESS=1` (what `make stress` sets) turns the default, fast parameters into the long versions.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.settings import Settings
from chain.devnet.devchain import free_port
from chain.readmodel.store import PROJECTIONS
from tests.conftest import random_hash, with_mint_ceiling
from tests.faults import KILL_AT_ENV

REPO = Path(__file__).resolve().parents[2]
STRESS = os.environ.get("SCF_STRESS") == "1"
# Every scenario runs in two sizes: "fast" in `make test`, "long" (marked stress) in `make stress`.
SIZES = [pytest.param(False, id="fast"), pytest.param(True, id="long", marks=pytest.mark.stress)]
# Columns whose values depend on insertion history, not on the ledger (as in tests/chain/test_indexer.py).
SURROGATE_COLUMNS = {"value_moves": {"id", "event_id"}}


def scaled(long: bool, fast: int, many: int) -> int:
    """How many times to repeat a scenario: `fast` in its fast version, `many` in its long one."""
    return many if long else fast


class ApiProcess:
    """`scf serve` as a separate OS process (as in production), optionally with a fault hook in its env."""

    def __init__(self, settings: Settings, log_path: Path, **env: str) -> None:
        self.settings = settings
        self.port = free_port()
        self.log_path = log_path
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ApiProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCF_")}
        env.update(
            SCF_DATA_DIR=str(self.settings.data_dir),
            SCF_DATABASE_URL=self.settings.effective_database_url,  # the test world's: SQLite or PostgreSQL
            SCF_RPC_PORT=str(self.settings.rpc_port),
            SCF_API_PORT=str(self.port),
            **self.env,
        )
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                # with a fault in its env, `scf serve` with the kill-point hook installed (tests/faults.py)
                [sys.executable, "-m", "tests.faults" if KILL_AT_ENV in self.env else "scripts.cli", "serve"],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"scf serve exited with {self.process.returncode}: {self.log_tail()}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code in (200, 503):
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"scf serve did not answer within {timeout:.0f}s: {self.log_tail()}")

    def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def client(self, api_key: str, **headers: str) -> httpx.Client:
        return client(self.url, api_key, **headers)

    def __enter__(self) -> ApiProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def client(url: str, api_key: str, **headers: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=90, headers={"Authorization": f"Bearer {api_key}", **headers})


def expect(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


def admit(op: httpx.Client, roles: list[str], **extra: Any) -> tuple[dict[str, Any], str]:
    body = expect(
        op.post("/v1/members", json=with_mint_ceiling(roles, {"roles": roles, "kyc_hash": random_hash(), **extra})),
        201,
    )
    return body["member"], body["api_key"]


def issue(core: httpx.Client, creditor_id: int, face_value: str) -> dict[str, Any]:
    body = {
        "creditor_id": creditor_id,
        "face_value": face_value,
        "maturity": (date.today() + timedelta(days=90)).isoformat(),
        "invoice_hash": random_hash(),
    }
    return expect(core.post("/v1/receivables", json=body, headers={"Idempotency-Key": new_key()}), 201)


def new_key() -> str:
    return f"stress-{uuid.uuid4()}"


def dump_read_model(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection row, without surrogate ids: what a rebuild from block 0 must reproduce."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with Session(engine) as session:
        for table in PROJECTIONS:
            surrogate = SURROGATE_COLUMNS.get(table.__tablename__, set())
            cols = [c for c in table.__table__.columns if c.name not in surrogate]
            out[table.__tablename__] = sorted(tuple(r) for r in session.execute(select(*cols)).all())
    return out
