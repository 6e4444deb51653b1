"""What every `scf <group> <command>` shares: options, one request runner, and the renderers.

A command is a path, a body and a renderer: `call(ctx, "POST", f"/v1/orders/{id}/confirm", ...)` sends the
request (with a spinner when a write takes more than a second), prints the JSON with `--json` or the rendered
table otherwise, and turns every client error into `error: <title>: <detail>` on stderr with exit code 1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.table import Table

from api.amounts import display_amount
from scripts.client import ApiClient, ApiError, ClientConfig, ClientError, resolve_config
from scripts.lang import field as field_label
from scripts.lang import h, t, term
from scripts.terminal import make_console

console = make_console()
err_console = make_console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help=h("common.json_flag"))]
IdempotencyKey = Annotated[
    str | None,
    typer.Option("--idempotency-key", help=h("common.idempotency_key")),
]
Limit = Annotated[int, typer.Option("--limit", min=1, max=500, help=h("common.limit"))]
Cursor = Annotated[int, typer.Option("--cursor", min=0, help=h("common.cursor"))]

AMOUNT_FIELDS = frozenset(
    {
        "amount",
        "value",
        "face_value",
        "credit_limit",
        "outstanding",
        "balance",
        "price",
        "principal",
        "funded",
        "paid",
        "unfunded",
        "unpaid_at_default",
        "interest_paid",
        "foreclosed_value",
        "amount_owed",
        "recourse_amount",
        "recovered_cash",
        "capacity",
        "total",
    }
)
_RELATIVE_DATE = re.compile(r"^\+(\d{1,5})([dw])$")
_NAMED_DAYS = {"today": 0, "tomorrow": 1}
DATE_HELP = h("dates")  # the grammar, in option help texts
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@dataclass
class CliState:
    """The global options of `scf` (main callback), shared by every command through the click context."""

    api: str | None = None
    key: str | None = None
    config_file: Path | None = None
    debug: bool = False
    keystore: Path | None = None  # a self-custody member's own key: signs what the API prepares (202)
    passphrase_file: Path | None = None
    _config: ClientConfig | None = field(default=None, repr=False)
    _account: Any = field(default=None, repr=False)

    def config(self) -> ClientConfig:
        if self._config is None:
            self._config = resolve_config(api_url=self.api, api_key=self.key, config_file=self.config_file)
        return self._config

    def client(self) -> ApiClient:
        client = ApiClient.from_config(self.config())
        if self.keystore is not None:
            from scripts.localkey import LocalKeyError, load_keystore, read_passphrase

            try:  # opened now, not under the request's spinner: the passphrase may be prompted
                self._account = self._account or load_keystore(self.keystore, read_passphrase(self.passphrase_file))
            except LocalKeyError as exc:
                raise ClientError(str(exc)) from exc
            client.signer = self._sign
        return client

    def _sign(self, prepared: dict[str, Any]) -> dict[str, str]:
        """Signs a prepared transaction (a 202 answer) with the local keystore."""
        from scripts.localkey import LocalKeyError, sign_prepared

        try:
            return sign_prepared(self._account, prepared)
        except LocalKeyError as exc:
            raise ClientError(str(exc)) from exc


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def fail(ctx: typer.Context, exc: Exception) -> NoReturn:
    """One or two lines on stderr and exit 1; with `scf --debug`, the traceback instead."""
    if state(ctx).debug:
        raise exc
    if isinstance(exc, ApiError):
        message = t("error.api", title=exc.title, detail=exc.detail, status=exc.status, slug=exc.slug)
        typer.echo(t("error.line", message=message), err=True)
    else:
        typer.echo(t("error.line", message=exc), err=True)
    hint = getattr(exc, "hint", "")
    if hint:
        typer.echo(t("error.hint", hint=hint), err=True)
    raise typer.Exit(1)


def _with_spinner(work: Callable[[], Any], label: str) -> Any:
    """Runs `work`; shows a spinner on a terminal's stderr when it takes more than a second."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(work)
        try:
            return future.result(timeout=1.0)
        except FutureTimeout:
            pass
        if not err_console.is_terminal:
            return future.result()
        with err_console.status(t("waiting", label=label)):
            return future.result()


