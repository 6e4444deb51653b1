"""The losers of a race mined in the same block as the winner get the contract's real error.

On interval mining (0.5 s blocks here, as the product runs) concurrent writes share blocks: 20 splits of one
note by its holder pass the read model's check and, running at once, the pre-flight on the pending state; the
ones mined after the note ran dry revert in the block. Replayed on the state before that block, each would
succeed, which used to answer `409 unknown`. Every loser must get `422 insufficient-value`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import httpx
import pytest

from tests.conftest import ServerThread, admitted, chain_world, ok, random_hash

BLOCK_TIME = 0.5
SPLITS = 20


@pytest.fixture(scope="module")
def interval_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    data_dir = tmp_path_factory.mktemp("race-reverts")
    with chain_world(data_dir, block_time=BLOCK_TIME) as world, ServerThread(world.settings) as server:
        yield server.url, world.operator_key


def test_every_loser_of_concurrent_overdrawing_splits_gets_insufficient_value(interval_api: tuple[str, str]) -> None:
    url, operator_key = interval_api
    roster = [
        ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
        ("supplier", ["supplier"], {}),
        ("tier2", ["supplier"], {}),
    ]
    with admitted(url, operator_key, roster) as p:
        receivable = {
            "creditor_id": p["supplier"].id,
            "face_value": "1000.00",
            "maturity": (date.today() + timedelta(days=90)).isoformat(),
            "invoice_hash": random_hash(),
        }
        note_id = ok(p["core"].client.post("/v1/receivables", json=receivable), 201)["first_note_id"]

        def split(i: int) -> httpx.Response:
            with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {p['supplier'].key}"}) as c:
                return c.post(
                    f"/v1/notes/{note_id}/split",
                    json={"to": p["tier2"].id, "value": "150.00"},
                    headers={"Idempotency-Key": f"race-{uuid.uuid4()}-{i}"},
                )

        with ThreadPoolExecutor(max_workers=SPLITS) as pool:
            responses = list(pool.map(split, range(SPLITS)))
        winners = [r for r in responses if r.status_code == 201]
        losers = [r for r in responses if r.status_code != 201]
        assert len(winners) == 6  # 6 x 150.00 of 1,000.00; the seventh would overdraw
        for loser in losers:
            assert loser.status_code == 422, loser.text
            body = loser.json()
            assert body["type"].endswith("/insufficient-value"), body
            assert body["contractError"]["error"] == "InsufficientValue", body
            assert body["contractError"]["args"]["noteId"] == note_id, body
        mined = [r for r in losers if r.json()["contractError"]["tx_hash"] is not None]
        # the race this test is about: losers whose transaction was mined and reverted in a block (not only ones
        # refused at pre-flight); with 20 requests at once there are always some
        assert mined, [r.json()["contractError"] for r in losers]
        assert ok(p["supplier"].client.get(f"/v1/notes/{note_id}"))["value"] == "100.00"
