from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address

from chain.devnet.devchain import DevChain, free_port
from chain.node.errors import PortInUseError, StateFileError
from chain.node.rpc import JsonRpc, rpc_call
from tests.conftest import wait_until

RICH = "0x00000000000000000000000000000000000000c1"


def _block(chain: DevChain) -> int:
    return int(str(rpc_call(chain.url, "eth_blockNumber")), 16)


def test_restart_keeps_blocks_and_balances(tmp_path: Path) -> None:
    chain = DevChain(data_dir=tmp_path, port=free_port())
    with chain:
        rpc_call(chain.url, "anvil_setBalance", [RICH, hex(12345)])
        rpc_call(chain.url, "anvil_mine", ["0x5"])
        height = _block(chain)
    assert height >= 5
    assert chain.state_path.exists()
    with chain:
        assert _block(chain) >= height
        assert int(str(rpc_call(chain.url, "eth_getBalance", [RICH, "latest"])), 16) == 12345
    assert chain.state_path.with_suffix(".json.prev").exists()


ANVIL_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's first dev account


@pytest.mark.parametrize("block_time", [None, 0.2], ids=["automine", "interval"])
def test_stopped_under_a_stream_of_transactions_every_kept_transaction_keeps_its_receipt(
    tmp_path: Path, block_time: float | None
) -> None:
    """anvil stopped while mining can dump a block's transactions and state without their receipts (about 1 stop
    in 8 measured without the pause); stop() pauses mining first (interval mining: it ends the pacer thread that
    calls evm_mine). Every nonce the restarted chain counts as used must have its transaction's receipt."""
    account = Account.from_key(ANVIL_KEY_0)
    chain = DevChain(data_dir=tmp_path, port=free_port(), block_time=block_time, state_history=8)
    sent: dict[int, str] = {}
    failures: list[BaseException] = []
    for _round in range(6):
        chain.start()
        rpc = JsonRpc(chain.url, timeout=2.0)
        stop = threading.Event()

        def stream(rpc: JsonRpc = rpc, stop: threading.Event = stop) -> None:
            try:
                send_until(rpc, stop)
            except BaseException as exc:
                failures.append(exc)

        def send_until(rpc: JsonRpc, stop: threading.Event) -> None:
            nonce = int(rpc.call("eth_getTransactionCount", account.address, "latest"), 16)
            while not stop.is_set():
                tx = account.sign_transaction(
                    {"to": to_checksum_address(RICH), "value": 1, "gas": 21_000, "maxFeePerGas": 10**10,
                     "maxPriorityFeePerGas": 1, "nonce": nonce, "chainId": chain.chain_id, "type": 2}
                )  # fmt: skip
                sent[nonce] = "0x" + bytes(tx.hash).hex()
                try:
                    rpc.call("eth_sendRawTransaction", "0x" + bytes(tx.raw_transaction).hex())
                except OSError:
                    return  # the node went away mid-send
                nonce += 1

        sender = threading.Thread(target=stream)
        sender.start()
        time.sleep(random.uniform(0.3, 0.8))  # load shaping: the node is stopped at a random moment of the stream
        chain.stop()
        stop.set()
        sender.join(timeout=10)
        rpc.close()
    assert not failures, failures
    with chain:
        used = int(str(rpc_call(chain.url, "eth_getTransactionCount", [account.address, "latest"])), 16)
        assert used > 0
        reader = JsonRpc(chain.url, timeout=30.0)
        payload = [
            {"jsonrpc": "2.0", "id": n, "method": "eth_getTransactionReceipt", "params": [sent[n]]} for n in range(used)
        ]
        missing = sorted(int(a["id"]) for a in reader.batch(payload) if a.get("result") is None)
        reader.close()
    assert missing == [], f"nonces used on the chain without a receipt: {missing}"


