"""`scf up` as an operator runs it: stopped by SIGTERM (systemd, CI) or SIGINT (Ctrl-C), and with its anvil killed.

Each test runs `scf up` as a subprocess in a process group of its own, on free ports and a data dir of its own,
and finds the devchain's processes (anvil, the block pacer) by their command lines in /proc.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from web3 import Web3

from api.bootstrap import OPERATOR_KEY_FILE
from chain.devnet.compile import compile_contracts
from chain.devnet.devchain import STATE_FILE, free_port, port_is_free
from chain.node.deployment import load_deployment
from chain.node.errors import ChainUnavailableError
from chain.node.rpc import rpc_call
from tests.conftest import TEST_SCRYPT_N, ok, random_hash, wait_until

SCF = Path(sys.executable).parent / "scf"


@dataclass
class Up:
    """One `scf up` process (the leader of its own process group)."""

    proc: subprocess.Popen[bytes]
    data_dir: Path
    rpc_port: int
    api_port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def operator(self) -> httpx.Client:
        key = (self.data_dir / OPERATOR_KEY_FILE).read_text().strip()
        return httpx.Client(base_url=self.url, timeout=60, headers={"Authorization": f"Bearer {key}"})


def _cmdlines() -> Iterator[tuple[int, list[str]]]:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
            status = (entry / "status").read_text()
        except OSError:
            continue  # exited meanwhile
        if "zombie" in status.lower():
            continue
        yield int(entry.name), raw.decode(errors="replace").split("\0")


def devchain_processes(rpc_port: int) -> dict[str, list[int]]:
    """The anvil and pacer processes serving `rpc_port`, by their command lines."""
    found: dict[str, list[int]] = {"anvil": [], "pacer": []}
    for pid, argv in _cmdlines():
        if (
            argv
            and Path(argv[0]).name == "anvil"
            and "--port" in argv
            and argv[argv.index("--port") + 1] == str(rpc_port)
        ):
            found["anvil"].append(pid)
        elif "chain.devnet.pacer" in argv and any(arg.endswith(f":{rpc_port}") for arg in argv):
            found["pacer"].append(pid)
    return found


def _health(url: str) -> dict[str, Any] | None:
    try:
        response = httpx.get(f"{url}/health", timeout=5)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    body: dict[str, Any] = response.json()
    return body if body["status"] == "ok" else None


def _answers(rpc_url: str) -> bool:
    try:
        rpc_call(rpc_url, "eth_chainId", timeout=1.0)
    except ChainUnavailableError:
        return False
    return True


def start_up(data_dir: Path, rpc_port: int, api_port: int, log: Path, *, wait: bool = True, **env: str) -> Up:
    environment = {
        **os.environ,
        "SCF_DATA_DIR": str(data_dir),
        "SCF_RPC_PORT": str(rpc_port),
        "SCF_API_PORT": str(api_port),
        "SCF_KEY_SCRYPT_N": str(TEST_SCRYPT_N),
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    environment.pop("SCF_RPC_URL", None)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(SCF), "up"], env=environment, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    up = Up(proc, data_dir, rpc_port, api_port, log)
    if wait:
        wait_until(lambda: _health(up.url), "scf up to answer /health", timeout=240, proc=proc)
    return up


def stop_group(up: Up, sig: signal.Signals) -> int:
    """Sends `sig` to the process group of `scf up` (as a terminal or a service manager would); its exit code."""
    os.killpg(up.proc.pid, sig)
    try:
        return up.proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"scf up did not exit after {sig.name}:\n{up.output()[-3000:]}") from None


@contextmanager
def cleanup(rpc_port: int) -> Iterator[list[Up]]:
    """Whatever a failed test leaves behind is killed: the `scf up` process groups, then anvil and pacers."""
    started: list[Up] = []
    try:
        yield started
    finally:
        for up in started:
            if up.proc.poll() is None:
                os.killpg(up.proc.pid, signal.SIGKILL)
                up.proc.wait()
        for pids in devchain_processes(rpc_port).values():
            for pid in pids:
                os.kill(pid, signal.SIGKILL)


def _admit(up: Up, count: int) -> list[dict[str, Any]]:
    with up.operator() as op:
        return [
            ok(op.post("/v1/members", json={"roles": ["supplier"], "kyc_hash": random_hash()}), 201)["member"]
            for _ in range(count)
        ]


def _chain_members(up: Up) -> list[str]:
    """Every member's account as the chain's MemberRegistry has it (not the read model)."""
    w3 = Web3(Web3.HTTPProvider(up.rpc_url))
    deployment = load_deployment(up.data_dir, w3.eth.chain_id)
    assert deployment is not None
    registry = w3.eth.contract(
        address=Web3.to_checksum_address(deployment.address("MemberRegistry")),
        abi=compile_contracts()["MemberRegistry"].abi,
    )
    count = registry.functions.memberCount().call()
    return [registry.functions.accountOf(member_id).call() for member_id in range(1, count + 1)]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_api_pacer_and_anvil_and_the_next_start_continues_the_ledger(
    tmp_path: Path, sig: signal.Signals
) -> None:
    data_dir, rpc_port, api_port = tmp_path / "scf.data dir", free_port(), free_port()  # any folder name
    with cleanup(rpc_port) as started:
        first = start_up(data_dir, rpc_port, api_port, tmp_path / "first.log")
        started.append(first)
        assert len(devchain_processes(rpc_port)["pacer"]) == 1
        admitted = _admit(first, 2)
        accounts = _chain_members(first)
        assert {m["account"] for m in admitted} <= set(accounts)
        head = wait_until(lambda: _health(first.url), "health")["chain"]["latestBlock"]

        stop_group(first, sig)
        left = wait_until(lambda: devchain_processes(rpc_port) == {"anvil": [], "pacer": []} or None, "exit", 10)
        assert left, devchain_processes(rpc_port)
        assert port_is_free(rpc_port) and port_is_free(api_port)
        output = first.output()
        assert "devchain stopped, state saved" in output, output[-3000:]
        assert json.loads((data_dir / STATE_FILE).read_text())["best_block_number"] >= head

        second = start_up(data_dir, rpc_port, api_port, tmp_path / "second.log")
        started.append(second)
        assert "reused the existing deployment" in second.output()
        health = wait_until(lambda: _health(second.url), "health")
        assert health["chain"]["latestBlock"] >= head
        assert _chain_members(second) == accounts
        with second.operator() as op:
            for member in admitted:
                assert ok(op.get(f"/v1/members/{member['id']}"))["account"] == member["account"]
        stop_group(second, signal.SIGTERM)
        assert devchain_processes(rpc_port) == {"anvil": [], "pacer": []}
        assert "devchain stopped, state saved" in second.output()


def test_a_sigterm_while_it_starts_stops_the_devchain_it_started(tmp_path: Path) -> None:
    """SIGTERM as soon as anvil answers (`scf up` is still compiling or deploying, not serving): nothing is left."""
    rpc_port, api_port = free_port(), free_port()
    with cleanup(rpc_port) as started:
        up = start_up(tmp_path / "data", rpc_port, api_port, tmp_path / "up.log", wait=False)
        started.append(up)
        wait_until(lambda: _answers(f"http://127.0.0.1:{rpc_port}"), "anvil to answer", proc=up.proc)
        assert _health(up.url) is None  # not serving yet
        assert stop_group(up, signal.SIGTERM) == -signal.SIGTERM
        assert devchain_processes(rpc_port) == {"anvil": [], "pacer": []}
        assert port_is_free(rpc_port) and port_is_free(api_port)
        assert "devchain stopped, state saved" in up.output()


def _saved_block(data_dir: Path) -> int:
    """The last block in the devchain's state file (0 while there is none, or while it is being written)."""
    try:
        return int(json.loads((data_dir / STATE_FILE).read_text())["best_block_number"])
    except (OSError, ValueError, KeyError):
        return 0


