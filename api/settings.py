"""Service settings from the environment (prefix SCF_) or a `.env` file."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote, urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.amounts import parse_amount
from chain.readmodel.alerts import AlertConfig

if TYPE_CHECKING:
    from api.services.credit import CreditPolicy


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCF_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path(".scf"), description="keys, chain state, deployment record and database")
    rpc_url: str | None = Field(None, description="JSON-RPC URL of an existing node; unset = local devchain")
    node_name: str | None = Field(
        None,
        description="name of the node the service reads the chain from, given in verification answers "
        "(`scf up --network` sets the node's organisation from the network record); unset = `local devchain` for "
        "the embedded devchain, else the RPC URL's host and port",
    )
    rpc_host: str = "127.0.0.1"
    rpc_port: int = Field(8545, ge=1, le=65535, description="port of the local devchain")
    chain_id: int = Field(31337, description="chain id of the local devchain")
    block_time: float | None = Field(
        0.5, ge=0, description="devchain mining interval in seconds; 0 = automine (docs/performance.md)"
    )
    state_interval: int = Field(
        30,
        ge=1,
        description="seconds between the devchain's state dumps to its state file (it also dumps on a clean stop)",
    )
    state_history: int = Field(
        128,
        ge=1,
        description="blocks whose state the devchain keeps for reads at a past block (anvil --prune-history); "
        "memory grows with it times the ledger's size (docs/performance.md)",
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(
        0,
        ge=0,
        le=64,
        description="reader processes of `scf serve` beside one writer process, all on the API port (api/workers.py); "
        "0 = one process does everything",
    )
    database_url: str | None = Field(None, description="SQLAlchemy URL; unset = SQLite in the data dir")
    key_passphrase: str = Field(
        "scf-dev-passphrase",
        description="passphrase of the encrypted keystores; change it outside development",
    )
    key_scrypt_n: int = Field(
        2**18,
        ge=2**10,
        description="scrypt cost (N) of new member keystores; lower it only for tests and throwaway ledgers",
    )
    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$", description="ISO 4217 code of the cash token")
    metadata_base_uri: str | None = Field(
        None,
        description="base of the notes' tokenURI, slotURI and contractURI, fixed in ReceivableNotes at deploy; "
        "unset = this service's http://{api_host}:{api_port}/v1/metadata/",
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1, description="largest request body accepted, in bytes; larger ones are refused (413)"
    )
    max_json_depth: int = Field(
        64, ge=1, description="deepest nesting of arrays and objects accepted in a JSON request body (400)"
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="logs of `scf serve`: text, or one JSON object a line (with the request id)"
    )
    rpc_timeout: float = Field(
        10.0,
        gt=0,
        description="seconds one call to the node may take in all, its retries included; a read that needs the "
        "chain answers 503 chain-unavailable after it",
    )
    rpc_attempts: int = Field(
        3,
        ge=1,
        description="tries of a read call the node refused or dropped (connection refused or reset), within "
        "SCF_RPC_TIMEOUT; a call that timed out has used the time and is not tried again",
    )
    health_timeout: float = Field(2.0, gt=0)
    health_max_lag_blocks: int = Field(
        20, ge=0, description="/health reports degraded when the read model is more blocks than this behind"
    )
    health_max_head_age: float | None = Field(
        None,
        gt=0,
        description="seconds the chain head may stand still before /health reports degraded; judged only under "
        "interval mining (SCF_BLOCK_TIME > 0, a node that does not automine); unset = 20 block times, at least 10 s",
    )
    reorg_window: int = Field(
        256,
        ge=1,
        description="recent blocks whose hashes the indexer keeps for reorg detection; a deeper reorg rebuilds the "
        "read model from the deployment block",
    )
    db_busy_timeout: float = Field(30.0, gt=0, description="seconds a write waits for a database lock, then 503")
    db_pool_size: int = Field(
        40,
        ge=1,
        le=1000,
        description="database connections the requests share (as many again on overflow); a request that finds "
        "them all busy waits `db_busy_timeout`, then 503. The indexer and the audit writer have their own",
    )
    tx_stuck_after: float = Field(30.0, gt=0, description="seconds before an unmined transaction is replaced")
    chain_stall_after: float | None = Field(
        None,
        gt=0,
        description="seconds without a new block after which writes get 503 chain-stalled; for chains that make a "
        "block every period (Clique, QBFT); unset = off (anvil makes blocks only when asked)",
    )
    indexer_confirmations: int = Field(
        0,
        ge=0,
        description="blocks the read model stays behind the head (a write answers once its block is this deep); "
        "0 = follow the head, reorgs rolled back by block hash; `scf up --network` uses 2 (docs/consortium.md)",
    )
    tx_receipt_timeout: float = Field(120.0, gt=0, description="seconds a write waits for its receipt, then 503")
    settlement_batch: int = Field(
        100, ge=1, le=100, description="notes paid per settlement transaction (gas per note is bounded)"
    )
    alert_structuring_threshold: str = Field("10000.00", description="structuring: moves just below this amount")
    alert_structuring_window: int = Field(1000, ge=1, description="structuring: window in blocks")
    alert_structuring_count: int = Field(5, ge=1, description="structuring: moves in the window that raise an alert")
    alert_circular_max_hops: int = Field(4, ge=2, description="circular trade: longest cycle looked for")
    alert_concentration_percent: int = Field(50, ge=1, le=100, description="concentration: share of one obligor")
    alert_concentration_min_total: str = Field("100000.00", description="concentration: minimum purchased total")
    alert_rejected_attempts: int = Field(3, ge=1, description="rejected attempts: refusals that raise an alert")
    alert_rejected_window_s: int = Field(86_400, ge=1, description="rejected attempts: window in seconds")
    credit_volume_share_bps: int = Field(5_000, ge=0, le=10_000, description="credit: share of confirmed volume")
    credit_volume_days: int = Field(365, ge=1, description="credit: trailing window of confirmed volume, in days")
    credit_on_time_bonus_bps: int = Field(500, ge=0, description="credit: score added per on-time repayment")
    credit_late_penalty_bps: int = Field(1_500, ge=0, description="credit: score taken per late repayment")
    credit_default_penalty_bps: int = Field(5_000, ge=0, description="credit: score taken per default")
    credit_max_score_bps: int = Field(15_000, ge=0, description="credit: highest score (10000 = 1)")
    credit_default_lookback_days: int = Field(180, ge=0, description="credit: no capacity this long after a default")

    def alert_config(self) -> AlertConfig:
        return AlertConfig(
            structuring_threshold=parse_amount(self.alert_structuring_threshold),
            structuring_window_blocks=self.alert_structuring_window,
            structuring_count=self.alert_structuring_count,
            circular_max_hops=self.alert_circular_max_hops,
            concentration_percent=self.alert_concentration_percent,
            concentration_min_total=parse_amount(self.alert_concentration_min_total),
            rejected_attempts=self.alert_rejected_attempts,
            rejected_window_s=self.alert_rejected_window_s,
        )

    def credit_policy(self) -> CreditPolicy:
        from api.services.credit import CreditPolicy  # the credit service imports the indexer: load it lazily

        return CreditPolicy(
            volume_share_bps=self.credit_volume_share_bps,
            volume_days=self.credit_volume_days,
            on_time_bonus_bps=self.credit_on_time_bonus_bps,
            late_penalty_bps=self.credit_late_penalty_bps,
            default_penalty_bps=self.credit_default_penalty_bps,
            max_score_bps=self.credit_max_score_bps,
            default_lookback_days=self.credit_default_lookback_days,
        )

    @cached_property
    def effective_rpc_url(self) -> str:
        return self.rpc_url or f"http://{self.rpc_host}:{self.rpc_port}"

    @cached_property
    def effective_metadata_base_uri(self) -> str:
        return self.metadata_base_uri or f"http://{self.api_host}:{self.api_port}/v1/metadata/"

    @cached_property
    def effective_database_url(self) -> str:
        # the path is %-quoted: a URL would read a data dir's `?` as its query and `%41` as an escape
        return self.database_url or f"sqlite:///{quote(str((self.data_dir / 'scf.db').resolve()))}"

    @property
    def uses_devchain(self) -> bool:
        return self.rpc_url is None

    @cached_property
    def source_node(self) -> tuple[str, str]:
        """(kind, name) of the node the service reads: `named` (SCF_NODE_NAME, e.g. a consortium node by its
        organisation), `devchain` (the embedded one), or `rpc` (another node, by host:port: a URL's path or
        credentials may hold an access key, so they are left out)."""
        if self.node_name:
            return "named", self.node_name
        if self.uses_devchain:
            return "devchain", "local devchain"
        parts = urlsplit(self.effective_rpc_url)
        host = parts.hostname or self.effective_rpc_url
        return "rpc", f"{host}:{parts.port}" if parts.port else host
