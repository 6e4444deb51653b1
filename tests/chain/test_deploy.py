from __future__ import annotations

import json

from web3 import Web3

from api.settings import Settings
from chain.devnet.deploy import SUITE
from chain.node.deployment import load_deployment, record_path
from scripts.runtime import Ledger, prepare_ledger


def test_deploy_writes_record_with_code_hashes(ledger: Ledger, settings: Settings) -> None:
    record = json.loads(record_path(settings.data_dir, 31337).read_text())
    assert record["chainId"] == 31337
    assert set(record["contracts"]) == {name for name, _ in SUITE}
    for name, entry in record["contracts"].items():
        code = bytes(ledger.w3.eth.get_code(Web3.to_checksum_address(entry["address"])))
        assert code, f"{name} has no code"
        assert Web3.keccak(code).hex() == entry["codeHash"]
        assert entry["block"] >= record["block"]


def test_deploy_is_idempotent(ledger: Ledger, settings: Settings) -> None:
    block_before = ledger.w3.eth.block_number
    again = prepare_ledger(settings)
    assert again.reused
    assert again.deployment == load_deployment(settings.data_dir, 31337)
    assert {n: c.address for n, c in again.deployment.contracts.items()} == {
        n: c.address for n, c in ledger.deployment.contracts.items()
    }
    assert ledger.w3.eth.block_number == block_before  # no transaction was sent


def test_registry_trusts_the_ledger_contracts(ledger: Ledger) -> None:
    registry = ledger.w3.eth.contract(
        address=Web3.to_checksum_address(ledger.deployment.address("MemberRegistry")),
        abi=ledger.artifacts["MemberRegistry"].abi,
    )
    for name in ("ReceivableNotes", "OrderBook", "Financing", "Settlement", "CashToken"):
        assert registry.functions.isLedgerContract(ledger.deployment.address(name)).call()
    assert registry.functions.isOperator(ledger.operator.address).call()
