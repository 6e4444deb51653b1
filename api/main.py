"""FastAPI app factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import to_thread
from fastapi import Depends, FastAPI

from api import health, heap, logs
from api.audit import AuditLog, AuditMiddleware
from api.body_guard import BodyGuard
from api.console import mount_console
from api.custody import Custody
from api.deps import check_request
from api.ledger import LedgerService
from api.metrics import install_metrics
from api.problems import ProblemLanguage, install_handlers
from api.routes import (
    abi,
    alerts,
    api_keys,
    cash,
    credit,
    export,
    financing,
    financing_requests,
    members,
    metadata,
    notes,
    orders,
    provenance,
    receivables,
    settlement,
    shares,
    transactions,
    verify,
)
from api.routes.audit import router as audit_router
from api.sealing import Sealer
from api.selfcustody import install as install_self_custody
from api.settings import Settings
from api.threads import REQUEST_THREADS  # also the size of anyio's limiter (below)
from api.workers import ForwardToWriter, IndexOnRequest, Role, RoleHeader, writer_nudge
from api.writes import WriteExecutor
from chain.readmodel.store import create_schema, make_engine


def create_app(
    settings: Settings | None = None,
    *,
    background_indexer: bool = True,
    role: Role = "single",
    writer_socket: Path | None = None,
    tune_gc: bool = False,
) -> FastAPI:
    """The service. `role` (api/workers.py, `scf serve --workers N`): `single` (the default, one process does
    everything), `writer` (the same, and says so in `X-SCF-Role`), or `reader`: no indexer thread and no audit
    spool drain at start; requests that are not reads go to the writer at `writer_socket`. `tune_gc`: the process
    serves this app alone (`scf serve`): its garbage collector is tuned at start (api/heap.py), its log records
    made lean (api/logs.py `lean_records`)."""
    settings = settings or Settings()
    reader = role == "reader"
    url, busy = settings.effective_database_url, settings.db_busy_timeout
    engine = make_engine(url, busy_timeout=busy, pool_size=settings.db_pool_size)
    create_schema(engine)
    # The indexer and the audit writer each get a pool of their own: a write holds its request's connection until
    # its block is indexed, so with the requests' pool full the indexer could never index that block (every write
    # then waited out the pool timeout: 128 concurrent splits got 500s in the bench).
    index_engine = make_engine(url, busy_timeout=busy, pool_size=2)
    audit_engine = make_engine(url, busy_timeout=busy, pool_size=2)
    nudge = writer_nudge(writer_socket) if reader and writer_socket is not None else None
    ledger = LedgerService(settings, engine, index_engine, follows_checkpoint=reader, nudge=nudge)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # A write's route (a plain `def`) holds its worker thread while its transaction is mined and indexed (about
        # a second, sleeping): with anyio's default of 40 threads, 40 writes were in flight at most (the bench's 128
        # clients: 55 splits/s at best), and the others' dependencies queued behind them for a thread too.
        to_thread.current_default_thread_limiter().total_tokens = max(REQUEST_THREADS, settings.db_pool_size)
        if tune_gc:
            heap.tune_gc()
            logs.lean_records()
        if background_indexer and not reader:
            ledger.start()
        try:
            yield
        finally:
            ledger.stop()
            for pool in (engine, index_engine, audit_engine):
                pool.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="SCF Chain",
        version="0.1.0",
        description="Permissioned ledger for supply-chain receivables: confirmed orders, receivable notes "
        "(ERC-3525), financing and settlement.",
        # body-less writes refuse fields (mass assignment); ids beyond what the read model stores name nothing
        # (one dependency: each costs every request FastAPI's solving)
        dependencies=[Depends(check_request)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.ledger = ledger
    app.state.writes = WriteExecutor(engine, Sealer(settings.key_passphrase))
    app.state.custody = Custody(settings.data_dir, settings.key_passphrase, settings.key_scrypt_n)
    audit = AuditLog(audit_engine, settings.data_dir, settings.alert_config())
    if not reader:  # the writer creates the head and appends what was spooled (a reader may append later)
        audit.ensure_head()
    app.state.audit = audit
    install_handlers(app)
    # Starlette's router tries router after router, route after route (a regex each): the busiest first. A split
    # walked five routers (about 40 routes) before its own: 10% of its CPU was routing. Where two routers' paths
    # overlap, the more specific comes first whatever the order (tests/unit/test_route_order.py)
    routers = [
        notes.router,
        # the reads: /v1/verify/notes/{id} walked ten routers (about 60 routes) first, 0.2 ms of matching each time
        verify.router,
        transactions.router,  # before members: /v1/members/challenge
        members.router,
        api_keys.router,
        orders.router,
        receivables.router,
        financing.router,
        financing_requests.router,
        cash.router,
        settlement.router,
        alerts.router,
        audit_router,
        credit.router,
        export.router,
        provenance.router,
        shares.router,
        abi.router,
        metadata.router,
    ]
    app.include_router(routers[0])
    # /health right after the splits' router: load balancers poll it, and behind every other router (about 100
    # routes) its match was 0.25 ms, a sixth of its CPU (issue 24)
    app.include_router(health.router)
    for router in routers[1:]:
        app.include_router(router)
    install_self_custody(app)  # 202 with the transaction a self-custody member signs (api/selfcustody.py)
    # inside the audit middleware, so a refused body is audited and carries X-Request-Id like any answer
    app.add_middleware(
        BodyGuard,
        routes=[route for router in routers for route in router.routes],
        engine=engine,
        max_bytes=settings.max_body_bytes,
        max_depth=settings.max_json_depth,
    )
    # X-Request-Id on every response; audited actions logged. The body guard, the next layer in, checks the log for
    # the writes it authenticates, in the same worker-thread call (one hop a write)
    app.add_middleware(AuditMiddleware, audit=audit, guard_inside=True)
    install_metrics(app)  # times every request, the refused and audited ones included
    app.add_middleware(ProblemLanguage)  # every problem+json answer in the caller's language
    if role != "single":
        app.add_middleware(RoleHeader, role=role)  # X-SCF-Role: which process answered
    if role == "writer":
        app.add_middleware(IndexOnRequest, ledger=ledger)  # a reader's ask for an indexer pass (its Unix socket)
    if reader:
        assert writer_socket is not None
        app.add_middleware(ForwardToWriter, uds=writer_socket)  # outermost: the writer's answers pass unchanged

    mount_console(app)
    return app
