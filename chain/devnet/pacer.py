"""`python -m chain.devnet.pacer URL INTERVAL OWNER_PID`: the devchain's block clock.

Mines a block (`evm_mine`: the pool's transactions up to the block gas limit) every INTERVAL seconds, as anvil's
own `--block-time` would. anvil 1.7.1's interval miner keeps 1,500 full copies of the state in memory whatever
`--prune-history` says (docs/performance-history.md, "Devchain memory"), so the devchain runs anvil with `--no-mining`
and this process instead.

A process of its own (started by `DevChain.start`), not a thread of its owner: a busy owner (the API under load,
a benchmark's client threads) would hold the GIL and delay blocks. Standard library only, so it starts in a
fraction of a second. It exits on SIGTERM/SIGINT (after the block being mined is stored) and when its owner is
gone (then nobody would stop it).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sys
import threading
import time
from types import FrameType
from urllib.parse import urlsplit


def main(argv: list[str]) -> int:
    url, interval, owner = argv[0], float(argv[1]), int(argv[2])
    parts = urlsplit(url)
    timeout = max(5.0, 4 * interval)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "evm_mine", "params": []})
    headers = {"Content-Type": "application/json"}
    connection: http.client.HTTPConnection | None = None
    due = time.monotonic()
    while not stop.is_set() and os.getppid() == owner:
        try:
            if connection is None:
                host, port = parts.hostname or "127.0.0.1", parts.port or 80
                connection = http.client.HTTPConnection(host, port, timeout=timeout)
            connection.request("POST", parts.path or "/", body, headers)
            connection.getresponse().read()
        except (OSError, http.client.HTTPException):
            if connection is not None:  # the node is stopping or overloaded: reconnect at the next tick
                connection.close()
            connection = None
        due = max(due + interval, time.monotonic())
        stop.wait(due - time.monotonic())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
