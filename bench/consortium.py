"""The consortium section of `python -m bench` (`--only consortium`): the service's splits/s and the raw split
ceiling on a 4-validator geth Clique network (scripts.runtime.bring_up: 1 s period, 30M gas, London), with the
same workload as the service section on anvil (bench.service: the same suppliers, clients and requests per
level; bench.workload: the same pre-signed raw splits).

Setup: `bring_up` in a temp dir (geth from the cache, built once per machine by chain.devnet.geth), the suite deployed
through the operator's node. The service: `scf serve` in a subprocess against the operator's node, configured
as `scf up --network` configures it (SCF_RPC_URL, 2 confirmations, a stall timeout of 10 periods). Through the
API the same population and closed-loop clients as bench.service (a 201 = the split mined and indexed). Then
the server is stopped and `--raw` pre-signed splits from other members go straight to the operator's node
(bench.workload.blast; no `evm_mine` nudges: the signers seal one block per period).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from api.bootstrap import OPERATOR_KEY_FILE
from api.settings import Settings
from bench.service import Server, drive, populate
from bench.workload import blast, cpu_s, log, rss_mb
from bench.workload import populate as populate_workload
from chain.devnet.network import GAS_LIMIT, PERIOD_S
from scripts.cli import CLIQUE_CONFIRMATIONS
from scripts.runtime import bring_up, prepare_ledger

VALIDATORS = 4
PASSPHRASE = "scf-dev-passphrase"  # bring_up's default, as `scf network up` (the benchmark's keys are throwaway)
STALL_AFTER_S = 10.0 * PERIOD_S  # as `scf up --network`


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="scf-consortium-") as tmp:
        log(f"consortium: bringing up {VALIDATORS} Clique validators (period {PERIOD_S} s, gas limit {GAS_LIMIT:,})")
        net = bring_up(Path(tmp) / "network", VALIDATORS, passphrase=PASSPHRASE, log=lambda m: log(f"consortium: {m}"))
        server: Server | None = None
        try:
            operator_pid = net.node("operator").pid or 0
            env = {
                "SCF_RPC_URL": net.operator_rpc,
                "SCF_KEY_PASSPHRASE": PASSPHRASE,
                "SCF_INDEXER_CONFIRMATIONS": str(CLIQUE_CONFIRMATIONS),
                "SCF_CHAIN_STALL_AFTER": str(STALL_AFTER_S),
                "SCF_NODE_NAME": net.node("operator").name,  # as `scf up --network`
            }
            server = Server(net.service_dir, net.node("operator").rpc_port, env).start()
            operator_key = (net.service_dir / OPERATOR_KEY_FILE).read_text().strip()
            holders, recipient = populate(server.url, operator_key, args.suppliers)
            drive(server.url, holders, recipient, 4, 8)  # warm-up, as the anvil service section
            phases = []
            # the levels with a request count (1, 8, 32): the anvil section's timed 128-client level would take
            # minutes at ~4 s a split
            for clients in [c for c in args.clients if c in args.requests]:
                n = args.requests[clients]
                rss_before = rss_mb(operator_pid)
                r = drive(server.url, holders, recipient, clients, n)
                r["operator_geth_rss_mb"] = [rss_before, rss_mb(operator_pid)]
                phases.append(r)
                log(
                    f"consortium service: {clients} clients: {r['ok']}/{n} ok in {r['total_s']:.1f}s ="
                    f" {r['req_per_s']:.1f} req/s, p50/p95/p99 {r['p50_ms']:.0f}/{r['p95_ms']:.0f}/{r['p99_ms']:.0f}"
                    f" ms, errors {r['errors']}" + (f" e.g. {r['first_errors'][0]}" if r["first_errors"] else "")
                )
            server.stop()  # the raw ceiling without the service competing for the CPU, as on anvil
            settings = Settings(data_dir=net.service_dir, rpc_url=net.operator_rpc, key_passphrase=PASSPHRASE)
            wl = populate_workload(net.operator_rpc, prepare_ledger(settings), None, args.suppliers, label="cwl")
            signed = wl.presign(args.raw)
            pids = {n.name: n.pid for n in net.nodes}
            cpu0 = {name: cpu_s(pid) for name, pid in pids.items()}
            raw = blast(wl, signed, timeout=600)
            # CPU seconds each node spent over the burst: every validator executes every block (2 shared cores)
            raw["geth_cpu_s"] = {name: round(cpu_s(pid) - cpu0[name], 2) for name, pid in pids.items()}
            log(
                f"consortium raw: {raw['txs']} splits in {raw['total_s']:.1f}s = {raw['tx_per_s']:.0f} tx/s over"
                f" {raw['blocks_with_txs']} blocks, up to {raw['max_txs_per_block']} splits a block"
            )
            status = net.status()
        except RuntimeError:
            api_log = net.service_dir / "api.log"
            if api_log.exists():
                log("consortium failed; end of the server log:\n" + api_log.read_text(errors="replace")[-4000:])
            raise
        finally:
            if server is not None:
                server.stop()
            net.stop()
    best = max(phases, key=lambda p: p["req_per_s"])
    split_gas = raw["mean_gas"]
    per_block = GAS_LIMIT // split_gas
    return {
        "consortium": {
            "validators": VALIDATORS,
            "mode": net.record.mode if net.record else None,
            "period_s": PERIOD_S,
            "block_gas_limit": GAS_LIMIT,
            "confirmations": CLIQUE_CONFIRMATIONS,
            "suppliers": args.suppliers,
            "raw": raw,
            "phases": phases,
            "nodes_at_end": [{k: n[k] for k in ("name", "head", "peers", "lag") if k in n} for n in status],
            "splits_per_block_from_gas": per_block,
            "gas_ceiling_splits_per_s": round(per_block / PERIOD_S, 1),
        },
        "consortium_raw_splits_per_s": raw["tx_per_s"],
        "consortium_service_splits_per_s": best["req_per_s"],
        "consortium_service_clients": best["clients"],
        "consortium_service_p99_ms": best["p99_ms"],
        "consortium_gas_ceiling_splits_per_s": round(per_block / PERIOD_S, 1),
        "consortium_split_gas": split_gas,
        "consortium_raw_blocks": raw["blocks_with_txs"],
        "consortium_max_splits_per_block": raw["max_txs_per_block"],
    }
