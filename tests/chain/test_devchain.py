from __future__ import annotations

import socket
from pathlib import Path

import pytest

from chain.devchain import DevChain, free_port, rpc_call
from chain.errors import PortInUseError, StateFileError

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
