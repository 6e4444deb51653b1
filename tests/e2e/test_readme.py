"""The README runs as written: every code block is either run here or says why it cannot be.

A block whose fence line follows `<!-- tour:NAME -->` is run; one that follows `<!-- not-run: REASON -->` is
not, and the reason is part of the README. The blocks of one tour run in order in one `bash -euo pipefail` shell
(a later block continues the earlier ones); tours run in the order they first appear.

They run against the product started the way the README starts it: `make run` from the checkout, on ports that
are not the defaults and with a data directory that is not `.scf` (`SCF_API_PORT`, `SCF_RPC_PORT`,
`SCF_DATA_DIR`), and the tours get those three variables and nothing else of ours (no SCF_API_URL, no key, no
venv on PATH): every command must find the API, the node and the keys from what `make run` used. The curl tour
runs twice (it must work again on the same chain). Then `make run` is stopped with SIGTERM, as a service
manager would, and must stop cleanly: the chain's state saved, no anvil left, both ports free.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from chain.devnet.devchain import free_port, port_is_free
from tests.e2e.test_lifecycle import devchain_processes

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TAG = re.compile(r"^<!--\s*(?:tour:(?P<tour>[a-z][a-z0-9-]*)|not-run:(?P<reason>.*?))\s*-->$")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[^`\s]*)\s*$")
THE_THREE = ("SCF_API_PORT", "SCF_RPC_PORT", "SCF_DATA_DIR")


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    lang: str
    tour: str | None
    reason: str | None
    script: str


def readme_blocks(text: str) -> list[Block]:
    """Every fenced code block with a language, with the tag on the line right above its fence (if any)."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
        assert end is not None, f"line {i + 1}: a code block is never closed"
        if fence.group("lang"):
            tag = TAG.match(lines[i - 1].strip()) if i > 0 else None
            indent = len(fence.group("indent"))
            body = [line[indent:] if line[:indent].isspace() else line for line in lines[i + 1 : end]]
            blocks.append(
                Block(
                    line=i + 1,
                    lang=fence.group("lang"),
                    tour=tag.group("tour") if tag else None,
                    reason=(tag.group("reason") or "").strip() if tag and tag.group("reason") is not None else None,
                    script="\n".join(body) + "\n",
                )
            )
        i = end + 1
    return blocks


def tours(blocks: list[Block]) -> dict[str, str]:
    """Tour name -> its blocks joined in README order; names in the order they first appear."""
    joined: dict[str, str] = {}
    for block in blocks:
        if block.tour is not None:
            joined[block.tour] = joined.get(block.tour, "") + block.script
    return joined


def test_blocks_are_read_with_their_tags() -> None:
    text = (
        "x\n<!-- tour:curl -->\n```bash\necho one\n```\n\n```bash\necho untagged\n```\n"
        "<!-- not-run: needs a bank -->\n```python\n>>> 1\n```\n```\nplain text\n```\n"
        "- item\n\n  <!-- tour:curl -->\n  ```bash\n  echo two\n  ```\n"
    )
    blocks = readme_blocks(text)
    assert [(b.line, b.lang, b.tour, b.reason) for b in blocks] == [
        (3, "bash", "curl", None),
        (7, "bash", None, None),
        (11, "python", None, "needs a bank"),
        (20, "bash", "curl", None),
    ]
    assert tours(blocks) == {"curl": "echo one\necho two\n"}


def test_every_block_runs_or_says_why_not() -> None:
    blocks = readme_blocks(README.read_text())
    untagged = [f"line {b.line} ({b.lang})" for b in blocks if b.tour is None and b.reason is None]
    assert not untagged, f"README.md blocks neither tagged <!-- tour:NAME --> nor <!-- not-run: why -->: {untagged}"
    terse = [f"line {b.line}" for b in blocks if b.reason is not None and len(b.reason.split()) < 4]
    assert not terse, f"README.md: say why these blocks cannot run in CI: {terse}"
    assert all(b.lang == "bash" for b in blocks if b.tour), "only bash blocks can be run"
    assert {"health", "demo", "curl", "cli"} <= set(tours(blocks))


