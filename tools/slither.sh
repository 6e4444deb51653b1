#!/usr/bin/env bash
# Static analysis of contracts/ with slither (docs/security.md). Builds the contracts with the project's forge and
# solc-js shim (foundry.toml), runs a pinned slither from its own venv on that build, prints the findings by
# severity and fails when a high or medium finding is not justified in tools/slither-allow.json
# (detector + contract + function).
# `make test` runs it (after the Python lint). The venv lives in the checkout (.venv-slither, git-ignored, like
# .venv-brownie) and is made anew (--clear) whenever its slither is not the pinned version or cannot run, e.g. after
# the checkout moved and the venv's scripts point at the old path.
# Usage: tools/slither.sh   (env: SLITHER_VENV, default .venv-slither; SLITHER_ALLOW, default
#                            tools/slither-allow.json; PYTHON, default python3)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
SLITHER_VERSION=0.11.6
venv="${SLITHER_VENV:-$root/.venv-slither}"
forge="$root/node_modules/@foundry-rs/forge-linux-amd64/bin/forge"
out="$root/build/slither"
allow="${SLITHER_ALLOW:-$root/tools/slither-allow.json}"
[ -x "$forge" ] || { echo "forge is not installed: run 'make install' (npm ci)" >&2; exit 1; }

if [ "$("$venv/bin/slither" --version 2>/dev/null)" != "$SLITHER_VERSION" ]; then
  echo "installing slither-analyzer==$SLITHER_VERSION into $venv"
  "${PYTHON:-python3}" -m venv --clear "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q "slither-analyzer==$SLITHER_VERSION"
fi

# Contracts only (no tests, no scripts); build-info is what slither reads. Own out/cache dirs, so the regular
# build/forge output is left alone. Built from scratch: an incremental build leaves stale build-info files
# behind, and slither would report old and new copies of a changed contract.
rm -rf "$out/forge" "$out/cache"
mkdir -p "$out"
"$forge" build --build-info --skip test --skip script --out "$out/forge" --cache-path "$out/cache" >&2

# crytic-compile looks for `forge` on PATH even when it does not compile.
export PATH="$(dirname "$forge"):$PATH"
"$venv/bin/slither" . \
  --compile-force-framework foundry --foundry-ignore-compile --foundry-out-directory "$out/forge" \
  --filter-paths 'node_modules|tests' --exclude-dependencies --fail-none \
  --json - >"$out/slither.json" 2>"$out/report.txt" || {
  cat "$out/report.txt" >&2
  echo "slither failed" >&2
  exit 1
}

"$venv/bin/python" - "$out/slither.json" "$allow" <<'EOF'
import collections
import json
import sys

report = json.load(open(sys.argv[1]))
if not report.get("success"):
    sys.exit(f"slither error: {report.get('error')}")
allow = {(a["detector"], a["contract"], a["function"]) for a in json.load(open(sys.argv[2]))["allow"]}


def where(result):
    """(contract, function) of a finding: its first element, or the function a flagged local belongs to."""
    element = result["elements"][0] if result["elements"] else {}
    parent = element.get("type_specific_fields", {}).get("parent", {})
    if element.get("type") == "function":
        return parent.get("name", ""), element["name"]
    if parent.get("type") == "function":
        return parent.get("type_specific_fields", {}).get("parent", {}).get("name", ""), parent["name"]
    if element.get("type") == "contract":
        return element["name"], ""
    return parent.get("name", ""), ""


results = report.get("results", {}).get("detectors", [])
counts = collections.Counter(r["impact"] for r in results)
print("slither findings by impact: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in
      ("High", "Medium", "Low", "Informational", "Optimization")))
unexplained, used = [], set()
for r in results:
    if r["impact"] not in ("High", "Medium"):
        continue
    key = (r["check"], *where(r))
    if key in allow:
        used.add(key)
    else:
        unexplained.append((r["impact"], key, r["description"].strip().splitlines()[0]))
for key in sorted(allow - used):
    print(f"note: allow-list entry no longer needed: {key}")
if unexplained:
    print(f"{len(unexplained)} high/medium finding(s) not justified in the allow-list ({sys.argv[2]}):")
    for impact, (check, contract, function), line in unexplained:
        print(f"  [{impact}] {check} {contract}.{function}: {line}")
    sys.exit(1)
print(f"every high/medium finding is justified ({sum(counts[k] for k in ('High', 'Medium'))} reviewed);"
      " full report: build/slither/report.txt")
EOF
