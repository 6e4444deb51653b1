"""The crash points of a write: the product's are no-ops whatever the environment; only the tests' hook kills."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from api import faults
from tests.faults import KILL_AT_ENV, KILL_NTH_ENV, SigkillAt

REPO = Path(__file__).resolve().parents[2]
TWO_HITS = (
    "from api.faults import kill_point\n"
    "{setup}"
    "kill_point('after-send'); kill_point('before-send'); print('first', flush=True)\n"
    "kill_point('before-send'); print('second', flush=True)\n"
)


def _run(setup: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SCF_")}
    code = TWO_HITS.format(setup=setup)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def test_the_product_never_dies_at_a_kill_point_without_the_tests_hook() -> None:
    # the variable alone used to arm the product (chain/faults.py read it): now only tests/faults.py does
    done = _run("", **{KILL_AT_ENV: "before-send"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["first", "second"]


def test_the_tests_hook_sigkills_at_the_nth_hit_of_its_point() -> None:
    setup = "from tests.faults import install_from_env; assert install_from_env() is not None\n"
    done = _run(setup, **{KILL_AT_ENV: "before-send", KILL_NTH_ENV: "2"})
    assert done.returncode == -9, done.stderr
    assert done.stdout.split() == ["first"]
    assert "fault injection: SIGKILL at before-send" in done.stderr


def test_an_installed_hook_sees_every_point_in_order() -> None:
    seen: list[str] = []
    faults.install(seen.append)
    try:
        for point in faults.KILL_POINTS:
            faults.kill_point(point)
    finally:
        faults.install(None)
    faults.kill_point("before-send")  # removed: nothing recorded
    assert seen == list(faults.KILL_POINTS)


def test_an_unknown_point_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown kill point"):
        SigkillAt("after-lunch")