def request(
    ctx: typer.Context,
    method: str,
    path: str,
    *,
    body: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> Any:
    """Sends one request with the configured URL and key; client errors end the command (see `fail`)."""
    try:
        with state(ctx).client() as client:
            if method == "GET":
                return client.get(path, params)
            return _with_spinner(lambda: client.post(path, body, idempotency_key=idempotency_key), f"{method} {path}")
    except ClientError as exc:
        fail(ctx, exc)


def call(
    ctx: typer.Context,
    method: str,
    path: str,
    render: Callable[[Any], None],
    *,
    json_out: bool,
    body: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> Any:
    """`request`, then print the answer: its JSON with --json, else `render(answer)`."""
    data = request(ctx, method, path, body=body, params=params, idempotency_key=idempotency_key)
    if json_out:
        print_json(data)
    else:
        render(data)
    return data


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))


def relative_days(text: str) -> int | None:
    """Days after the chain's today that `text` names (`today`, `tomorrow`, `+Nd`, `+Nw`), else None."""
    word = text.strip().lower()
    if word in _NAMED_DAYS:
        return _NAMED_DAYS[word]
    match = _RELATIVE_DATE.match(word)
    if match is None:
        return None
    return int(match.group(1)) * (7 if match.group(2) == "w" else 1)


def chain_date(ctx: typer.Context, text: str, option: str = "date") -> str:
    """A date option's value for the API (the grammar is `DATE_HELP`): an ISO date or date-time as given, or
    `today`, `tomorrow`, `+Nd`, `+Nw` counted from the chain's own today (from /health), so that scripts run
    again on a chain whose clock moved. Anything else ends the command with the grammar, before any request."""
    days = relative_days(text)
    if days is None:
        try:
            datetime.fromisoformat(text.strip())
        except ValueError:
            message = t("date.invalid", option=option, value=text, grammar=t("date.grammar"))
            fail(ctx, ClientError(message))
        return text.strip()
    health = request(ctx, "GET", "/health")
    chain = health.get("chain") if isinstance(health, dict) else None
    timestamp = chain.get("latestBlockTimestamp") if isinstance(chain, dict) else None
    today = datetime.fromtimestamp(int(timestamp), UTC).date() if timestamp else datetime.now(UTC).date()
    return (today + timedelta(days=days)).isoformat()


# ---------------------------------------------------------------------------------------- rendering


def is_amount(key: str) -> bool:
    return key in AMOUNT_FIELDS or key.endswith(("_value", "_total", "_amount", "_price", "_balance"))


def cell(key: str, row: Mapping[str, Any]) -> str:
    value = row.get(key)
    if is_amount(key) and isinstance(value, str | None):
        return display_amount(value, row.get("currency"))
    if value is None:
        return "-"
    named = _with_names(key, value, row)
    if named is not None:
        return named
    if isinstance(value, bool):
        return t("yes") if value else t("no")
    if key in _TERM_FIELDS and isinstance(value, str):
        return term(value)
    if key in _TERM_FIELDS and isinstance(value, list):
        return ", ".join(term(str(v)) for v in value) or "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, str) and _ISO_TIME.match(value):
        return _short_time(value)
    return str(value)


def _with_names(key: str, value: Any, row: Mapping[str, Any]) -> str | None:
    """A member id shown with the name the API gives beside it: `holder_id` with `holder_name` -> "恒通车桥 (#7)";
    a `members` list with `member_names`. None where the API gives no name (a pseudonym, a member without a
    profile): the id alone, as the visibility rules leave it."""
    if key.endswith("_id") and isinstance(value, int) and not isinstance(value, bool):
        name = row.get(key.removesuffix("_id") + "_name")
        return f"{name} (#{value})" if isinstance(name, str) and name else None
    if key == "members" and isinstance(value, list):
        names = row.get("member_names")
        if isinstance(names, list) and len(names) == len(value) and any(names):
            return ", ".join(f"{n} (#{v})" if n else str(v) for v, n in zip(value, names, strict=True)) or "-"
    return None


