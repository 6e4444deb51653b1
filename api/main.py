"""FastAPI app factory."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from api.audit import AuditLog, AuditMiddleware
from api.body_guard import BodyGuard
from api.console import mount_console
from api.custody import Custody
from api.deps import refuse_ids_beyond_storage, reject_unexpected_body
from api.ledger import LedgerService
from api.problems import Problem, install_handlers, problem_response
from api.routes import (
    alerts,
    api_keys,
    cash,
    credit,
    export,
    financing,
    members,
    notes,
    orders,
    provenance,
    receivables,
    settlement,
    shares,
    verify,
)
from api.routes.audit import router as audit_router
from api.sealing import Sealer
from api.settings import Settings
from api.writes import WriteExecutor
from chain.deploy import record_path
from chain.devchain import rpc_call
from chain.errors import ChainUnavailableError
from chain.indexer import read_checkpoint
from chain.store import create_schema, make_engine


def _deployment_summary(settings: Settings, chain_id: int) -> dict[str, Any] | None:
    path = record_path(settings.data_dir, chain_id)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return {
        "block": data.get("block"),
        "contracts": {name: c["address"] for name, c in data.get("contracts", {}).items()},
    }


def create_app(settings: Settings | None = None, *, background_indexer: bool = True) -> FastAPI:
    settings = settings or Settings()
    engine = make_engine(settings.effective_database_url, busy_timeout=settings.db_busy_timeout)
    create_schema(engine)
    ledger = LedgerService(settings, engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if background_indexer:
            ledger.start()
        try:
            yield
        finally:
            ledger.stop()
            engine.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="SCF Chain",
        version="0.1.0",
        description="Permissioned ledger for supply-chain receivables: confirmed orders, receivable notes "
        "(ERC-3525), financing and settlement.",
        # body-less writes refuse fields (mass assignment); ids beyond what the read model stores name nothing
        dependencies=[Depends(reject_unexpected_body), Depends(refuse_ids_beyond_storage)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.ledger = ledger
    app.state.writes = WriteExecutor(engine, Sealer(settings.key_passphrase))
    app.state.custody = Custody(settings.data_dir, settings.key_passphrase, settings.key_scrypt_n)
    audit = AuditLog(engine, settings.data_dir, settings.alert_config())
    audit.ensure_head()
    app.state.audit = audit
    install_handlers(app)
    routers = [
        members.router,
        api_keys.router,
        orders.router,
        receivables.router,
        notes.router,
        financing.router,
        cash.router,
        settlement.router,
        verify.router,
        alerts.router,
        audit_router,
        credit.router,
        export.router,
        provenance.router,
        shares.router,
    ]
    for router in routers:
        app.include_router(router)
    # inside the audit middleware, so a refused body is audited and carries X-Request-Id like any answer
    app.add_middleware(
        BodyGuard,
        routes=[route for router in routers for route in router.routes],
        engine=engine,
        max_bytes=settings.max_body_bytes,
        max_depth=settings.max_json_depth,
    )
    app.add_middleware(AuditMiddleware, audit=audit)  # X-Request-Id on every response; audited actions logged

    @app.get("/health", tags=["health"], summary="Chain reachability, chain id, latest block, deployment")
    def health(request: Request) -> JSONResponse:
        url = settings.effective_rpc_url
        try:
            chain_id = int(str(rpc_call(url, "eth_chainId", timeout=settings.health_timeout)), 16)
            latest = rpc_call(url, "eth_getBlockByNumber", ["latest", False], timeout=settings.health_timeout)
            if not isinstance(latest, dict):
                raise ChainUnavailableError(f"no latest block from {url}")
            block, block_time = int(str(latest["number"]), 16), int(str(latest["timestamp"]), 16)
        except ChainUnavailableError as exc:
            problem = Problem(503, "chain-unavailable", "Chain unavailable", str(exc), chain={"rpcUrl": url})
            return problem_response(problem, request.url.path)
        deployment = _deployment_summary(settings, chain_id)
        indexed = _indexed_block(request)
        return JSONResponse(
            {
                "status": "ok" if deployment else "degraded",
                "chain": {
                    "reachable": True,
                    "rpcUrl": url,
                    "chainId": chain_id,
                    "latestBlock": block,
                    "latestBlockTimestamp": block_time,
                },
                "deployment": deployment,
                "indexer": {
                    "indexedBlock": indexed,
                    "lagBlocks": (block - indexed) if indexed is not None else None,
                },
            }
        )

    mount_console(app)
    return app


def _indexed_block(request: Request) -> int | None:
    """The last block in the read model (None before the first pass, or when the database does not answer)."""
    try:
        checkpoint = read_checkpoint(request.app.state.engine)
    except SQLAlchemyError:
        return None
    return checkpoint[0] if checkpoint is not None else None
