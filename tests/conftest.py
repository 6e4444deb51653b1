"""Shared fixtures: a real anvil on a free port, the compiled and deployed suite, a real HTTP server."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.bootstrap import OPERATOR_KEY_FILE, ensure_operator_api_key
from api.main import create_app
from api.settings import Settings
from chain.devnet.devchain import DevChain, free_port
from chain.readmodel.store import make_engine
from scripts.runtime import Ledger, prepare_ledger

# The tests speak English unless they ask for a language (`--lang`, Accept-Language, an explicit LANG): the CLI
# follows the locale, and a CI machine's LANG must not turn the English assertions Chinese.
for _name in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
    os.environ.pop(_name, None)
os.environ["LANG"] = "C.UTF-8"

# Member keystores in tests use a cheap scrypt cost: a default-cost key takes about a second of CPU to create,
# and the suite admits hundreds of members (tests/e2e/test_secrets.py runs `scf up` with the default).
TEST_SCRYPT_N = 2**12


# The PostgreSQL pass of `make test` (tools/postgres.sh) sets this to an admin URL of a server: every test world
# then gets a fresh database of its own there, as each gets a fresh SQLite file in its data dir otherwise.
PG_ADMIN_URL = os.environ.get("SCF_TEST_PG_URL") or None
_pg_databases: dict[Path, str] = {}  # data dir -> its database's URL (a restart in the same dir finds its data)


def _pg_admin() -> Any:
    import psycopg
    from sqlalchemy.engine import make_url

    assert PG_ADMIN_URL is not None
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql")
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)


def pg_database_for(data_dir: Path) -> str:
    """The test server's database of `data_dir` (created empty on first use); its SQLAlchemy URL."""
    from sqlalchemy.engine import make_url

    key = data_dir.resolve()
    if key not in _pg_databases:
        name = f"scf_test_{uuid.uuid4().hex[:16]}"
        with _pg_admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        _pg_databases[key] = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    return _pg_databases[key]


def database_url_of(data_dir: Path) -> str:
    """The read model URL the tests use for `data_dir`: SQLite inside it, or its PostgreSQL database."""
    if PG_ADMIN_URL is not None:
        return pg_database_for(data_dir)
    return Settings(data_dir=data_dir).effective_database_url  # type: ignore[call-arg]


needs_sqlite = pytest.mark.skipif(
    PG_ADMIN_URL is not None, reason="reads or damages the SQLite file itself (the SQLite pass covers it)"
)


def make_settings(data_dir: Path, rpc_port: int, **extra: object) -> Settings:
    extra.setdefault("key_scrypt_n", TEST_SCRYPT_N)
    if PG_ADMIN_URL is not None:
        extra.setdefault("database_url", pg_database_for(data_dir))
    return Settings(data_dir=data_dir, rpc_port=rpc_port, api_port=free_port(), **extra)  # type: ignore[arg-type]


@pytest.fixture(scope="session", autouse=True)
def _drop_pg_databases() -> Iterator[None]:
    yield
    if PG_ADMIN_URL is None:
        return
    from sqlalchemy.engine import make_url

    with _pg_admin() as conn:
        for url in _pg_databases.values():
            conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


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


def wait_until(
    condition: Callable[[], Any],
    what: str,
    timeout: float = 120.0,
    proc: subprocess.Popen[bytes] | None = None,
    interval: float = 0.2,
) -> Any:
    """Polls `condition` until it returns something truthy, and returns that; fails naming `what` at the deadline
    (or at once if `proc` exits meanwhile). The tests wait for what they can observe, never a guessed sleep, and
    assert no timing: the deadline is generous, a slow machine only takes longer."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None:
            assert proc.poll() is None, f"the process exited ({proc.returncode}) while waiting for {what}"
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(interval)


class ServerThread:
    """uvicorn serving an app on a free port in a background thread (real HTTP)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._serve(create_app(settings), settings.api_port)

    @classmethod
    def serving(cls, app: Any) -> ServerThread:
        """Any ASGI app (a small one made by a test) served the same way, on a free port."""
        server = cls.__new__(cls)
        server._serve(app, free_port())
        return server

    def _serve(self, app: Any, port: int) -> None:
        self.port = port
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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


@dataclass(frozen=True)
class ChainWorld:
    """A chain and deployed suite of a test's own, with the operator's API key; no API server."""

    chain: DevChain
    settings: Settings
    ledger: Ledger
    operator_key: str


@contextmanager
def chain_world(data_dir: Path, block_time: float | None = None, **extra: object) -> Iterator[ChainWorld]:
    """Starts anvil on a free port in `data_dir`, deploys, creates the operator key; stops the chain after.

    `block_time`: interval mining (a block every so many seconds), for the chain and the API's settings;
    `extra`: further API settings (`make_settings`)."""
    chain = DevChain(data_dir=data_dir, port=free_port(), block_time=block_time)
    chain.start()
    try:
        if block_time is not None:
            extra["block_time"] = block_time
        settings = make_settings(data_dir, chain.port, **extra)
        ledger = prepare_ledger(settings)
        engine = make_engine(settings.effective_database_url)
        key = ensure_operator_api_key(engine, settings.data_dir)
        engine.dispose()
        assert key is not None  # a fresh data dir always gets a new operator key
        yield ChainWorld(chain, settings, ledger, key)
    finally:
        chain.stop()


