"""Reads at a past block whose state the node no longer keeps: a 410 problem, never a 500 or a wrong answer.

The devchain here mines every 0.2 s and keeps the state of its last 4 blocks (`SCF_STATE_HISTORY`), so the
deployment block's state is gone a second after the deployment."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from api.bootstrap import ensure_operator_api_key
from chain.devnet.devchain import DevChain, free_port
from chain.node.errors import HistoricalStateUnavailableError, is_historical_state_missing
from chain.node.reader import ChainReader
from chain.readmodel.store import make_engine
from scripts.runtime import Ledger, prepare_ledger
from tests.conftest import ServerThread, make_settings, wait_until

HISTORY = 4
NO_INVOICE = "0x" + "ab" * 32


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevChain, Ledger, str, str]]:
    data_dir = tmp_path_factory.mktemp("state-history")
    chain = DevChain(data_dir=data_dir, port=free_port(), block_time=0.2, state_history=HISTORY).start()
    try:
        settings = make_settings(data_dir, chain.port, block_time=0.2, state_history=HISTORY)
        ledger = prepare_ledger(settings)
        engine = make_engine(settings.effective_database_url)
        key = ensure_operator_api_key(engine, settings.data_dir)
        engine.dispose()
        assert key is not None
        wait_until(  # the pacer mines a block every 0.2 s
            lambda: ledger.w3.eth.block_number >= ledger.deployment.block + 3 * HISTORY,
            f"{3 * HISTORY} blocks after the deployment",
        )
        with ServerThread(settings) as server:
            yield chain, ledger, server.url, key
    finally:
        chain.stop()


def _gone(response: httpx.Response, block: int) -> None:
    assert response.status_code == 410, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/state-not-retained")
    assert problem["block"] == block
    assert f"last {HISTORY} blocks" in problem["detail"] and "SCF_STATE_HISTORY" in problem["detail"]


def test_the_devchain_keeps_only_its_recent_states(world: tuple[DevChain, Ledger, str, str]) -> None:
    _chain, ledger, _url, _key = world
    head = ledger.w3.eth.block_number
    assert head >= ledger.deployment.block + 3 * HISTORY  # the pacer mined blocks without any transaction
    account = ledger.operator.address
    assert ledger.w3.eth.get_balance(account, head - 1) > 0
    with pytest.raises(Exception, match="BlockOutOfRange"):
        ledger.w3.eth.get_balance(account, ledger.deployment.block)


def test_verification_at_a_forgotten_block_is_410(world: tuple[DevChain, Ledger, str, str]) -> None:
    _chain, ledger, url, key = world
    old = ledger.deployment.block
    with httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {key}"}) as client:
        _gone(client.get(f"/v1/verify/notes/1?block={old}"), old)
        _gone(client.get(f"/v1/verify/invoice?hash={NO_INVOICE}&block={old}"), old)
        _gone(client.get(f"/v1/verify/orders/1?block={old}"), old)
        # a recent block still answers
        recent = client.get(f"/v1/verify/invoice?hash={NO_INVOICE}&block=latest")
        assert recent.status_code == 200, recent.text
        assert recent.json()["tokenised"] is False
        assert client.get("/v1/verify/notes/1").json()["type"].endswith("/not-found")


def test_batched_note_reads_refuse_a_forgotten_block_instead_of_reporting_no_notes(
    world: tuple[DevChain, Ledger, str, str],
) -> None:
    chain, ledger, _url, _key = world
    notes = ledger.deployment.address("ReceivableNotes")
    reader = ChainReader(chain.url)
    assert reader.notes_at(notes, [1, 2], ledger.w3.eth.block_number) == {1: None, 2: None}
    with pytest.raises(HistoricalStateUnavailableError) as caught:
        reader.notes_at(notes, [1, 2], ledger.deployment.block)  # it used to answer {1: None, 2: None}
    assert caught.value.block == ledger.deployment.block


def test_node_messages_that_mean_the_state_is_gone() -> None:
    assert is_historical_state_missing("BlockOutOfRangeError: block height is 4039 but requested was 5")
    assert not is_historical_state_missing("BlockOutOfRangeError: block height is 5 but requested was 4039")
    assert is_historical_state_missing("missing trie node 1d2f... (path ) state 0xab... is not available")
    assert is_historical_state_missing("historical state 0x12... is not available")
    assert is_historical_state_missing("World state unavailable")
    assert not is_historical_state_missing("execution reverted")
    assert not is_historical_state_missing("header not found")
