"""`ensure_database` (chain/readmodel/store.py): the PostgreSQL database `make run-pg` and the read benchmark use,
made on the server when missing and found again afterwards (PostgreSQL pass only: it needs a server)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from chain.readmodel.store import create_schema, ensure_database, make_engine
from tests.conftest import PG_ADMIN_URL, _pg_admin

pytestmark = pytest.mark.skipif(PG_ADMIN_URL is None, reason="needs a PostgreSQL server (the PostgreSQL pass)")


def test_made_once_then_found_with_its_data() -> None:
    assert PG_ADMIN_URL is not None
    name = f"scf_ensure_{uuid.uuid4().hex[:12]}"
    try:
        url = ensure_database(PG_ADMIN_URL, name)
        engine = make_engine(url)
        create_schema(engine)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE kept (v int)"))
            conn.execute(text("INSERT INTO kept VALUES (7)"))
        engine.dispose()
        assert ensure_database(PG_ADMIN_URL, name) == url  # the second call finds it: nothing made, nothing lost
        again = create_engine(url, poolclass=NullPool)
        with again.connect() as conn:
            assert conn.scalar(text("SELECT v FROM kept")) == 7
            assert conn.scalar(text("SELECT current_database()")) == name
        again.dispose()
    finally:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("name", ['scf"; DROP DATABASE postgres; --', "1abc", ""])
def test_refuses_names_that_are_not_plain(name: str) -> None:
    assert PG_ADMIN_URL is not None
    with pytest.raises(ValueError, match="not a plain database name"):
        ensure_database(PG_ADMIN_URL, name)
