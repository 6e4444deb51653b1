"""Cash: balances and history, deposits (mint) and withdrawals (burn) by financiers, member transfers, and the
financiers' mint ceilings: the rules, answers and workflows.

Withdrawals: `POST /v1/cash/burn` burns the calling financier's own balance (cash a member wants out
is first transferred to its bank, which then burns it against the payout reference).
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from web3 import Web3

from api.deps import Principal, WriteDeps
from api.hexes import prefixed
from api.ledger import LedgerHandle
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
from api.services.common import Window, member_or_404, paginate, sees_everything
from api.writes import WriteContext
from chain.node.roles import Roles
from chain.readmodel.store import CashMove, EventRecord, Member


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


def subject(session: Session, principal: Principal, member_id: int | None) -> Member:
    """The member whose cash is read: the caller, or any member for the operator and auditors."""
    if member_id is None or member_id == principal.member_id:
        if principal.is_operator:
            raise catalogued(422, "validation-error", "validation-error.operator-has-no")
        return member_or_404(session, principal.member_id)
    if not sees_everything(principal):
        raise catalogued(403, "forbidden", "forbidden.member-cash-yours", {"member_id": member_id})
    return member_or_404(session, member_id)


def moves_page(
    session: Session, principal: Principal, member_id: int | None, currency: str, cursor: int, limit: int
) -> Window[CashMoveOut]:
    """A page of a member's cash history (the caller's, or any member's for the operator and auditors), across
    its key rotations, each move with its direction and counterparty."""
    member = subject(session, principal, member_id)
    accounts = accounts_of(session, member)
    query = select(CashMove).where(or_(CashMove.from_account.in_(accounts), CashMove.to_account.in_(accounts)))
    page = paginate(session, query, CashMove.id, cursor, limit)
    rows = page.rows

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
    return Window(items, page.next_cursor)


def _respond(w: WriteDeps, ctx: WriteContext, member_id: int, status: int) -> tuple[int, Any]:
    balance = ctx.read(lambda session: balance_out(w.ledger, member_or_404(session, member_id), w.currency))
    tx_hash = prefixed(ctx.receipts[-1]["transactionHash"])
    return status, CashWriteOut(balance=balance, tx_hash=tx_hash).model_dump(mode="json")


def mint(w: WriteDeps, body: MintIn) -> JSONResponse:
    """A financier credits a member's deposit (201, the member's balance)."""
    account = w.account()
    recipient = member_or_404(w.session, body.member_id, "recipient")

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, w.ledger.cash.mint(recipient.account, body.amount, reference_hash(body.reference)))
        return _respond(w, ctx, recipient.id, 201)

    return w.run(body, workflow)


def burn(w: WriteDeps, body: BurnIn) -> JSONResponse:
    """A financier burns its own cash on a withdrawal payout."""
    account = w.account()

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, w.ledger.cash.burn(account.address, body.amount, reference_hash(body.reference)))
        return _respond(w, ctx, w.principal.member_id, 200)

    return w.run(body, workflow)


def transfer(w: WriteDeps, body: CashTransferIn) -> JSONResponse:
    """A member pays another member."""
    account = w.account()
    recipient = member_or_404(w.session, body.to, "recipient")
    if recipient.id == w.principal.member_id:
        raise catalogued(422, "self-transfer", "self-transfer.member-cannot-pay")

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, w.ledger.cash.transfer(recipient.account, body.amount))
        return _respond(w, ctx, w.principal.member_id, 200)

    return w.run(body, workflow)


def financier_or_problem(session: Session, member_id: int) -> Member:
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


def set_mint_ceiling(w: WriteDeps, member_id: int, body: MintCeilingIn) -> JSONResponse:
    """The operator sets a financier's mint ceiling: the most it may have minted and not burned."""
    financier_or_problem(w.session, member_id)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(w.custody.operator(), w.ledger.cash.set_mint_ceiling(member_id, body.ceiling))
        return 200, mint_ceiling_out(w.ledger, member_id, w.currency).model_dump(mode="json")

    return w.run(f"{member_id}:" + body.model_dump_json(), workflow)
