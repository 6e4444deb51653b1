"""api.threads.run_blocking: a write's trip to a worker thread keeps what anyio's `to_thread.run_sync` gave it."""

from __future__ import annotations

import asyncio
import threading
from contextvars import ContextVar

import pytest

from api.threads import run_blocking

_REQUEST: ContextVar[str | None] = ContextVar("test_request", default=None)


def test_result_exception_and_thread() -> None:
    def where(x: int) -> tuple[int, int]:
        return x * 2, threading.get_ident()

    def refuse() -> None:
        raise LookupError("nope")

    async def main() -> None:
        doubled, ident = await run_blocking(where, 21)
        assert doubled == 42 and ident != threading.get_ident()
        with pytest.raises(LookupError, match="nope"):
            await run_blocking(refuse)

    asyncio.run(main())


def test_the_callers_context_variables_are_seen_and_its_own_stay_apart() -> None:
    def read_and_set() -> str | None:
        seen = _REQUEST.get()
        _REQUEST.set("changed in the thread")
        return seen

    async def main() -> None:
        _REQUEST.set("request-1")
        assert await run_blocking(read_and_set) == "request-1"
        assert _REQUEST.get() == "request-1"  # a copy of the context: the thread's change stays there

    asyncio.run(main())


def test_a_cancelled_caller_waits_for_the_thread_to_end() -> None:
    """As anyio's `run_sync`: the request's clean-up (its session closed) must not run while the route's work still
    uses it on the thread."""
    release = threading.Event()
    started = threading.Event()
    order: list[str] = []

    def work() -> str:
        started.set()
        release.wait(timeout=30)
        order.append("thread done")
        return "answer"

    async def caller() -> str:
        try:
            return await run_blocking(work)
        finally:
            order.append("caller cleaned up")

    async def main() -> None:
        task = asyncio.create_task(caller())
        while not started.is_set():
            await asyncio.sleep(0.005)
        task.cancel()
        for _ in range(50):  # the loop runs on: the cancelled caller is still waiting for the thread
            await asyncio.sleep(0)
        assert not task.done() and order == []
        task.cancel()  # a second cancellation changes nothing either
        for _ in range(50):
            await asyncio.sleep(0)
        assert not task.done()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert order == ["thread done", "caller cleaned up"]

    asyncio.run(main())
