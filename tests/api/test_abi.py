"""`GET /v1/abi`: the deployed contracts' ABIs with their custom errors, public, enough to decode a real revert."""

from __future__ import annotations

import secrets

import httpx
from eth_abi import decode
from eth_account import Account
from web3 import Web3

from chain.node.abi import DEPLOYED
from scripts.runtime import Ledger
from tests.conftest import ok


def _revert_data(ledger: Ledger, contract: str, data: str, sender: str) -> str:
    """The data of a real revert: an eth_call the contract refuses."""
    to = ledger.deployment.contracts[contract].address
    answer = ledger.w3.provider.make_request("eth_call", [{"from": sender, "to": to, "data": data}, "latest"])  # type: ignore[arg-type]
    error = answer.get("error")
    assert error is not None, answer
    return str(error["data"])


def test_the_abi_is_public_and_carries_every_custom_error(http: httpx.Client) -> None:
    body = ok(http.get("/v1/abi"))  # no Authorization header
    by_name = {c["name"]: c for c in body["contracts"]}
    assert list(by_name) == DEPLOYED
    registry = by_name["MemberRegistry"]
    assert {"selector": "0xc74f99ae", "signature": "NotAMember(address)"} in registry["errors"]
    declared = [e for e in registry["abi"] if e["type"] == "error" and e["name"] == "NotAMember"]
    assert declared == [
        {
            "type": "error",
            "name": "NotAMember",
            "inputs": [{"name": "account", "type": "address", "internalType": "address"}],
        }
    ]
    for contract in by_name.values():  # every error of the ABI is listed with its selector, and nothing else
        assert len(contract["errors"]) == len({e["name"] for e in contract["abi"] if e["type"] == "error"})
        assert all("outputs" not in e for e in contract["abi"] if e["type"] in ("event", "error"))


def test_a_real_revert_decodes_with_the_served_abi(http: httpx.Client, ledger: Ledger) -> None:
    """A stranger calls CashToken.mint: the registry's NotAMember(stranger) reaches the caller, and the served ABI
    alone names it."""
    stranger = Account.from_key(secrets.token_bytes(32)).address
    token = ledger.w3.eth.contract(abi=ledger.artifacts["CashToken"].abi)
    call = token.encode_abi("mint", args=[stranger, 1, b"\x00" * 32])
    data = _revert_data(ledger, "CashToken", call, stranger)

    served = ok(http.get("/v1/abi"))
    selectors = {e["selector"]: e["signature"] for c in served["contracts"] for e in c["errors"]}
    signature = selectors[data[:10]]
    assert signature == "NotAMember(address)"
    types = signature[signature.index("(") + 1 : -1].split(",")
    (account,) = decode(types, bytes.fromhex(data[10:]))
    assert Web3.to_checksum_address(account) == stranger


def test_the_abi_is_documented_in_the_openapi_schema(http: httpx.Client) -> None:
    operation = ok(http.get("/openapi.json"))["paths"]["/v1/abi"]["get"]
    assert "security" not in operation
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/AbiOut"}
