"""The `scf` command line: help texts and the standalone indexer against a real anvil."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.settings import Settings
from chain.node.client import contract
from chain.readmodel.store import Member, make_engine
from scripts.cli import app
from scripts.runtime import Ledger

runner = CliRunner()


def test_help_lists_every_command_with_its_help_text() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ["compile", "devchain", "deploy", "serve", "up", "index"]:
        assert command in result.output
    assert "Run the event indexer standalone" in result.output


@pytest.mark.parametrize("command", ["devchain", "deploy", "serve", "up", "index", "compile"])
def test_each_command_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "--help" in result.output


def test_index_once_builds_the_read_model(ledger: Ledger, settings: Settings, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'standalone.db'}"
    env = {
        "SCF_DATA_DIR": str(settings.data_dir),
        "SCF_RPC_PORT": str(settings.rpc_port),
        "SCF_DATABASE_URL": url,
    }
    result = runner.invoke(app, ["index", "--once"], env=env)
    assert result.exit_code == 0, result.output
    assert "indexed up to block" in result.output
    registry = contract(ledger.w3, ledger.deployment, ledger.artifacts, "MemberRegistry")
    engine = make_engine(url)
    with Session(engine) as session:
        indexed = session.scalar(select(func.count()).select_from(Member))
    engine.dispose()
    assert indexed == registry.functions.memberCount().call()
    rebuilt = runner.invoke(app, ["index", "--once", "--rebuild"], env=env)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "rebuilt the read model" in rebuilt.output
