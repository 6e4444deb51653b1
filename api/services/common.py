"""Lookups and checks every workflow needs: acting account, members by id, event fields, dates."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Generic, TypeVar, TypeVarTuple, cast, overload

from hexbytes import HexBytes
from sqlalchemy import ColumnElement, Connection, Result, Row, Select, bindparam
from sqlalchemy.orm import InstrumentedAttribute, Session
from web3.contract import Contract
from web3.types import TxReceipt

from api.deps import Principal
from api.ledger import LedgerHandle
from api.problems import catalogued
from chain.node.events import EventDecoder, event_decoders
from chain.node.roles import Roles
from chain.readmodel.store import Member

# per contract handle (LedgerHandle keeps one a contract): its events' decoders, built on first use
_EVENT_DECODERS: weakref.WeakKeyDictionary[Contract, dict[str, EventDecoder]] = weakref.WeakKeyDictionary()


_Row = TypeVarTuple("_Row")


class ByIds(Generic[*_Row]):
    """`base` restricted to `column` in a list of ids, built once. One, two or three ids (a note's parties, a write's
    notes) bind plain parameters: an expanding IN is rendered anew for every execution (SQLAlchemy compiles its SQL
    per call, and PostgreSQL never sees the same text often enough to prepare it), which cost a split's note check as
    much as the rest of its statement and a note's display names 13-15% of a read on PostgreSQL (py-spy). More ids
    take the expanding IN."""

    def __init__(self, base: Select[*_Row], column: ColumnElement[int] | InstrumentedAttribute[int]) -> None:
        self._many = base.where(column.in_(bindparam("ids", expanding=True)))
        self._few = {
            count: base.where(
                column == bindparam("id0") if count == 1 else column.in_([bindparam(f"id{i}") for i in range(count)])
            )
            for count in (1, 2, 3)
        }

    def execute(self, session: Session | Connection, ids: Sequence[int]) -> Result[*_Row]:
        few = self._few.get(len(ids))
        if few is not None:
            return session.execute(few, {f"id{i}": value for i, value in enumerate(ids)})
        return session.execute(self._many, {"ids": list(ids)})


def member_or_404(session: Session, member_id: int, what: str = "member") -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise catalogued(404, "not-found", "not-found.no-party-member", {"what_term": what, "member_id": member_id})
    return member


def event_args(ledger: LedgerHandle, receipt: TxReceipt, contract: str, event: str) -> dict[str, Any]:
    """Arguments of the first `event` of `contract` in a receipt. Only the logs with the contract's address and
    the event's topic are decoded (`process_receipt` tried every log of the receipt against the event, raising
    and discarding a mismatch for each other one: 5% of a split's Python time), with eth-abi decoders built once
    per contract (chain/node/events.py; web3's event objects cost 3% of a split's CPU)."""
    handle = ledger.contract(contract)
    decoders = _EVENT_DECODERS.get(handle)
    if decoders is None:
        decoders = _EVENT_DECODERS.setdefault(handle, event_decoders(handle.abi))
    fast = decoders.get(event)
    decode: Callable[[Any], dict[str, Any]]
    if fast is not None:
        topic, decode = fast.topic, fast.args
    else:  # an event left to web3 (tuple or array arguments: none of the deployed contracts has one)
        slow = handle.events[event]()
        topic, decode = bytes(HexBytes(slow.topic)), lambda log: dict(slow.process_log(log)["args"])
    address = str(handle.address).lower()
    for log in receipt["logs"]:
        topics = log["topics"]
        if topics and bytes(topics[0]) == topic and str(log["address"]).lower() == address:
            return decode(log)
    raise catalogued(
        502, "unexpected-receipt", "unexpected-receipt.missing-from-receipt", {"contract": contract, "event": event}
    )


def sees_everything(principal: Principal) -> bool:
    return principal.is_operator or principal.has_role(Roles.AUDITOR)


def end_of_day_utc(day: date) -> int:
    return int(datetime.combine(day, time(23, 59, 59), tzinfo=UTC).timestamp())


def maturity_seconds(maturity: date | datetime) -> int:
    """A request's maturity on chain (unix seconds): a date is the end of that day, UTC; a timestamp (it has its
    offset, api.strict.Maturity) is that second, a fraction dropped."""
    if isinstance(maturity, datetime):
        return int(maturity.timestamp())
    return end_of_day_utc(maturity)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """A stored or sent time with its zone: SQLite hands back naive datetimes, and every stored time is UTC."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def maturity_within(
    maturity: ColumnElement[int] | InstrumentedAttribute[int], first: date | None, last: date | None
) -> list[ColumnElement[bool]]:
    """WHERE clauses for a maturity (unix seconds) on or after the day `first` and on or before the day `last`
    (UTC days, both inclusive; None: open)."""
    clauses: list[ColumnElement[bool]] = []
    if first is not None:
        clauses.append(maturity >= end_of_day_utc(first) - 86_399)
    if last is not None:
        clauses.append(maturity <= end_of_day_utc(last))
    return clauses


def iso_date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).date().isoformat()


def iso_time(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat()


def hex32(value: str) -> bytes:
    return bytes.fromhex(value[2:])


T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Window(Generic[T]):
    """One page of a listing: its rows, and the cursor of the next page (None on the last)."""

    rows: list[T]
    next_cursor: str | None


@overload
def paginate(
    session: Session, query: Select[T], key: InstrumentedAttribute[int], cursor: int, limit: int
) -> Window[T]: ...
@overload
def paginate(
    session: Session, query: Select[T, U], key: InstrumentedAttribute[int], cursor: int, limit: int
) -> Window[Row[T, U]]: ...
def paginate(
    session: Session, query: Select[*tuple[Any, ...]], key: InstrumentedAttribute[int], cursor: int, limit: int
) -> Window[Any]:
    """Cursor pagination of every listing: the rows of `query` whose `key` (an id column) is above `cursor`, in
    `key` order, at most `limit`; one more row is read to know whether a next page exists (its cursor: the last
    row's key). A query of one entity gives the entities; of several, the rows (the key's entity among them)."""
    stmt = query.where(key > cursor).order_by(key).limit(limit + 1)
    rows: list[Any] = list(session.scalars(stmt) if len(stmt.column_descriptions) == 1 else session.execute(stmt))
    shown = rows[:limit]
    if len(rows) <= limit:
        return Window(shown, None)
    last = shown[-1]
    if isinstance(last, Row):
        entity = cast(type[Any], key.class_)
        last = next(item for item in last if isinstance(item, entity))
    return Window(shown, str(getattr(last, key.key)))
