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
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
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


def _chain(url: str, timeout: float) -> tuple[int, int, int, bool]:
    """(chain id, latest block, its timestamp, automine) in one round trip; automine False when the node does not
    say (not anvil)."""
    calls = [("eth_chainId", []), ("eth_getBlockByNumber", ["latest", False]), ("anvil_getAutomine", [])]
    payload = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
    try:
        answers = shared_rpc(url, timeout).batch(payload)
        chain_id = int(str(result_of("eth_chainId", answers[0])), 16)
        latest = result_of("eth_getBlockByNumber", answers[1])
    except RpcTransportError as exc:
        raise _ChainDown(f"no JSON-RPC answer from {url}: {exc}") from exc
    except RpcError as exc:
        raise _ChainDown(f"{exc.method} failed at {url}: {exc.message}") from exc
    if not isinstance(latest, dict):
        raise _ChainDown(f"no latest block from {url}")
    try:
        automine = result_of("anvil_getAutomine", answers[2]) is True
    except (RpcError, RpcTransportError):
        automine = False
    return chain_id, int(str(latest["number"]), 16), int(str(latest["timestamp"]), 16), automine


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
