"""The eth-abi event decoders (chain/node/events.py) give what web3's contract event objects give, for every event
of every deployed contract, on random argument values; web3 stays the reference."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi.abi import encode
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3

from chain.node.abi import DEPLOYED
from chain.node.artifacts import load_artifacts
from chain.node.events import event_decoders

ADDRESS = to_checksum_address("0x" + "5a" * 20)
ARTIFACTS = load_artifacts()
EVENTS = [
    (contract, entry)
    for contract in DEPLOYED
    for entry in ARTIFACTS[contract].abi
    if entry.get("type") == "event" and not entry.get("anonymous")
]


def _value(type_str: str) -> st.SearchStrategy[Any]:
    if type_str == "address":
        return st.binary(min_size=20, max_size=20).map(to_checksum_address)
    if type_str == "bool":
        return st.booleans()
    if type_str == "string":
        return st.text(max_size=80)
    if type_str == "bytes":
        return st.binary(max_size=80)
    if type_str.startswith("bytes"):
        size = int(type_str[5:])
        return st.binary(min_size=size, max_size=size)
    bits = int(type_str.removeprefix("uint").removeprefix("int") or 256)
    if type_str.startswith("int"):
        return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return st.integers(0, 2**bits - 1)


def _log(entry: dict[str, Any], topic: bytes, values: list[Any]) -> dict[str, Any]:
    """The log web3's `get_logs`/receipt gives for an event with `values` (ABI order)."""
    topics = [HexBytes(topic)]
    data_types, data_values = [], []
    for param, value in zip(entry["inputs"], values, strict=True):
        if param["indexed"]:
            if param["type"] in ("string", "bytes"):
                raw = value.encode() if isinstance(value, str) else value
                topics.append(HexBytes(Web3.keccak(raw)))
            else:
                topics.append(HexBytes(encode([param["type"]], [value])))
        else:
            data_types.append(param["type"])
            data_values.append(value)
    return {
        "address": ADDRESS,
        "topics": topics,
        "data": HexBytes(encode(data_types, data_values)),
        "blockNumber": 7,
        "blockHash": HexBytes(b"\x01" * 32),
        "transactionHash": HexBytes(b"\x02" * 32),
        "transactionIndex": 0,
        "logIndex": 3,
        "removed": False,
    }


def test_every_deployed_event_has_a_fast_decoder() -> None:
    """None of the deployed contracts' events is left to web3 (the write path decodes all of them with eth-abi)."""
    for contract in DEPLOYED:
        events = {entry["name"] for entry in ARTIFACTS[contract].abi if entry.get("type") == "event"}
        assert set(event_decoders(ARTIFACTS[contract].abi)) == events, contract


@pytest.mark.parametrize(("contract", "entry"), EVENTS, ids=[f"{c}.{e['name']}" for c, e in EVENTS])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_decoded_args_are_web3s(contract: str, entry: dict[str, Any], data: st.DataObject) -> None:
    handle = Web3().eth.contract(address=ADDRESS, abi=ARTIFACTS[contract].abi)
    web3_event = handle.events[entry["name"]]()
    decoder = event_decoders(ARTIFACTS[contract].abi)[entry["name"]]
    assert decoder.topic == bytes(HexBytes(web3_event.topic))
    values = [data.draw(_value(param["type"]), label=param["name"]) for param in entry["inputs"]]
    log = _log(entry, decoder.topic, values)
    expected = dict(web3_event.process_log(log)["args"])
    got = decoder.args(log)
    assert got == expected
    assert list(got) == list(expected)  # the same order
    assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]


def test_tuple_and_array_events_are_left_to_web3() -> None:
    abi = [
        {
            "type": "event",
            "name": "A",
            "anonymous": False,
            "inputs": [{"name": "x", "type": "uint256[]", "indexed": False}],
        },
        {"type": "event", "name": "B", "anonymous": False, "inputs": [{"name": "x", "type": "uint8", "indexed": True}]},
        {"type": "event", "name": "C", "anonymous": False, "inputs": [{"name": "x", "type": "uint8", "indexed": True}]},
        {"type": "event", "name": "C", "anonymous": False, "inputs": [{"name": "y", "type": "bool", "indexed": True}]},
    ]
    assert set(event_decoders(abi)) == {"B"}
