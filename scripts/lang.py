"""The CLI's language: `scf --lang zh-CN|en`, else the POSIX locale (LC_ALL, LC_MESSAGES, LANG), else English.

Messages, table titles and headers come from the Python catalogue (api/i18n/*.json, keys under `cli.`); the API
client sends the same language as `Accept-Language`, so problems come back in it too."""

from __future__ import annotations

from typing import Any

from api import i18n

_chosen: str | None = None


def set_language(value: str | None) -> None:
    """`--lang`: a language tag or locale name (`zh-CN`, `zh`, `en`, `zh_CN.UTF-8`); None follows the locale."""
    global _chosen
    _chosen = None if value is None else (i18n.language_of(value) or i18n.DEFAULT)


def language() -> str:
    return _chosen or i18n.locale_language()


def t(key: str, /, **params: Any) -> str:
    """The CLI message `cli.<key>` in the current language."""
    return i18n.text(language(), "cli." + key, **params)


def field(name: str) -> str:
    """A column or field header: `cli.field.<name>`, else the API's field name with spaces."""
    return i18n.message(language(), "cli.field." + name) or name.replace("_", " ")


def term(value: str) -> str:
    """A value the API answers with a word (a role, a status): `term.<value>` when the catalogue has it."""
    return i18n.message(language(), i18n.TERM_PREFIX + value) or value
