"""brownie (own venv) compiles the contracts and reads the suite deployed by chain.devnet.deploy on our anvil."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from api.settings import Settings
from scripts.runtime import Ledger

ROOT = Path(__file__).resolve().parents[2]
BROWNIE = ROOT / ".venv-brownie" / "bin" / "brownie"

pytestmark = pytest.mark.brownie


@pytest.fixture(scope="module")
def brownie_installed() -> None:
    if not BROWNIE.exists():
        if os.environ.get("SCF_REQUIRE_BROWNIE"):
            pytest.fail("SCF_REQUIRE_BROWNIE is set but .venv-brownie is missing: run `make brownie-env`")
        pytest.skip("brownie is not installed (make brownie-env)")


# What `tools/brownie.sh` needs from a checkout; the two large installed folders are linked, not copied (where
# they live does not matter: brownie's own failure was a module name made of the checkout's path).
CHECKOUT_FILES = ["brownie-config.yaml", "contracts", "scripts/brownie", "tools/brownie.sh", "tools/solc"]
LINKED = [".venv-brownie", "node_modules"]


def _copy_checkout(dest: Path) -> Path:
    for name in CHECKOUT_FILES:
        source, target = ROOT / name, dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    for name in LINKED:
        (dest / name).symlink_to(ROOT / name, target_is_directory=True)
    (dest / "tests").mkdir()  # brownie makes its project folders (tests/brownie) with mkdir, not mkdir -p
    return dest


@pytest.mark.parametrize("where", ["checkout", "folder with a dot and a space"])
def test_brownie_compiles_and_reads_the_deployed_registry(
    brownie_installed: None, ledger: Ledger, settings: Settings, tmp_path: Path, where: str
) -> None:
    """From the checkout, and from a copy under a folder named like `mktemp -d`'s (`tmp.XXXX`) with a space:
    `brownie run` failed there with `No module named 'tmp.tmp'`."""
    root = ROOT if where == "checkout" else _copy_checkout(tmp_path / "tmp.Ab3 scf chain" / "checkout")
    home = tmp_path / "home.d user"  # brownie's network config lives in ~/.brownie: keep the user's untouched
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "SCF_RPC_PORT": str(settings.rpc_port),
        "SCF_DATA_DIR": str(settings.data_dir),
        "SCF_CHAIN_ID": str(ledger.w3.eth.chain_id),
    }
    result = subprocess.run(
        [str(root / "tools" / "brownie.sh")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (root / "build" / "brownie" / "contracts" / "ReceivableNotes.json").exists()
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    address = ledger.deployment.address("MemberRegistry")
    registry = ledger.w3.eth.contract(address=address, abi=ledger.artifacts["MemberRegistry"].abi)
    assert summary["registry"] == address
    assert summary["memberCount"] == registry.functions.memberCount().call()
