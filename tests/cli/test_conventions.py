"""CLI conventions a shell user expects: --version, NO_COLOR on a terminal, no wrapping in a pipe, plain help."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

SCF = Path(sys.executable).parent / "scf"
ESC = "\x1b["


def _on_terminal(args: list[str], env: dict[str, str]) -> str:
    """Runs scf with a pseudo-terminal as stdout and stderr (as in an interactive shell); returns what it printed."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([str(SCF), *args], stdout=follower, stderr=follower, env=env)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed its side
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=60)
    finally:
        os.close(leader)
    return b"".join(chunks).decode()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "FORCE_COLOR")}
    env.update(TERM="xterm-256color", **extra)
    return env


def test_version() -> None:
    out = subprocess.run([str(SCF), "--version"], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip().startswith("scf ") and out.strip().split()[1][0].isdigit()


def test_no_color_removes_every_escape_on_a_terminal(tmp_path: Path) -> None:
    # an error line is styled (bold red "error:"): a restore from a folder that holds no backup
    args = ["restore", str(tmp_path / "no-backup"), "--data-dir", str(tmp_path / "data")]
    styled = _on_terminal(args, _env())
    assert ESC in styled, "the check cannot fail: nothing is styled on a terminal without NO_COLOR"
    plain = _on_terminal(args, _env(NO_COLOR="1"))
    assert "error" in plain
    assert ESC not in plain, repr(plain)


def test_a_pipe_gets_whole_lines() -> None:
    long_url = "http://127.0.0.1:9/" + "x" * 150
    result = subprocess.run(
        [str(SCF), "--api", long_url, "--key", "k", "members", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
        check=False,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert any(long_url in line for line in lines), result.stderr  # not cut at 80 columns
    assert ESC not in result.stderr


def test_help_has_no_type_noise_after_flags() -> None:
    out = subprocess.run([str(SCF), "--help"], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "--version" in out and "--install-completion" in out
    assert "<bool>" not in out and "╭" not in out
