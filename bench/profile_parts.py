"""`python -m bench.profile_parts FILE`: where the API's CPU goes, by part, from py-spy's collapsed stacks (`python -m
bench.service --profile FILE` writes them: `py-spy record --format raw`, one `frame;frame;... count` line per stack,
outermost first, each frame `function (path:line)`).

Each sample on CPU is given to one part, the innermost frame of its stack that belongs to a known part (a socket
write under web3 under the signer's queue counts as "node RPC transport"): the "self" share. Samples of a thread
blocked in a lock, a queue, a condition or a socket read (WAITS) are not CPU: left out, their share printed apart.
"Inclusive" is the share of samples with a frame of that part anywhere on the stack (a request's whole handling is
under the HTTP framework; the parts overlap, so they add up to more than 100%). SQLite runs in the process, so a
statement waiting on SQLite's busy timeout for another connection's lock counts as SQLite.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

TRANSPORT = "node RPC transport (requests, urllib3, http.client; JsonRpc's socket and parser)"
# chain/node/rpc.py's own HTTP transport (a socket and httptools' parser since round 10 of a split's CPU), told from
# the JSON-RPC layer of the same file by the function: its connection (write, read, parse) and opening one. JSON
# encoding and decoding stay with "node RPC (chain/node/rpc.py)", as they were beside http.client.
TRANSPORT_FUNCTIONS = ("_Connection.", "JsonRpc._connect ")
# (part, path fragments): the first part whose fragment is in a frame's path; order matters (api/ last)
PARTS: list[tuple[str, tuple[str, ...]]] = [
    (
        "key custody (keystore scrypt, api/custody.py, api/sealing.py)",
        ("/eth_keyfile/", "/Crypto/Protocol/", "api/custody.py", "api/sealing.py", "/cryptography/"),
    ),
    ("signing (eth-account, eth-keys, coincurve, rlp)", ("/eth_account/", "/eth_keys/", "/coincurve/", "/rlp/")),
    ("ABI encoding (eth-abi, ContractCall)", ("/eth_abi/", "chain/node/contracts.py", "chain/node/abi.py")),
    ("web3 request building", ("/web3/", "/eth_utils/", "/hexbytes/")),
    (TRANSPORT, ("/requests/", "/urllib3/", "http/client.py")),
    ("node RPC (chain/node/rpc.py)", ("chain/node/rpc.py",)),
    ("signer queue (chain/node/signer.py)", ("chain/node/signer.py",)),
    ("SQLAlchemy / SQLite", ("/sqlalchemy/", "/sqlite3/")),
    ("pydantic", ("/pydantic/", "/pydantic_core/")),
    ("indexer (chain/readmodel)", ("chain/readmodel/",)),
    ("audit (api/audit)", ("api/audit/",)),
    ("idempotency and write path (api/writes.py)", ("api/writes.py",)),
    ("logging", ("/logging/", "api/logs.py")),
    (
        "HTTP framework (uvicorn, starlette, FastAPI, anyio, h11)",
        ("/uvicorn/", "/starlette/", "/fastapi/", "/anyio/", "/h11/", "/httptools/", "asyncio/"),
    ),
    ("other service code (api/)", ("/api/",)),
]
OTHER = "other (interpreter, threading, stdlib)"
# A sample whose innermost Python frame blocks (a lock, a queue, a condition, a socket read) is a thread waiting,
# not CPU: py-spy reports some of those threads as active. Left out of the shares, counted apart.
WAITS = (
    "Condition.wait (threading.py",
    "Condition.wait_for (threading.py",
    "Condition.__enter__ (threading.py",
    "Event.wait (threading.py",
    "Thread.join (threading.py",
    "_wait_for_tstate_lock (threading.py",
    "Semaphore.acquire (threading.py",
    "Queue.get (queue.py",
    "Queue.put (queue.py",
    "SocketIO.readinto (socket.py",
    "BaseSelector.select (selectors.py",
    "EpollSelector.select (selectors.py",
)
_FRAME = re.compile(r"\((?P<path>[^():]+)(?::\d+)?\)$")


def part_of(frame: str) -> str | None:
    match = _FRAME.search(frame.strip())
    if match is None:  # py-spy's `process PID:"command"` root, or a frame without a file
        return None
    path = "/" + match.group("path").lstrip("/")  # py-spy shortens paths to the module's: `starlette/routing.py`
    if path.endswith("chain/node/rpc.py") and frame.strip().startswith(TRANSPORT_FUNCTIONS):
        return TRANSPORT
    for part, fragments in PARTS:
        if any(f in path for f in fragments):
            return part
    return None


def summarise(path: Path) -> tuple[dict[str, dict[str, float]], float]:
    """{part: {"self_pct": .., "inclusive_pct": ..}} over the samples on CPU (largest self share first), and the
    share of all samples that were waiting (WAITS)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = waiting = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if frames[-1].startswith(WAITS):
            waiting += count
            continue
        parts = [part_of(frame) for frame in frames]
        total += count
        innermost = next((p for p in reversed(parts) if p is not None), OTHER)
        own[innermost] += count
        for p in {p for p in parts if p is not None} | {innermost}:
            inclusive[p] += count
    if not total:
        return {}, 100.0 if waiting else 0.0
    return {
        part: {"self_pct": round(100 * n / total, 1), "inclusive_pct": round(100 * inclusive[part] / total, 1)}
        for part in sorted(inclusive, key=lambda p: (-own[p], -inclusive[p]))
        for n in (own[part],)
    }, round(100 * waiting / (total + waiting), 1)


def samples(path: Path) -> int:
    """Every sample of the profile (waiting ones included)."""
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        count = line.rpartition(" ")[2]
        total += int(count) if count.isdigit() else 0
    return total


def markdown(parts: dict[str, dict[str, float]]) -> list[str]:
    lines = ["| part | self % | inclusive % |", "|---|---:|---:|"]
    lines += [f"| {part} | {v['self_pct']:.1f} | {v['inclusive_pct']:.1f} |" for part, v in parts.items()]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_parts", description=__doc__)
    parser.add_argument("profile", type=Path, help="py-spy raw (collapsed) stacks")
    args = parser.parse_args()
    parts, waiting = summarise(args.profile)
    print("\n".join(markdown(parts)))
    print(f"\n{waiting:.1f}% of the samples were threads waiting (a lock, queue, condition or socket), left out.")


if __name__ == "__main__":
    main()
