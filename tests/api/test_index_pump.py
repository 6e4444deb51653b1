"""Read-your-writes through the background indexer loop (api.ledger.IndexPump) and the devchain's mining default."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from api.ledger import LedgerService
from api.settings import Settings
from chain.devnet.devchain import DevChain
from chain.readmodel.store import create_schema, make_engine
from scripts.runtime import Ledger
from tests.conftest import make_settings, wait_until


def _service(settings: Settings, tmp_path: Path) -> LedgerService:
    own = make_settings(settings.data_dir, settings.rpc_port, database_url=f"sqlite:///{tmp_path / 'pump.db'}")
    engine = make_engine(own.effective_database_url)
    create_schema(engine)
    return LedgerService(own, engine)


def test_waiting_writers_wake_the_loop_and_share_its_pass(settings: Settings, ledger: Ledger, tmp_path: Path) -> None:
    service = _service(settings, tmp_path)
    service.start(poll_interval=5.0)  # idle passes are rare: only the writers' wait can explain a quick answer
    try:
        handle = service.get()
        wait_until(lambda: handle.pump.active, "the background loop to start", timeout=30)
        # answered by the loop: once its pass has published the head, it reads nothing more until woken or idle
        assert handle.pump.wait_for_block(ledger.w3.eth.block_number, timeout=30)
        ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        target = ledger.w3.eth.block_number
        assert handle.indexer.indexed_block() < target

        # each writer gives up after 4 s, before the loop's next idle pass (5 s): True means a writer woke it
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda _: handle.pump.wait_for_block(target, timeout=4.0), range(8)))
        assert answers == [True] * 8
        assert handle.indexer.indexed_block() >= target
        assert handle.pump.wait_for_block(target + 1_000, timeout=0.3) is False  # a block that does not exist
    finally:
        service.stop()
        service.engine.dispose()


def test_without_the_loop_a_writer_indexes_for_itself(settings: Settings, ledger: Ledger, tmp_path: Path) -> None:
    service = _service(settings, tmp_path)
    try:
        handle = service.get()
        assert handle.pump.active is False
        target = ledger.w3.eth.block_number
        assert handle.pump.wait_for_block(target, timeout=30.0) is True
        assert handle.indexer.indexed_block() >= target
    finally:
        service.engine.dispose()


def test_devchain_mines_by_interval_by_default_and_zero_means_automine(tmp_path: Path) -> None:
    assert Settings.model_fields["block_time"].default == 0.5
    # interval mining: anvil does not mine by itself (its pacer thread calls evm_mine) and keeps a bounded,
    # in-memory state history (anvil's own --block-time would raise --prune-history to 1,500 states)
    interval = DevChain(data_dir=tmp_path, block_time=0.5, state_history=32).command()
    assert "--no-mining" in interval and "--block-time" not in interval
    assert interval[interval.index("--prune-history") + 1] == "32"
    for automine in (DevChain(data_dir=tmp_path, block_time=0).command(), DevChain(data_dir=tmp_path).command()):
        assert "--no-mining" not in automine and "--prune-history" not in automine
        assert automine[automine.index("--cache-path") + 1] == str(tmp_path / "anvil-cache")  # not ~/.foundry
