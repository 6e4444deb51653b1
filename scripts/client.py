"""HTTP client of the SCF Chain API for the `scf` command line, and where its configuration comes from.

Configuration precedence: flags (`--api`, `--key`) > environment (SCF_API_URL, SCF_API_KEY, SCF_DATA_DIR)
> config file (`--config FILE`, SCF_CONFIG, else ./scf.toml, else ~/.config/scf/config.toml)
> SCF_API_HOST/SCF_API_PORT (what `make run` listens on) > the data dir's service record > defaults.
Without any key, the operator key the service wrote to `<data dir>/operator-api-key` is used when present.

The service record (`<data dir>/service.json`) is written by `scf serve` / `scf up` when they start: the API's
URL and the node's RPC URL. A command run later with the same data dir finds both without any variable, so
non-default ports (`SCF_API_PORT=9000 SCF_RPC_PORT=9545 make run`) need nothing more in the next terminal.
"""

from __future__ import annotations

import os
import tomllib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from api.bootstrap import OPERATOR_KEY_FILE
from scripts.lang import language as current_language
from scripts.lang import t

DEFAULT_API_URL = "http://127.0.0.1:8000"
DEFAULT_DATA_DIR = ".scf"
SERVICE_RECORD = "service.json"
CONFIG_KEYS = ("api_url", "api_key", "data_dir")
START_HINT = "start it with `make run` (or `scf up`), or point SCF_API_URL / --api at a running API"


class ClientError(Exception):
    """Root of the command line client's errors; `hint` (may be empty) says what to do about it."""

    hint: str = ""


class ConfigError(ClientError):
    """A config file that is missing, not TOML, or has unknown keys."""


class ApiUnreachable(ClientError):
    """The API did not answer: connection refused, DNS failure, timeout."""

    def __init__(self, url: str, reason: str, hint: str | None = None) -> None:
        self.url = url
        self.reason = reason
        self.hint = t("client.hint_start") if hint is None else hint
        super().__init__(t("client.unreachable", url=url, reason=reason))


class ApiError(ClientError):
    """The API answered with an error, normally application/problem+json."""

    def __init__(self, status: int, type: str, title: str, detail: str, body: Mapping[str, Any] | None = None) -> None:
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.body = dict(body or {})
        self.hint = _hint_for(status)
        super().__init__(f"{title}: {detail}")

    @property
    def slug(self) -> str:
        """The last segment of the problem type, e.g. `insufficient-value`."""
        return self.type.rstrip("/").rsplit("/", 1)[-1]


def _hint_for(status: int) -> str:
    if status == 401:
        return t("client.hint_key")
    return ""


# ------------------------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class Setting:
    """One effective configuration value and where it came from."""

    value: str | None
    source: str


@dataclass(frozen=True)
class ClientConfig:
    api_url: Setting
    api_key: Setting
    data_dir: Setting
    config_file: Path | None

    def as_dict(self, *, mask: bool = True) -> dict[str, Any]:
        key = mask_key(self.api_key.value) if mask else self.api_key.value
        return {
            "api_url": {"value": self.api_url.value, "source": self.api_url.source},
            "api_key": {"value": key, "source": self.api_key.source},
            "data_dir": {"value": self.data_dir.value, "source": self.data_dir.source},
            "config_file": str(self.config_file) if self.config_file else None,
        }


def mask_key(key: str | None) -> str | None:
    """`scf_abcdefgh...` -> `scf_abcd…wxyz`: enough to tell keys apart, not enough to use one."""
    if key is None:
        return None
    if len(key) <= 12:
        return "*" * len(key)
    return f"{key[:8]}…{key[-4:]}"


def find_config_file(explicit: Path | None, env: Mapping[str, str], cwd: Path, home: Path) -> Path | None:
    """The config file in effect: --config, SCF_CONFIG (both must exist), ./scf.toml, ~/.config/scf/config.toml."""
    for given, origin in ((explicit, "--config"), (env.get("SCF_CONFIG"), "SCF_CONFIG")):
        if given:
            path = Path(given).expanduser()
            if not path.is_file():
                raise ConfigError(f"config file {path} (from {origin}) does not exist")
            return path
    for candidate in (cwd / "scf.toml", home / ".config" / "scf" / "config.toml"):
        if candidate.is_file():
            return candidate
    return None


def read_config_file(path: Path) -> dict[str, str]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - set(CONFIG_KEYS))
    if unknown:
        raise ConfigError(f"config file {path} has unknown keys {unknown}; use {list(CONFIG_KEYS)}")
    values: dict[str, str] = {}
    for name, value in data.items():
        if not isinstance(value, str):
            raise ConfigError(f"config file {path}: {name} must be a string")
        values[name] = value
    return values


