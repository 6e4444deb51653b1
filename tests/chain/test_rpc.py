"""chain/node/rpc.py against a real anvil: answers, errors, and receipts shaped exactly like web3's."""

from __future__ import annotations

import pytest
from hexbytes import HexBytes

from chain.devnet.devchain import free_port
from chain.node.rpc import JsonRpc, ProviderRpc, RpcError, RpcTransportError, format_receipt
from scripts.runtime import Ledger


def test_call_returns_the_nodes_result(ledger: Ledger) -> None:
    rpc = JsonRpc(ledger.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    assert int(rpc.call("eth_chainId"), 16) == ledger.w3.eth.chain_id
    assert int(rpc.call("eth_blockNumber"), 16) >= 1


def test_errors_carry_code_message_and_revert_data(ledger: Ledger) -> None:
    rpc = JsonRpc(ledger.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    with pytest.raises(RpcError) as refused:
        rpc.call("eth_sendRawTransaction", "0x1234")
    assert refused.value.message and not refused.value.is_revert
    with pytest.raises(RpcError) as unknown:
        rpc.call("no_such_method")
    assert unknown.value.code is not None


def test_batch_answers_come_back_in_id_order_with_each_error_in_place(ledger: Ledger) -> None:
    rpc = JsonRpc(ledger.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    answers = rpc.batch(
        [
            {"jsonrpc": "2.0", "id": 2, "method": "eth_chainId", "params": []},
            {"jsonrpc": "2.0", "id": 0, "method": "eth_blockNumber", "params": []},
            {"jsonrpc": "2.0", "id": 1, "method": "no_such_method", "params": []},
        ]
    )
    assert [a["id"] for a in answers] == [0, 1, 2]
    assert int(answers[0]["result"], 16) >= 1 and "error" in answers[1]
    assert int(answers[2]["result"], 16) == ledger.w3.eth.chain_id


def test_no_node_is_a_transport_error() -> None:
    rpc = JsonRpc(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(RpcTransportError):
        rpc.call("eth_blockNumber")
    with pytest.raises(OSError):  # what the signer catches as "no answer"
        rpc.call("eth_blockNumber")


def test_format_receipt_equals_web3s_receipt(ledger: Ledger) -> None:
    w3 = ledger.w3
    rpc = JsonRpc(w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    compared = 0
    for number in range(1, w3.eth.block_number + 1):
        for entry in w3.eth.get_block(number)["transactions"]:
            tx_hash = HexBytes(entry)  # type: ignore[arg-type]  # hashes, not full transactions, by default
            raw = rpc.call("eth_getTransactionReceipt", tx_hash.to_0x_hex())
            ours = format_receipt(raw)
            theirs = w3.eth.get_transaction_receipt(tx_hash)
            assert dict(ours) == dict(theirs)
            assert [dict(entry) for entry in ours["logs"]] == [dict(entry) for entry in theirs["logs"]]
            compared += 1 if theirs["logs"] else 0
    assert compared >= 3  # the deployment's transactions emit events


def test_provider_fallback_answers_like_json_rpc(ledger: Ledger) -> None:
    """The signer's client for nodes that are not plain HTTP goes through web3's provider, same results and errors."""
    fallback = ProviderRpc(ledger.w3)
    assert int(fallback.call("eth_chainId"), 16) == ledger.w3.eth.chain_id
    with pytest.raises(RpcError) as refused:
        fallback.call("eth_sendRawTransaction", "0x1234")
    assert refused.value.message and not refused.value.is_revert


@pytest.mark.parametrize("client", ["json", "provider"])
def test_calls_answer_in_order_in_one_round_trip_and_raise_the_first_error(ledger: Ledger, client: str) -> None:
    """`calls` (the indexer's two round trips per pass): results in the order asked, on both clients alike."""
    w3 = ledger.w3
    rpc = JsonRpc(w3.provider.endpoint_uri) if client == "json" else ProviderRpc(w3)  # type: ignore[attr-defined]
    head = w3.eth.block_number
    number, block, chain_id = rpc.calls(
        ("eth_blockNumber", []), ("eth_getBlockByNumber", [hex(head), False]), ("eth_chainId", [])
    )
    assert int(number, 16) >= head and int(block["number"], 16) == head and int(chain_id, 16) == w3.eth.chain_id
    assert block["hash"] == w3.eth.get_block(head)["hash"].to_0x_hex()
    assert rpc.calls() == [] and rpc.calls(("eth_getBlockByNumber", [hex(head + 10_000), False])) == [None]
    with pytest.raises(RpcError) as refused:
        rpc.calls(("eth_chainId", []), ("no_such_method", []), ("eth_sendRawTransaction", ["0x1234"]))
    assert refused.value.method == "no_such_method"
