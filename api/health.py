"""`GET /health`: the chain, the deployment and the read model, with the reasons when something is wrong.

- `503` problem (`chain-unavailable`) when the node does not answer (nothing else can be judged then).
- `200` otherwise, with `status` `ok` or `degraded` and, when degraded, `reasons`: a list of `{code, detail}`:
  - `no-deployment`: no deployment of the suite is recorded for this chain;
  - `database-write-failed`: the background indexer's passes fail on the database (locked, read-only, full);
  - `indexer-failed`: they fail on something else (the node's answers, a deployment it cannot connect to);
  - `database-unavailable`: `/health` itself could not read the checkpoint;
  - `indexer-lag`: the read model is more than `SCF_HEALTH_MAX_LAG_BLOCKS` blocks behind the head (before its
    first pass: the blocks since the deployment);
  - `head-stalled`: the head has not moved for longer than `SCF_HEALTH_MAX_HEAD_AGE` seconds (default 20 block
    times, at least 10 s). Judged only when blocks are expected without transactions: `SCF_BLOCK_TIME` > 0 and
    the node does not automine (`anvil_getAutomine`; a node without that method is taken at its block time).
    On an automine chain a block comes only with a transaction, so an idle chain's head rightly stands still.
    The age is measured by this process (the indexer's passes, every 0.5 s, and `/health` observe the head),
    so a freshly started service needs that long to report a stall that began before it.

What a call costs (issue 24: load balancers poll it, the benchmark 4 times a second): one JSON-RPC call for the latest
block, the checkpoint read, a stat of the deployment record. The node's chain id and whether it automines do not
change while it runs; they are asked again (with the latest block, in one batch) every `NODE_FACTS_TTL` seconds, after
any failed call (a stopped node answers 503 on the very next call, and a node restarted under the same URL is asked
anew) and when the head goes back (a node replaced by a younger chain). The deployment record is parsed again only
when its file's (mtime, size) changes.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from api.ledger import LedgerService
from api.problems import catalogued, problem_response
from api.settings import Settings
from chain.node.deployment import record_path
from chain.node.rpc import RpcError, RpcTransportError, result_of, shared_rpc
from chain.readmodel.indexer import read_checkpoint

router = APIRouter(tags=["health"])

MIN_HEAD_AGE = 10.0  # seconds: the least SCF_HEALTH_MAX_HEAD_AGE defaults to
HEAD_AGE_BLOCKS = 20  # block times the head may stand still by default


class _ChainDown(Exception):
    pass


class _DeploymentRecords:
    """The deployment record's summary by path, parsed again only when the file's (mtime_ns, size) changes: a stat
    a call instead of a read and a JSON parse (`scf deploy` rewrites the file, which moves both)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[Path, tuple[tuple[int, int], dict[str, Any] | None]] = {}

    def summary(self, path: Path) -> dict[str, Any] | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        version = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            known = self._known.get(path)
        if known is not None and known[0] == version:
            return known[1]
        try:
            data = json.loads(path.read_text())
            summary: dict[str, Any] | None = {
                "block": data.get("block"),
                "contracts": {name: c["address"] for name, c in data.get("contracts", {}).items()},
            }
        except (OSError, ValueError):
            summary = None  # not cached: a file caught half-written is read again on the next call
        else:
            with self._lock:
                self._known[path] = (version, summary)
        return summary


_records = _DeploymentRecords()


def _deployment_summary(settings: Settings, chain_id: int) -> dict[str, Any] | None:
    return _records.summary(record_path(settings.data_dir, chain_id))


NODE_FACTS_TTL = 5.0  # seconds the node's chain id and automine answer are trusted before they are asked again


@dataclass(frozen=True)
class _NodeFacts:
    chain_id: int
    automine: bool
    asked_at: float  # time.monotonic() of the answer
    head: int  # the latest block seen since (a head going back means another chain: ask again)


class _Nodes:
    """The constant facts of each node URL, as `/health` last asked them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._facts: dict[str, _NodeFacts] = {}

    def fresh(self, url: str) -> _NodeFacts | None:
        with self._lock:
            facts = self._facts.get(url)
        if facts is None or time.monotonic() - facts.asked_at > NODE_FACTS_TTL:
            return None
        return facts

    def remember(self, url: str, facts: _NodeFacts | None) -> None:
        with self._lock:
            if facts is None:
                self._facts.pop(url, None)
            else:
                self._facts[url] = facts


_nodes = _Nodes()


def _latest(url: str, timeout: float, facts: _NodeFacts | None) -> tuple[_NodeFacts, dict[str, Any]]:
    """The node's facts and its latest block: one call when `facts` are fresh, else the three in one batch."""
    rpc = shared_rpc(url, timeout)
    try:
        if facts is not None:
            latest = rpc.call("eth_getBlockByNumber", "latest", False)
        else:
            calls = [("eth_chainId", []), ("eth_getBlockByNumber", ["latest", False]), ("anvil_getAutomine", [])]
            payload = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
            answers = rpc.batch(payload)
            chain_id = int(str(result_of("eth_chainId", answers[0])), 16)
            latest = result_of("eth_getBlockByNumber", answers[1])
            try:
                automine = result_of("anvil_getAutomine", answers[2]) is True
            except (RpcError, RpcTransportError):
                automine = False  # the node does not say (not anvil)
            facts = _NodeFacts(chain_id, automine, time.monotonic(), -1)
    except RpcTransportError as exc:
        raise _ChainDown(f"no JSON-RPC answer from {url}: {exc}") from exc
    except RpcError as exc:
        raise _ChainDown(f"{exc.method} failed at {url}: {exc.message}") from exc
    if not isinstance(latest, dict):
        raise _ChainDown(f"no latest block from {url}")
    return facts, latest


