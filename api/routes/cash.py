"""Cash routes: balances and history, deposits (mint) and withdrawals (burn) by financiers, member transfers,
mint ceilings.

The rules and answers are in api/services/cash.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.deps import CurrentPrincipal, DbSession, Ledger, OperatorWrite, Write
from api.problems import catalogued
from api.schemas.cash import (
    BurnIn,
    CashBalanceOut,
    CashMoveOut,
    CashTransferIn,
    CashWriteOut,
    MintCeilingIn,
    MintCeilingOut,
    MintIn,
)
from api.schemas.core import Page
from api.services import cash
from api.services.common import sees_everything

router = APIRouter(prefix="/v1/cash", tags=["cash"])


@router.get("/balance", summary="My cash balance (operator and auditors: any member's via member_id)")
def get_balance(
    session: DbSession,
    principal: CurrentPrincipal,
    request: Request,
    ledger: Ledger,
    member_id: Annotated[int | None, Query(ge=1)] = None,
) -> CashBalanceOut:
    member = cash.subject(session, principal, member_id)
    return cash.balance_out(ledger, member, request.app.state.settings.currency)


@router.get("/moves", summary="My cash history: deposits, withdrawals and transfers, oldest first")
def list_moves(
    session: DbSession,
    principal: CurrentPrincipal,
    request: Request,
    member_id: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[CashMoveOut]:
    currency = request.app.state.settings.currency
    page = cash.moves_page(session, principal, member_id, currency, cursor, limit)
    return Page[CashMoveOut](items=page.rows, next_cursor=page.next_cursor)


@router.post("/mint", status_code=201, response_model=CashWriteOut, summary="Financier credits a member's deposit")
def mint(body: MintIn, w: Write) -> JSONResponse:
    return cash.mint(w, body)


@router.post("/burn", response_model=CashWriteOut, summary="Financier burns its own cash on a withdrawal payout")
def burn(body: BurnIn, w: Write) -> JSONResponse:
    return cash.burn(w, body)


@router.post("/transfers", response_model=CashWriteOut, summary="Pay another member")
def transfer(body: CashTransferIn, w: Write) -> JSONResponse:
    return cash.transfer(w, body)


@router.get(
    "/mint-ceilings/{member_id}",
    summary="A financier's mint ceiling and outstanding amount (the financier itself, the operator and auditors)",
)
def get_mint_ceiling(
    member_id: int, session: DbSession, principal: CurrentPrincipal, request: Request, ledger: Ledger
) -> MintCeilingOut:
    if member_id != principal.member_id and not sees_everything(principal):
        raise catalogued(403, "forbidden", "forbidden.mint-ceiling-not-yours", {"member_id": member_id})
    cash.financier_or_problem(session, member_id)
    return cash.mint_ceiling_out(ledger, member_id, request.app.state.settings.currency)


@router.post(
    "/mint-ceilings/{member_id}",
    response_model=MintCeilingOut,
    summary="Set a financier's mint ceiling (operator): the most it may have minted and not burned",
)
def set_mint_ceiling(member_id: int, body: MintCeilingIn, w: OperatorWrite) -> JSONResponse:
    return cash.set_mint_ceiling(w, member_id, body)
