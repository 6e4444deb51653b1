"""Cash: balances and history, deposits (mint) and withdrawals (burn) by financiers, member transfers.

Withdrawals: `POST /v1/cash/burn` burns the calling financier's own balance (cash a member wants out
is first transferred to its bank, which then burns it against the payout reference).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from web3 import Web3

from api.deps import CurrentPrincipal, CustodyDep, DbSession, Ledger, Operator, Principal, Writes
from api.hexes import prefixed
from api.ledger import LedgerHandle
from api.problems import catalogued
from api.schemas import Page
from api.schemas_cash import (
    BurnIn,
    CashBalanceOut,
    CashMoveOut,
    CashTransferIn,
    CashWriteOut,
    MintCeilingIn,
    MintCeilingOut,
    MintIn,
)
from api.services.common import acting_account, member_or_404, sees_everything
from api.writes import WriteContext
from chain.node.roles import Roles
from chain.readmodel.store import CashMove, EventRecord, Member

router = APIRouter(prefix="/v1/cash", tags=["cash"])


def reference_hash(reference: str) -> bytes:
    """The bytes32 stored on chain for a deposit or withdrawal reference."""
    return bytes(Web3.keccak(text=reference))


def balance_out(ledger: LedgerHandle, member: Member, currency: str) -> CashBalanceOut:
    account = Web3.to_checksum_address(member.account)
    balance = ledger.cash.balance_of(account)
    return CashBalanceOut(member_id=member.id, account=account, balance=balance, currency=currency)


def _checksum(account: str) -> str:
    return str(Web3.to_checksum_address(account))


def account_owners(session: Session, accounts: set[str]) -> dict[str, int]:
    """Account -> member id, for current and rotated-out accounts (the read model stores checksummed ones)."""
    owners = {m.account: m.id for m in session.scalars(select(Member).where(Member.account.in_(accounts)))}
    for record in session.scalars(select(EventRecord).where(EventRecord.name == "MemberAccountRotated")):
        old = _checksum(str(record.args["oldAccount"]))
        if old in accounts:
            owners.setdefault(old, int(record.args["memberId"]))
    return owners


def accounts_of(session: Session, member: Member) -> set[str]:
    """Current and rotated-out accounts of a member (cash history spans key rotations)."""
    accounts = {_checksum(member.account)}
    for record in session.scalars(select(EventRecord).where(EventRecord.name == "MemberAccountRotated")):
        if int(record.args.get("memberId", 0)) == member.id:
            accounts.add(_checksum(str(record.args["oldAccount"])))
            accounts.add(_checksum(str(record.args["newAccount"])))
    return accounts


def _subject(session: Session, principal: Principal, member_id: int | None) -> Member:
    """The member whose cash is read: the caller, or any member for the operator and auditors."""
    if member_id is None or member_id == principal.member_id:
        if principal.is_operator:
            raise catalogued(422, "validation-error", "validation-error.operator-has-no")
        return member_or_404(session, principal.member_id)
    if not sees_everything(principal):
        raise catalogued(403, "forbidden", "forbidden.member-cash-yours", {"member_id": member_id})
    return member_or_404(session, member_id)


@router.get("/balance", summary="My cash balance (operator and auditors: any member's via member_id)")
def get_balance(
    session: DbSession,
    principal: CurrentPrincipal,
    request: Request,
    ledger: Ledger,
    member_id: Annotated[int | None, Query(ge=1)] = None,
) -> CashBalanceOut:
    member = _subject(session, principal, member_id)
    return balance_out(ledger, member, request.app.state.settings.currency)


@router.get("/moves", summary="My cash history: deposits, withdrawals and transfers, oldest first")
def list_moves(
    session: DbSession,
    principal: CurrentPrincipal,
    request: Request,
    member_id: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[CashMoveOut]:
    member = _subject(session, principal, member_id)
    accounts = accounts_of(session, member)
    query = (
        select(CashMove)
        .where(CashMove.id > cursor)
        .where(or_(CashMove.from_account.in_(accounts), CashMove.to_account.in_(accounts)))
        .order_by(CashMove.id)
        .limit(limit + 1)
    )
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    currency = request.app.state.settings.currency

    def other_side(move: CashMove) -> str:
        return move.from_account if move.to_account in accounts else move.to_account

    owners = account_owners(session, {other_side(m) for m in rows})
    items = [
        CashMoveOut(
            id=m.id,
            kind=m.kind,
            direction="in" if m.to_account in accounts else "out",
            from_account=m.from_account,
            to_account=m.to_account,
            counterparty_id=owners.get(other_side(m)),
            amount=m.amount,
            currency=currency,
            block_number=m.block_number,
            tx_hash=m.tx_hash,
        )
        for m in rows
    ]
    return Page[CashMoveOut](items=items, next_cursor=str(rows[-1].id) if more else None)


def _respond(request: Request, ctx: WriteContext, ledger: LedgerHandle, member_id: int, status: int) -> tuple[int, Any]:
    ctx.settle_reads()
    with Session(request.app.state.engine) as session:
        member = member_or_404(session, member_id)
        balance = balance_out(ledger, member, request.app.state.settings.currency)
    tx_hash = prefixed(ctx.receipts[-1]["transactionHash"])
    return status, CashWriteOut(balance=balance, tx_hash=tx_hash).model_dump(mode="json")


@router.post("/mint", status_code=201, response_model=CashWriteOut, summary="Financier credits a member's deposit")
def mint(
    body: MintIn,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    account = acting_account(custody, session, principal)
    recipient = member_or_404(session, body.member_id, "recipient")

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, ledger.cash.mint(recipient.account, body.amount, reference_hash(body.reference)))
        return _respond(request, ctx, ledger, recipient.id, 201)

    return writes.run(request, principal.member_id, body.model_dump_json().encode(), ledger, workflow)


@router.post("/burn", response_model=CashWriteOut, summary="Financier burns its own cash on a withdrawal payout")
def burn(
    body: BurnIn,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    account = acting_account(custody, session, principal)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, ledger.cash.burn(account.address, body.amount, reference_hash(body.reference)))
        return _respond(request, ctx, ledger, principal.member_id, 200)

    return writes.run(request, principal.member_id, body.model_dump_json().encode(), ledger, workflow)


@router.post("/transfers", response_model=CashWriteOut, summary="Pay another member")
def transfer(
    body: CashTransferIn,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    account = acting_account(custody, session, principal)
    recipient = member_or_404(session, body.to, "recipient")
    if recipient.id == principal.member_id:
        raise catalogued(422, "self-transfer", "self-transfer.member-cannot-pay")

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, ledger.cash.transfer(recipient.account, body.amount))
        return _respond(request, ctx, ledger, principal.member_id, 200)

    return writes.run(request, principal.member_id, body.model_dump_json().encode(), ledger, workflow)


def _financier_or_problem(session: Session, member_id: int) -> Member:
    member = member_or_404(session, member_id, "financier")
    if not member.roles & Roles.FINANCIER:
        raise catalogued(422, "not-a-financier", "not-a-financier.no-role", {"member_id": member_id})
    return member


def mint_ceiling_out(ledger: LedgerHandle, member_id: int, currency: str) -> MintCeilingOut:
    ceiling, outstanding = ledger.cash.mint_ceiling_of(member_id)
    return MintCeilingOut(
        member_id=member_id,
        ceiling=ceiling,
        outstanding=outstanding,
        available=max(ceiling - outstanding, 0),
        currency=currency,
    )


@router.get(
    "/mint-ceilings/{member_id}",
    summary="A financier's mint ceiling and outstanding amount (the financier itself, the operator and auditors)",
)
def get_mint_ceiling(
    member_id: int, session: DbSession, principal: CurrentPrincipal, request: Request, ledger: Ledger
) -> MintCeilingOut:
    if member_id != principal.member_id and not sees_everything(principal):
        raise catalogued(403, "forbidden", "forbidden.mint-ceiling-not-yours", {"member_id": member_id})
    _financier_or_problem(session, member_id)
    return mint_ceiling_out(ledger, member_id, request.app.state.settings.currency)


@router.post(
    "/mint-ceilings/{member_id}",
    response_model=MintCeilingOut,
    summary="Set a financier's mint ceiling (operator): the most it may have minted and not burned",
)
def set_mint_ceiling(
    member_id: int,
    body: MintCeilingIn,
    request: Request,
    session: DbSession,
    principal: Operator,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    _financier_or_problem(session, member_id)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(custody.operator(), ledger.cash.set_mint_ceiling(member_id, body.ceiling))
        return 200, mint_ceiling_out(ledger, member_id, request.app.state.settings.currency).model_dump(mode="json")

    raw = f"{member_id}:".encode() + body.model_dump_json().encode()
    return writes.run(request, principal.member_id, raw, ledger, workflow)
