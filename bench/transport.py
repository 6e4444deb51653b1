"""`python -m bench.transport`: the client's CPU per JSON-RPC call of three HTTP transports, against a real anvil.

- `http.client`: round 6's `JsonRpc` transport (stdlib, one keep-alive connection per thread), kept here as the
  reference;
- `pycurl`: libcurl, one `Curl` handle per thread (which keeps its connection alive). The body is handed over by a
  read callback that refuses to rewind: with `POSTFIELDS` libcurl sends a request again on a fresh connection when
  a reused one closes without answering, which would send an `eth_sendRawTransaction` twice (measured too, as
  `pycurl-postfields`, to show what the rule costs). Measured only when pycurl is installed (it is not a dependency);
- `httptools`: `chain.node.rpc.JsonRpc` (a socket per thread, httptools' C response parser).

Each transport makes `--calls` calls (shared among the threads) of `eth_blockNumber` (a small answer), `eth_call`
of the identity precompile with 256 bytes (a pre-flight's size) and the same with 64 KiB (a large answer, several
`recv`s; an eighth of the calls), at 1 and 32 threads. CPU is this process's user + system time
(`time.process_time`, every thread; anvil is another process) per call. The transports take turns within each
round (the order rotates), `--rounds` rounds; the table gives each round's figure and their median. `--out`
writes every figure as JSON.
"""

from __future__ import annotations

import argparse
import http.client
import importlib
import io
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chain.devnet.devchain import DevChain, free_port
from chain.node.rpc import JsonRpc

IDENTITY = "0x0000000000000000000000000000000000000004"  # the identity precompile: answers its input


class HttpClientRpc:
    """Round 6's transport: `http.client`, one keep-alive connection per thread (the call path only)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
        self.timeout = timeout
        self.local = threading.local()
        self.ids = 0

    def call(self, method: str, *params: Any) -> Any:
        connection: http.client.HTTPConnection | None = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.local.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        self.ids += 1
        payload = {"jsonrpc": "2.0", "id": self.ids, "method": method, "params": list(params)}
        connection.request(
            "POST", self.path, body=json.dumps(payload, separators=(",", ":")).encode(), headers=_HEADERS
        )
        return json.loads(connection.getresponse().read())["result"]


_HEADERS = {"Content-Type": "application/json"}


class CurlRpc:
    """libcurl through pycurl: a `Curl` handle per thread; the body by a read callback that cannot rewind (see the
    module's text) unless `postfields`."""

    def __init__(self, url: str, timeout: float = 10.0, postfields: bool = False) -> None:
        # optional: measured only where installed (not a dependency); imported by name, so typed Any either way
        self.pycurl = importlib.import_module("pycurl")
        self.url = url
        self.timeout_ms = int(timeout * 1000)
        self.postfields = postfields
        self.local = threading.local()
        self.ids = 0

    def _handle(self) -> Any:
        handle = getattr(self.local, "handle", None)
        if handle is None:
            pc = self.pycurl
            handle = self.local.handle = pc.Curl()
            handle.setopt(pc.URL, self.url)
            handle.setopt(pc.POST, 1)
            handle.setopt(pc.HTTPHEADER, ["Content-Type: application/json", "Expect:"])
            handle.setopt(pc.TIMEOUT_MS, self.timeout_ms)
            handle.setopt(pc.NOSIGNAL, 1)
            if not self.postfields:
                handle.setopt(pc.SEEKFUNCTION, lambda _offset, _origin: pc.SEEKFUNC_FAIL)
        return handle

    def call(self, method: str, *params: Any) -> Any:
        pc = self.pycurl
        handle = self._handle()
        self.ids += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self.ids, "method": method, "params": list(params)}).encode()
        chunks: list[bytes] = []
        handle.setopt(pc.WRITEFUNCTION, chunks.append)
        if self.postfields:
            handle.setopt(pc.POSTFIELDS, body)
        else:
            handle.setopt(pc.READFUNCTION, io.BytesIO(body).read)
            handle.setopt(pc.POSTFIELDSIZE, len(body))
        handle.perform()
        return json.loads(b"".join(chunks))["result"]


def transports(url: str) -> dict[str, Any]:
    found: dict[str, Any] = {"http.client": HttpClientRpc(url)}
    try:
        found["pycurl"] = CurlRpc(url)
        found["pycurl-postfields"] = CurlRpc(url, postfields=True)
    except ImportError:
        pass
    found["httptools"] = JsonRpc(url)
    return found


CALLS: dict[str, tuple[str, list[Any]]] = {
    "eth_blockNumber": ("eth_blockNumber", []),
    "eth_call 256 B": ("eth_call", [{"to": IDENTITY, "data": "0x" + "ab" * 256}, "latest"]),
    "eth_call 64 KiB": ("eth_call", [{"to": IDENTITY, "data": "0x" + "cd" * 65536}, "latest"]),
}


def cpu_per_call(client: Any, call: tuple[str, list[Any]], threads: int, calls: int) -> float:
    """Microseconds of this process's CPU per call, `threads` threads making `calls` calls in all."""
    calls = max(1, calls // threads)
    method, params = call
    expected = params[0]["data"] if method == "eth_call" else None
    client.call(method, *params)  # every thread's connection is opened in its warm-up call below
    start = threading.Barrier(threads + 1)
    wrong: list[Any] = []

    def run() -> None:
        client.call(method, *params)
        start.wait()
        for _ in range(calls):
            answer = client.call(method, *params)
            if expected is not None and answer != expected:
                wrong.append(answer)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    cpu = time.process_time()
    for worker in workers:
        worker.join()
    cpu = time.process_time() - cpu
    if wrong:
        raise AssertionError(f"{len(wrong)} wrong answers")
    return cpu / (threads * calls) * 1e6


def measure(url: str, rounds: int, calls: int, thread_counts: list[int]) -> dict[str, Any]:
    clients = transports(url)
    names = list(clients)
    figures: dict[str, dict[str, list[float]]] = {}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for label, call in CALLS.items():
            for threads in thread_counts:
                n = max(10, calls // 8) if "KiB" in label else calls
                for name in order:
                    us = cpu_per_call(clients[name], call, threads, n)
                    figures.setdefault(f"{label}, {threads} thread(s)", {}).setdefault(name, []).append(us)
        print(f"round {r + 1}/{rounds} done", flush=True)
    return {"transports": names, "figures": figures}


def table(result: dict[str, Any]) -> str:
    names: list[str] = result["transports"]
    rows = ["| call, threads | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for case, by_name in result["figures"].items():
        cells = []
        for name in names:
            values = by_name[name]
            cells.append(f"**{statistics.median(values):.0f}** ({' / '.join(f'{v:.0f}' for v in values)})")
        rows.append(f"| {case} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None, run: Callable[..., dict[str, Any]] = measure) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=4000, help="calls per measurement (all threads)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--out", type=Path, help="write every figure as JSON here")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="scf-transport-") as tmp,
        DevChain(data_dir=Path(tmp), port=free_port()) as chain,
    ):
        started = time.strftime("%H:%M:%S")
        result = run(chain.url, args.rounds, args.calls, args.threads)
    print(f"client CPU per call, microseconds: median (each round), {started} UTC")
    print(table(result))
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
