"""Self-custody members: challenges that prove control of an address, and the signed transactions they submit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api import selfcustody
from api.deps import CurrentPrincipal, Ledger, Operator

router = APIRouter(prefix="/v1", tags=["self-custody"])

ADDRESS = r"^0x[0-9a-fA-F]{40}$"


class ChallengeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(pattern=ADDRESS, description="the address the member controls")


class ChallengeOut(BaseModel):
    challenge_id: str
    address: str
    message: str = Field(description="sign this text with personal_sign (EIP-191)")
    expires_at: str


class SignedTxIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    raw: str = Field(pattern=r"^0x[0-9a-fA-F]+$", max_length=262_144, description="the signed transaction")
    prepared_id: str | None = Field(None, pattern=r"^[0-9a-f]{32}$", description="from the 202 answer")


@router.post(
    "/members/challenge",
    status_code=201,
    response_model=ChallengeOut,
    summary="A single-use message a self-custody member's address signs to be admitted (operator)",
)
def member_challenge(body: ChallengeIn, request: Request, _principal: Operator, ledger: Ledger) -> dict[str, Any]:
    chain_id = int(ledger.w3.eth.chain_id)
    return selfcustody.issue_challenge(request.app.state.engine, chain_id, body.address, "admit")


@router.post(
    "/transactions",
    summary="A self-custody member submits the transaction it signed; answered as the write that prepared it",
    responses={202: {"description": "the request needs another signed transaction"}},
)
async def submit_transaction(body: SignedTxIn, request: Request, principal: CurrentPrincipal) -> Response:
    engine = request.app.state.engine
    target = await run_in_threadpool(selfcustody.accept_signed, engine, principal.member_id, body.raw, body.prepared_id)
    return await selfcustody.redispatch(request, target)


@router.get("/transactions/{prepared_id}", summary="A transaction prepared for the calling member")
def get_prepared(prepared_id: str, request: Request, principal: CurrentPrincipal) -> JSONResponse:
    return JSONResponse(selfcustody.prepared_out(request.app.state.engine, principal.member_id, prepared_id))
