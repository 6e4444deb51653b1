"""Prometheus metrics at `GET /metrics`: requests, write outcomes, indexer lag, nonce queues, chain head, audit anchor.

One registry per app (tests build many apps in one process). Request counters are kept by a pure ASGI middleware
keyed by the route's path template (`/v1/notes/{note_id}/split`, never a raw path, so the label set stays
bounded); the gauges are read when Prometheus scrapes, from what the service already keeps in memory or on disk,
without a call to the node (a scrape must answer when the chain does not).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from fastapi import FastAPI

# seconds; a write waits for its block (0.5-1 s) and the indexer, a read takes milliseconds
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def write_outcome(status: int) -> str:
    """What a write ended as, for `scf_write_outcomes_total`."""
    if status < 400:
        return "done"
    if status in (502, 503, 504):
        return "unavailable"  # chain or database not answering: retry with the same Idempotency-Key
    if status >= 500:
        return "error"
    if status == 409:
        return "refused"  # the ledger's state refused it (a contract error, a conflict)
    return "rejected"  # bad input, authentication or permission


class Metrics:
    """The app's registry and its request instruments."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "scf_http_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "scf_http_request_duration_seconds",
            "HTTP request time by route",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.writes = Counter(
            "scf_write_outcomes_total",
            "Writes (POST routes under /v1) by workflow route and outcome",
            ["route", "outcome"],
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        if method in WRITE_METHODS and route.startswith("/v1/"):
            self.writes.labels(route, write_outcome(status)).inc()

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def route_template(scope: Scope) -> str:
    """The matched route's path template (the router records the route in the scope); `unmatched` for a path no
    route serves, so a scan of random paths cannot grow the label set."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else "unmatched"


class MetricsMiddleware:
    """Pure ASGI: times every HTTP request and counts it by route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # an exception before the response started is a 500 to the client

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            route = route_template(scope)
            self.metrics.observe(scope["method"], route, status, time.perf_counter() - start)


class LedgerCollector(Collector):
    """Gauges read at scrape time: the node's head (one short call), the read model, signer queues, audit anchor."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = self.app.state
        head, head_time = _head(state.settings)
        indexed = _indexed(state)
        yield _gauge("scf_chain_reachable", "1 when the node answered this scrape, else 0", 0 if head is None else 1)
        yield _gauge("scf_chain_head_block", "The node's latest block", head)
        age = max(0.0, time.time() - head_time) if head_time is not None else None
        yield _gauge(
            "scf_chain_head_age_seconds", "Seconds since the node's latest block was made (its timestamp)", age
        )
        yield _gauge("scf_indexer_block", "Last block in the read model", indexed)
        lag = head - indexed if head is not None and indexed is not None else None
        yield _gauge("scf_indexer_lag_blocks", "Blocks the read model is behind the node's head", lag)
        handle = state.ledger.connected
        depth = handle.signer.pending_total() if handle is not None else 0
        yield _gauge("scf_nonce_queue_depth", "Signed transactions sent and not yet known mined, all accounts", depth)
        yield _gauge(
            "scf_audit_anchor_age_seconds", "Seconds since the audit log's anchor was written", _anchor_age(state)
        )


def _gauge(name: str, doc: str, value: float | None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc)
    if value is not None:
        family.add_metric([], float(value))
    return family


def _head(settings: Any) -> tuple[int | None, int | None]:
    """(number, timestamp) of the node's latest block; (None, None) when it does not answer in time."""
    from chain.node.errors import ChainUnavailableError
    from chain.node.rpc import rpc_call

    try:
        latest = rpc_call(
            settings.effective_rpc_url, "eth_getBlockByNumber", ["latest", False], timeout=settings.health_timeout
        )
    except ChainUnavailableError:
        return None, None
    if not isinstance(latest, dict):
        return None, None
    return int(str(latest["number"]), 16), int(str(latest["timestamp"]), 16)


def _indexed(state: Any) -> int | None:
    from sqlalchemy.exc import SQLAlchemyError

    from chain.readmodel.indexer import read_checkpoint

    try:
        checkpoint = read_checkpoint(state.engine)
    except SQLAlchemyError:
        return None
    return checkpoint[0] if checkpoint is not None else None


def _anchor_age(state: Any) -> float | None:
    try:
        modified: float = state.audit.anchor_path.stat().st_mtime
    except OSError:
        return None
    return max(0.0, time.time() - modified)


def install_metrics(app: FastAPI) -> Metrics:
    """Adds the middleware, the scrape-time collector and `GET /metrics` to `app`."""
    metrics = Metrics()
    metrics.registry.register(LedgerCollector(app))
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.get(
        "/metrics",
        tags=["health"],
        summary="Prometheus metrics (text exposition format)",
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    def prometheus_metrics(_request: Request) -> Response:
        return metrics.render()

    app.state.metrics = metrics
    return metrics
