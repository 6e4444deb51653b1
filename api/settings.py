"""Service settings from the environment (prefix SCF_) or a `.env` file."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCF_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path(".scf"), description="keys, chain state, deployment record and database")
    rpc_url: str | None = Field(None, description="JSON-RPC URL of an existing node; unset = local devchain")
    rpc_host: str = "127.0.0.1"
    rpc_port: int = Field(8545, ge=1, le=65535, description="port of the local devchain")
    chain_id: int = Field(31337, description="chain id of the local devchain")
    block_time: float | None = Field(None, description="devchain mining interval in seconds; unset = automine")
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    database_url: str | None = Field(None, description="SQLAlchemy URL; unset = SQLite in the data dir")
    key_passphrase: str = Field(
        "scf-dev-passphrase",
        description="passphrase of the encrypted keystores; change it outside development",
    )
    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$", description="ISO 4217 code of the cash token")
    rpc_timeout: float = Field(10.0, gt=0)
    health_timeout: float = Field(2.0, gt=0)

    @cached_property
    def effective_rpc_url(self) -> str:
        return self.rpc_url or f"http://{self.rpc_host}:{self.rpc_port}"

    @cached_property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'scf.db').resolve()}"

    @property
    def uses_devchain(self) -> bool:
        return self.rpc_url is None
