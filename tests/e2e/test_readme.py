"""The README's tours run as written: every ```bash block tagged `<!-- tour:curl -->` or `<!-- tour:cli -->`.

The blocks of one tour run in order in one shell (a later block continues the earlier ones), with
`bash -euo pipefail` against a real ledger of this module's own (anvil, deployed suite, API server
on a free port), from a directory whose `.scf` links to the ledger's data dir, as a reader would after
`make run`. The curl tour runs twice: it must work again on the same chain.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PrivateWorld, private_world

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TAG = re.compile(r"^<!-- tour:(curl|cli) -->$")


def tour_blocks(text: str) -> list[tuple[str, str]]:
    """(kind, script) of every ```bash block whose fence line directly follows a tour tag line."""
    lines = text.splitlines()
    blocks: list[tuple[str, str]] = []
    for i, line in enumerate(lines[:-1]):
        tag = TAG.match(line.strip())
        if tag is None or lines[i + 1].strip() != "```bash":
            continue
        end = next((j for j in range(i + 2, len(lines)) if lines[j].strip() == "```"), None)
        assert end is not None, f"README.md line {i + 2}: the tagged ```bash block is never closed"
        blocks.append((tag.group(1), "\n".join(lines[i + 2 : end]) + "\n"))
    return blocks


def test_tour_blocks_are_found_only_when_tagged() -> None:
    text = (
        "x\n<!-- tour:curl -->\n```bash\necho one\n```\n\n```bash\necho untagged\n```\n<!-- tour:cli -->\n\n```bash\n"
    )
    assert tour_blocks(text) == [("curl", "echo one\n")]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateWorld]:
    with private_world(tmp_path_factory.mktemp("scf-readme")) as world:
        yield world


def _run(kind: str, script: str, world: PrivateWorld, cwd: Path) -> None:
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "API": world.server.url,
        "SCF_API_URL": world.server.url,
        "SCF_DATA_DIR": str(world.settings.data_dir),
        "SCF_RPC_PORT": str(world.chain.port),
        "SCF_API_PORT": str(world.settings.api_port),
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("SCF_API_KEY", None)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    assert done.returncode == 0, f"README tour:{kind} block failed (exit {done.returncode})\n{output}"


def test_readme_tours_run_as_written(world: PrivateWorld, tmp_path: Path) -> None:
    blocks = tour_blocks(README.read_text())
    assert blocks, "README.md has no ```bash block tagged <!-- tour:curl --> or <!-- tour:cli -->"
    assert any(kind == "curl" for kind, _ in blocks), "the curl tour is not tagged <!-- tour:curl -->"
    (tmp_path / ".scf").symlink_to(world.settings.data_dir)
    # one shell per tour: a later block of the same tour continues the shell of the earlier ones
    tours = {kind: "".join(script for k, script in blocks if k == kind) for kind, _ in blocks}
    for kind, script in tours.items():
        _run(kind, script, world, tmp_path)
    if "curl" in tours:
        _run("curl", tours["curl"], world, tmp_path)  # again on the same chain: nothing in it is single-use