def resolve_config(
    *,
    api_url: str | None = None,
    api_key: str | None = None,
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    home: Path | None = None,
) -> ClientConfig:
    """The effective api_url, api_key and data_dir, each with its source (flag > env > file > default)."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    home = Path.home() if home is None else home
    path = find_config_file(config_file, env, cwd, home)
    from_file = read_config_file(path) if path else {}

    def pick(name: str, flag: str | None, flag_name: str, env_name: str, default: str | None) -> Setting:
        if flag:
            return Setting(flag, flag_name)
        if env.get(env_name):
            return Setting(env[env_name], f"env {env_name}")
        if from_file.get(name):
            return Setting(from_file[name], f"config {path}")
        return Setting(default, "default" if default is not None else "unset")

    data_dir = pick("data_dir", None, "", "SCF_DATA_DIR", DEFAULT_DATA_DIR)
    url = pick("api_url", api_url, "--api", "SCF_API_URL", DEFAULT_API_URL)
    if url.source == "default":
        url = _served_api_url(env, _resolve_dir(str(data_dir.value), cwd)) or url
    key = pick("api_key", api_key, "--key", "SCF_API_KEY", None)
    if key.value is None:
        key_file = Path(str(data_dir.value)).expanduser() / OPERATOR_KEY_FILE
        if not key_file.is_absolute():
            key_file = cwd / key_file
        try:
            operator_key = key_file.read_text().strip()
        except OSError:
            operator_key = ""
        if operator_key:
            key = Setting(operator_key, f"operator key file {key_file}")
    return ClientConfig(api_url=url, api_key=key, data_dir=data_dir, config_file=path)


def _resolve_dir(value: str, cwd: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else cwd / path


def _served_api_url(env: Mapping[str, str], data_dir: Path) -> Setting | None:
    """SCF_API_HOST/SCF_API_PORT when set (the service's own variables), else the data dir's service record."""
    if env.get("SCF_API_PORT") or env.get("SCF_API_HOST"):
        host = env.get("SCF_API_HOST") or "127.0.0.1"
        port = env.get("SCF_API_PORT") or "8000"
        return Setting(f"http://{host}:{port}", "env SCF_API_HOST/SCF_API_PORT")
    record = read_service_record(data_dir)
    if record.get("api_url"):
        return Setting(str(record["api_url"]), f"service record {data_dir / SERVICE_RECORD}")
    return None


def read_service_record(data_dir: Path) -> dict[str, Any]:
    """What `scf serve` recorded when it started ({} when nothing was recorded or the file is unreadable)."""
    import json

    try:
        record = json.loads((data_dir / SERVICE_RECORD).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def write_service_record(data_dir: Path, *, api_url: str, rpc_url: str) -> None:
    """Records where the service listens and which node it uses (read by the CLI's later commands)."""
    import json

    path = data_dir / SERVICE_RECORD
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"api_url": api_url, "rpc_url": rpc_url}, indent=2) + "\n")
    tmp.replace(path)


def node_rpc_url(settings_rpc_url: str, data_dir: Path, env: Mapping[str, str] | None = None) -> str:
    """The node to talk to: SCF_RPC_URL/SCF_RPC_HOST/SCF_RPC_PORT when set, else the service record's, else
    the settings' default (the local devchain on 8545)."""
    env = os.environ if env is None else env
    if any(env.get(name) for name in ("SCF_RPC_URL", "SCF_RPC_HOST", "SCF_RPC_PORT")):
        return settings_rpc_url
    return str(read_service_record(data_dir).get("rpc_url") or settings_rpc_url)


# ------------------------------------------------------------------------------------------ client


class ApiClient:
    """The one HTTP client of the API (the CLI, `scf demo`, `scf seed`, `scf audit verify --api`): one
    authenticated connection pool; every POST carries an Idempotency-Key; a problem+json answer raises `ApiError`,
    no answer `ApiUnreachable`."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        signer: Callable[[dict[str, Any]], dict[str, str]] | None = None,
        language: str | None = None,
        max_connections: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.signer = signer  # a self-custody member's local key (scripts/localkey.py): signs each 202 answer
        # problems come back in the CLI's language (`scf --lang`, else the locale)
        headers = {"Accept-Language": language or current_language()}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        # several threads share one client (`scf seed --workers`): as many pooled connections as they need
        pool: dict[str, Any] = {}
        if max_connections:
            pool["limits"] = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=headers, **pool)

    @classmethod
    def from_config(cls, config: ClientConfig, *, timeout: float = 120.0) -> ApiClient:
        return cls(str(config.api_url.value), config.api_key.value, timeout=timeout)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, api_key: str | None = None) -> Any:
        return self.request("GET", path, params=params, api_key=api_key)

    def post(
        self,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        api_key: str | None = None,
    ) -> Any:
        key = idempotency_key or str(uuid.uuid4())
        return self.request("POST", path, body=body or {}, idempotency_key=key, api_key=api_key)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        api_key: str | None = None,
    ) -> Any:
        """`api_key` acts, for this request only, with another key than the client's."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        try:
            response = self._http.request(method, path, params=query, json=body, headers=headers)
            while response.status_code == 202 and isinstance(data := _json_or_none(response), dict):
                if "prepared_id" not in data:
                    break
                if self.signer is None:
                    raise ClientError(t("client.needs_keystore", summary=data.get("summary")))
                signed_by = {"Authorization": headers["Authorization"]} if api_key else {}
                response = self._http.post("/v1/transactions", json=self.signer(data), headers=signed_by)
        except httpx.TimeoutException as exc:
            hint = t("client.hint_start")
            if idempotency_key:
                hint = t("client.hint_replay", key=idempotency_key)
            raise ApiUnreachable(self.base_url, t("client.no_answer", error=type(exc).__name__), hint) from exc
        except httpx.TransportError as exc:
            reason = str(exc).replace("\n", " ") or type(exc).__name__
            raise ApiUnreachable(self.base_url, reason) from exc
        return _decode(response)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _decode(response: httpx.Response) -> Any:
    try:
        data: Any = response.json()
    except ValueError:
        data = None
    if response.status_code >= 400:
        body = data if isinstance(data, dict) else {}
        status = response.status_code
        return_type = str(body.get("type", "about:blank"))
        title = str(body.get("title") or f"HTTP {status}")
        detail = str(body.get("detail") or response.text[:200].replace("\n", " ") or response.reason_phrase)
        raise ApiError(status, return_type, title, detail, body)
    if data is None:
        raise ApiError(response.status_code, "about:blank", "Unexpected answer", response.text[:200] or "empty body")
    return data
