"""`scf serve --workers 2`: one writer and two reader processes on one port (api/workers.py), as real processes on a
real anvil, over real HTTP. The tests share one service and run in order: the last one stops it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.audit import verify_database
from api.bootstrap import OPERATOR_KEY_FILE
from api.main import create_app
from api.workers import INDEX_PATH, writer_socket_path
from chain.devnet.devchain import free_port, port_is_free
from chain.readmodel.indexer import read_checkpoint
from chain.readmodel.store import make_engine
from tests.conftest import TEST_SCRYPT_N, ChainWorld, ServerThread, chain_world, ok, random_hash

SCF = Path(sys.executable).parent / "scf"
STARTED = re.compile(r"(writer|reader) process (\d+) started")


@dataclass
class Running:
    """`scf serve` or `scf up` in a subprocess, its console in `log_path`."""

    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def started(self, role: str) -> list[int]:
        """The pids of the `role` processes the supervisor started, oldest first (its console lines)."""
        return [int(pid) for r, pid in STARTED.findall(self.log_path.read_text(errors="replace")) if r == role]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Served(Running):
    world: ChainWorld
    env: dict[str, str]

    @property
    def operator(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.world.operator_key}"}


def _until(check: Callable[[], Any], what: str, served: Running, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        assert served.proc.poll() is None, served.log()
        try:
            value = check()
        except httpx.TransportError:
            value = None
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}\n{served.log()}"
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("workers")
    with chain_world(data_dir) as world:
        settings = world.settings
        env = {
            **os.environ,
            "SCF_DATA_DIR": str(data_dir),
            "SCF_RPC_PORT": str(world.chain.port),
            "SCF_API_PORT": str(settings.api_port),
            "SCF_KEY_SCRYPT_N": str(settings.key_scrypt_n),
        }
        if settings.database_url is not None:  # the PostgreSQL pass
            env["SCF_DATABASE_URL"] = settings.database_url
        log_path = data_dir / "serve.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [str(SCF), "serve", "--workers", "2"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        served = Served(proc, f"http://127.0.0.1:{settings.api_port}", log_path, world, env)
        try:
            _until(lambda: httpx.get(f"{served.url}/health", timeout=10).status_code == 200, "no answer", served)
            _until(lambda: len(served.started("reader")) == 2, "two readers", served)
            yield served
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _admit(served: Served, key: str | None = None) -> httpx.Response:
    headers = {**served.operator, "Idempotency-Key": key or uuid.uuid4().hex}
    body = {"roles": ["supplier"], "kyc_hash": random_hash()}
    return httpx.post(f"{served.url}/v1/members", headers=headers, json=body, timeout=120)


def test_readers_answer_reads_and_a_write_through_the_port_reads_back_at_once(served: Served) -> None:
    assert httpx.get(f"{served.url}/health", timeout=30).headers["X-SCF-Role"] == "writer"  # the indexer's state
    for _ in range(3):
        admitted = _admit(served)
        assert admitted.headers["X-SCF-Role"] == "writer"
        member = ok(admitted, 201)["member"]
        read = httpx.get(f"{served.url}/v1/members/{member['id']}", headers=served.operator, timeout=30)
        assert read.headers["X-SCF-Role"] == "reader"
        assert ok(read)["id"] == member["id"]  # read-your-writes in another process


def test_the_writer_indexes_to_a_block_a_reader_asks_for_and_only_on_its_socket(served: Served) -> None:
    head = int(served.world.ledger.w3.eth.block_number)
    uds = httpx.HTTPTransport(uds=str(writer_socket_path(served.world.settings)))
    with httpx.Client(base_url="http://writer", transport=uds, timeout=60) as writer:
        answer = writer.get(INDEX_PATH, params={"block": head, "timeout": 30})
        assert (answer.status_code, answer.json()) == (200, {"indexed": True}), answer.text
        assert writer.get(INDEX_PATH, params={"block": "x"}).status_code == 400
    engine = make_engine(served.world.settings.effective_database_url)
    try:
        checkpoint = read_checkpoint(engine)
    finally:
        engine.dispose()
    assert checkpoint is not None and checkpoint[0] >= head
    public = httpx.get(f"{served.url}{INDEX_PATH}", params={"block": head}, timeout=30)  # a reader: not its route
    assert public.status_code == 404 and public.headers["X-SCF-Role"] == "reader", public.text


def test_a_forwarded_problem_is_the_single_process_answer(served: Served) -> None:
    request_id = uuid.uuid4().hex
    headers = {**served.operator, "X-Request-Id": request_id, "Accept-Language": "zh-CN"}
    body = {"roles": ["no-such-role"], "kyc_hash": "0x12"}

    def ask(client: httpx.Client) -> httpx.Response:
        return client.post("/v1/members", headers=headers, json=body)

    with httpx.Client(base_url=served.url, timeout=30) as client:
        forwarded = ask(client)
        chunked = client.post(  # no Content-Length: the body is passed on as it streams
            "/v1/members",
            headers={**headers, "Content-Type": "application/json"},
            content=iter([json.dumps(body).encode()]),
        )
    assert chunked.request.headers["transfer-encoding"] == "chunked"
    assert (chunked.status_code, chunked.content) == (forwarded.status_code, forwarded.content)
    uds = httpx.HTTPTransport(uds=str(writer_socket_path(served.world.settings)))
    with httpx.Client(base_url="http://127.0.0.1", transport=uds, timeout=30) as client:
        direct = ask(client)
    single_app = create_app(served.world.settings, background_indexer=False)
    with ServerThread.serving(single_app) as single, httpx.Client(base_url=single.url, timeout=30) as client:
        alone = ask(client)

    assert forwarded.status_code == 422 and forwarded.headers["content-type"] == "application/problem+json"
    assert forwarded.json()["type"] == "https://scf-chain.dev/problems/validation-error", forwarded.text
    assert forwarded.headers["content-language"] == "zh-CN"

    def headers_of(response: httpx.Response, *skip: bytes) -> list[tuple[bytes, bytes]]:
        return [(k, v) for k, v in response.headers.raw if k.lower() not in {b"date", b"server", *skip}]

    assert (forwarded.status_code, forwarded.content) == (direct.status_code, direct.content)
    assert headers_of(forwarded) == headers_of(direct)  # the writer's answer, byte for byte
    assert (forwarded.status_code, forwarded.content) == (alone.status_code, alone.content)
    assert headers_of(forwarded, b"x-scf-role") == headers_of(alone)  # as one process answers it


def test_the_audit_chain_holds_after_mixed_traffic(served: Served) -> None:
    def audited_read(_: int) -> str:
        response = httpx.get(f"{served.url}/v1/audit", params={"limit": 1}, headers=served.operator, timeout=60)
        ok(response)
        return response.headers["X-SCF-Role"]

    def write(_: int) -> str:
        response = _admit(served)
        ok(response, 201)
        return response.headers["X-SCF-Role"]

    with ThreadPoolExecutor(8) as pool:
        reads = pool.map(audited_read, range(24))
        writes = pool.map(write, range(4))
        roles = list(reads) + list(writes)
    assert roles.count("reader") == 24 and roles.count("writer") == 4  # readers appended to the chain too
    verified = ok(httpx.get(f"{served.url}/v1/audit/verify", headers=served.operator, timeout=60))
    assert verified["ok"] is True and verified["entries"] >= 28, verified
    engine = make_engine(served.world.settings.effective_database_url)
    try:
        assert verify_database(engine, served.world.settings.data_dir / "audit-head.json").ok
    finally:
        engine.dispose()


def test_a_killed_reader_or_writer_is_started_again_and_the_port_keeps_answering(served: Served) -> None:
    me = f"{served.url}/v1/members"
    victim = served.started("reader")[-1]
    os.kill(victim, signal.SIGKILL)
    # the other reader answers meanwhile (a connection the killed one had accepted may fail: retried here)
    assert _until(lambda: httpx.get(me, headers=served.operator, timeout=30).status_code == 200, "reads", served)
    _until(lambda: len(served.started("reader")) == 3 and _alive(served.started("reader")[-1]), "restart", served)
    assert not _alive(victim)

    writer = served.started("writer")[-1]
    os.kill(writer, signal.SIGKILL)
    key = uuid.uuid4().hex
    admitted = _until(lambda: (r := _admit(served, key)).status_code == 201 and r, "a write after", served)
    assert admitted.headers["X-SCF-Role"] == "writer"
    assert len(served.started("writer")) == 2 and served.started("writer")[-1] != writer
    member_id = admitted.json()["member"]["id"]
    assert ok(httpx.get(f"{served.url}/v1/members/{member_id}", headers=served.operator, timeout=30))["id"] == member_id


def test_a_second_supervisor_on_the_same_data_dir_is_refused(served: Served) -> None:
    port = free_port()
    env = {**served.env, "SCF_API_PORT": str(port)}
    second = subprocess.run([str(SCF), "serve", "--workers", "1"], env=env, capture_output=True, timeout=120)
    assert second.returncode == 1
    assert "another `scf serve --workers` serves this data dir" in second.stderr.decode(), second.stderr
    assert port_is_free(port, "127.0.0.1")
    assert ok(httpx.get(f"{served.url}/v1/members", headers=served.operator, timeout=30))  # the first one serves on


def test_sigterm_stops_every_process_and_frees_the_port(served: Served) -> None:
    children = served.started("writer") + served.started("reader")
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(timeout=90) == 0, served.log()
    assert port_is_free(served.world.settings.api_port, "127.0.0.1")
    assert not any(_alive(pid) for pid in children), served.log()
    assert not writer_socket_path(served.world.settings).exists()


def test_the_children_stop_when_their_supervisor_is_killed(served: Served) -> None:
    port = free_port()
    log_path = served.log_path.with_name("serve-killed.log")
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(SCF), "serve", "--workers", "1"],
            env={**served.env, "SCF_API_PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    again = Running(proc, f"http://127.0.0.1:{port}", log_path)
    children: list[int] = []
    try:
        _until(lambda: httpx.get(f"{again.url}/health", timeout=10).status_code == 200, "no answer", again)
        _until(lambda: again.started("reader"), "a reader", again)
        children = again.started("writer") + again.started("reader")
        proc.kill()  # no graceful stop of the supervisor: its children notice it is gone
        proc.wait()
        deadline = time.monotonic() + 60
        while any(_alive(pid) for pid in children):
            assert time.monotonic() < deadline, again.log()
            time.sleep(0.2)
        assert port_is_free(port, "127.0.0.1")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in children:  # left behind only when the test fails
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    # the writer's socket file it left behind does not keep the next start from serving
    assert writer_socket_path(served.world.settings).exists()
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [str(SCF), "serve", "--workers", "1"], env={**served.env, "SCF_API_PORT": str(port)}, stdout=log, stderr=log
        )
    again = Running(proc, again.url, log_path)
    try:
        _until(lambda: httpx.get(f"{again.url}/health", timeout=10).status_code == 200, "a new start", again)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=90) == 0


def test_scf_up_runs_the_workers_and_stops_them(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "SCF_DATA_DIR": str(tmp_path / "data"),
        "SCF_RPC_PORT": str(free_port()),
        "SCF_API_PORT": str(port),
        "SCF_KEY_SCRYPT_N": str(TEST_SCRYPT_N),
    }
    env.pop("SCF_DATABASE_URL", None)  # the devchain's own data dir, SQLite
    log_path = tmp_path / "up.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(SCF), "up", "--workers", "1"], env=env, stdout=log, stderr=subprocess.STDOUT)
    up = Running(proc, f"http://127.0.0.1:{port}", log_path)
    try:
        _until(lambda: httpx.get(f"{up.url}/health", timeout=10).status_code == 200, "no answer", up, timeout=240)
        key = (tmp_path / "data" / OPERATOR_KEY_FILE).read_text().strip()
        members = httpx.get(f"{up.url}/v1/members", headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert members.status_code == 200 and members.headers["X-SCF-Role"] == "reader"
        children = up.started("writer") + up.started("reader")
        assert len(children) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0, up.log()
        assert port_is_free(port, "127.0.0.1")
        assert not any(_alive(pid) for pid in children)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
