"""`scf demo` on a devchain and server of its own (it moves the chain's clock), run twice in a row."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner

from api.settings import Settings
from chain.devnet.devchain import DevChain
from scripts.cli import app
from scripts.demo import Demo, DemoError, run_demo
from scripts.lang import set_language
from tests.conftest import ServerThread, private_world


@pytest.fixture(scope="module")
def demo_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, ServerThread, DevChain]]:
    with private_world(tmp_path_factory.mktemp("scf-demo")) as world:
        yield world.settings, world.server, world.chain


def _check(result: dict[str, object]) -> None:
    balances = result["balances"]
    assert isinstance(balances, dict)
    price, interest = result["price"], result["interest"]
    assert isinstance(price, int) and isinstance(interest, int)
    # 100,000.00 bought at 7% a year with 89 or 90 started days left (chain clock at the sale)
    assert price in (10_000_000 - 10_000_000 * 700 * d // 3_650_000 for d in (89, 90))
    assert interest == 13151  # 800,000.00 at 6% for one started day
    assert balances["core"] == 0
    assert balances["tier1"] == 81_000_000 - 80_000_000 - interest + 70_000_000
    assert balances["tier2"] == 20_000_000
    assert balances["tier3"] == price
    assert balances["bankA"] == 50_000_000 - price + 10_000_000
    assert balances["bankB"] == 100_000_000 + interest
    rejected = result["rejected"]
    assert isinstance(rejected, dict)
    assert str(rejected["type"]).endswith("invoice-already-tokenised")


def test_demo_runs_twice_on_the_same_chain(demo_world: tuple[Settings, ServerThread, DevChain]) -> None:
    settings, server, chain = demo_world
    seen: set[int] = set()
    for _ in range(2):
        out = io.StringIO()
        result = run_demo(server.url, settings.data_dir, chain.url, fast=True, console=Console(file=out, width=120))
        _check(result)
        ids = result["ids"]
        assert isinstance(ids, dict)
        assert seen.isdisjoint(ids.values())  # new members every run
        seen.update(ids.values())
        text = out.getvalue()
        assert "Final cash balances" in text and "note #" in text and "complete" in text
        tree = result["tree"]  # GET /v1/receivables/{slot}/tree, drawn in the terminal
        assert isinstance(tree, dict)
        assert sorted(n["note_id"] for n in tree["nodes"]) == sorted(result["note_ids"])  # type: ignore[call-overload]
        assert not any(n["live"] for n in tree["nodes"])  # all paid and burned at settlement
        kinds = [e["kind"] for e in tree["edges"]]
        assert kinds.count("split") == 2 and "sale" in kinds and "redeem" in kinds
        assert "provenance: 3 notes" in text and "sale 100,000.00" in text
        # Bank A holds its own key: it signed its own writes (2 mints, the offer, the settlement); none in the service
        own = result["self_custody"]
        assert isinstance(own, dict) and own["bankA"] and "with its own key" in text
        assert result["signed_by_bankA"] == 5  # mints for itself, the core enterprise and tier 1; offer; settlement
        needle = str(own["bankA"]).lower()[2:]
        assert not any(needle in p.read_text().lower() for p in (settings.data_dir / "keys").glob("*.json"))
        _check_sign_in(server, result, text)


def _check_sign_in(server: ServerThread, result: dict[str, object], text: str) -> None:
    """The demo ends with a key per party (and the operator's) and where to paste it: each key signs in as it."""
    sign_in, ids = result["sign_in"], result["ids"]
    assert isinstance(sign_in, dict) and isinstance(ids, dict)
    assert set(sign_in) == {"operator", *ids}
    assert "Sign in to the web console as each party" in text and f"{server.url}/app/" in text
    for party, key in sign_in.items():
        assert key in text, f"{party}'s key is not printed"
        me = httpx.get(f"{server.url}/v1/members/me", headers={"Authorization": f"Bearer {key}"}, timeout=30)
        if party == "operator":
            assert me.status_code in (200, 404), me.text  # the operator is not a member; the key is accepted
        else:
            assert me.status_code == 200 and me.json()["id"] == ids[party], me.text


def test_demo_in_chinese(demo_world: tuple[Settings, ServerThread, DevChain]) -> None:
    """`scf --lang zh-CN demo`: the narration, the balances table and the API's refusal are in Chinese."""
    settings, server, chain = demo_world
    out = io.StringIO()
    set_language("zh-CN")
    try:
        result = run_demo(server.url, settings.data_dir, chain.url, fast=True, console=Console(file=out, width=120))
    finally:
        set_language(None)
    _check(result)
    text = out.getvalue()
    for said in (
        "准入成员",
        "拆分与流转",
        "三级供应商保理融资",
        "拒绝重复融资",
        "到期兑付",
        "最终现金余额",
        "核心企业",
    ):
        assert said in text, said
    rejected = result["rejected"]
    assert isinstance(rejected, dict)
    assert str(rejected["title"]).startswith("合约拒绝："), rejected  # noqa: RUF001
    assert str(rejected["type"]).endswith("invoice-already-tokenised")  # the type does not change


def test_unreachable_api_is_one_line_and_nonzero(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--api", "http://127.0.0.1:9", "--fast", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    message = result.output.strip()
    assert len(message.splitlines()) == 1, message
    assert "make run" in message


def test_refuses_to_move_time_on_a_chain_that_is_not_anvil(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"web3_clientVersion": "Geth/v1.14.0-stable/linux-amd64/go1.22", "eth_chainId": "0x7a69"}
    monkeypatch.setattr("scripts.demo.rpc_call", lambda url, method, params=None, timeout=10: answers[method])
    demo = Demo("http://127.0.0.1:9", "key", "http://node:8545", fast=True, console=Console(file=io.StringIO()))
    with pytest.raises(DemoError, match="not a local anvil devchain"):
        demo.check_devchain(31337)
