"""brownie script: loads the deployed ledger contracts by name from the deployment record.

Run by `make brownie` (tools/brownie.sh) as `python scripts/brownie/ledger.py [--interactive]` under .venv-brownie:
it loads the project from the folder it is given (this file's checkout), connects to `scf-local`, runs `main()`,
and with `--interactive` opens brownie's console with `MemberRegistry`, `ReceivableNotes`, ... bound to the
deployed instances, plus `ledger` (a dict of them) and `deployment` (the record). Not `brownie run`: it imports a
script by a module name made of every folder of its absolute path, which fails under any folder with a dot
(`~/src/scf.chain`, `mktemp -d`). `brownie run ledger --network scf-local` still works from a checkout without one.
Runs under .venv-brownie (web3 7), so it imports nothing from the service packages.
"""

import json
import os
import sys
from pathlib import Path
from typing import Any

from brownie import network, project

ROOT = Path(__file__).resolve().parents[2]
NETWORK = "scf-local"
PROJECT_NAME = "ScfChainProject"  # brownie would derive it from the checkout's folder name


def load() -> tuple[dict[str, Any], dict[str, Any]]:
    data_dir = Path(os.environ.get("SCF_DATA_DIR", ROOT / ".scf"))
    chain_id = network.chain.id
    record = data_dir / "deployments" / f"{chain_id}.json"
    if not record.exists():
        raise SystemExit(f"no deployment record at {record}: start the ledger first (make run / scf up)")
    deployment = json.loads(record.read_text())
    proj = project.get_loaded_projects()[0]
    ledger = {}
    for name, info in deployment["contracts"].items():
        container = getattr(proj, name, None)
        if container is None:
            continue
        ledger[name] = container.at(info["address"], persist=False)  # persist=True trips a brownie 1.22 bug
    return deployment, ledger


def main() -> None:
    deployment, ledger = load()
    globals().update(ledger)
    globals()["ledger"] = ledger
    globals()["deployment"] = deployment
    print(f"chain {deployment['chainId']}: loaded " + ", ".join(f"{n} at {c.address}" for n, c in ledger.items()))
    registry = ledger["MemberRegistry"]
    print(json.dumps({"memberCount": registry.memberCount(), "registry": registry.address}))


def _run(argv: list[str]) -> None:
    """What `brownie run ledger --network scf-local [-I]` does, with the script found by path, not module name."""
    from brownie._cli.console import Console
    from brownie._config import CONFIG

    interactive = "--interactive" in argv or "-I" in argv
    CONFIG.argv.update(cli="run", network=NETWORK, interactive=interactive)
    active = project.load(ROOT, name=PROJECT_NAME)
    active.load_config()
    print(f"{active._name} is the active project.")
    network.connect(NETWORK)
    main()
    if interactive:
        namespace = {name: value for name, value in globals().items() if not name.startswith("_")}
        Console(active, namespace).interact(banner="\nInteractive mode enabled. Use quit() to close.", exitmsg="")


if __name__ == "__main__":
    _run(sys.argv[1:])