# ------------------------------------------------------------------------------------ against `make run`


@dataclass
class MadeRun:
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    api_port: int
    rpc_port: int
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of a newcomer's shell: none of our variables, no venv on PATH, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SCF_") and k not in ("API", "VIRTUAL_ENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    }
    venv_bin = str(ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin)
    return {**env, **extra}


def _healthy(url: str) -> bool:
    try:
        response = httpx.get(f"{url}/health", timeout=5)
    except httpx.HTTPError:
        return False
    body: dict[str, Any] = response.json() if response.status_code == 200 else {}
    return bool(body.get("deployment"))


def _untracked() -> set[str]:
    done = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT, capture_output=True, text=True
    )
    return {line[3:] for line in done.stdout.splitlines() if line.startswith("??")}


@pytest.fixture(scope="module")
def made_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MadeRun]:
    base = tmp_path_factory.mktemp("readme")
    api_port, rpc_port = free_port(), free_port()
    assert {api_port, rpc_port}.isdisjoint({8000, 8545})
    env = _clean_env(
        {"SCF_API_PORT": str(api_port), "SCF_RPC_PORT": str(rpc_port), "SCF_DATA_DIR": str(base / "ledger data")}
    )
    log = base / "make-run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["make", "run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    run = MadeRun(proc, env, api_port, rpc_port, log)
    try:
        deadline = time.monotonic() + 600  # a first `make run` compiles; no timing is asserted
        while not _healthy(f"http://127.0.0.1:{api_port}"):
            assert proc.poll() is None, f"make run exited ({proc.returncode}) before serving:\n{run.output()[-4000:]}"
            assert time.monotonic() < deadline, f"make run did not serve /health:\n{run.output()[-4000:]}"
            time.sleep(0.5)
        yield run
    finally:
        if proc.poll() is None:  # the test failed before its own SIGTERM
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pids in devchain_processes(rpc_port).values():
            for pid in pids:
                os.kill(pid, signal.SIGKILL)


def _run(name: str, script: str, run: MadeRun) -> str:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env=run.env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    assert done.returncode == 0, f"README tour:{name} failed (exit {done.returncode})\n{output}"
    return done.stdout


def test_readme_runs_as_written_against_make_run(made_run: MadeRun) -> None:
    assert {k for k in made_run.env if k.startswith("SCF_")} == set(THE_THREE)
    before = _untracked()
    outputs: dict[str, str] = {}
    for name, script in tours(readme_blocks(README.read_text())).items():
        outputs[name] = _run(name, script, made_run)
        if name == "curl":
            _run(name, script, made_run)  # again on the same chain: nothing in it is single-use
    assert '"chainId"' in outputs["health"]
    assert "Sign in to the web console as each party" in outputs["demo"]
    assert "proof verified" in outputs["curl"] and "audit log intact" in outputs["curl"]
    assert "proof verified" in outputs["cli"]
    assert _untracked() == before, "the tours left files in the checkout"

    # SIGTERM to `make run` (as `kill`, systemd or CI would): make passes it on, scf up stops everything
    made_run.proc.send_signal(signal.SIGTERM)
    try:
        code = made_run.proc.wait(timeout=180)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"make run did not stop on SIGTERM:\n{made_run.output()[-4000:]}") from None
    output = made_run.output()
    assert code in (0, -signal.SIGTERM, 128 + signal.SIGTERM), output[-4000:]  # make re-raises the signal it got
    assert "stopping (SIGTERM)" in output and "devchain stopped, state saved" in output, output[-4000:]
    assert "Traceback" not in output and "Error " not in output, output[-4000:]
    assert devchain_processes(made_run.rpc_port) == {"anvil": [], "pacer": []}
    deadline = time.monotonic() + 30
    while not (port_is_free(made_run.api_port) and port_is_free(made_run.rpc_port)):
        assert time.monotonic() < deadline, "a port of make run is still taken after it stopped"
        time.sleep(0.2)
