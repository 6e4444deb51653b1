"""Test-only crash points for the fault-injection suite (tests/stress).

With `SCF_FAULT_KILL_AT=<point>` in its environment, the process SIGKILLs itself the
`SCF_FAULT_KILL_NTH`-th time (default 1) a write reaches that point, exactly as a power cut or the
OOM killer would: no cleanup, no `finally`, no response. Unset (always, outside tests), a kill point
is one dictionary lookup. The points, in the order a write passes them (api/writes.py):

- `before-send`: the signed transaction is stored in the idempotency record, not yet broadcast;
- `after-send`: the node accepted the transaction, its receipt was not seen;
- `after-receipt`: the receipt was seen, the workflow has not finished (read model, response);
- `before-response`: the workflow finished, its response is not stored in the record yet;
- `after-commit`: the response is stored, the client never received it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections import Counter

KILL_POINTS = ("before-send", "after-send", "after-receipt", "before-response", "after-commit")
KILL_AT_ENV = "SCF_FAULT_KILL_AT"
KILL_NTH_ENV = "SCF_FAULT_KILL_NTH"

_hits: Counter[str] = Counter()
_lock = threading.Lock()


def kill_point(name: str) -> None:
    """SIGKILLs this process when `SCF_FAULT_KILL_AT` names this point and its turn has come."""
    if os.environ.get(KILL_AT_ENV) != name:
        return
    with _lock:
        _hits[name] += 1
        due = _hits[name] == int(os.environ.get(KILL_NTH_ENV, "1"))
    if due:
        print(f"fault injection: SIGKILL at {name}", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
