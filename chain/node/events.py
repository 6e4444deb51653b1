"""Event logs decoded with eth-abi from decoders built once per contract ABI.

web3's contract event objects (`contract.events.X().process_log`) rebuild their ABI lookups and normalisers
on every use: about 3% of a split's server CPU went there, to read one id out of its receipt. An `EventDecoder`
keeps, per event of an ABI, its topic, its indexed and data types and its argument names, and gives the same
values as web3: ints, bools, checksummed addresses, bytes, strings; an indexed dynamic value (string, bytes) is
its topic, as in web3. Events with tuple or array arguments are left out (`decoder.get` is None for them): none of
the deployed contracts emits one, and web3 spells those differently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode
from eth_utils.abi import event_abi_to_log_topic

from chain.node.abi import checksum_address, hex_bytes

_DYNAMIC = ("string", "bytes")


def _plain(type_str: str) -> bool:
    return "[" not in type_str and "(" not in type_str and not type_str.startswith("tuple")


@dataclass(frozen=True)
class EventDecoder:
    """One event of an ABI: `topic` (its topic 0) and `args(log)`, the log's arguments by name."""

    name: str
    topic: bytes
    _indexed: tuple[tuple[str, str], ...]  # (name, type) of the topics after topic 0, in order
    _data_names: tuple[str, ...]
    _data_types: tuple[str, ...]
    _order: tuple[str, ...]  # every argument name in ABI order (web3's order of `args`)

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> EventDecoder | None:
        inputs: Sequence[Mapping[str, Any]] = entry.get("inputs", ())
        if not all(_plain(str(param["type"])) for param in inputs):
            return None
        return cls(
            name=str(entry["name"]),
            topic=bytes(event_abi_to_log_topic(dict(entry))),  # type: ignore[arg-type]
            _indexed=tuple((str(p["name"]), str(p["type"])) for p in inputs if p.get("indexed")),
            _data_names=tuple(str(p["name"]) for p in inputs if not p.get("indexed")),
            _data_types=tuple(str(p["type"]) for p in inputs if not p.get("indexed")),
            _order=tuple(str(p["name"]) for p in inputs),
        )

    def args(self, log: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments of `log` (one of this event's: topic 0 checked by the caller), by name, in ABI order."""
        topics = log["topics"]
        if len(topics) != len(self._indexed) + 1:
            raise ValueError(f"{self.name}: expected {len(self._indexed) + 1} topics, got {len(topics)}")
        values: dict[str, Any] = {}
        for (name, type_str), topic in zip(self._indexed, topics[1:], strict=True):
            raw = hex_bytes(topic)
            values[name] = raw if type_str in _DYNAMIC else _normal(type_str, decode([type_str], raw)[0])
        if self._data_types:
            data = decode(self._data_types, hex_bytes(log["data"]))
            for name, type_str, value in zip(self._data_names, self._data_types, data, strict=True):
                values[name] = _normal(type_str, value)
        return {name: values[name] for name in self._order}


def _normal(type_str: str, value: Any) -> Any:
    return checksum_address(value) if type_str == "address" else value


def event_decoders(abi: Sequence[Mapping[str, Any]]) -> dict[str, EventDecoder]:
    """The decoders of the events of `abi` with plain (non-tuple, non-array) arguments and a name of their own, by
    name (the others: None, for web3)."""
    events = [entry for entry in abi if entry.get("type") == "event" and not entry.get("anonymous")]
    names = [str(entry["name"]) for entry in events]
    decoders: dict[str, EventDecoder] = {}
    for entry in events:
        decoder = EventDecoder.from_entry(entry)
        if decoder is not None and names.count(decoder.name) == 1:  # an overloaded name is left to web3
            decoders[decoder.name] = decoder
    return decoders


__all__ = ["EventDecoder", "event_decoders"]
