from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from api.amounts import MAX_AMOUNT, AmountError, AmountOut, PositiveAmount, format_amount, parse_amount


@pytest.mark.parametrize(
    ("text", "minor"),
    [("0", 0), ("0.01", 1), ("1", 100), ("1.5", 150), ("1250000.00", 125_000_000), ("9999.99", 999_999)],
)
def test_parse_amount(text: str, minor: int) -> None:
    assert parse_amount(text) == minor


@pytest.mark.parametrize(
    "bad", ["-1.00", "1.234", "1e3", "01.00", "", " 1.00", "1,000.00", "NaN", "Infinity", "+1", ".5", "1."]
)
def test_parse_amount_rejects(bad: str) -> None:
    with pytest.raises(AmountError):
        parse_amount(bad)


@pytest.mark.parametrize("bad", [1.5, 100, None, True])
def test_parse_amount_rejects_non_strings(bad: object) -> None:
    with pytest.raises(AmountError, match="decimal strings"):
        parse_amount(bad)


def test_parse_amount_rejects_too_large() -> None:
    with pytest.raises(AmountError, match="too large"):
        parse_amount("999999999999999999.99")
    with pytest.raises(AmountError, match="too large"):
        parse_amount("10000000000000000")  # 17 digits: the published pattern allows 16
    assert parse_amount("9999999999999999.99") == 999999999999999999


@given(st.integers(min_value=0, max_value=parse_amount(MAX_AMOUNT)))  # the largest amount accepted
def test_format_then_parse_round_trips(minor: int) -> None:
    assert parse_amount(format_amount(minor)) == minor


class _Req(BaseModel):
    value: PositiveAmount


class _Resp(BaseModel):
    value: AmountOut


def test_positive_amount_in_a_model() -> None:
    assert _Req(value="300000.00").value == 30_000_000
    with pytest.raises(ValidationError, match="greater than zero"):
        _Req(value="0.00")
    with pytest.raises(ValidationError, match="at most 2 decimals"):
        _Req(value="1.001")


def test_amount_out_serialises_as_string() -> None:
    assert _Resp(value=30_000_000).model_dump(mode="json") == {"value": "300000.00"}