def test_a_killed_anvil_is_restarted_from_its_state_with_one_pacer(tmp_path: Path) -> None:
    """SIGKILL of anvil under a running `scf up`: it comes back from its last state dump, the lost blocks are
    reported, exactly one pacer mines (at the configured pace, not twice it), and the API answers again."""
    data_dir, rpc_port, api_port, block_time = tmp_path / "data", free_port(), free_port(), 0.5
    with cleanup(rpc_port) as started:
        up = start_up(data_dir, rpc_port, api_port, tmp_path / "up.log", SCF_STATE_INTERVAL="1", SCF_BLOCK_TIME="0.5")
        started.append(up)
        [member] = _admit(up, 1)
        accounts = _chain_members(up)
        head = wait_until(lambda: _health(up.url), "health")["chain"]["latestBlock"]
        wait_until(lambda: _saved_block(data_dir) >= head, "a state dump with the admission", proc=up.proc)
        [anvil], [pacer] = devchain_processes(rpc_port)["anvil"], devchain_processes(rpc_port)["pacer"]

        os.kill(anvil, signal.SIGKILL)
        wait_until(lambda: "restarted" in up.output(), "the restart to be reported", proc=up.proc)
        wait_until(lambda: _health(up.url), "the API to answer again", proc=up.proc)
        processes = devchain_processes(rpc_port)
        assert len(processes["anvil"]) == 1 and processes["anvil"] != [anvil], processes
        assert len(processes["pacer"]) == 1 and processes["pacer"] != [pacer], processes
        output = up.output()
        assert "exited unexpectedly (killed by SIGKILL)" in output, output[-3000:]
        assert "restarted from its state file at block" in output
        assert "were mined after the last state dump and are lost" in output or "no block was lost" in output

        # blocks come from one pacer: never more than one per block time (a slow machine only makes fewer)
        since = time.monotonic()
        first = wait_until(lambda: _health(up.url), "health")["chain"]["latestBlock"]
        wait_until(lambda: time.monotonic() - since >= 4 or None, "a few block times")
        last = wait_until(lambda: _health(up.url), "health")["chain"]["latestBlock"]
        elapsed = time.monotonic() - since
        assert last > first  # it mines
        assert last - first <= elapsed / block_time + 2, (first, last, elapsed)

        assert set(accounts) <= set(_chain_members(up))
        with up.operator() as op:
            assert ok(op.get(f"/v1/members/{member['id']}"))["account"] == member["account"]
        stop_group(up, signal.SIGTERM)
        assert devchain_processes(rpc_port) == {"anvil": [], "pacer": []}
        assert "devchain stopped, state saved" in up.output()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_scf_devchain_is_stopped_by_a_signal_and_restarts_a_killed_anvil(tmp_path: Path, sig: signal.Signals) -> None:
    rpc_port = free_port()
    environment = {**os.environ, "SCF_BLOCK_TIME": "0.5", "PYTHONUNBUFFERED": "1"}
    environment.pop("SCF_RPC_URL", None)
    log = tmp_path / "devchain.log"
    with cleanup(rpc_port), log.open("wb") as out:
        proc = subprocess.Popen(
            [str(SCF), "devchain", "--data-dir", str(tmp_path / "data"), "--port", str(rpc_port)],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        up = Up(proc, tmp_path / "data", rpc_port, 0, log)
        try:
            wait_until(lambda: _answers(up.rpc_url), "anvil to answer", proc=proc)
            wait_until(lambda: len(devchain_processes(rpc_port)["pacer"]) == 1, "the pacer", proc=proc)
            [anvil] = devchain_processes(rpc_port)["anvil"]
            os.kill(anvil, signal.SIGKILL)
            wait_until(lambda: "restarted" in up.output(), "the restart to be reported", proc=proc)
            wait_until(lambda: _answers(up.rpc_url), "anvil to answer again", proc=proc)
            processes = devchain_processes(rpc_port)
            assert len(processes["anvil"]) == 1 and processes["anvil"] != [anvil], processes
            assert len(processes["pacer"]) == 1, processes
            assert stop_group(up, sig) == -sig
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        assert devchain_processes(rpc_port) == {"anvil": [], "pacer": []}
        assert port_is_free(rpc_port)
        assert "devchain stopped, state saved" in up.output()


def test_a_service_manager_signalling_every_process_at_once_stops_without_a_restart(tmp_path: Path) -> None:
    """systemd (KillMode=control-group) sends SIGTERM to every process of the unit at once: anvil and the pacer get
    it directly, besides `scf devchain`. That is a stop, not a death to restart from."""
    rpc_port = free_port()
    environment = {**os.environ, "SCF_BLOCK_TIME": "0.5", "PYTHONUNBUFFERED": "1"}
    environment.pop("SCF_RPC_URL", None)
    log = tmp_path / "devchain.log"
    with cleanup(rpc_port), log.open("wb") as out:
        proc = subprocess.Popen(
            [str(SCF), "devchain", "--data-dir", str(tmp_path / "data"), "--port", str(rpc_port)],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        up = Up(proc, tmp_path / "data", rpc_port, 0, log)
        try:
            wait_until(lambda: len(devchain_processes(rpc_port)["pacer"]) == 1, "the pacer", proc=proc)
            height = int(str(rpc_call(up.rpc_url, "eth_blockNumber")), 16)
            wait_until(lambda: int(str(rpc_call(up.rpc_url, "eth_blockNumber")), 16) > height, "a block")
            processes = devchain_processes(rpc_port)
            for pid in [proc.pid, *processes["anvil"], *processes["pacer"]]:
                os.kill(pid, signal.SIGTERM)
            assert proc.wait(timeout=120) == -signal.SIGTERM
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        assert devchain_processes(rpc_port) == {"anvil": [], "pacer": []}
        output = up.output()
        assert "restart" not in output, output
        assert "devchain stopped, state saved" in output, output
        assert _saved_block(tmp_path / "data") > height


def test_a_start_that_fails_does_not_claim_to_have_stopped_a_devchain(tmp_path: Path) -> None:
    """The RPC port is taken: anvil never starts, and `scf up` does not say it stopped one and saved its state."""
    with _listening() as rpc_port:
        environment = {
            **os.environ,
            "SCF_DATA_DIR": str(tmp_path / "data"),
            "SCF_RPC_PORT": str(rpc_port),
            "SCF_API_PORT": str(free_port()),
        }
        environment.pop("SCF_RPC_URL", None)
        done = subprocess.run([str(SCF), "up"], env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "SCF_RPC_PORT" in done.stderr
    assert "stopped" not in done.stdout + done.stderr
    assert "saved" not in done.stdout + done.stderr


@contextmanager
def _listening() -> Iterator[int]:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield int(busy.getsockname()[1])
