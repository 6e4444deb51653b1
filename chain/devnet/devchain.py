"""Starts and stops a local anvil as a managed subprocess, with its ledger state persisted on disk.

anvil dumps its state to `--state FILE` on SIGTERM/SIGINT and every `--state-interval` seconds, and
loads it at start, so a restart keeps every block. Before handing the file to anvil it is checked:
a corrupt or unreadable file stops the start with a clear message and is never modified; a copy of
the last good file is kept beside it as `*.prev`.

anvil does not save its clock: a chain whose time was moved forward (`evm_increaseTime`, as `scf demo`
does) would restart at the machine's time, behind its own last block. A start from a state file whose
last block is not in the past starts anvil at that block's time (`--timestamp`), so block times never
decrease across restarts.

`supervise()` watches anvil in a thread: if it dies (SIGKILL, OOM killer, crash) it is restarted from
its state file, with a new block pacer (the old one is stopped first, so there is never two), and the
blocks mined since the last state dump, which are lost, are reported.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import TracebackType

from chain.devnet.toolchain import find_tool
from chain.node.errors import ChainUnavailableError, PortInUseError, ScfError, StateFileError
from chain.node.rpc import rpc_call

STATE_FILE = "anvil-state.json"
LOG_FILE = "anvil.log"
CACHE_DIR = "anvil-cache"  # where anvil spills past-block states it keeps on disk (automine only)

# What the supervisor reports (one place, for the message catalogue).
MESSAGES = {
    "died": "devchain (anvil) exited unexpectedly ({how}); restarting it from its state file",
    "restarted": "devchain restarted from its state file at block {saved}",
    "lost": "blocks {first} to at least {last} were mined after the last state dump and are lost",
    "none_lost": "no block was lost",
    "empty": "devchain restarted with an empty chain: no state had been saved yet",
    "retry": "devchain restart failed ({error}); next try in {delay:.0f} s",
}


class StopOutcome(Enum):
    """What `DevChain.stop()` did: its caller reports it (only SAVED means the state file is current)."""

    NOT_STARTED = "not-started"  # nothing was running: no anvil was started, or it was stopped already
    SAVED = "saved"  # anvil stopped on SIGTERM (ours, or its own from a service manager) and wrote its state file
    EXITED = "exited"  # anvil had already died (not a clean exit): the state file is from its last dump
    FAILED = "failed"  # anvil did not exit cleanly on SIGTERM (e.g. it came before anvil set up its handler): not saved
    KILLED = "killed"  # anvil did not stop in time and was killed: the state file is from its last dump


@dataclass(frozen=True)
class SavedHead:
    """The last block of a state file: where a restart from it resumes."""

    number: int
    timestamp: int


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port the OS says is free now (for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_state_file(path: Path) -> SavedHead | None:
    """Raises StateFileError when `path` exists but is not a state file anvil can load; else its last block (None:
    no file yet)."""
    if not path.exists():
        return None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StateFileError(str(path), f"cannot read it: {exc.strerror}") from exc
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateFileError(str(path), f"not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or "accounts" not in data:
        raise StateFileError(str(path), "JSON without the 'accounts' section of an anvil state dump")
    return _saved_head(data)


def _saved_head(data: dict[str, object]) -> SavedHead | None:
    """The dump's `block` (the environment of its last block: number and timestamp, hex or int)."""
    block = data.get("block")
    if not isinstance(block, dict):
        return None
    try:
        return SavedHead(_quantity(block["number"]), _quantity(block["timestamp"]))
    except (KeyError, TypeError, ValueError):
        return None


def _quantity(value: object) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value, 16) if value.startswith("0x") else int(value)
    raise TypeError(f"not a quantity: {value!r}")


