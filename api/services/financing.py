"""Financing: the rules and answers of factoring offers (atomic delivery-versus-payment), recourse claims and
order-financing loans.

Only the parties to an offer, purchase or loan (and auditors / the operator, for reads) see it; anyone else
gets 404 so that ids do not leak. Writes are signed with the calling member's custodial key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from api.deps import Principal, WriteDeps
from api.ledger import LedgerHandle
from api.problems import Problem, catalogued
from api.schemas.financing import LoanOut, MakeOfferIn, OfferOut, OpenLoanIn, PurchaseOut
from api.services.common import as_utc, end_of_day_utc, event_args, iso_date, iso_time, sees_everything
from api.services.visibility import Views, Visibility, display_names, request_secret
from api.tables import FinancingRequest, FinancingRequestOffer
from api.writes import WriteContext
from chain.node.contracts import ContractCall, Financing
from chain.node.roles import Roles
from chain.readmodel.store import Loan, Note, Offer, Order, Purchase, Receivable

CONTRACT = "Financing"

FinancingCall = Callable[[Financing, int], ContractCall]


def _not_found(what: str, ident: int) -> Problem:
    return catalogued(404, "not-found", "not-found.no-object", {"what_term": what, "ident": ident})


def _view(ledger: LedgerHandle | None, read: Callable[[Financing], int]) -> int | None:
    """A uint view of the Financing contract (quote, amountOwed); None when it reverts or the chain is down."""
    if ledger is None:
        return None
    try:
        return read(ledger.financing)
    except Exception:  # a closed offer / loan, or the chain is unreachable: no live figure
        return None


def ledger_or_none(request: Request) -> LedgerHandle | None:
    try:
        handle: LedgerHandle = request.app.state.ledger.get()
    except Exception:
        return None
    return handle


def _expiry(value: datetime | date) -> int:
    if isinstance(value, datetime):
        return int(as_utc(value).timestamp())
    return end_of_day_utc(value)


# ------------------------------------------------------------------------------------- offers


def _offer_parties(session: Session, offer: Offer) -> tuple[set[int], int | None]:
    note = session.get(Note, offer.note_id)
    holder = note.holder_id if note is not None else None
    parties = {offer.financier_id}
    if holder is not None:
        parties.add(holder)
    if offer.purchase_id is not None:
        purchase = session.get(Purchase, offer.purchase_id)
        if purchase is not None:
            parties.add(purchase.seller_id)
    return parties, holder


def offer_visibility(session: Session, offer: Offer, views: Views) -> Visibility:
    """The caller's view of the offer's receivable: an open offer does not show the note's holder to the financier
    that made it (else offers would reveal any note's holder); a sale does (the seller is its counterparty)."""
    note = session.get(Note, offer.note_id)
    return views.slot(note.slot_id if note is not None else None)


def offer_out(session: Session, offer: Offer, currency: str, ledger: LedgerHandle | None, vis: Visibility) -> OfferOut:
    _, holder = _offer_parties(session, offer)
    price = _view(ledger, lambda financing: financing.quote(offer.id)) if offer.status == "open" else None
    return OfferOut(
        id=offer.id,
        note_id=offer.note_id,
        financier_id=offer.financier_id,
        holder_id=vis.optional(holder),
        value=offer.value,
        currency=currency,
        rate_bps=offer.rate_bps,
        recourse=offer.recourse,
        expires_at=iso_time(offer.expiry),
        status=offer.status,
        purchase_id=offer.purchase_id,
        price=price,
        created_tx=offer.created_tx,
        financier_name=display_names(session, [offer.financier_id]).get(offer.financier_id),
        holder_name=vis.name_of(holder),
        request_id=_request_of(session, offer.id),
    )


def _request_of(session: Session, offer_id: int) -> int | None:
    link = session.get(FinancingRequestOffer, offer_id)
    return link.request_id if link is not None else None


def visible_offer(session: Session, principal: Principal, offer_id: int) -> tuple[Offer, int | None]:
    offer = session.get(Offer, offer_id)
    if offer is None:
        raise _not_found("offer", offer_id)
    parties, holder = _offer_parties(session, offer)
    if not sees_everything(principal) and principal.member_id not in parties:
        raise _not_found("offer", offer_id)
    return offer, holder


def offers_query(principal: Principal, status: str | None, note_id: int | None) -> Select[Offer]:
    """Offers on notes the caller holds, made by it, or sold to it; all for auditors and the operator."""
    query = (
        select(Offer).outerjoin(Note, Note.id == Offer.note_id).outerjoin(Purchase, Purchase.id == Offer.purchase_id)
    )
    if not sees_everything(principal):
        me = principal.member_id
        query = query.where(or_(Offer.financier_id == me, Note.holder_id == me, Purchase.seller_id == me))
    if status is not None:
        query = query.where(Offer.status == status)
    if note_id is not None:
        query = query.where(Offer.note_id == note_id)
    return query


def offer_answer(
    request: Request, ctx: WriteContext, principal: Principal, offer_id: int, status: int = 200
) -> tuple[int, Any]:
    """The answer of a write that made or changed an offer, once the indexer has it."""

    def build(session: Session, offer: Offer) -> tuple[int, Any]:
        vis = offer_visibility(session, offer, Views(session, principal, request_secret(request)))
        out = offer_out(session, offer, request.app.state.settings.currency, ctx.ledger, vis)
        return status, out.model_dump(mode="json")

    return ctx.indexed(Offer, offer_id, "offer-indexed-yet", {"offer_id": offer_id}, build)


def refuse_matured(ledger: LedgerHandle, session: Session, note: Note) -> None:
    """A note that is gone answers `note-not-live`. An offer on a matured note could never be accepted (the sale
    reverts with SlotMatured): refused before it is made, with the same problem, by the chain's clock (the
    devchain's can run ahead of the wall clock)."""
    if not note.live:  # settled, redeemed or merged away: what the chain would answer, without a transaction
        raise catalogued(409, "note-not-live", "note-not-live.note-was-settled", {"note_id": note.id})
    receivable = session.get(Receivable, note.slot_id) if note.slot_id else None
    if receivable is None:
        return
    now = int(ledger.w3.eth.get_block("latest")["timestamp"])
    if now >= receivable.maturity:
        params = {"slot_id": receivable.id, "note_id": note.id, "maturity": iso_time(receivable.maturity)}
        raise catalogued(
            409, "slot-matured", "slot-matured.no-longer-sold", params, maturity=iso_time(receivable.maturity)
        )


def make_offer(w: WriteDeps, body: MakeOfferIn) -> JSONResponse:
    """A financier offers to buy value of a note (201, the offer)."""
    session, principal, ledger = w.session, w.principal, w.ledger
    account = w.account()
    if not principal.has_role(Roles.FINANCIER):
        raise catalogued(403, "forbidden", "forbidden.only-financiers-make")
    note = session.get(Note, body.note_id)
    if note is None:
        raise _not_found("note", body.note_id)
    expiry = _expiry(body.expires_at)
    if not w.started(body):  # a retry replays
        refuse_matured(ledger, session, note)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        call = ledger.financing.make_offer(body.note_id, body.value, body.rate_bps, body.recourse, expiry)
        receipt = ctx.transact(account, call)
        offer_id = int(event_args(ledger, receipt, CONTRACT, "OfferMade")["offerId"])
        return offer_answer(w.request, ctx, principal, offer_id, 201)

    return w.run(body, workflow)


def cancel_offer(w: WriteDeps, offer_id: int) -> JSONResponse:
    """The offering financier withdraws its offer."""
    offer, _ = visible_offer(w.session, w.principal, offer_id)
    account = w.account()
    if offer.financier_id != w.principal.member_id:
        raise catalogued(403, "forbidden", "forbidden.only-financier-that", {"offer_id": offer_id})

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, w.ledger.financing.cancel_offer(offer_id))
        return offer_answer(w.request, ctx, w.principal, offer_id)

    return w.run(f"cancel-offer:{offer_id}", workflow)


