"""A serving process keeps what it made at startup out of the garbage collector's reach (api/main.py, lifespan): a
full collection walks only what came after, instead of pausing every request in flight for the 200k objects of the
modules, the app and its engines."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from api.main import create_app
from api.settings import Settings


def test_what_lives_at_startup_is_frozen_while_the_app_serves_and_released_after(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path), background_indexer=False)
    gc.unfreeze()

    async def serve() -> tuple[int, int]:
        async with app.router.lifespan_context(app):
            frozen = gc.get_freeze_count()
            gc.collect()  # a full collection while serving leaves them where they are
            return frozen, gc.get_freeze_count()

    frozen, after_collection = asyncio.run(serve())
    assert frozen > 10_000 and after_collection == frozen
    assert gc.get_freeze_count() == 0  # stopped: collectable again
