"""brownie script: loads the deployed ledger contracts by name from the deployment record.

Run by `make brownie` as `brownie run scripts/brownie/ledger.py --network scf-local -I`: the interactive console
that opens afterwards has `MemberRegistry`, `ReceivableNotes`, ... bound to the deployed instances, plus `ledger`
(a dict of them) and `deployment` (the record). Runs under .venv-brownie (web3 7), so it imports nothing from the
service packages.
"""

import json
import os
from pathlib import Path

from brownie import network, project

ROOT = Path(__file__).resolve().parents[2]


def load():
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


def main():
    deployment, ledger = load()
    globals().update(ledger)
    globals()["ledger"] = ledger
    globals()["deployment"] = deployment
    print(f"chain {deployment['chainId']}: loaded " + ", ".join(f"{n} at {c.address}" for n, c in ledger.items()))
    registry = ledger["MemberRegistry"]
    print(json.dumps({"memberCount": registry.memberCount(), "registry": registry.address}))
