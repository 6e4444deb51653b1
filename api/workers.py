"""`scf serve --workers N` (SCF_WORKERS): one writer process and N reader processes answering on one port.

- The supervisor (the `scf serve` process) binds the public socket and a Unix socket in the data dir once, and
  passes them to its children (spawned, as uvicorn's own multiprocess mode does), so a restarted child answers
  on the same sockets and connections made meanwhile wait in the backlog instead of being refused.
- The **writer** runs the whole service of a single process (`api.main.create_app(role="writer")`: the indexer
  thread, the signer and its nonce queues, the in-flight guard, the audit log) and accepts only on the Unix
  socket. It does not accept on the public port: the kernel would hand it a share of the reads, whose CPU the
  signer and the indexer need, and a write reaching it directly would gain one local hop at most.
- Each **reader** (`role="reader"`) accepts on the public port. It has no indexer, no signer and no nonce queue:
  it answers reads from the database (waits for a block follow the indexer's checkpoint row, `CheckpointFollower`)
  and forwards to the writer, unchanged, every request that is not a read (`needs_writer`) and the ones that
  report the writer's own state (`/health`: the indexer's failures; `/metrics`: the nonce queues). A forwarded
  answer is the writer's, byte for byte (status, headers, body), less the per-connection headers.
- Audited reads (`/v1/verify/*`, `/v1/export/*`, `/v1/audit*`) are answered by readers, which append their entries
  to the same hash chain: appends are serialised across processes by the chain's head row, the anchor only moves
  forward under a file lock, and the spool of entries kept while the database is away is locked too
  (api/audit/writer.py).
- Every answer says which process made it: `X-SCF-Role: writer` or `reader`.
- A child that dies is started again; SIGTERM or SIGINT stops every child gracefully, then the supervisor.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from multiprocessing.context import SpawnProcess
from pathlib import Path
from types import FrameType
from typing import Any, Literal
from urllib.parse import parse_qs

import anyio
import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import i18n
from api.ledger import LedgerService
from api.problems import catalogued, localized_body, problem_start
from api.settings import Settings
from chain.node.errors import ScfError

log = logging.getLogger("scf.workers")

Role = Literal["single", "writer", "reader"]
ROLE_HEADER = b"x-scf-role"
WRITER_SOCKET = "writer.sock"
_WRITER_PATHS = frozenset({"/health", "/metrics"})  # reads of the writer's in-memory state
_READ_METHODS = frozenset({"GET", "HEAD"})
# not passed on: they describe one connection (RFC 9110 section 7.6.1; `expect`: the reader's server has answered
# the 100-continue), or the reader's server sets its own
_HOP_REQUEST = frozenset(
    {b"connection", b"expect", b"keep-alive", b"proxy-connection", b"te", b"transfer-encoding", b"upgrade"}
)
_HOP_RESPONSE = _HOP_REQUEST | {b"date", b"server"}
_MAX_UDS_PATH = 100  # sun_path holds 108 bytes on Linux (104 on macOS)
STARTUP_FAILURE = 3  # uvicorn's exit code of a child whose app failed to start (uvicorn.config.STARTUP_FAILURE)
CHECK_INTERVAL_S = 0.5
STOP_GRACE_S = 30.0
QUICK_DEATH_S = 10.0  # a child that ends sooner after its start ...
QUICK_DEATHS = 5  # ... this many times in a row fails the same way each time (its app cannot start): stop


# The writer's answer to a reader whose request waits for a block its checkpoint has not reached: an indexer pass up
# to that block (`IndexOnRequest`), asked for over the Unix socket (`writer_nudge`). Only the writer serves it, and
# only on its Unix socket: a reader neither forwards it (a GET) nor routes it (its app has no such path).
INDEX_PATH = "/_writer/index"


def needs_writer(method: str, path: str) -> bool:
    """Whether a reader forwards the request: anything but a read, and the reads of the writer's own state."""
    return method not in _READ_METHODS or path in _WRITER_PATHS


class RoleHeader:
    """Adds `X-SCF-Role` (which process answered) to every answer of a writer or a reader."""

    def __init__(self, app: ASGIApp, role: Role) -> None:
        self.app = app
        self.header = (ROLE_HEADER, role.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_role(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self.header]}
            await send(message)

        await self.app(scope, receive, send_with_role)


