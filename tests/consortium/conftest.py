"""A consortium network for the tests: geth v1.13.15 built once per machine (session), one 4-validator Clique
network per test module (namespaces per organisation where the run is root, loopback ports otherwise)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.bootstrap import OPERATOR_KEY_FILE, ensure_operator_api_key
from api.settings import Settings
from chain.devnet.devchain import free_port
from chain.devnet.geth import ensure_geth, geth_path
from chain.devnet.network import Network
from chain.readmodel.store import make_engine
from scripts.runtime import bring_up
from tests.conftest import TEST_SCRYPT_N, ServerThread

STALL_AFTER_S = 6.0  # writes get 503 chain-stalled after this long without a block (Clique makes one a second)


@pytest.fixture(scope="session")
def geth_binary() -> Path:
    if shutil.which("go") is None and not geth_path().exists() and os.environ.get("SCF_REQUIRE_CONSORTIUM") != "1":
        pytest.skip("the consortium tests build geth with Go, and `go` is not on PATH")
    return ensure_geth()


@dataclass
class Consortium:
    net: Network
    geth: Path
    settings: Settings
    server: ServerThread
    operator_key: str


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory, geth_binary: Path) -> Iterator[Consortium]:
    root = tmp_path_factory.mktemp("consortium") / "network"
    net = bring_up(root, 4, scrypt_n=TEST_SCRYPT_N)
    try:
        settings = Settings(  # type: ignore[call-arg]
            data_dir=net.service_dir,
            rpc_url=net.operator_rpc,
            api_port=free_port(),
            key_scrypt_n=TEST_SCRYPT_N,
            chain_stall_after=STALL_AFTER_S,
            indexer_confirmations=2,  # as `scf up --network`
            node_name="operator",  # as `scf up --network`: verification answers name the operator's node
            tx_receipt_timeout=90.0,
        )
        engine = make_engine(settings.effective_database_url)
        key = ensure_operator_api_key(engine, settings.data_dir)
        engine.dispose()
        if key is None:
            key = (settings.data_dir / OPERATOR_KEY_FILE).read_text().strip()
        consortium = Consortium(net, geth_binary, settings, ServerThread(settings).__enter__(), key)
        try:
            yield consortium
        finally:
            consortium.server.__exit__()  # a test may have served the data dir otherwise for a while, then this again
    finally:
        net.reload()  # tests drive the CLI too, which records the pids of the nodes it (re)started
        net.stop()