def accept_offer(w: WriteDeps, offer_id: int) -> JSONResponse:
    """The note's holder accepts: cash and value change hands in one transaction (the purchase)."""
    offer, holder = visible_offer(w.session, w.principal, offer_id)
    account = w.account()
    if holder != w.principal.member_id and offer.status == "open":
        raise catalogued(403, "forbidden", "forbidden.only-holder-note", {"note_id": offer.note_id})

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        receipt = ctx.transact(account, w.ledger.financing.accept_offer(offer_id))
        purchase_id = int(event_args(w.ledger, receipt, CONTRACT, "OfferAccepted")["purchaseId"])
        _close_request(w, offer_id)
        return _purchase_answer(w, ctx, purchase_id)

    return w.run(f"accept-offer:{offer_id}", workflow)


def _close_request(w: WriteDeps, offer_id: int) -> None:
    """An accepted offer that answered a financing request closes the request (status accepted)."""
    with Session(w.engine) as session, session.begin():
        link = session.get(FinancingRequestOffer, offer_id)
        row = session.get(FinancingRequest, link.request_id) if link is not None else None
        if row is not None and row.status in ("open", "offered"):
            row.status = "accepted"
            row.accepted_offer_id = offer_id


# ---------------------------------------------------------------------------------- purchases


def purchase_out(session: Session, purchase: Purchase, currency: str) -> PurchaseOut:
    offer = session.get(Offer, purchase.offer_id)
    names = display_names(session, [purchase.seller_id, purchase.financier_id])  # its parties see both
    return PurchaseOut(
        id=purchase.id,
        offer_id=purchase.offer_id,
        note_id=purchase.note_id,
        value=purchase.value,
        price=purchase.price,
        currency=currency,
        seller_id=purchase.seller_id,
        financier_id=purchase.financier_id,
        recourse=bool(offer.recourse) if offer is not None else False,
        recourse_status=purchase.recourse_status,
        recourse_amount=purchase.recourse_amount,
        tx_hash=purchase.tx_hash,
        seller_name=names.get(purchase.seller_id),
        financier_name=names.get(purchase.financier_id),
    )


