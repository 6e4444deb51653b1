#!/usr/bin/env bash
# Makes sure the base tools exist: Python >= 3.11 (with venv), Node.js >= 20 and npm.
# As root on Debian/Ubuntu (CI, fresh machines) missing ones are installed with apt-get;
# otherwise the script names what to install and exits non-zero.
set -euo pipefail

missing=()
need_py=0
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  need_py=1; missing+=("python3 (>= 3.11, with venv)")
fi
need_node=0
if ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 20 ]; then
  need_node=1; missing+=("nodejs (>= 20)")
fi
if ! command -v npm >/dev/null 2>&1; then
  need_node=1; missing+=("npm")
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1 && [ "${SCF_NO_APT:-0}" != "1" ]; then
  echo "installing missing tools with apt-get: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  pkgs=()
  [ $need_py = 1 ] && pkgs+=(python3 python3-venv python3-pip)
  [ $need_node = 1 ] && pkgs+=(nodejs npm)
  apt-get install -y -qq "${pkgs[@]}" >/dev/null
  exec "$0"  # check again
fi

echo "error: missing tools: ${missing[*]}." >&2
echo "Install them (Debian/Ubuntu: apt-get install python3 python3-venv nodejs npm) and run the command again." >&2
exit 1