def _chain(url: str, timeout: float) -> tuple[int, int, int, bool]:
    """(chain id, latest block, its timestamp, automine); automine False when the node does not say (not anvil).
    The chain id and automine come from `_nodes` while fresh (see the module's text)."""
    facts = _nodes.fresh(url)
    try:
        facts, latest = _latest(url, timeout, facts)
        number = int(str(latest["number"]), 16)
        if number < facts.head:  # the head went back: perhaps another chain under the same URL
            facts, latest = _latest(url, timeout, None)
            number = int(str(latest["number"]), 16)
    except _ChainDown:
        _nodes.remember(url, None)  # whatever answers next is asked everything
        raise
    _nodes.remember(url, replace(facts, head=number))
    return facts.chain_id, number, int(str(latest["timestamp"]), 16), facts.automine


def max_head_age(settings: Settings) -> float | None:
    """Seconds the head may stand still; None when no block is expected without a transaction (automine)."""
    if not settings.block_time:
        return None
    if settings.health_max_head_age is not None:
        return settings.health_max_head_age
    return max(MIN_HEAD_AGE, HEAD_AGE_BLOCKS * settings.block_time)


@router.get("/health", summary="Chain, deployment and read model: ok, or degraded with the reasons")
def health(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    ledger: LedgerService = request.app.state.ledger
    url = settings.effective_rpc_url
    try:
        chain_id, block, block_time, automine = _chain(url, settings.health_timeout)
    except _ChainDown as exc:
        problem = catalogued(
            503, "chain-unavailable", "chain-unavailable.reason", {"reason": str(exc)}, chain={"rpcUrl": url}
        )
        return problem_response(problem, request.url.path)
    reasons: list[dict[str, str]] = []
    deployment = _deployment_summary(settings, chain_id)
    if deployment is None:
        reasons.append(
            {"code": "no-deployment", "detail": f"no deployment of the suite is recorded for chain {chain_id}"}
        )
    failure = ledger.failure
    if failure is not None:
        since = datetime.fromtimestamp(failure.since, tz=UTC).isoformat(timespec="seconds")
        where = "on the database " if failure.database else ""
        passes = f"{failure.passes} passes in a row" if failure.passes > 1 else "last pass"
        reasons.append(
            {
                "code": "database-write-failed" if failure.database else "indexer-failed",
                "detail": f"the indexer's {passes} failed {where}(since {since}): {failure.detail}",
            }
        )
    try:
        checkpoint = read_checkpoint(request.app.state.engine)
        indexed = checkpoint[0] if checkpoint is not None else None
    except SQLAlchemyError as exc:
        indexed = None
        reasons.append({"code": "database-unavailable", "detail": f"reading the indexer's checkpoint failed: {exc}"})
    lag = (block - indexed) if indexed is not None else None
    # before the first pass the read model holds nothing: it is behind by every block since the deployment
    behind = lag if lag is not None or deployment is None else block - (int(deployment["block"]) - 1)
    if behind is not None and behind > settings.health_max_lag_blocks:
        reasons.append(
            {
                "code": "indexer-lag",
                "detail": f"the read model is {behind} blocks behind the head "
                f"(more than {settings.health_max_lag_blocks})",
            }
        )
    age = ledger.heads.observe(block)
    bound = None if automine else max_head_age(settings)
    if bound is not None and age > bound:
        reasons.append(
            {
                "code": "head-stalled",
                "detail": f"the chain head has stood at block {block} for {age:.0f} s "
                f"(more than {bound:g} s; a block is expected every {settings.block_time:g} s)",
            }
        )
    return JSONResponse(
        {
            "status": "degraded" if reasons else "ok",
            "reasons": reasons,
            "chain": {
                "reachable": True,
                "rpcUrl": url,
                "chainId": chain_id,
                "latestBlock": block,
                "latestBlockTimestamp": block_time,
                "headAgeSeconds": round(age, 1),
            },
            "deployment": deployment,
            "indexer": {"indexedBlock": indexed, "lagBlocks": lag},
        }
    )
