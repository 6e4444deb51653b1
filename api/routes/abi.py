"""`GET /v1/abi`: the deployed contracts' ABIs with their custom errors, public (no key needed).

The ABIs are public information (anyone with the contracts' source has them); publishing them lets a client
decode a revert such as `0xc74f99ae...` into `NotAMember(address)` without the repository. They come from the
compiled artifacts the service itself deploys and decodes with (`build/contracts`, see chain/devnet/compile.py).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.problems import catalogued
from chain.node.abi import DEPLOYED, error_signature, selector_of
from chain.node.artifacts import BUILD_DIR, STAMP_FILE, load_artifacts

router = APIRouter(prefix="/v1/abi", tags=["abi"])


class AbiParamOut(BaseModel):
    """One parameter of an ABI entry (Solidity ABI JSON)."""

    model_config = ConfigDict(populate_by_name=True)

    name: str
    type: str
    internal_type: str | None = Field(default=None, alias="internalType")
    indexed: bool | None = None
    components: list[AbiParamOut] | None = None


class AbiEntryOut(BaseModel):
    """One entry of a contract's ABI: a function, an event, a custom error or the constructor."""

    model_config = ConfigDict(populate_by_name=True)

    type: Literal["function", "event", "error", "constructor", "fallback", "receive"]
    name: str | None = None
    inputs: list[AbiParamOut] | None = None
    outputs: list[AbiParamOut] | None = None
    state_mutability: str | None = Field(default=None, alias="stateMutability")
    anonymous: bool | None = None


class ErrorSelectorOut(BaseModel):
    """A custom error with its 4-byte selector, the first four bytes of a revert's data."""

    selector: str = Field(pattern="^0x[0-9a-f]{8}$", examples=["0xc74f99ae"])
    signature: str = Field(examples=["NotAMember(address)"])


class ContractAbiOut(BaseModel):
    name: str
    abi: list[AbiEntryOut]
    errors: list[ErrorSelectorOut] = Field(description="the custom errors the ABI declares, by selector")


class AbiOut(BaseModel):
    contracts: list[ContractAbiOut]


_cache: dict[str, AbiOut] = {}


def _published() -> AbiOut:
    """The deployed contracts' ABIs, read once per compilation (the build stamp names it)."""
    stamp_file = BUILD_DIR / STAMP_FILE
    stamp = stamp_file.read_text().strip() if stamp_file.exists() else ""
    if stamp in _cache:
        return _cache[stamp]
    artifacts = load_artifacts()
    missing = [name for name in DEPLOYED if name not in artifacts]
    if not stamp or missing:
        if missing:
            raise catalogued(503, "abi-unavailable", "abi-unavailable.missing", {"missing": ", ".join(missing)})
        raise catalogued(503, "abi-unavailable", "abi-unavailable.no-stamp")
    contracts = []
    for name in DEPLOYED:
        abi: list[dict[str, Any]] = artifacts[name].abi
        signatures = sorted({error_signature(e) for e in abi if e.get("type") == "error"})
        contracts.append(
            ContractAbiOut(
                name=name,
                abi=[AbiEntryOut.model_validate(entry) for entry in abi],
                errors=[ErrorSelectorOut(selector=selector_of(s), signature=s) for s in signatures],
            )
        )
    _cache.clear()
    _cache[stamp] = AbiOut(contracts=contracts)
    return _cache[stamp]


@router.get("", response_model=AbiOut, response_model_exclude_none=True, response_model_by_alias=True)
def get_abi() -> AbiOut:
    """The ABIs of MemberRegistry, CashToken, ReceivableNotes, OrderBook, Financing and Settlement, each with its
    custom errors and their selectors. No key needed: the ABIs are public."""
    return _published()
