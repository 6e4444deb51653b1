"""Scenario tally of the fault suite: `record` counts tries and passes; tests/stress/conftest.py prints them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

TALLY: dict[str, list[int]] = {}  # scenario -> [tries, passed]


@contextmanager
def record(scenario: str) -> Iterator[None]:
    counts = TALLY.setdefault(scenario, [0, 0])
    counts[0] += 1
    yield  # an exception (a failed assertion) propagates: the try counts, the pass does not
    counts[1] += 1