class ForwardToWriter:
    """A reader's outermost middleware: sends `needs_writer` requests to the writer over its Unix socket and answers
    with the writer's answer as it came; everything else goes to the reader's own app."""

    def __init__(self, app: ASGIApp, uds: Path) -> None:
        self.app = app
        self.uds = uds
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:  # made in the server's event loop, on the first forwarded request
            self._client = httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(uds=str(self.uds)),
                # a write waits for its receipt and its block (SCF_TX_RECEIPT_TIMEOUT): the writer decides when to
                # answer; a writer being restarted accepts from the socket's backlog once it is up
                timeout=httpx.Timeout(None),
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
            )
        return self._client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._closing(send))
            return
        if scope["type"] != "http" or not needs_writer(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        await self._forward(scope, receive, send)

    def _closing(self, send: Send) -> Send:
        async def send_closing(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete" and self._client is not None:
                await self._client.aclose()
            await send(message)

        return send_closing

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP_REQUEST]
        target = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        client = self.client()
        url = httpx.URL("http://writer", raw_path=target)
        # a body streams on, with its Content-Length as given, else chunked; a request without one gets none
        framed = any(k.lower() in (b"content-length", b"transfer-encoding") for k, _ in scope["headers"])
        content = _request_body(receive) if framed else None
        request = client.build_request(scope["method"], url, headers=headers, content=content)
        try:
            response = await client.send(request, stream=True)
        except httpx.TransportError as exc:
            await self._unavailable(scope, send, exc)
            return
        started = False
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [(k, v) for k, v in response.headers.raw if k.lower() not in _HOP_RESPONSE],
                }
            )
            started = True
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        except httpx.TransportError as exc:
            if started:
                raise  # the writer went away mid-answer: the connection is dropped, as the writer's own would be
            await self._unavailable(scope, send, exc)
        finally:
            await response.aclose()

    async def _unavailable(self, scope: Scope, send: Send, exc: Exception) -> None:
        log.error("writer unreachable for %s %s: %s", scope["method"], scope["path"], exc)
        problem = catalogued(503, "writer-unavailable", "writer-unavailable.retry-later")
        accept = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept-language"), None)
        body, languages = localized_body(problem.body(scope["path"]), i18n.negotiate(accept))
        headers = [(b"content-language", languages.encode()), (b"vary", b"Accept-Language"), (ROLE_HEADER, b"reader")]
        await send(problem_start(503, body, *headers))
        await send({"type": "http.response.body", "body": body})