@dataclass
class DevChain:
    """A local anvil. Use as a context manager or call start()/stop()."""

    data_dir: Path
    port: int = 8545
    chain_id: int = 31337
    block_time: float | None = None  # None or 0 = automine (a block per transaction); the product uses 0.5 s
    host: str = "127.0.0.1"
    state_interval: int = 30  # each dump serialises the whole chain: every 5 s slowed a long run (performance history)
    # Interval mining: past-block states anvil keeps (each a full copy of the chain's state, so memory is about
    # state_history x the state's size). anvil 1.7.1's own interval miner raises any --prune-history to 1,500
    # states, and without it spills up to 3,600 more to disk; so the devchain runs anvil with --no-mining and
    # mines with `evm_mine` from chain/devnet/pacer.py instead (docs/performance-history.md, "Devchain memory").
    state_history: int = 128
    extra_args: list[str] = field(default_factory=list)
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _pacer: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    # held while anvil is started, restarted or stopped: the supervisor never restarts what stop() is stopping
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)
    _watcher: threading.Thread | None = field(default=None, init=False, repr=False)
    _watching: threading.Event = field(default_factory=threading.Event, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def state_path(self) -> Path:
        return self.data_dir / STATE_FILE

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILE

    @property
    def pid(self) -> int | None:
        """The anvil process id while it runs (benchmarks read its memory from /proc)."""
        return self._process.pid if self.running and self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        cmd = [
            str(find_tool("anvil")),
            "--host", self.host,
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--state", str(self.state_path),
            "--state-interval", str(self.state_interval),
            "--cache-path", str(self.cache_path),
        ]  # fmt: skip
        if self.block_time:  # blocks come from the pacer (start()); a bounded, in-memory state history
            cmd += ["--no-mining", "--prune-history", str(self.state_history)]
        return cmd + self.extra_args

    @property
    def cache_path(self) -> Path:
        """anvil's spill of past-block states (automine keeps up to 3,600 there); valid only while it runs."""
        return self.data_dir / CACHE_DIR

    def start(self, timeout: float = 30.0) -> DevChain:
        with self._lock:
            if not self.running:
                self._launch(timeout)
        return self

    def _launch(self, timeout: float) -> SavedHead | None:
        """Starts anvil (from the state file, if any) and the pacer; the state file's last block, or None."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        saved = check_state_file(self.state_path)
        if not port_is_free(self.port, self.host):
            raise PortInUseError(self.port, "SCF_RPC_PORT")
        if self.state_path.exists():
            shutil.copy2(self.state_path, self.state_path.with_suffix(".json.prev"))
        shutil.rmtree(self.cache_path, ignore_errors=True)  # a previous run's spill: anvil never reads it again
        command = self.command()
        if saved is not None and saved.timestamp >= int(time.time()):
            # the chain's clock was ahead of the machine's (evm_increaseTime): resume at its last block's time,
            # not behind it (anvil does not save its time offset)
            command += ["--timestamp", str(saved.timestamp)]
        log = self.log_path.open("ab")
        # its own session: a Ctrl-C in the terminal reaches the owner (scf devchain / scf run), which stops anvil
        # with stop() (mining paused first), instead of reaching anvil at the same moment
        self._process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        log.close()
        self._wait_until_ready(timeout)
        if self.block_time:  # the block clock: devnet/pacer.py, a process of its own (no GIL shared with us)
            pacer = [sys.executable, "-m", "chain.devnet.pacer", self.url, str(self.block_time), str(os.getpid())]
            self._pacer = subprocess.Popen(
                pacer, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True
            )
        return saved

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        process = self._process
        assert process is not None
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self._process = None
                raise ChainUnavailableError(
                    f"anvil exited with code {process.returncode} during start; last log lines:\n{self.log_tail()}"
                )
            try:
                rpc_call(self.url, "eth_chainId", timeout=1.0)
                return
            except ChainUnavailableError:
                time.sleep(0.1)
        process.kill()  # not stop(): nothing was mined yet, and stop() would wait for the supervisor
        process.wait()
        self._process = None
        raise ChainUnavailableError(f"anvil did not answer on {self.url} within {timeout:.0f}s")

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 20.0) -> StopOutcome:
        """SIGTERM lets anvil write its state file; SIGKILL only if it does not exit in time. Ends the supervision
        first, so nothing restarts it."""
        self._end_supervision()
        with self._lock:
            process, self._process = self._process, None
            if process is None:
                return StopOutcome.NOT_STARTED
            self._stop_pacer()
            if process.poll() is not None:  # code 0: it was stopped by a signal of its own, and saved its state
                return StopOutcome.SAVED if process.returncode == 0 else StopOutcome.EXITED
            self._pause_mining()
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                return StopOutcome.KILLED
            return StopOutcome.SAVED if code == 0 else StopOutcome.FAILED

    def supervise(self, report: Callable[[str], None], interval: float = 0.5, timeout: float = 30.0) -> None:
        """Watches anvil from a daemon thread until stop(): restarts it when it dies (see the module docstring);
        `report` gets one line per event (called from that thread)."""
        with self._lock:
            if self._watcher is not None:
                return
            self._watching.clear()
            self._watcher = threading.Thread(
                target=self._watch, args=(report, interval, timeout), name="devchain-supervisor", daemon=True
            )
            self._watcher.start()

    def _end_supervision(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None and watcher is not threading.current_thread():
            self._watching.set()
            watcher.join()

    def _watch(self, report: Callable[[str], None], interval: float, timeout: float) -> None:
        head: int | None = None  # the last block seen: the lost window after a crash ends there (or later)
        failures = 0
        delay = interval
        while not self._watching.wait(delay):
            with self._lock:
                if self._watching.is_set():
                    return
                process = self._process
                if process is not None and process.poll() is None:
                    head = self._head(head)
                    continue
                if process is None and failures == 0:
                    return  # stopped (or never started): nothing to watch
                if failures == 0:
                    assert process is not None
                    if self._watching.wait(interval):
                        return  # a stop under way: a service manager signals the whole unit, anvil included, at once
                    self._process = None
                    self._stop_pacer()  # it would mine on the restarted node next to the new one
                    report(MESSAGES["died"].format(how=_exit_description(process.returncode)))
                try:
                    saved = self._launch(timeout)
                except (ScfError, OSError) as exc:
                    failures += 1
                    delay = min(30.0, interval * 2**failures)
                    report(MESSAGES["retry"].format(error=exc, delay=delay))
                    continue
            failures, delay = 0, interval
            report(_lost_window(saved, head))
            head = saved.number if saved is not None else None

    def _head(self, previous: int | None) -> int | None:
        try:
            return int(str(rpc_call(self.url, "eth_blockNumber", timeout=1.0)), 16)
        except (ChainUnavailableError, ValueError):
            return previous

    def _stop_pacer(self) -> None:
        """No block is being mined once this returns: the pacer exits after its `evm_mine` call is answered, which
        happens when the block is stored."""
        pacer, self._pacer = self._pacer, None
        if pacer is None:
            return
        pacer.terminate()
        try:
            pacer.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pacer.kill()
            pacer.wait()

    def _pause_mining(self, settle: float = 0.2) -> None:
        """Stops mining before the final state dump. anvil dumps on SIGTERM while it may be mining a block, and
        then can store that block's transactions and state changes without their receipts and events (measured:
        about 1 stop in 8 under a stream of transactions). Transactions sent after the pause wait in the pool,
        which is not saved: their senders re-broadcast them after the restart (chain/node/signer.py). A node that does
        not answer is stopped all the same."""
        try:
            rpc_call(self.url, "evm_setAutomine", [False], timeout=1.0)
            rpc_call(self.url, "evm_setIntervalMining", [0], timeout=1.0)
        except ChainUnavailableError:
            return
        time.sleep(settle)  # a block being mined when the pause arrived is finished and stored

    def __enter__(self) -> DevChain:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _exit_description(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _lost_window(saved: SavedHead | None, head: int | None) -> str:
    if saved is None:
        lost = MESSAGES["lost"].format(first=1, last=head) if head else MESSAGES["none_lost"]
        return f"{MESSAGES['empty']}; {lost}"
    restarted = MESSAGES["restarted"].format(saved=saved.number)
    if head is None or head <= saved.number:
        return f"{restarted}; {MESSAGES['none_lost']}"
    return f"{restarted}; {MESSAGES['lost'].format(first=saved.number + 1, last=head)}"
