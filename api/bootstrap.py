"""First-start set-up of the service's own state: schema and the operator's API key."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.tables import OPERATOR, ApiKey, hash_api_key, new_api_key
from chain.readmodel.store import create_schema

OPERATOR_KEY_FILE = "operator-api-key"


def ensure_operator_api_key(engine: Engine, data_dir: Path) -> str | None:
    """Creates the operator's API key on first start and returns it (to print once); None afterwards.

    The key is also written to `<data dir>/operator-api-key` (mode 0600) so local tools such as the
    demo find it; production deployments delete that file after reading it.
    """
    create_schema(engine)
    with Session(engine) as session, session.begin():
        exists = session.scalar(select(ApiKey.id).where(ApiKey.member_id == OPERATOR, ApiKey.revoked_at.is_(None)))
        if exists is not None:
            return None
        key = new_api_key()
        session.add(ApiKey(member_id=OPERATOR, key_hash=hash_api_key(key), hint=key[:8], label="operator"))
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / OPERATOR_KEY_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key
