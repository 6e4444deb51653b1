"""Strict field types of request bodies and queries: what a client sends is what it means, or it is refused.

pydantic's lax mode turned `"4"`, `4.0` and `true` into the id 4, `"no"` into False and `0` into 1970-01-01;
request models use these types instead (ids and counts: pydantic's StrictInt, flags: StrictBool).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, TypeAdapter, WithJsonSchema

# years from 1970: every date and time goes on chain as unsigned seconds since the epoch
DATE_PATTERN = r"^(19[7-9][0-9]|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$"
_DATE = re.compile(DATE_PATTERN[1:-1])
_DATE_TIME = re.compile(
    r"(19[7-9][0-9]|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}"
    r"[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|z|[+-][0-9]{2}:?[0-9]{2})?"
)
_YEAR_FROM_1970 = r"^(19[7-9][0-9]|[2-9][0-9]{3})-"
_WITH_OFFSET = r".*(Z|z|[+-][0-9]{2}:?[0-9]{2})$"
_DATETIMES = TypeAdapter(datetime)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"


def _iso_date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # a default, or a model built in code
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError(f"use an ISO 8601 date string from 1970, YYYY-MM-DD (got {value!r})")
    return date.fromisoformat(value)


def _iso_date_or_datetime(value: object) -> date | datetime:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE_TIME.fullmatch(value):
        return _after_epoch(_DATETIMES.validate_python(value))
    return _iso_date(value)


def _after_epoch(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if aware.timestamp() < 0:
        raise ValueError(f"{moment.isoformat()} is before 1970-01-01T00:00:00Z")
    return moment


def _iso_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        raise ValueError(
            f"use an ISO 8601 date-time string with a time zone, e.g. 2026-01-31T12:00:00Z (got {value!r})"
        )
    moment = _DATETIMES.validate_python(value)
    if moment.tzinfo is None:
        raise ValueError(f"give the time zone of {value!r}, e.g. a trailing Z for UTC")
    return _after_epoch(moment)


def _maturity(value: object) -> date | datetime:
    if isinstance(value, date):
        return value  # a default, or a model built in code
    if isinstance(value, str) and _DATE_TIME.fullmatch(value):
        moment = _DATETIMES.validate_python(value)
        if moment.tzinfo is None:
            raise ValueError(
                f"a maturity timestamp needs its UTC offset, e.g. {value}Z or {value}+08:00 (got {value!r}); "
                "a date alone, YYYY-MM-DD, means the end of that day, UTC"
            )
        return _after_epoch(moment)
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError(
            "use an ISO 8601 date, YYYY-MM-DD (the end of that day, UTC), or an RFC 3339 timestamp with its "
            f"offset, e.g. 2026-12-05T23:59:59+08:00 (got {value!r})"
        )
    return date.fromisoformat(value)


def _no_control_characters(value: str) -> str:
    found = _CONTROL.search(value)
    if found:
        raise ValueError(f"control characters such as {found.group()!r} are not allowed (at {found.start()})")
    return value


#: A date as an ISO 8601 string (YYYY-MM-DD) and nothing else: no timestamps, no numbers.
IsoDate = Annotated[
    date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN})
]
#: An ISO 8601 date-time string with its time zone.
IsoDateTime = Annotated[
    datetime,
    BeforeValidator(_iso_datetime),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": _YEAR_FROM_1970}),
]
#: An ISO 8601 date or date-time string.
IsoDateOrDateTime = Annotated[
    date | datetime,
    BeforeValidator(_iso_date_or_datetime),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date", "pattern": DATE_PATTERN},
                {"type": "string", "format": "date-time", "pattern": _YEAR_FROM_1970},
            ]
        }
    ),
]
#: A maturity: an ISO 8601 date (payable at the end of that day, UTC) or an RFC 3339 timestamp with its offset
#: (payable from that second; `2026-12-05T23:59:59+08:00` is the end of that day in Beijing). A timestamp
#: without an offset is refused: the same text means another second in each time zone.
Maturity = Annotated[
    date | datetime,
    BeforeValidator(_maturity),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date", "pattern": DATE_PATTERN},
                {"type": "string", "format": "date-time", "pattern": _YEAR_FROM_1970 + _WITH_OFFSET},
            ]
        }
    ),
]
#: Text a person typed (a label, a reference): no NUL or other control characters.
Text = Annotated[
    str, AfterValidator(_no_control_characters), Field(json_schema_extra={"pattern": NO_CONTROL_CHARACTERS})
]
