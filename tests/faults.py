"""The fault-injection hook behind api/faults.py's kill points (tests/stress, tests/api/test_self_custody_crash.py).

`python -m tests.faults serve ...` is `scf serve ...` with the hook installed. With `SCF_FAULT_KILL_AT=<point>`
in its environment, the process SIGKILLs itself the `SCF_FAULT_KILL_NTH`-th time (default 1) a write reaches
that point, exactly as a power cut or the OOM killer would: no cleanup, no `finally`, no response.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Mapping

from api import faults

KILL_AT_ENV = "SCF_FAULT_KILL_AT"
KILL_NTH_ENV = "SCF_FAULT_KILL_NTH"


class SigkillAt:
    """A kill-point hook: SIGKILLs this process the `nth` time a write reaches `point`."""

    def __init__(self, point: str, nth: int = 1) -> None:
        if point not in faults.KILL_POINTS:
            raise ValueError(f"unknown kill point {point!r}: one of {', '.join(faults.KILL_POINTS)}")
        self.point = point
        self.nth = nth
        self._hits: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, name: str) -> None:
        if name != self.point:
            return
        with self._lock:
            self._hits[name] += 1
            due = self._hits[name] == self.nth
        if due:
            print(f"fault injection: SIGKILL at {name}", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)


def install_from_env(env: Mapping[str, str] = os.environ) -> SigkillAt | None:
    """Installs a SigkillAt hook when `SCF_FAULT_KILL_AT` is set; returns it (None when unset)."""
    point = env.get(KILL_AT_ENV)
    if not point:
        return None
    hook = SigkillAt(point, int(env.get(KILL_NTH_ENV, "1")))
    faults.install(hook)
    return hook


def main() -> None:
    install_from_env()
    from scripts.cli import main as scf

    scf()


if __name__ == "__main__":
    main()
