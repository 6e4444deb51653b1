"""Self-custody members: challenges that prove control of an address, and the signed transactions they submit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from web3 import Web3
from web3.logs import DISCARD

from api import selfcustody
from api.deps import CurrentPrincipal, DbSession, Ledger, Operator, Principal, Write
from api.problems import catalogued
from api.schemas.cash import RotatedKeyOut
from api.services.members import announce_rotation, member_out
from api.tables import SelfCustodyAccount
from api.writes import WriteContext
from chain.node.client import fund_on_devchain, is_devchain
from chain.readmodel.store import Member

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
    if principal.is_operator:
        raise catalogued(403, "forbidden", "forbidden.operator-key-cannot")
    engine = request.app.state.engine
    target = await run_in_threadpool(selfcustody.accept_signed, engine, principal.member_id, body.raw, body.prepared_id)
    return await selfcustody.redispatch(request, target)


# ------------------------------------------------------------------------------------------ key rotation


class RotationChallengeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_address: str = Field(pattern=ADDRESS, description="the member's new address")


class OwnKeyRotationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_address: str = Field(pattern=ADDRESS)
    challenge_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="from POST .../rotation-challenge")
    old_signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="the challenge signed by the current key")
    new_signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="the challenge signed by the new key")


def _self_custody_member(session: Session, principal: Principal, member_id: int) -> tuple[Member, SelfCustodyAccount]:
    if not principal.is_operator and principal.member_id != member_id:
        raise catalogued(403, "forbidden", "forbidden.only-member-itself")
    member = session.get(Member, member_id)
    if member is None:
        raise catalogued(404, "not-found", "not-found.no-member-id", {"member_id": member_id})
    own = session.scalar(select(SelfCustodyAccount).where(SelfCustodyAccount.member_id == member_id))
    if own is None:
        raise catalogued(409, "not-self-custody", "not-self-custody.member-key-in", {"member_id": member_id})
    return member, own


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
    member, _ = _self_custody_member(session, principal, member_id)
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
def rotate_own_key(
    member_id: int,
    body: OwnKeyRotationIn,
    w: Write,
) -> JSONResponse:
    member, _ = _self_custody_member(w.session, w.principal, member_id)
    engine, ledger, custody, request = w.engine, w.ledger, w.custody, w.request
    new_address = Web3.to_checksum_address(body.new_address)
    old_address = Web3.to_checksum_address(member.account)
    if not w.started(body):  # a retry finds the challenge used and the key moved
        challenge = selfcustody.check_challenge(
            engine, body.challenge_id, new_address, body.new_signature, "rotate", member_id
        )
        selfcustody.check_signature(challenge.message, body.old_signature, old_address, "current key")

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        old: str = ctx.once("old_account", lambda: old_address)

        def take_challenge() -> bool:
            return selfcustody.use_challenge(engine, body.challenge_id)

        ctx.once("challenge", take_challenge)
        if is_devchain(ledger.w3):
            fund_on_devchain(ledger.w3, new_address)
        ctx.transact(custody.operator(), ledger.members.rotate_account(member_id, new_address))
        # the same Transfer announcements and finish as a custodial rotation: a member holding tokens is frozen
        # (MemberRotating) until every note and order moved to the new account was announced
        announce_rotation(request, ctx, ledger, custody.operator(), member_id)

        def move_record() -> bool:
            with Session(engine) as s, s.begin():
                for row in s.scalars(select(SelfCustodyAccount).where(SelfCustodyAccount.member_id == member_id)):
                    row.member_id = None
                s.flush()
                selfcustody.hold_address(s, new_address, member_id)
            return True

        ctx.once("self_custody", move_record)
        receipt = ctx.transact(custody.operator(), ledger.cash.recover_rotated_balance(old))
        events = ledger.contract("CashToken").events.RotatedBalanceRecovered().process_receipt(receipt, errors=DISCARD)
        recovered = int(events[0]["args"]["amount"]) if events else 0

        def build(_s: Session, now_member: Member) -> tuple[int, Any]:
            out = RotatedKeyOut(member=member_out(now_member, True), old_account=old, recovered_cash=recovered)
            return 200, out.model_dump(mode="json")

        return ctx.indexed(Member, member_id, "member-indexed-yet", {"member_id": member_id}, build)

    return w.run(body, workflow)
