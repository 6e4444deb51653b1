#!/usr/bin/env bash
# Opens brownie (own venv, web3 7) on the running ledger: registers the `scf-local` network for the project's
# anvil and runs scripts/brownie/ledger.py, which binds the deployed contracts by name, then with --interactive
# opens brownie's console. Works from any checkout path (dots, spaces): ledger.py is run by its path, not through
# `brownie run`, which derives a module name from the path.
# Usage: tools/brownie.sh [--interactive]   (env: SCF_RPC_URL or SCF_RPC_PORT, SCF_CHAIN_ID, SCF_DATA_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
brownie="$root/.venv-brownie/bin/brownie"
python="$root/.venv-brownie/bin/python"
[ -x "$brownie" ] || { echo "brownie is not installed: run 'make brownie'" >&2; exit 1; }
rpc="${SCF_RPC_URL:-http://127.0.0.1:${SCF_RPC_PORT:-8545}}"
chain_id="${SCF_CHAIN_ID:-31337}"
export SOLCX_BINARY_PATH="$root/build/solcx"
mkdir -p "$SOLCX_BINARY_PATH"
ln -sf "$root/tools/solc/solc" "$SOLCX_BINARY_PATH/solc-v0.8.30"
if "$brownie" networks list 2>/dev/null | grep -q "scf-local"; then
  "$brownie" networks modify scf-local host="$rpc" chainid="$chain_id" >/dev/null
else
  "$brownie" networks add Ethereum scf-local host="$rpc" chainid="$chain_id" >/dev/null
fi
# brownie saves every contract it binds under build/brownie/deployments and, on the next start, refuses to load
# when those addresses hold no code (every local chain has chain id 31337). The ledger's own deployment record
# is the source of truth, so brownie's copy is dropped.
rm -rf "$root/build/brownie/deployments"
exec "$python" "$root/scripts/brownie/ledger.py" "$@"