def visible_purchase(session: Session, principal: Principal, purchase_id: int) -> Purchase:
    purchase = session.get(Purchase, purchase_id)
    if purchase is None:
        raise _not_found("purchase", purchase_id)
    parties = {purchase.seller_id, purchase.financier_id}
    if not sees_everything(principal) and principal.member_id not in parties:
        raise _not_found("purchase", purchase_id)
    return purchase


def purchases_query(principal: Principal, recourse_status: str | None) -> Select[Purchase]:
    """Purchases the caller sold or bought; all for auditors and the operator."""
    query = select(Purchase)
    if not sees_everything(principal):
        me = principal.member_id
        query = query.where(or_(Purchase.seller_id == me, Purchase.financier_id == me))
    if recourse_status is not None:
        query = query.where(Purchase.recourse_status == recourse_status)
    return query


def _purchase_answer(w: WriteDeps, ctx: WriteContext, purchase_id: int) -> tuple[int, Any]:
    def build(session: Session, purchase: Purchase) -> tuple[int, Any]:
        return 200, purchase_out(session, purchase, w.currency).model_dump(mode="json")

    return ctx.indexed(Purchase, purchase_id, "purchase-indexed-yet", {"purchase_id": purchase_id}, build)


def _party_step(
    w: WriteDeps,
    row: Purchase | Loan,
    path: str,
    function: FinancingCall,
    party: str,
    refusal: str,
    answer: Callable[[WriteDeps, WriteContext, int], tuple[int, Any]],
) -> JSONResponse:
    """A step on a purchase or loan that only one of its parties may take (`party`: the row's column naming
    it; `refusal`: the catalogue key of the 403 for anyone else)."""
    account = w.account()
    if getattr(row, party) != w.principal.member_id:
        raise catalogued(403, "forbidden", refusal, {"party_term": party[:-3]})
    ident = row.id

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, function(w.ledger.financing, ident))
        return answer(w, ctx, ident)

    return w.run(f"{path}:{ident}", workflow)


