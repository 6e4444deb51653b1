"""The CLI's language: `scf --lang zh-CN|en`, else the POSIX locale (LC_ALL, LC_MESSAGES, LANG), else English.

Messages, table titles and headers come from the Python catalogue (api/i18n/*.json, keys under `cli.`); the API
client sends the same language as `Accept-Language`, so problems come back in it too."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TypedDict

from api import i18n

_chosen: str | None = None


def set_language(value: str | None) -> None:
    """`--lang`: a language tag or locale name (`zh-CN`, `zh`, `en`, `zh_CN.UTF-8`); None follows the locale."""
    global _chosen
    _chosen = None if value is None else (i18n.language_of(value) or i18n.DEFAULT)


def language() -> str:
    return _chosen or i18n.locale_language()


def argv_language(argv: Sequence[str]) -> str | None:
    """The language `--lang X` or `--lang=X` names in a command line (before any `--`), None without one (or with
    a value that names no language of the catalogue: the option's own check reports it)."""
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and index + 1 < len(argv):
            return i18n.language_of(argv[index + 1])
        if arg.startswith("--lang="):
            return i18n.language_of(arg.removeprefix("--lang="))
    return None


def help_language() -> str:
    """The language of the `--help` pages. typer reads help texts when the commands are declared, on import, before
    `--lang` is parsed: so the command line is read here, else the locale (as `language()`)."""
    return argv_language(sys.argv[1:]) or i18n.locale_language()


def h(key: str, /, **params: Any) -> str:
    """The help text `cli.help.<key>` (a command's summary, an option's help) in the language of the help pages."""
    return i18n.text(help_language(), "cli.help." + key, **params)


class CommandHelp(TypedDict):
    help: str
    short_help: str | None


def command_help(key: str, /) -> CommandHelp:
    """`help=` and `short_help=` of a command or a group: the help text `cli.help.<key>`; a Chinese one's summary in
    the command lists is its first sentence (click shortens at spaces, and Chinese has none between words)."""
    text = h(key)
    first, stop, _ = text.partition("。")
    return {"help": text, "short_help": first + stop if stop else None}


def t(key: str, /, **params: Any) -> str:
    """The CLI message `cli.<key>` in the current language."""
    return i18n.text(language(), "cli." + key, **params)


def field(name: str) -> str:
    """A column or field header: `cli.field.<name>`, else the API's field name with spaces."""
    return i18n.message(language(), "cli.field." + name) or name.replace("_", " ")


def term(value: str) -> str:
    """A value the API answers with a word (a role, a status): `term.<value>` when the catalogue has it."""
    return i18n.message(language(), i18n.TERM_PREFIX + value) or value
