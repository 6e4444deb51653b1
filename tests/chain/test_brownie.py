"""brownie (own venv) compiles the contracts and reads the suite deployed by chain.deploy on our anvil."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from api.settings import Settings
from chain.runtime import Ledger

ROOT = Path(__file__).resolve().parents[2]
BROWNIE = ROOT / ".venv-brownie" / "bin" / "brownie"

pytestmark = pytest.mark.brownie


@pytest.fixture(scope="module")
def brownie_installed() -> None:
    if not BROWNIE.exists():
        if os.environ.get("SCF_REQUIRE_BROWNIE"):
            pytest.fail("SCF_REQUIRE_BROWNIE is set but .venv-brownie is missing: run `make brownie-env`")
        pytest.skip("brownie is not installed (make brownie-env)")


def test_brownie_compiles_and_reads_the_deployed_registry(
    brownie_installed: None, ledger: Ledger, settings: Settings, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "HOME": str(tmp_path),  # brownie's network config lives in ~/.brownie: keep the user's untouched
        "SCF_RPC_PORT": str(settings.rpc_port),
        "SCF_DATA_DIR": str(settings.data_dir),
        "SCF_CHAIN_ID": str(ledger.w3.eth.chain_id),
    }
    result = subprocess.run(
        [str(ROOT / "tools" / "brownie.sh")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (ROOT / "build" / "brownie" / "contracts" / "ReceivableNotes.json").exists()
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    address = ledger.deployment.address("MemberRegistry")
    registry = ledger.w3.eth.contract(address=address, abi=ledger.artifacts["MemberRegistry"].abi)
    assert summary["registry"] == address
    assert summary["memberCount"] == registry.functions.memberCount().call()