def act_on_purchase(w: WriteDeps, purchase_id: int, path: str, function: FinancingCall, party: str) -> JSONResponse:
    """A recourse claim by the financier, or its payment by the seller."""
    purchase = visible_purchase(w.session, w.principal, purchase_id)
    return _party_step(w, purchase, path, function, party, "forbidden.only-purchase-party", _purchase_answer)


# -------------------------------------------------------------------------------------- loans


def loan_out(loan: Loan, currency: str, ledger: LedgerHandle | None) -> LoanOut:
    owed = _view(ledger, lambda financing: financing.amount_owed(loan.id)) if loan.status == "active" else None
    return LoanOut(
        id=loan.id,
        order_id=loan.order_id,
        financier_id=loan.financier_id,
        borrower_id=loan.borrower_id,
        principal=loan.principal,
        currency=currency,
        rate_bps=loan.rate_bps,
        due_date=iso_date(loan.due_date),
        status=loan.status,
        interest_paid=loan.interest_paid,
        foreclosed_value=loan.foreclosed_value,
        taken_note_id=loan.taken_note_id,
        amount_owed=owed,
        opened_tx=loan.opened_tx,
    )


def visible_loan(session: Session, principal: Principal, loan_id: int) -> Loan:
    loan = session.get(Loan, loan_id)
    if loan is None:
        raise _not_found("loan", loan_id)
    if not sees_everything(principal) and principal.member_id not in (loan.financier_id, loan.borrower_id):
        raise _not_found("loan", loan_id)
    return loan


def loans_query(principal: Principal, status: str | None, order_id: int | None) -> Select[Loan]:
    """Loans the caller lent or borrowed; all for auditors and the operator."""
    query = select(Loan)
    if not sees_everything(principal):
        me = principal.member_id
        query = query.where(or_(Loan.financier_id == me, Loan.borrower_id == me))
    if status is not None:
        query = query.where(Loan.status == status)
    if order_id is not None:
        query = query.where(Loan.order_id == order_id)
    return query


def _loan_answer(w: WriteDeps, ctx: WriteContext, loan_id: int, status: int = 200) -> tuple[int, Any]:
    def build(session: Session, loan: Loan) -> tuple[int, Any]:
        return status, loan_out(loan, w.currency, ctx.ledger).model_dump(mode="json")

    return ctx.indexed(Loan, loan_id, "loan-indexed-yet", {"loan_id": loan_id}, build)


def open_loan(w: WriteDeps, body: OpenLoanIn) -> JSONResponse:
    """The order's pledgee lends against it (201, the loan)."""
    session, principal, ledger = w.session, w.principal, w.ledger
    account = w.account()
    if not principal.has_role(Roles.FINANCIER):
        raise catalogued(403, "forbidden", "forbidden.only-financiers-lend")
    order = session.get(Order, body.order_id)
    parties = {order.supplier_id, order.buyer_id, order.holder_id, order.lienholder_id} if order else set()
    if order is None or (not sees_everything(principal) and principal.member_id not in parties):
        raise _not_found("order", body.order_id)
    due = end_of_day_utc(body.due_date)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        receipt = ctx.transact(account, ledger.financing.lend(body.order_id, body.principal, body.rate_bps, due))
        loan_id = int(event_args(ledger, receipt, CONTRACT, "LoanOpened")["loanId"])
        return _loan_answer(w, ctx, loan_id, 201)

    return w.run(body, workflow)


def act_on_loan(w: WriteDeps, loan_id: int, path: str, function: FinancingCall, party: str) -> JSONResponse:
    """Repayment by the borrower, or foreclosure by the lender."""
    loan = visible_loan(w.session, w.principal, loan_id)
    return _party_step(w, loan, path, function, party, "forbidden.only-loan-party", _loan_answer)
