from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from api.amounts import (
    MAX_AMOUNT,
    AmountError,
    AmountOut,
    PositiveAmount,
    display_amount,
    format_amount,
    minor_units,
    parse_amount,
)


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


# ------------------------------------------------------------------------ one money vocabulary (CLI, demo, seed)

DISPLAY_TABLE = [
    ("0.00", 0, "0.00"),
    ("0.05", 5, "0.05"),
    ("12.5", 1250, "12.50"),
    ("1000.00", 100_000, "1,000.00"),
    ("1250000.00", 125_000_000, "1,250,000.00"),
    ("1234567.89", 123_456_789, "1,234,567.89"),
    ("9999999999999999.99", 999_999_999_999_999_999, "9,999,999,999,999,999.99"),
]


@pytest.mark.parametrize(("text", "minor", "shown"), DISPLAY_TABLE)
def test_display_amount_groups_thousands_from_minor_units_or_api_strings(text: str, minor: int, shown: str) -> None:
    assert minor_units(text) == minor
    assert display_amount(minor) == display_amount(text) == shown
    assert display_amount(text, "CNY") == f"{shown} CNY"


def test_display_amount_keeps_signs_none_and_non_amounts() -> None:
    assert display_amount(-150) == display_amount("-1.50") == "-1.50"
    assert display_amount(None) == "-"
    assert display_amount("n/a") == "n/a"
    with pytest.raises(AmountError):
        minor_units("1,000.00")


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_minor_units_inverts_format_amount(minor: int) -> None:
    assert minor_units(format_amount(minor)) == minor


CONSOLE_FORMAT = Path(__file__).resolve().parents[2] / "web" / "js" / "format.js"
_NODE_SCRIPT = """
const f = await import(process.argv[1]);
const values = JSON.parse(process.argv[2]);
console.log(JSON.stringify(values.map((v) => [f.money(v, "CNY"), String(f.toMinor(v)), f.fromMinor(f.toMinor(v))])));
"""


def test_the_console_formats_amounts_as_python_does() -> None:
    """web/js/format.js (the console, in its default language zh-CN) groups, parses and writes back every amount of
    the table as api/amounts.py does; the console writes the renminbi CN¥ before the number, the CLI CNY after it."""
    texts = [text for text, _, _ in DISPLAY_TABLE]
    node = shutil.which("node")
    assert node is not None, "node (installed by `make install`) runs the console's formatter"
    argv = [node, "--no-warnings", "--input-type=module", "-e", _NODE_SCRIPT, CONSOLE_FORMAT.as_uri()]
    argv.append(json.dumps(texts))
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout
    for (_, minor, shown), (js_money, js_minor, js_api) in zip(DISPLAY_TABLE, json.loads(out), strict=True):
        assert js_money == f"CN¥{shown}"
        assert int(js_minor) == minor
        assert js_api == format_amount(minor)
