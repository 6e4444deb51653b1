"""Money, the one module: minor units (integers, as the contracts store them) <-> the API's decimal strings
("1250000.00", never floats) <-> what a person reads ("1,250,000.00 CNY"). The API, the CLI, the demo and the seed
use it; the console's web/js/format.js agrees with it (tests/unit/test_amounts.py)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

DECIMALS = 2
MAX_MINOR = 2**63 - 1  # what the read model stores; far above any credit limit
# At most 16 digits before the point: every amount of that form fits the read model (and the contracts, whose
# smallest amount type is uint96), so the published pattern is exactly what the server accepts.
MAX_WHOLE_DIGITS = 16
MAX_AMOUNT = "9" * MAX_WHOLE_DIGITS + ".99"
AMOUNT_PATTERN = rf"^(0|[1-9][0-9]{{0,{MAX_WHOLE_DIGITS - 1}}})(\.[0-9]{{1,2}})?$"
# the same without zero ("0", "0.0", "0.00"): what a positive amount's schema publishes
POSITIVE_AMOUNT_PATTERN = rf"^(0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{{0,{MAX_WHOLE_DIGITS - 1}}}(\.[0-9]{{1,2}})?)$"
_AMOUNT_RE = re.compile(AMOUNT_PATTERN)
_LONG_AMOUNT_RE = re.compile(r"[1-9][0-9]*(\.[0-9]{1,2})?")
# what `format_amount` writes (a sign allowed: a difference may be negative)
_FORMATTED_RE = re.compile(r"(-?)([0-9]+)(?:\.([0-9]{1,2}))?")


class AmountError(ValueError):
    pass


def parse_amount(text: object) -> int:
    """'1250000.00' -> 125000000 minor units. Rejects floats, signs, exponents, > 2 decimals."""
    if not isinstance(text, str):
        raise AmountError('amounts are decimal strings such as "1250000.00", not numbers')
    if not _AMOUNT_RE.fullmatch(text):  # fullmatch: `$` alone also matches before a trailing newline
        if _LONG_AMOUNT_RE.fullmatch(text):
            raise AmountError(f"amount {text} is too large: at most {MAX_AMOUNT}")
        raise AmountError(
            f"invalid amount {text!r}: use a non-negative decimal string with at most {DECIMALS} decimals"
        )
    minor = int(Decimal(text).scaleb(DECIMALS))
    if minor > MAX_MINOR:
        raise AmountError(f"amount {text} is too large")
    return minor


def format_amount(minor: int) -> str:
    """125000000 -> '1250000.00'."""
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**DECIMALS)
    return f"{sign}{whole}.{frac:0{DECIMALS}d}"


def minor_units(text: str) -> int:
    """The inverse of `format_amount`, for amounts the API answered: '-1250000.5' -> -125000050."""
    match = _FORMATTED_RE.fullmatch(text.strip())
    if match is None:
        raise AmountError(f"invalid amount {text!r}")
    sign, whole, frac = match.groups()
    minor: int = int(whole) * 10**DECIMALS + int((frac or "").ljust(DECIMALS, "0"))
    return -minor if sign else minor


def display_amount(value: int | str | None, currency: str | None = None) -> str:
    """What a person reads: minor units (int) or an API amount (str) grouped by thousands, with the currency when
    given: 125000000 or '1250000.00' -> '1,250,000.00 CNY'. None -> '-'; a string that is no amount is shown as it
    is."""
    if value is None:
        return "-"
    if isinstance(value, str):
        try:
            minor = minor_units(value)
        except AmountError:
            return value
    else:
        minor = value
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**DECIMALS)
    shown = f"{sign}{whole:,}.{frac:0{DECIMALS}d}"
    return f"{shown} {currency}" if currency else shown


def _positive(text: object) -> int:
    minor = parse_amount(text)
    if minor == 0:
        raise AmountError("amount must be greater than zero")
    return minor


_SCHEMA = {"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["1250000.00"]}
_POSITIVE_SCHEMA = {"type": "string", "pattern": POSITIVE_AMOUNT_PATTERN, "examples": ["1250000.00"]}

#: A request amount > 0, parsed to minor units.
PositiveAmount = Annotated[int, BeforeValidator(_positive), WithJsonSchema(_POSITIVE_SCHEMA)]
#: A request amount >= 0, parsed to minor units.
Amount = Annotated[int, BeforeValidator(parse_amount), WithJsonSchema(_SCHEMA)]
#: A response amount: minor units rendered as a decimal string.
AmountOut = Annotated[
    int, PlainSerializer(format_amount, return_type=str), WithJsonSchema({"type": "string", "examples": ["1250000.00"]})
]
