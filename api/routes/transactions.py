"""Self-custody members: challenges that prove control of an address, and the signed transactions they submit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api import selfcustody
from api.deps import CurrentPrincipal, DbSession, Ledger, Operator, Write
from api.problems import catalogued
from api.schemas.cash import RotatedKeyOut
from api.schemas.selfcustody import ChallengeIn, ChallengeOut, OwnKeyRotationIn, RotationChallengeIn, SignedTxIn
from api.services import members

router = APIRouter(prefix="/v1", tags=["self-custody"])


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
    if principal.is_operator:
        raise catalogued(403, "forbidden", "forbidden.operator-key-cannot")
    engine = request.app.state.engine
    target = await run_in_threadpool(selfcustody.accept_signed, engine, principal.member_id, body.raw, body.prepared_id)
    return await selfcustody.redispatch(request, target)


# ------------------------------------------------------------------------------------------ key rotation


@router.post(
    "/members/{member_id}/rotation-challenge",
    status_code=201,
    response_model=ChallengeOut,
    summary="A single-use message both the current and the new key of a self-custody member sign to rotate it",
)
def rotation_challenge(
    member_id: int,
    body: RotationChallengeIn,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
) -> dict[str, Any]:
    member, _ = members.self_custody_member(session, principal, member_id)
    engine = request.app.state.engine
    out = selfcustody.issue_challenge(
        engine, int(ledger.w3.eth.chain_id), body.new_address, "rotate", member_id, old_address=member.account
    )
    return out


@router.post(
    "/members/{member_id}/rotate-own-key",
    response_model=RotatedKeyOut,
    summary="Rotate a self-custody member's account, proved by signatures of its current and its new key (audited)",
)
def rotate_own_key(member_id: int, body: OwnKeyRotationIn, w: Write) -> JSONResponse:
    return members.rotate_own_key(w, member_id, body)
