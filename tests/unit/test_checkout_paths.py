"""The product works from any folder: a data dir (by default `.scf` in the checkout) whose path has dots, spaces
or characters a URL gives a meaning to."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from api.settings import Settings
from chain.readmodel.store import create_schema, make_engine


@pytest.mark.parametrize("folder", ["scf.chain v2", "tmp.Xy7Qz", "ledger?mode=ro", "100%41 done", "a#b"])
def test_the_default_database_is_created_in_the_data_dir_whatever_its_name(tmp_path: Path, folder: str) -> None:
    data_dir = tmp_path / folder / ".scf"
    data_dir.mkdir(parents=True)
    engine = make_engine(Settings(data_dir=data_dir).effective_database_url)
    try:
        create_schema(engine)
        assert "members" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    assert (data_dir / "scf.db").is_file()
    assert sorted(p.name for p in tmp_path.rglob("*.db")) == ["scf.db"]  # and nowhere else
