# ruff: noqa: RUF001  (Chinese text uses full-width punctuation)
"""`scf ... --help` speaks the language of `--lang`, else of the locale: command summaries and option help come from
the catalogue (`cli.help.*` in api/i18n). typer reads the help texts when the commands are declared, on import, so
each page is asked of a fresh `scf` process (as a person runs it), not of the app this test process imported."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.lang import argv_language

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")
# click's and typer's own words (Usage:, Options:, the --help and completion options, [required]) are not ours
BUILTIN = re.compile(
    r"^(Usage: .*|Options:|Arguments:|Commands:|.*Show this message and exit\.|.*completion for the current shell.*"
    r"|\s+or customize the installation\.)$"
)
ENGLISH = re.compile(r"\b[A-Za-z]{2,}[,;:]? [A-Za-z]{2,}[,;:]? [A-Za-z]{2,}\b")  # three English words in a row


def _environ(env: dict[str, str]) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")}
    return {**environ, "COLUMNS": "160", "SCF_CONFIG": "/nonexistent", **env}


def help_page(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "scripts.cli", *args, "--help"],
        cwd=ROOT,
        env=_environ(env or {}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def english_left(page: str) -> list[str]:
    """The lines of a help page with English sentences in them (click's own lines aside)."""
    found = []
    for line in page.splitlines():
        if BUILTIN.match(line):
            continue
        text = re.sub(r"\[[^\]]*\]|`[^`]*`", " ", line)  # click's notes, commands quoted as code
        text = re.sub(r"(^|\s)--?[a-z][\w-]*|<\w+>|\{\w+\}", " ", text)  # option names, metavars
        if ENGLISH.search(text):
            found.append(line)
    return found


def test_notes_split_help_in_chinese() -> None:
    page = help_page("--lang", "zh-CN", "notes", "split")
    assert "拆分凭证。从你持有的凭证中拆出一部分金额，生成归另一成员的新凭证。" in page
    assert re.search(r"--to <int>\s+接收新凭证的成员编号", page), page
    assert re.search(r"--value <str>\s+拆出的金额，例如 300000.00", page), page
    assert re.search(r"--json\s+输出 API 返回的 JSON，而不是表格", page), page
    assert re.search(r"note_id <int>\s+凭证编号", page), page
    assert english_left(page) == [], page


@pytest.mark.parametrize(
    ("command", "chinese"),
    [
        ((), ["SCF Chain：供应链应收账款的许可制账本。", "消息、表格和 API 问题的语言", "凭证：列表、查看、拆分"]),
        (("notes",), ["凭证：列表、查看、拆分", "拆分凭证。", "溯源"]),
        (("financing", "request"), ["申请融资。", "向其征求报价的资金方", "有效期：ISO 日期时间，YYYY-MM-DD、today"]),
        (("members", "admit"), ["准入成员（运营方）。", "统一社会信用代码（18 位）", "核心企业"]),
        (("seed",), ["生成模拟供应链。", "要准入的供应商数，分布在三个层级"]),
        (("network", "besu-config"), ["生成 Besu QBFT 网络。", "出块间隔（秒）"]),
        (("audit", "verify"), ["校验审计日志。", "以 JSON 输出校验结果"]),
    ],
)
def test_help_pages_in_chinese(command: tuple[str, ...], chinese: list[str]) -> None:
    page = help_page("--lang", "zh-CN", *command)
    for text in chinese:
        assert text in page, (text, page)
    assert english_left(page) == [], page


def test_a_chinese_command_list_shows_each_first_sentence() -> None:
    """click shortens a summary at spaces, and Chinese has none between words: the list shows the first sentence."""
    page = help_page("--lang=zh", "notes")
    assert re.search(r"^  split\s+拆分凭证。$", page, re.M), page
    assert re.search(r"^  provenance\s+凭证溯源。$", page, re.M), page


def test_help_pages_in_english() -> None:
    page = help_page("--lang", "en", "notes", "split", env={"LANG": "zh_CN.UTF-8"})
    assert "Split value off a note you hold into a new note for another member." in page
    assert re.search(r"--to <int>\s+Member id that receives the new note", page), page
    assert not CJK.search(page), page
    top = help_page("--lang", "en")
    assert "SCF Chain: a permissioned ledger for supply-chain receivables." in top
    assert re.search(r"^  notes\s+Notes: list, show, split", top, re.M), top
    assert not CJK.search(top), top


def test_the_locale_chooses_the_help_language_without_lang() -> None:
    chinese = help_page("notes", "split", env={"LANG": "zh_CN.UTF-8"})
    assert "拆分凭证。" in chinese and english_left(chinese) == []
    by_all = help_page("notes", "split", env={"LANG": "zh_CN.UTF-8", "LC_ALL": "C.UTF-8"})
    assert "Split value off a note" in by_all and not CJK.search(by_all)
    plain = help_page("notes", "split", env={"LANG": "C.UTF-8"})
    assert "Split value off a note" in plain


_TREE = """
import json, typer
from scripts.cli import app
def walk(cmd, path):
    yield path, cmd.help, cmd.short_help, [(p.name, getattr(p, "help", None)) for p in cmd.params]
    for name in getattr(cmd, "commands", {}):
        yield from walk(cmd.commands[name], path + [name])
print(json.dumps(list(walk(typer.main.get_command(app), ["scf"]))))
"""
OURS = {"help", "install_completion", "show_completion"}  # click's and typer's own options


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_command_and_option_has_help_in_the_language(language: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _TREE, "--lang", language],
        cwd=ROOT,
        env=_environ({}),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    tree = json.loads(result.stdout)
    assert len(tree) > 100
    for path, text, short, params in tree:
        assert text, f"{' '.join(path)}: no help"
        assert bool(CJK.search(text)) == (language == "zh-CN"), (path, text)
        if language == "zh-CN":
            assert short and len(short) <= 45 and short.endswith("。"), (path, short)
        for name, option_help in params:
            if name in OURS or name == "ctx":
                continue
            assert option_help, f"{' '.join(path)} {name}: no help"
            if language == "zh-CN":
                assert CJK.search(option_help), (path, name, option_help)
            elif "统一社会信用代码" not in option_help:  # the one term the English help names in Chinese too
                assert not CJK.search(option_help), (path, name, option_help)


@pytest.mark.parametrize(
    ("argv", "language"),
    [
        (["--lang", "zh-CN", "notes", "split", "--help"], "zh-CN"),
        (["--lang=zh", "--help"], "zh-CN"),
        (["--api", "http://x", "--lang", "en", "--help"], "en"),
        (["notes", "--", "--lang", "zh"], None),
        (["--lang", "fr", "--help"], None),
        (["--lang"], None),
        (["notes", "list"], None),
    ],
)
def test_the_language_is_read_from_the_command_line(argv: list[str], language: str | None) -> None:
    assert argv_language(argv) == language
