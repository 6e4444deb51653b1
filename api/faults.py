"""Crash points of a write for the fault-injection suite: no-ops unless a test installs a hook.

The points, in the order a write passes them (api/writes.py, api/selfcustody.py):

- `before-send`: the signed transaction is stored in the idempotency record, not yet broadcast;
- `after-send`: the node accepted the transaction, its receipt was not seen;
- `after-receipt`: the receipt was seen, the workflow has not finished (read model, response);
- `before-response`: the workflow finished, its response is not stored in the record yet;
- `after-commit`: the response is stored, the client never received it.

The product only names the points. The hook that SIGKILLs the process at one of them lives with the tests
(tests/faults.py: `python -m tests.faults serve` is `scf serve` with the hook installed); without it a kill
point is one global lookup.
"""

from __future__ import annotations

from collections.abc import Callable

KILL_POINTS = ("before-send", "after-send", "after-receipt", "before-response", "after-commit")

_hook: Callable[[str], None] | None = None


def install(hook: Callable[[str], None] | None) -> None:
    """Sets (or with None removes) the function every kill point calls with its name. Tests only."""
    global _hook
    _hook = hook


def kill_point(name: str) -> None:
    """Calls the installed hook with this point's name; without a hook (always, outside tests), nothing."""
    hook = _hook
    if hook is not None:
        hook(name)
