# ruff: noqa: RUF001  (Chinese output uses full-width punctuation)
"""`scf` speaks the language of `--lang`, else of the locale (LC_ALL, LC_MESSAGES, LANG): messages, table titles
and headers from the catalogue (api/i18n, keys `cli.`), and the API's problems, which it asks for in the same
language (`Accept-Language`). Real API over HTTP on the session anvil, the CLI through CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from chain.devnet.devchain import free_port
from scripts.cli import app
from tests.conftest import ServerThread, admitted

runner = CliRunner()
NO_LOCALE = {"LC_ALL": None, "LC_MESSAGES": None, "LANG": None}


def scf(*args: str, env: dict[str, str | None] | None = None, stdin: str | None = None) -> Result:
    return runner.invoke(app, list(args), env={**NO_LOCALE, "SCF_CONFIG": None, **(env or {})}, input=stdin)


@pytest.fixture()
def api_env(api: ServerThread, operator_key: str, tmp_path: Path) -> dict[str, str | None]:
    return {"SCF_API_URL": api.url, "SCF_API_KEY": operator_key, "SCF_DATA_DIR": str(tmp_path), "HOME": str(tmp_path)}


def test_table_titles_and_headers_follow_lang(
    api: ServerThread, operator_key: str, api_env: dict[str, str | None]
) -> None:
    with admitted(api.url, operator_key, [("core", ["core_enterprise"], {"credit_limit": "1000.00"})]):
        pass
    chinese = scf("--lang", "zh-CN", "members", "list", env=api_env)
    assert chinese.exit_code == 0, chinese.output
    for word in ("成员", "编号", "名称", "角色", "状态", "授信额度", "核心企业", "状态正常"):
        assert word in chinese.stdout, chinese.stdout
    english = scf("--lang", "en", "members", "list", env=api_env)
    assert english.exit_code == 0, english.output
    assert "Members" in english.stdout and "credit limit" in english.stdout
    assert "成员" not in english.stdout


def test_api_problems_come_back_in_the_cli_language(api_env: dict[str, str | None]) -> None:
    chinese = scf("--lang", "zh-CN", "notes", "show", "987654", env=api_env)
    assert chinese.exit_code == 1
    assert chinese.stderr.strip() == "错误：未找到：凭证 987654 不存在（404 not-found）"
    english = scf("notes", "show", "987654", env=api_env)  # no --lang, no locale: English
    assert english.exit_code == 1
    assert english.stderr.strip() == "error: Not found: no note 987654 (404 not-found)"


def test_the_locale_chooses_when_lang_is_not_given(api_env: dict[str, str | None]) -> None:
    by_lang = scf("notes", "show", "987654", env={**api_env, "LANG": "zh_CN.UTF-8"})
    assert by_lang.stderr.startswith("错误：未找到"), by_lang.stderr
    by_messages = scf("notes", "show", "987654", env={**api_env, "LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"})
    assert by_messages.stderr.startswith("错误："), by_messages.stderr
    by_all = scf("notes", "show", "987654", env={**api_env, "LANG": "zh_CN.UTF-8", "LC_ALL": "C"})
    assert by_all.stderr.startswith("error: Not found"), by_all.stderr
    flag_wins = scf("--lang", "en", "notes", "show", "987654", env={**api_env, "LANG": "zh_CN.UTF-8"})
    assert flag_wins.stderr.startswith("error: Not found"), flag_wins.stderr


def test_a_run_in_chinese_leaves_the_next_run_english(api_env: dict[str, str | None]) -> None:
    assert scf("--lang", "zh", "notes", "show", "987654", env=api_env).stderr.startswith("错误：")
    assert scf("notes", "show", "987654", env=api_env).stderr.startswith("error: ")


def test_unreachable_api_and_its_hint_in_chinese() -> None:
    env: dict[str, str | None] = {"SCF_API_URL": f"http://127.0.0.1:{free_port()}", "SCF_API_KEY": "scf_x"}
    result = scf("--lang", "zh-CN", "orders", "list", env=env)
    assert result.exit_code == 1
    assert result.stderr.startswith("错误：无法连接 http://127.0.0.1:")
    assert "提示：请用 `make run`" in result.stderr


def test_config_show_in_chinese(tmp_path: Path) -> None:
    result = scf("--lang", "zh-CN", "config", "show", env={"HOME": str(tmp_path), "SCF_API_KEY": "scf_x"})
    assert result.exit_code == 0, result.output
    for word in ("scf 配置", "设置项", "来源", "配置文件：无"):
        assert word in result.stdout, result.stdout


def test_self_custody_key_messages_in_chinese(tmp_path: Path) -> None:
    keystore = tmp_path / "key.json"
    result = scf("--lang", "zh-CN", "keys", "sign-challenge", "--keystore", str(keystore), stdin="not json")
    assert result.exit_code == 1
    assert result.stderr.startswith("错误： 标准输入不是 JSON") or result.stderr.startswith("错误：标准输入不是 JSON")
    english = scf("keys", "sign-challenge", "--keystore", str(keystore), stdin="not json")
    assert english.stderr.startswith("error: standard input is not JSON")


def test_an_unknown_language_is_a_usage_error() -> None:
    result = scf("--lang", "fr", "config", "show")
    assert result.exit_code == 2
    assert "unknown language 'fr'" in result.output


def test_backup_messages_in_chinese(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-data-dir"
    target = tmp_path / "backup"
    args = ("backup", str(target), "--data-dir", str(missing))
    chinese = scf("--lang", "zh-CN", *args, env={"SCF_DATABASE_URL": None})
    assert chinese.exit_code == 1
    assert f"{missing} 处没有数据目录" in chinese.stderr, chinese.stderr
    english = scf(*args, env={"SCF_DATABASE_URL": None})
    assert f"no data dir at {missing}" in english.stderr, english.stderr


def _flat(text: str) -> str:
    return "".join(text.split())  # a table wraps long titles and cells: compare without the line breaks


def test_besu_generators_speak_chinese(tmp_path: Path) -> None:
    out = tmp_path / "net"
    args = ("network", "besu-config", "--out", str(out), "--chain-id", "8848", "--deployer", "0x" + "11" * 20)
    orgs = ("--orgs", "operator@10.20.0.1,core@10.20.0.2,bank-a@10.20.0.3,bank-b@10.20.0.4")
    chinese = scf("--lang", "zh-CN", *args, *orgs, "--observers", "bank-c@10.20.0.5")
    assert chinese.exit_code == 0, chinese.output
    flat = _flat(chinese.stdout)
    for said in ("BesuQBFT网络，链8848：共享文件在", "机构", "节点地址", "验证节点", "观察节点", "新建"):
        assert said in flat, chinese.stdout
    assert "让账本连接运营方的节点提供服务：SCF_RPC_URL=http://10.20.0.1:8545scfup" in flat, chinese.stdout
    english = scf("--lang", "en", *args, *orgs)
    assert english.exit_code == 0, english.output
    assert "existing" in english.stdout and "validator" in english.stdout
    assert "serve the ledger against the operator's node" in english.stdout

    twice = scf("--lang", "zh-CN", *args, "--orgs", "operator,operator")
    assert twice.exit_code == 1 and "错误： 有机构被列了两次" in twice.stderr, twice.output
    ports = scf("--lang", "zh-CN", *args, "--orgs", "operator@10.0.0.1:x")
    assert ports.exit_code == 2 and "'operator@10.0.0.1:x'：端口必须是数字" in ports.stderr, ports.output

    key = ("network", "besu-key", "--org", "bank-z", "--out", str(out))
    created = scf("--lang", "zh-CN", *key)
    assert created.exit_code == 0 and "已创建节点密钥" in created.stdout and "节点地址 0x" in created.stdout
    kept = scf("--lang", "zh-CN", *key)
    assert kept.exit_code == 0 and "保留已有节点密钥" in kept.stdout, kept.output


def test_seed_summary_in_chinese() -> None:
    from io import StringIO

    from rich.console import Console

    from scripts.lang import set_language
    from scripts.seed import summary_table

    summary = {
        "api": "http://127.0.0.1:8000",
        "run": "a1b2c3",
        "seed": 7,
        "members": {"core_enterprises": [1], "tier1": [2, 3], "tier2": [4], "tier3": [5], "financiers": [6, 7]},
        "member_count": 7,
        "receivable_count": 3,
        "face_value": "1500000.00",
        "note_count": 12,
        "split_count": 9,
        "sale_count": 2,
        "value_sold": "250000.00",
        "writes": 40,
        "writes_per_second": 8.5,
        "seconds": 4.7,
    }

    def rendered(language: str) -> str:
        out = StringIO()
        set_language(language)
        try:
            Console(file=out, width=200).print(summary_table(summary))
        finally:
            set_language(None)
        return out.getvalue()

    chinese = rendered("zh-CN")
    for said in (
        "模拟数据批次 a1b2c3（种子 7）",
        "项目",
        "数量",
        "说明",
        "核心企业 1 家，一级供应商 2 家，二级 1 家，三级 1 家，银行 2 家",
    ):
        assert said in chinese, chinese
    for said in ("面值合计 1,500,000.00", "逐级拆分 9 次", "保理转让给银行 250,000.00", "每秒 8.5 次写入", "4.7 秒"):
        assert said in chinese, chinese
    english = rendered("en")
    assert "Seeded run a1b2c3 (seed 7)" in english and "1 core, tier 1: 2, tier 2: 1, tier 3: 1, 2 banks" in english
    assert "8.5 writes/s" in english