class IndexOnRequest:
    """The writer's `GET /_writer/index?block=N&timeout=S`: returns once its indexer has indexed block N (the pass a
    request of a single process would share, `IndexPump.wait_for_block`) or `timeout` seconds have passed;
    `{"indexed": true|false}`, or 503 while the ledger is unavailable."""

    def __init__(self, app: ASGIApp, ledger: LedgerService) -> None:
        self.app = app
        self.ledger = ledger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != INDEX_PATH:
            await self.app(scope, receive, send)
            return
        status, indexed = 200, False
        try:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            block, timeout = int(query["block"][0]), min(float(query.get("timeout", ["10"])[0]), 60.0)
            pump = self.ledger.get().pump
            indexed = await anyio.to_thread.run_sync(pump.wait_for_block, block, timeout)
        except (KeyError, ValueError):
            status = 400
        except Exception as exc:  # the chain or the database away: the reader polls the checkpoint instead
            log.warning("index pass asked by a reader failed: %s", exc)
            status = 503
        body = json.dumps({"indexed": bool(indexed)}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def writer_nudge(uds: Path) -> Callable[[int, float], None]:
    """A reader's `Nudge` (api/ledger.py): asks the writer at `uds` for an indexer pass up to a block, waiting for
    its answer at most the time given (plus a second); a failure is logged and left to the checkpoint polling."""
    client = httpx.Client(transport=httpx.HTTPTransport(uds=str(uds)), base_url="http://writer")

    def nudge(block: int, timeout: float) -> None:
        try:
            client.get(INDEX_PATH, params={"block": block, "timeout": f"{timeout:.3f}"}, timeout=timeout + 1.0)
        except httpx.HTTPError as exc:
            log.debug("asking the writer to index block %s failed: %s", block, exc)

    return nudge


async def _request_body(receive: Receive) -> Any:
    """A body without Content-Length, passed on as it arrives (chunked)."""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


# --------------------------------------------------------------------------------------------- processes


def writer_socket_path(settings: Settings) -> Path:
    """The writer's Unix socket: in the data dir, or (a path too long for a socket) in the temp dir, named by the
    data dir."""
    path = (settings.data_dir / WRITER_SOCKET).resolve()
    if len(str(path).encode()) <= _MAX_UDS_PATH:
        return path
    digest = hashlib.sha256(str(settings.data_dir.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"scf-{digest}-{WRITER_SOCKET}"


def writer_socket_in_use(path: Path) -> bool:
    """Whether a writer answers on the socket (another `scf serve --workers` serves the data dir); a socket file
    nobody listens on is what a killed supervisor leaves."""
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


class WriterSocketInUseError(ScfError):
    """Another `scf serve --workers` serves this data dir (its writer's socket answers)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"another `scf serve --workers` serves this data dir: its writer answers on {path}")


def role_app(values: dict[str, Any], role: Role, uds: str) -> ASGIApp:
    """The app of a child process (uvicorn calls it in the child: `factory=True`)."""
    from api.main import create_app

    return create_app(Settings(**values), role=role, writer_socket=Path(uds), tune_gc=True)


def _run_child(config: Any, sockets: list[socket.socket]) -> None:
    """A child's main: stops when its supervisor is gone (no orphan keeps the port), then serves until SIGTERM."""
    import uvicorn

    parent = os.getppid()

    def watch_parent() -> None:
        while os.getppid() == parent:
            threading.Event().wait(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
    uvicorn.Server(config).run(sockets=sockets)


class Supervisor:
    """Starts the writer and `settings.workers` readers, starts again any that dies, stops them all on SIGTERM or
    SIGINT. `say(key, **params)` prints the catalogued console line `cli.<key>`."""

    def __init__(self, settings: Settings, log_config: dict[str, Any], say: Callable[..., None]) -> None:
        import uvicorn

        self.settings = settings
        self.say = say
        self.log_config = log_config
        self.uds = writer_socket_path(settings)
        if writer_socket_in_use(self.uds):
            raise WriterSocketInUseError(self.uds)
        self.uds.unlink(missing_ok=True)  # left by a supervisor that was killed
        public = uvicorn.Config(app="", host=settings.api_host, port=settings.api_port, log_config=log_config)
        self.public = public.bind_socket()
        self.private = uvicorn.Config(app="", uds=str(self.uds), log_config=log_config).bind_socket()
        os.chmod(self.uds, 0o600)  # uvicorn leaves it 0666
        self.values = settings.model_dump()
        self.children: list[tuple[Role, SpawnProcess | None]] = [("writer", None)]
        self.children += [("reader", None)] * settings.workers
        self.started_at: list[float] = [0.0] * len(self.children)
        self.quick_deaths: list[int] = [0] * len(self.children)  # in a row, per child: a crash loop stops it all
        self.stopping = threading.Event()

    def _spawn(self, role: Role) -> SpawnProcess:
        import uvicorn
        from uvicorn._subprocess import get_subprocess

        config = uvicorn.Config(
            app=partial(role_app, self.values, role, str(self.uds)),
            factory=True,
            log_level="info",
            log_config=self.log_config,
        )
        sockets = [self.private if role == "writer" else self.public]
        process = get_subprocess(config, partial(_run_child, config), sockets)
        process.start()
        self.say("serve.child_started", role=role, pid=process.pid)
        return process

    def run(self) -> int:
        """Serves until a signal; 0 after a requested stop, 1 when a child could not start (the same app would fail
        every time)."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        failed = False
        try:
            for index, (role, _) in enumerate(self.children):
                self._start(index, role)
            while not self.stopping.wait(CHECK_INTERVAL_S):
                failed = self._restart_dead()
                if failed:
                    break
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.public.close()
            self.private.close()
            self.uds.unlink(missing_ok=True)
        return 1 if failed else 0

    def _on_signal(self, _sig: int, _frame: FrameType | None) -> None:
        self.stopping.set()

    def _restart_dead(self) -> bool:
        for index, (role, process) in enumerate(self.children):
            if process is None or process.is_alive() or self.stopping.is_set():
                continue
            process.join()
            quick = time.monotonic() - self.started_at[index] < QUICK_DEATH_S
            self.quick_deaths[index] = self.quick_deaths[index] + 1 if quick else 0
            if process.exitcode == STARTUP_FAILURE or self.quick_deaths[index] >= QUICK_DEATHS:
                self.say("serve.child_failed", role=role, pid=process.pid)
                return True
            self.say("serve.child_died", role=role, pid=process.pid, code=process.exitcode)
            self._start(index, role)
        return False

    def _start(self, index: int, role: Role) -> None:
        self.started_at[index] = time.monotonic()
        self.children[index] = (role, self._spawn(role))

    def _stop_all(self) -> None:
        running = [p for _, p in self.children if p is not None and p.is_alive()]
        for process in running:
            if process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
        for process in running:
            process.join(STOP_GRACE_S)
            if process.is_alive():
                process.kill()
                process.join()