def test_corrupt_state_file_refuses_to_start_and_is_not_touched(tmp_path: Path) -> None:
    state = tmp_path / "anvil-state.json"
    state.write_text("{ this is not json")
    chain = DevChain(data_dir=tmp_path, port=free_port())
    with pytest.raises(StateFileError) as info:
        chain.start()
    assert "refusing to start" in str(info.value)
    assert state.read_text() == "{ this is not json"
    assert not chain.running


def test_state_file_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    (tmp_path / "anvil-state.json").write_text('{"something": "else"}')
    with pytest.raises(StateFileError):
        DevChain(data_dir=tmp_path, port=free_port()).start()


def test_port_in_use_names_the_port_and_the_setting(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(PortInUseError) as info:
            DevChain(data_dir=tmp_path, port=port).start()
    assert str(port) in str(info.value)
    assert "SCF_RPC_PORT" in str(info.value)


def test_interval_mining_comes_from_the_pacer_which_dies_with_its_owner(tmp_path: Path) -> None:
    """The pacer (chain/devnet/pacer.py) mines every block_time; if its owner is killed (no stop() runs), it exits."""
    owner_script = (
        "import json, sys, time\n"
        "from pathlib import Path\n"
        "from chain.devnet.devchain import DevChain, free_port\n"
        f"chain = DevChain(data_dir=Path({str(tmp_path)!r}), port=free_port(), block_time=0.2, state_history=8)\n"
        "chain.start()\n"
        "print(json.dumps({'url': chain.url, 'anvil': chain.pid, 'pacer': chain._pacer.pid}), flush=True)\n"
        "time.sleep(600)\n"  # stays alive (a stand-in owner) until the test kills it
    )
    owner = subprocess.Popen([sys.executable, "-c", owner_script], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    started = json.loads(owner.stdout.readline())
    try:
        first = int(str(rpc_call(started["url"], "eth_blockNumber")), 16)
        wait_until(  # nothing else mines: anvil runs with --no-mining
            lambda: int(str(rpc_call(started["url"], "eth_blockNumber")), 16) >= first + 3, "the pacer to mine 3 blocks"
        )
        owner.kill()
        owner.wait()
        wait_until(lambda: not _alive(started["pacer"]), "the pacer to exit after its owner", timeout=30, interval=0.1)
        height = int(str(rpc_call(started["url"], "eth_blockNumber")), 16)
        time.sleep(0.6)  # three block times to see an absence (nothing to poll for): slowness cannot fail it
        assert int(str(rpc_call(started["url"], "eth_blockNumber")), 16) == height  # nobody mines any more
    finally:
        owner.kill()
        os.kill(started["anvil"], signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent) counts as gone
    return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def _timestamps(chain: DevChain) -> list[int]:
    head = _block(chain)
    blocks = [rpc_call(chain.url, "eth_getBlockByNumber", [hex(n), False]) for n in range(head + 1)]
    return [int(block["timestamp"], 16) for block in blocks if isinstance(block, dict)]


@pytest.mark.parametrize("block_time", [None, 0.2], ids=["automine", "interval"])
def test_a_clock_moved_forward_never_runs_backwards_after_a_restart(tmp_path: Path, block_time: float | None) -> None:
    """`scf demo` moves the chain's clock 100 days ahead (evm_increaseTime); anvil does not save that offset, so a
    restart resumed at the machine's time and the next block was older than its parent."""
    chain = DevChain(data_dir=tmp_path, port=free_port(), block_time=block_time, state_history=8)
    ahead = 100 * 86_400
    with chain:
        rpc_call(chain.url, "evm_increaseTime", [ahead])
        rpc_call(chain.url, "evm_mine")
        moved = _timestamps(chain)[-1]
    assert moved >= time.time() + ahead - 60
    for _restart in range(2):
        with chain:
            rpc_call(chain.url, "evm_mine")
            stamps = _timestamps(chain)
    assert stamps == sorted(stamps), stamps
    assert stamps[-1] >= moved
