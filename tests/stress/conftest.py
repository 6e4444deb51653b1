"""The fault suite's results table, printed at the end of the run (and written for `make stress`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.stress.harness import STRESS
from tests.stress.results import TALLY


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long versions (@pytest.mark.stress) run only under SCF_STRESS=1 (`make stress`)."""
    if STRESS:
        return
    skip = pytest.mark.skip(reason="long fault scenario: run with `make stress` (SCF_STRESS=1)")
    for item in items:
        if item.get_closest_marker("stress") is not None:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY:
        return
    width = max(len("scenario"), *(len(name) for name in TALLY))
    lines = [f"{'scenario':<{width}}  tries  passed", f"{'-' * width}  -----  ------"]
    for name, (tries, passed) in sorted(TALLY.items()):
        lines.append(f"{name:<{width}}  {tries:>5}  {passed:>6}")
    total_tries = sum(t for t, _ in TALLY.values())
    total_passed = sum(p for _, p in TALLY.values())
    lines.append(f"{'total':<{width}}  {total_tries:>5}  {total_passed:>6}")
    terminalreporter.write_sep("=", "fault scenarios")
    for line in lines:
        terminalreporter.write_line(line)
    target = os.environ.get("SCF_STRESS_RESULTS")
    if target:
        rows = [{"scenario": n, "tries": t, "passed": p} for n, (t, p) in sorted(TALLY.items())]
        Path(target).write_text(json.dumps(rows, indent=2) + "\n")