def _short_time(text: str) -> str:
    """`2027-02-20T23:59:59+00:00` -> `2027-02-20` (payable at the end of that day), else `2027-02-20 10:00Z`."""
    try:
        moment = datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        return text
    if (moment.hour, moment.minute, moment.second) == (23, 59, 59):
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%d %H:%MZ")


_TERM_FIELDS = frozenset({"roles", "status", "role"})  # values that are words of the catalogue (`term.<value>`)


def _label(key: str) -> str:
    return field_label(key)


def show_record(title: str, data: Mapping[str, Any], fields: Sequence[str] | None = None) -> None:
    """One object as a two-column table (field, value); amounts formatted with the object's currency."""
    table = Table(title=title, show_header=False, title_justify="left", title_style="bold")
    table.add_column(t("col.field"), style="dim")
    table.add_column(t("col.value"), overflow="fold")
    for key in fields if fields is not None else [k for k in data if k != "currency"]:
        table.add_row(_label(key), cell(key, data))
    console.print(table)


def show_table(title: str, items: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    if not items:
        console.print(f"[dim]{t('none', title=title)}[/]")
        return
    table = Table(title=title, title_justify="left", title_style="bold")
    for key in columns:
        amount = is_amount(key)
        table.add_column(_label(key), justify="right" if amount else "left", overflow="fold", no_wrap=amount)
    for row in items:
        table.add_row(*(cell(key, row) for key in columns))
    console.print(table)


def record(title: str, fields: Sequence[str] | None = None, **params: Any) -> Callable[[Any], None]:
    """A renderer of one object; `title` is a catalogue key (`cli.title.<title>`) that may use the object's
    fields, e.g. `order` -> "Order {id}" / "订单 {id}", resolved when it renders (in the language of the run)."""

    def render(data: Any) -> None:
        show_record(t("title." + title, **{**data, **params}), data, fields)

    return render


def page(title: str, columns: Sequence[str], **params: Any) -> Callable[[Any], None]:
    """A renderer of a `{items, next_cursor}` page; `title` a catalogue key as in `record`."""

    def render(data: Any) -> None:
        show_table(t("title." + title, **params), data["items"], columns)
        if data.get("next_cursor"):
            console.print(f"[dim]{t('more', cursor=data['next_cursor'])}[/]")

    return render


def render_any(title: str, **params: Any) -> Callable[[Any], None]:
    """A renderer for answers of any shape: scalars as one record, nested objects and lists as their own tables;
    `title` a catalogue key as in `record`."""

    def render(data: Any) -> None:
        render_value(t("title." + title, **params), data)

    return render


def render_value(title: str, data: Any, currency: str | None = None) -> None:
    """Renders `data` under `title`; the currency of an enclosing object applies to nested amounts."""
    if isinstance(data, dict):
        currency = data.get("currency") or currency
    if isinstance(data, list):
        rows = [{"currency": currency, **row} if currency else row for row in data if isinstance(row, dict)]
        if len(rows) != len(data):
            console.print(f"[bold]{title}[/]: " + (", ".join(str(v) for v in data) or t("none_word")))
            return
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns and k != "currency" and not isinstance(row[k], list))
        show_table(title, rows, columns)
        return
    if not isinstance(data, dict):
        console.print(f"[bold]{title}[/]: {data}")
        return
    scalars = [k for k, v in data.items() if k != "currency" and not isinstance(v, dict | list)]
    if scalars:
        show_record(title, {"currency": currency, **data}, scalars)
    for key, value in data.items():
        if isinstance(value, dict | list):
            render_value(f"{title}: {_label(key)}", value, currency)
