"""The pinned geth used by the consortium network: built from the Go module proxy on first use, then cached.

go-ethereum v1.13.15 is the last release that seals Clique blocks. Go 1.23 and later refuse to link it
(`github.com/fjl/memsize: invalid reference to runtime.stopTheWorld`), so it is built with the Go 1.22
toolchain, which `go` fetches through the module proxy (GOTOOLCHAIN). The binary lands in
`.cache/geth-v1.13.15/` of the repository (git-ignored). A file lock keeps two concurrent builds (two test
runs, a test run and `scf network up`) from clashing: the second waits and uses the first one's binary.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from chain.node.errors import ToolchainError

GETH_VERSION = "v1.13.15"
GETH_MODULE = "github.com/ethereum/go-ethereum/cmd/geth"
GO_TOOLCHAIN = "go1.22.12"  # the newest Go that links geth 1.13 without -checklinkname=0
REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / ".cache" / f"geth-{GETH_VERSION}"
BUILD_TIMEOUT_S = 1800.0


def geth_path() -> Path:
    """Where the pinned geth lives once built (SCF_GETH overrides it with a binary of one's own)."""
    override = os.environ.get("SCF_GETH")
    return Path(override) if override else CACHE_DIR / "geth"


def _version_ok(binary: Path) -> bool:
    try:
        out = subprocess.run([str(binary), "version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return False
    return out.returncode == 0 and f"Version: {GETH_VERSION.lstrip('v')}" in out.stdout


def ensure_geth(log: Callable[[str], None] | None = None) -> Path:
    """The path of the pinned geth, building it first when it is not cached (minutes, once)."""
    binary = geth_path()
    if os.environ.get("SCF_GETH"):
        if not _version_ok(binary):
            raise ToolchainError(f"SCF_GETH={binary} is not geth {GETH_VERSION}")
        return binary
    if binary.exists() and _version_ok(binary):
        return binary
    go = shutil.which("go")
    if go is None:
        raise ToolchainError("the consortium network needs Go to build geth (https://go.dev/dl/); `go` is not on PATH")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a concurrent build finishes first; then the binary is there
        if binary.exists() and _version_ok(binary):
            return binary
        if log is not None:
            log(f"building geth {GETH_VERSION} with {GO_TOOLCHAIN} into {CACHE_DIR} (once; a few minutes)")
        env = dict(os.environ, GOBIN=str(CACHE_DIR), GOTOOLCHAIN=GO_TOOLCHAIN, GOFLAGS="-mod=mod")
        result = subprocess.run(
            [go, "install", f"{GETH_MODULE}@{GETH_VERSION}"],
            cwd=CACHE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0 or not _version_ok(binary):
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
            raise ToolchainError(f"building geth {GETH_VERSION} failed:\n{tail}")
    return binary
