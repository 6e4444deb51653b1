"""Shared fixtures: a real anvil on a free port, the compiled and deployed suite, a real HTTP server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.bootstrap import OPERATOR_KEY_FILE, ensure_operator_api_key
from api.main import create_app
from api.settings import Settings
from chain.devchain import DevChain, free_port
from chain.runtime import Ledger, prepare_ledger
from chain.store import make_engine


def make_settings(data_dir: Path, rpc_port: int, **extra: object) -> Settings:
    return Settings(data_dir=data_dir, rpc_port=rpc_port, api_port=free_port(), **extra)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scf-data")


@pytest.fixture(scope="session")
def devchain(session_dir: Path) -> Iterator[DevChain]:
    chain = DevChain(data_dir=session_dir, port=free_port())
    chain.start()
    yield chain
    chain.stop()


@pytest.fixture(scope="session")
def settings(session_dir: Path, devchain: DevChain) -> Settings:
    return make_settings(session_dir, devchain.port)


@pytest.fixture(scope="session")
def ledger(settings: Settings) -> Ledger:
    return prepare_ledger(settings)


class ServerThread:
    """uvicorn serving an app on a free port in a background thread (real HTTP)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.api_port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("API server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def operator_key(settings: Settings) -> str:
    engine = make_engine(settings.effective_database_url)
    key = ensure_operator_api_key(engine, settings.data_dir)
    engine.dispose()
    if key is None:
        key = (settings.data_dir / OPERATOR_KEY_FILE).read_text().strip()
    return key


@pytest.fixture(scope="session")
def api(settings: Settings, ledger: Ledger, operator_key: str) -> Iterator[ServerThread]:
    with ServerThread(settings) as server:
        yield server


@pytest.fixture()
def http(api: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=30) as client:
        yield client


@pytest.fixture()
def operator(api: ServerThread, operator_key: str) -> Iterator[httpx.Client]:
    """An HTTP client authenticated as the consortium operator."""
    with httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {operator_key}"}) as client:
        yield client
