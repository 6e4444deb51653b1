"""tools/postgres.sh, which `make test` reads the PostgreSQL pass's admin URL from (`url="$(bash tools/postgres.sh)"`).

Debian's tools are replaced by stand-ins on PATH that behave as they do on a machine whose cluster had an unclean
stop (CI's): pg_ctlcluster prints "Removed stale pid file." on stdout and leaves a server running in the background.
That server inherits the script's open descriptors; if one of them is the Makefile's command-substitution pipe, the
`$(...)` never returns (CI hung for an hour there)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

STUBS = {
    "id": "echo 0\n",
    "apt-get": "exit 0\n",
    # A cluster that is down until pg_ctlcluster starts it.
    "pg_lsclusters": 'if [ -f "$STUB_DIR/started" ]; then s=online; else s=down; fi\n'
    'echo "15 main 5433 $s postgres /nowhere /nowhere.log"\n',
    "pg_createcluster": "exit 0\n",
    # As after an unclean stop: a message on stdout, and a server left running. Like the real one, the server's
    # stdin, stdout and stderr go to its log; any other descriptor of the caller stays open in it.
    "pg_ctlcluster": 'echo "Removed stale pid file."\n'
    'touch "$STUB_DIR/started"\n'
    "sleep 120 </dev/null >/dev/null 2>&1 &\n"
    'echo $! > "$STUB_DIR/server.pid"\n',
    # `su postgres -c "psql ..."`: the server answers, and the root role exists.
    "su": "echo 1\n",
}


@pytest.fixture
def stub_path(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in STUBS.items():
        stub = bin_dir / name
        stub.write_text("#!/bin/sh\n" + body)
        stub.chmod(0o755)
    (tmp_path / "lib" / "15" / "bin").mkdir(parents=True)
    (tmp_path / "lib" / "15" / "bin" / "postgres").touch()
    env = {k: v for k, v in os.environ.items() if k != "SCF_TEST_PG_URL"}
    env.update(PATH=f"{bin_dir}:{env['PATH']}", STUB_DIR=str(tmp_path), SCF_PG_LIB=str(tmp_path / "lib"))
    return env


def test_the_url_comes_back_when_the_script_starts_a_server(stub_path: dict[str, str], tmp_path: Path) -> None:
    try:
        # The Makefile's own construct; a hang is caught by the timeout and reported as a failure.
        done = subprocess.run(
            ["bash", "-c", 'url="$(bash tools/postgres.sh)" && printf "%s" "$url"'],
            cwd=ROOT,
            env=stub_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("`$(bash tools/postgres.sh)` did not return: the started server holds the URL pipe open")
    finally:
        pid_file = tmp_path / "server.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "started").exists()  # the stand-in server was started (the case under test)
    # Only the URL on stdout: the stale-pid message went to stderr.
    assert done.stdout == "postgresql+psycopg://root@/postgres?host=/var/run/postgresql&port=5433"
    assert "Removed stale pid file." in done.stderr


def test_a_given_url_is_used_as_it_is(stub_path: dict[str, str], tmp_path: Path) -> None:
    url = "postgresql+psycopg://someone@db.example:5432/postgres"
    done = subprocess.run(
        ["bash", "tools/postgres.sh"],
        cwd=ROOT,
        env={**stub_path, "SCF_TEST_PG_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == url
    assert not (tmp_path / "started").exists()