@dataclass(frozen=True)
class PrivateWorld:
    """A chain, deployed suite and API server of a test module's own (tests that move the chain's clock)."""

    chain: DevChain
    settings: Settings
    ledger: Ledger
    server: ServerThread
    operator_key: str


@contextmanager
def private_world(data_dir: Path) -> Iterator[PrivateWorld]:
    """`chain_world` plus the API served in a thread; stops both."""
    with chain_world(data_dir) as world, ServerThread(world.settings) as server:
        yield PrivateWorld(world.chain, world.settings, world.ledger, server, world.operator_key)


class Party:
    """A member admitted for a test: its id, API key, account and an HTTP client that sends the key."""

    def __init__(self, url: str, member: dict[str, Any], key: str) -> None:
        self.id: int = member["id"]
        self.key = key
        self.account: str = member["account"]
        self.client = httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {key}"})


# S-5: a financier mints only up to the ceiling the operator set (0 until set). Test financiers are admitted with
# one no test reaches (the ceiling itself is tested in tests/api/test_cash.py and tests/contracts/CashToken.t.sol).
TEST_MINT_CEILING = "1000000000000.00"


def with_mint_ceiling(roles: list[str], body: dict[str, Any]) -> dict[str, Any]:
    """An admission body with the test mint ceiling added for a financier (unless the body sets one)."""
    if "financier" in roles and "mint_ceiling" not in body:
        return {**body, "mint_ceiling": TEST_MINT_CEILING}
    return body


# (name, roles, extra admission fields), e.g. ("core", ["core_enterprise"], {"credit_limit": "1000000.00"})
Roster = list[tuple[str, list[str], dict[str, Any]]]


@contextmanager
def admitted(url: str, operator_key: str, roster: Roster) -> Iterator[dict[str, Party]]:
    """Admits each member of `roster` through the API (fresh KYC hashes, unless the extra fields give a profile,
    whose hash is the KYC hash); closes their clients afterwards."""
    parties: dict[str, Party] = {}
    try:
        with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {operator_key}"}) as op:
            for name, roles, extra in roster:
                kyc = {} if "profile" in extra else {"kyc_hash": random_hash()}
                body = ok(op.post("/v1/members", json=with_mint_ceiling(roles, {"roles": roles, **kyc, **extra})), 201)
                parties[name] = Party(url, body["member"], body["api_key"])
        yield parties
    finally:
        for party in parties.values():
            party.client.close()


@dataclass
class SplitRace:
    """`concurrent_splits`: the parties (core, supplier, tier2), the note split and the answers, in order."""

    parties: dict[str, Party]
    note_id: int
    responses: list[httpx.Response]


@contextmanager
def issued_note(url: str, operator_key: str, face_value: str) -> Iterator[tuple[dict[str, Party], int]]:
    """A core enterprise, a supplier and a tier-2 supplier admitted, and a receivable of `face_value` (due in 90
    days) issued by the core enterprise to the supplier: the parties and the supplier's note."""
    roster = [
        ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
        ("supplier", ["supplier"], {}),
        ("tier2", ["supplier"], {}),
    ]
    with admitted(url, operator_key, roster) as p:
        receivable = {
            "creditor_id": p["supplier"].id,
            "face_value": face_value,
            "maturity": (date.today() + timedelta(days=90)).isoformat(),
            "invoice_hash": random_hash(),
        }
        yield p, ok(p["core"].client.post("/v1/receivables", json=receivable), 201)["first_note_id"]


@contextmanager
def concurrent_splits(url: str, operator_key: str, face_value: str, value: str, count: int) -> Iterator[SplitRace]:
    """`issued_note`, whose note is then split to the tier-2 supplier by `count` requests of `value` all at once
    (one connection and idempotency key each)."""
    with issued_note(url, operator_key, face_value) as (p, note_id):

        def split(i: int) -> httpx.Response:
            with httpx.Client(base_url=url, timeout=180, headers={"Authorization": f"Bearer {p['supplier'].key}"}) as c:
                return c.post(
                    f"/v1/notes/{note_id}/split",
                    json={"to": p["tier2"].id, "value": value},
                    headers={"Idempotency-Key": f"race-{uuid.uuid4()}-{i}"},
                )

        with ThreadPoolExecutor(max_workers=count) as pool:
            responses = list(pool.map(split, range(count)))
        yield SplitRace(p, note_id, responses)


def random_hash() -> str:
    """A fresh 32-byte hex hash (KYC document, invoice, purchase order)."""
    return "0x" + uuid.uuid4().hex * 2


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The JSON body of a response that must have `status`."""
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


def problem(response: httpx.Response, status: int | None, type_suffix: str | None = None) -> dict[str, Any]:
    """The problem+json body of a refused request: `status` (None: any 4xx), its `type` ending in `type_suffix`."""
    if status is None:
        assert 400 <= response.status_code < 500, response.text
    else:
        assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    if type_suffix is not None:
        assert body["type"].endswith("/" + type_suffix), body
    assert body["detail"], body
    return body
