"""A write's blocking work on a worker thread, by asyncio's own executor rather than anyio's `to_thread`.

A split takes two trips to a worker thread and back: the body guard's key look-up (api/body_guard.py) and the
route. anyio's `to_thread.run_sync` (what FastAPI and Starlette use) costs each trip a cancel scope, a capacity
limiter, a run-variable look-up and a `queue.Queue` (a Python condition) per worker; `loop.run_in_executor` with a
`ThreadPoolExecutor` is one C `SimpleQueue` put and a future. What stays as anyio does it: the caller's context
variables are seen by the function (the request id of the logs, the audit's list of sent transactions), and a
caller cancelled while the function runs still waits for it to end before the cancellation goes on (the function
may be using the request's session, which the caller's clean-up closes)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import TypeVar, TypeVarTuple, Unpack

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

# worker threads for the routes and dependencies that block (anyio's default is 40); api/main.py gives anyio's limiter
# as many: a write holds its thread while its transaction is mined and indexed
REQUEST_THREADS = 256

# threads are started as needed (an idle one is reused first), up to REQUEST_THREADS; none before the first call
_POOL = ThreadPoolExecutor(REQUEST_THREADS, thread_name_prefix="scf-write")


async def run_blocking(func: Callable[[Unpack[Ts]], T], /, *args: *Ts) -> T:
    """`func(*args)` on a worker thread, in a copy of the caller's context; its result or exception."""
    context = copy_context()
    inner = asyncio.get_running_loop().run_in_executor(_POOL, context.run, func, *args)
    try:
        return await asyncio.shield(inner)
    except asyncio.CancelledError:
        while not inner.done():  # as anyio: the thread's work ends before the caller's cancellation goes on
            try:
                await asyncio.wait((inner,))
            except asyncio.CancelledError:
                continue
        raise
