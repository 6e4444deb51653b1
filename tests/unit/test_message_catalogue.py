"""The Python message catalogue (api/i18n/*.json) is complete: every key in both languages with the same
placeholders, a title in both for every problem type the API can answer (service problems found in the code and
in docs/errors.md, one per contract error of the compiled ABIs), and every detail template the code uses."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from api import i18n
from api.problems import _HTTP_SLUGS
from api.writes import contract_error_slug
from chain.node.artifacts import load_artifacts

ROOT = Path(__file__).resolve().parents[2]
EN, ZH = i18n.catalogue("en"), i18n.catalogue("zh-CN")
# Pydantic's English messages are the English of a validation error; only Chinese has `validation.<type>` keys.
ZH_ONLY = "validation."
DECODER_NAMES = ("Error", "Panic", "OutOfGas", "Unknown")  # chain/node/revert.py names that are not declared errors


def _code() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text() for p in (ROOT / "api").rglob("*.py")}


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def _service_slugs() -> dict[str, set[str]]:
    """slug -> the English titles `Problem(status, "slug", "Title", ...)` calls give it in api/."""
    found: dict[str, set[str]] = {}
    for text in _code().values():
        for slug, title in re.findall(r'Problem\(\s*(?:\d+|\w+(?:\.\w+)?),\s*"([a-z0-9-]+)",\s*"([^"]+)"', text):
            found.setdefault(slug, set()).add(title)
        for slug in re.findall(r'catalogued\(\s*\d+,\s*"([a-z0-9-]+)"', text):
            found.setdefault(slug, set())
        for slug, title in re.findall(r'"([a-z0-9-]+)", "([A-Z][a-zA-Z ]+)"\)', text):  # (slug, title) tables
            found.setdefault(slug, set()).add(title)
    for slug, title in _HTTP_SLUGS.values():
        found.setdefault(slug, set()).add(title)
    found.setdefault("http-error", set()).add("HTTP error")
    return found


def _contract_errors() -> set[str]:
    names = {
        entry["name"] for artifact in load_artifacts().values() for entry in artifact.abi if entry["type"] == "error"
    }
    assert len(names) > 50, "no compiled contracts (run `scf compile`)"
    return names | set(DECODER_NAMES)


def test_both_languages_have_every_key_with_the_same_placeholders() -> None:
    assert set(EN) == {k for k in ZH if not k.startswith(ZH_ONLY)}
    for key, english in EN.items():
        assert _placeholders(english) <= _placeholders(ZH[key]) | {"errors"}, key
        assert _placeholders(ZH[key]) <= _placeholders(english) | {"errors_zh"}, key


def test_no_english_left_in_chinese_titles() -> None:
    for key, chinese in ZH.items():
        if key.startswith("problem.title."):
            assert re.search(r"[\u4e00-\u9fff]", chinese), (key, chinese)


def test_every_service_problem_type_has_titles_and_english_is_unchanged() -> None:
    slugs = _service_slugs()
    assert len(slugs) > 50
    for slug, titles in slugs.items():
        key = "problem.title." + slug
        assert key in EN and key in ZH, f"{slug}: no title in the catalogue"
        for title in titles:  # the English answers keep the titles the code gives them
            assert EN[key] == title, (slug, EN[key], title)


def test_every_documented_type_has_titles() -> None:
    contract_slugs = {contract_error_slug(name) for name in _contract_errors()}
    documented = set(re.findall(r"^\| [0-9a-z, ]+ \| `([a-z0-9-]+)`", (ROOT / "docs/errors.md").read_text(), re.M))
    assert len(documented) > 100
    for slug in documented:
        assert f"problem.title.{slug}" in EN or slug in contract_slugs, slug


def test_every_contract_error_has_titles() -> None:
    for name in _contract_errors():
        assert f"problem.contract.{name}" in EN, name
        assert f"problem.contract.{name}" in ZH, name
        assert name in ZH[f"problem.contract.{name}"]  # the decoded name stays visible in Chinese


def test_every_detail_template_the_code_uses_exists() -> None:
    used: set[str] = set()
    for path, text in _code().items():
        keys = re.findall(r'catalogued\(\s*[^,]+,\s*[^,]+,\s*"([a-z0-9.-]+)"', text)
        assert keys or "catalogued(" not in text.replace("def catalogued(", ""), path
        used.update(keys)
    assert len(used) > 80
    for key in used:
        assert "problem.detail." + key in EN and "problem.detail." + key in ZH, key


@pytest.mark.parametrize(
    ("value", "language"),
    [
        ("zh-CN", "zh-CN"),
        ("en-GB,en;q=0.8", "en"),
        ("fr;q=1, zh-Hans;q=0.2", "zh-CN"),
        ("zh-CN;q=0.1, en;q=0.2", "en"),
        ("zh;q=0, *;q=0.5", "en"),
        ("en;q=0, *", "zh-CN"),
        ("zh-CN;q=2, en", "en"),  # q above 1 is malformed: that element is skipped
        ("*", "en"),
        (None, "en"),
    ],
)
def test_negotiation(value: str | None, language: str) -> None:
    assert i18n.negotiate(value) == language


@pytest.mark.parametrize(
    ("environ", "language"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh-CN"),
        ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh-CN"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_locale_language(environ: dict[str, str], language: str) -> None:
    assert i18n.locale_language(environ) == language


def _cli_code() -> str:
    return "".join(p.read_text() for p in (ROOT / "scripts").rglob("*.py"))


def test_every_cli_message_and_title_the_cli_uses_exists() -> None:
    text = _cli_code()
    used = set(re.findall(r'\bt\(\s*"([a-z_.]+)"', text))
    used |= {"title." + key for key in re.findall(r'\b(?:record|page|render_any)\(\s*"([a-z_]+)"', text)}
    used |= {f"stop.{outcome}" for outcome in ("saved", "exited", "failed", "killed")}  # t("stop." + outcome)
    used |= {"word.order", "word.receivable", "word.ok", "word.degraded"}  # t("word." + ...)
    used |= {f"demo.role_{role}" for role in ("core_enterprise", "supplier", "financier")}  # t("demo.role_" + role)
    used |= {f"audit.reason.{reason}" for reason in ("edited", "deleted", "reordered", "truncated")}
    used |= {f"besu.column.{name}" for name in ("organisation", "role", "node_address", "rpc", "node_key")}
    used |= {"besu.validator", "besu.observer", "besu.key_given", "besu.key_new", "besu.key_existing"}
    # --help pages: h("<key>") and command_help("<key>") are `cli.help.<key>`
    used |= {"help." + key for key in re.findall(r'\b(?:h|command_help)\(\s*"([a-z_.]+)"', text)}
    assert len([key for key in used if key.startswith("help.")]) > 250
    assert len(used) > 80
    for key in used:
        if key.endswith((".", "_")):  # a prefix completed at run time (listed above)
            continue
        assert "cli." + key in EN and "cli." + key in ZH, key
    assert not re.search(r'\b(?:record|page|render_any)\(\s*f?"[A-Z]', text), "a table title not in the catalogue"
    assert not re.search(r'\bhelp=f?"', text), "a --help text not in the catalogue (use h() or command_help())"
    assert not re.search(r'\bBadParameter\(\s*f?"', text), "a usage error not in the catalogue"
    assert not re.search(r'"\[bold red\]error:', text), "an error word not in the catalogue (t('error.word'))"


def test_no_help_key_is_left_unused() -> None:
    """Every `cli.help.*` text is shown somewhere (a key the code stopped using is removed, not kept in sync)."""
    text = _cli_code()
    used = set(re.findall(r'\b(?:h|command_help)\(\s*"([a-z_.]+)"', text))
    assert {key.removeprefix("cli.help.") for key in EN if key.startswith("cli.help.")} == used


def test_cli_field_headers_are_chinese_in_chinese() -> None:
    for key, chinese in ZH.items():
        if key.startswith("cli.field.") and key not in ("cli.field.lei", "cli.field.rpc"):
            assert re.search(r"[\u4e00-\u9fff]", chinese), key
