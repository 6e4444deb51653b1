"""The Python side's message catalogue (API problem titles and details, CLI messages and table headers).

One flat JSON file per language beside this module (`en.json`, `zh-CN.json`), in the same format as the console's
(`web/i18n/*.json`): dotted keys, `str.format` placeholders in braces. JSON rather than gettext `.po`: no compile
step (`.mo`), one format for every catalogue of the project, and a completeness test is a set comparison. The terms
follow docs/glossary.md.

Languages are negotiated from an HTTP `Accept-Language` header (RFC 9110 section 12.5.4, with q-values) or from a
POSIX locale (`LC_ALL`, `LC_MESSAGES`, `LANG`): any `zh` tag means Simplified Chinese (`zh-CN`), anything else
English.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "zh-CN")
TERM_PREFIX = "term."
DEFAULT = "en"
_DIR = Path(__file__).resolve().parent


@cache
def catalogue(language: str) -> dict[str, str]:
    """The messages of one language (read once)."""
    if language not in LANGUAGES:
        raise ValueError(f"no catalogue for {language!r}; languages: {', '.join(LANGUAGES)}")
    data: dict[str, str] = json.loads((_DIR / f"{language}.json").read_text(encoding="utf-8"))
    return data


def language_of(tag: str | None) -> str | None:
    """The catalogue language of one language tag or locale name (`zh-CN`, `zh_CN.UTF-8`, `en-GB`), or None when
    the catalogue has none for it."""
    if not tag:
        return None
    base = re.split(r"[-_.@]", tag.strip().lower(), maxsplit=1)[0]
    if base == "zh":
        return "zh-CN"
    if base in ("en", "c", "posix"):
        return "en"
    return None


_Q = re.compile(r"^q=(0(\.\d{0,3})?|1(\.0{0,3})?)$", re.IGNORECASE)
_TAG = re.compile(r"^(\*|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)$")


def parse_accept_language(value: str) -> list[tuple[str, float]]:
    """The language ranges of an `Accept-Language` value with their weights, most preferred first (ties keep
    their order); malformed elements are skipped."""
    ranges: list[tuple[float, int, str]] = []
    for index, element in enumerate(value.split(",")):
        parts = [p.strip() for p in element.split(";")]
        if not _TAG.match(parts[0]):
            continue
        q = 1.0
        params = [p.replace(" ", "") for p in parts[1:] if p]
        if params:
            match = _Q.match(params[0])
            if match is None:
                continue
            q = float(match.group(0)[2:])
        ranges.append((-q, index, parts[0]))
    return [(tag, -negative) for negative, _, tag in sorted(ranges)]


def negotiate(accept_language: str | None) -> str:
    """The catalogue language for an `Accept-Language` header value: the range with the highest q (ties: the first
    listed) that names a language of the catalogue; `*` stands for any language not refused (English first). A
    range with q=0 refuses its language; English when nothing acceptable is left."""
    if not accept_language:
        return DEFAULT
    ranges = parse_accept_language(accept_language)
    refused = {language_of(tag) for tag, q in ranges if q == 0 and tag != "*"}
    for tag, q in ranges:
        if q == 0:
            continue
        if tag == "*":
            for offered in LANGUAGES:
                if offered not in refused:
                    return offered
            continue
        language = language_of(tag)
        if language is not None and language not in refused:
            return language
    return DEFAULT


def locale_language(environ: Mapping[str, str] | None = None) -> str:
    """The catalogue language of the POSIX locale: the first of LC_ALL, LC_MESSAGES, LANG that is set (as
    setlocale does), English when it names another language."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return language_of(value) or DEFAULT
    return DEFAULT


def message(language: str, key: str, params: Mapping[str, Any] | None = None) -> str | None:
    """`key` formatted in `language`, or None when that language has no such message."""
    messages = catalogue(language)
    template = messages.get(key)
    if template is None:
        return None
    values = dict(params or {})
    for name, value in values.items():  # `<name>_term` parameters are words of the catalogue (`term.<value>`)
        if name.endswith("_term") and isinstance(value, str):
            values[name] = messages.get(TERM_PREFIX + value, value)
    return template.format_map(values)


def text(language: str, key: str, /, **params: Any) -> str:
    """`key` in `language`, else in English; a missing key is a bug (KeyError)."""
    found = message(language, key, params)
    if found is None:
        found = message(DEFAULT, key, params)
    if found is None:
        raise KeyError(key)
    return found
