"""Financing: factoring offers (atomic delivery-versus-payment), recourse claims and order-financing loans.

Only the parties to an offer, purchase or loan (and auditors / the operator, for reads) see it; anyone else
gets 404 so that ids do not leak. Writes are signed with the calling member's custodial key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.deps import CurrentPrincipal, CustodyDep, DbSession, Ledger, Principal, Writes
from api.ledger import LedgerHandle
from api.problems import Problem, catalogued
from api.schemas import Page
from api.schemas_financing import LoanOut, MakeOfferIn, OfferOut, OpenLoanIn, PurchaseOut
from api.services.common import (
    acting_account,
    as_utc,
    end_of_day_utc,
    event_args,
    iso_date,
    iso_time,
    sees_everything,
)
from api.services.visibility import Views, Visibility, display_names, request_secret
from api.tables import FinancingRequest, FinancingRequestOffer
from api.writes import WriteContext
from chain.node.contracts import ContractCall, Financing
from chain.node.roles import Roles
from chain.readmodel.store import Loan, Note, Offer, Order, Purchase, Receivable

router = APIRouter(prefix="/v1/financing", tags=["financing"])

CONTRACT = "Financing"


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


def _offer_response(
    request: Request, ctx: WriteContext, principal: Principal, offer_id: int, status: int = 200
) -> tuple[int, Any]:
    ctx.settle_reads()
    with Session(request.app.state.engine) as session:
        offer = session.get(Offer, offer_id)
        if offer is None:
            raise catalogued(503, "indexer-lagging", "indexer-lagging.offer-indexed-yet", {"offer_id": offer_id})
        vis = offer_visibility(session, offer, Views(session, principal, request_secret(request)))
        out = offer_out(session, offer, request.app.state.settings.currency, ctx.ledger, vis)
        return status, out.model_dump(mode="json")


@router.get("/offers", summary="Offers on notes I hold, made by me, or sold to me; all for auditors")
def list_offers(
    session: DbSession,
    principal: CurrentPrincipal,
    request: Request,
    status: Annotated[str | None, Query(pattern="^(open|accepted|cancelled)$")] = None,
    note_id: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[OfferOut]:
    query = (
        select(Offer)
        .outerjoin(Note, Note.id == Offer.note_id)
        .outerjoin(Purchase, Purchase.id == Offer.purchase_id)
        .where(Offer.id > cursor)
    )
    if not sees_everything(principal):
        me = principal.member_id
        query = query.where(or_(Offer.financier_id == me, Note.holder_id == me, Purchase.seller_id == me))
    if status is not None:
        query = query.where(Offer.status == status)
    if note_id is not None:
        query = query.where(Offer.note_id == note_id)
    rows = list(session.scalars(query.order_by(Offer.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    currency = request.app.state.settings.currency
    ledger = ledger_or_none(request)
    views = Views(session, principal, request_secret(request))
    items = [offer_out(session, o, currency, ledger, offer_visibility(session, o, views)) for o in rows]
    return Page[OfferOut](items=items, next_cursor=str(rows[-1].id) if more else None)


@router.get("/offers/{offer_id}", summary="One offer, with the current price quote while open")
def get_offer(offer_id: int, session: DbSession, principal: CurrentPrincipal, request: Request) -> OfferOut:
    offer, _ = visible_offer(session, principal, offer_id)
    vis = offer_visibility(session, offer, Views(session, principal, request_secret(request)))
    return offer_out(session, offer, request.app.state.settings.currency, ledger_or_none(request), vis)


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


@router.post("/offers", status_code=201, response_model=OfferOut, summary="Financier offers to buy value of a note")
def make_offer(
    body: MakeOfferIn,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    account = acting_account(custody, session, principal)
    if not principal.has_role(Roles.FINANCIER):
        raise catalogued(403, "forbidden", "forbidden.only-financiers-make")
    note = session.get(Note, body.note_id)
    if note is None:
        raise _not_found("note", body.note_id)
    expiry = _expiry(body.expires_at)
    if not writes.started(request, principal.member_id, body.model_dump_json().encode()):  # a retry replays
        refuse_matured(ledger, session, note)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        call = ledger.financing.make_offer(body.note_id, body.value, body.rate_bps, body.recourse, expiry)
        receipt = ctx.transact(account, call)
        offer_id = int(event_args(ledger, receipt, CONTRACT, "OfferMade")["offerId"])
        return _offer_response(request, ctx, principal, offer_id, 201)

    return writes.run(request, principal.member_id, body.model_dump_json().encode(), ledger, workflow)


@router.post("/offers/{offer_id}/cancel", response_model=OfferOut, summary="The offering financier withdraws it")
def cancel_offer(
    offer_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    offer, _ = visible_offer(session, principal, offer_id)
    account = acting_account(custody, session, principal)
    if offer.financier_id != principal.member_id:
        raise catalogued(403, "forbidden", "forbidden.only-financier-that", {"offer_id": offer_id})

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, ledger.financing.cancel_offer(offer_id))
        return _offer_response(request, ctx, principal, offer_id)

    return writes.run(request, principal.member_id, f"cancel-offer:{offer_id}".encode(), ledger, workflow)


@router.post(
    "/offers/{offer_id}/accept",
    response_model=PurchaseOut,
    summary="The note holder accepts: cash and value change hands in one transaction",
)
def accept_offer(
    offer_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    offer, holder = visible_offer(session, principal, offer_id)
    account = acting_account(custody, session, principal)
    if holder != principal.member_id and offer.status == "open":
        raise catalogued(403, "forbidden", "forbidden.only-holder-note", {"note_id": offer.note_id})

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        receipt = ctx.transact(account, ledger.financing.accept_offer(offer_id))
        purchase_id = int(event_args(ledger, receipt, CONTRACT, "OfferAccepted")["purchaseId"])
        _close_request(request, offer_id)
        return _purchase_response(request, ctx, purchase_id)

    return writes.run(request, principal.member_id, f"accept-offer:{offer_id}".encode(), ledger, workflow)


def _close_request(request: Request, offer_id: int) -> None:
    """An accepted offer that answered a financing request closes the request (status accepted)."""
    with Session(request.app.state.engine) as session, session.begin():
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


def _purchase_response(request: Request, ctx: WriteContext, purchase_id: int) -> tuple[int, Any]:
    ctx.settle_reads()
    with Session(request.app.state.engine) as session:
        purchase = session.get(Purchase, purchase_id)
        if purchase is None:
            raise catalogued(
                503, "indexer-lagging", "indexer-lagging.purchase-indexed-yet", {"purchase_id": purchase_id}
            )
        return 200, purchase_out(session, purchase, request.app.state.settings.currency).model_dump(mode="json")


@router.get("/purchases", summary="Purchases I sold or bought; all for auditors")
def list_purchases(
    session: DbSession,
    principal: CurrentPrincipal,
    request: Request,
    recourse_status: Annotated[str | None, Query(pattern="^(none|claimed|paid)$")] = None,
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[PurchaseOut]:
    query = select(Purchase).where(Purchase.id > cursor)
    if not sees_everything(principal):
        me = principal.member_id
        query = query.where(or_(Purchase.seller_id == me, Purchase.financier_id == me))
    if recourse_status is not None:
        query = query.where(Purchase.recourse_status == recourse_status)
    rows = list(session.scalars(query.order_by(Purchase.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    currency = request.app.state.settings.currency
    items = [purchase_out(session, p, currency) for p in rows]
    return Page[PurchaseOut](items=items, next_cursor=str(rows[-1].id) if more else None)


@router.get("/purchases/{purchase_id}", summary="One purchase")
def get_purchase(purchase_id: int, session: DbSession, principal: CurrentPrincipal, request: Request) -> PurchaseOut:
    purchase = visible_purchase(session, principal, purchase_id)
    return purchase_out(session, purchase, request.app.state.settings.currency)


def _purchase_action(path: str, function: Callable[[Financing, int], ContractCall], party: str, summary: str) -> None:
    @router.post(f"/purchases/{{purchase_id}}/{path}", response_model=PurchaseOut, summary=summary)
    def action(
        purchase_id: int,
        request: Request,
        session: DbSession,
        principal: CurrentPrincipal,
        ledger: Ledger,
        writes: Writes,
        custody: CustodyDep,
    ) -> JSONResponse:
        purchase = visible_purchase(session, principal, purchase_id)
        account = acting_account(custody, session, principal)
        if getattr(purchase, party) != principal.member_id:
            raise catalogued(403, "forbidden", "forbidden.only-purchase-party", {"party_term": party[:-3]})

        def workflow(ctx: WriteContext) -> tuple[int, Any]:
            ctx.transact(account, function(ledger.financing, purchase_id))
            return _purchase_response(request, ctx, purchase_id)

        return writes.run(request, principal.member_id, f"{path}:{purchase_id}".encode(), ledger, workflow)

    action.__name__ = path.replace("-", "_")


_purchase_action(
    "claim-recourse", Financing.claim_recourse, "financier_id", "Financier claims recourse after a default"
)
_purchase_action(
    "pay-recourse", Financing.pay_recourse, "seller_id", "Seller pays a recourse claim and gets the note back"
)


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


def _loan_response(request: Request, ctx: WriteContext, loan_id: int, status: int = 200) -> tuple[int, Any]:
    ctx.settle_reads()
    with Session(request.app.state.engine) as session:
        loan = session.get(Loan, loan_id)
        if loan is None:
            raise catalogued(503, "indexer-lagging", "indexer-lagging.loan-indexed-yet", {"loan_id": loan_id})
        return status, loan_out(loan, request.app.state.settings.currency, ctx.ledger).model_dump(mode="json")


@router.get("/loans", summary="Loans I lent or borrowed; all for auditors")
def list_loans(
    session: DbSession,
    principal: CurrentPrincipal,
    request: Request,
    status: Annotated[str | None, Query(pattern="^(active|repaid|foreclosed)$")] = None,
    order_id: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[LoanOut]:
    query = select(Loan).where(Loan.id > cursor)
    if not sees_everything(principal):
        me = principal.member_id
        query = query.where(or_(Loan.financier_id == me, Loan.borrower_id == me))
    if status is not None:
        query = query.where(Loan.status == status)
    if order_id is not None:
        query = query.where(Loan.order_id == order_id)
    rows = list(session.scalars(query.order_by(Loan.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    currency = request.app.state.settings.currency
    ledger = ledger_or_none(request)
    return Page[LoanOut](
        items=[loan_out(loan, currency, ledger) for loan in rows], next_cursor=str(rows[-1].id) if more else None
    )


@router.get("/loans/{loan_id}", summary="One loan, with the amount owed while active")
def get_loan(loan_id: int, session: DbSession, principal: CurrentPrincipal, request: Request) -> LoanOut:
    loan = visible_loan(session, principal, loan_id)
    return loan_out(loan, request.app.state.settings.currency, ledger_or_none(request))


@router.post("/loans", status_code=201, response_model=LoanOut, summary="The order's pledgee lends against it")
def open_loan(
    body: OpenLoanIn,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    account = acting_account(custody, session, principal)
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
        return _loan_response(request, ctx, loan_id, 201)

    return writes.run(request, principal.member_id, body.model_dump_json().encode(), ledger, workflow)


def _loan_action(path: str, function: Callable[[Financing, int], ContractCall], party: str, summary: str) -> None:
    @router.post(f"/loans/{{loan_id}}/{path}", response_model=LoanOut, summary=summary)
    def action(
        loan_id: int,
        request: Request,
        session: DbSession,
        principal: CurrentPrincipal,
        ledger: Ledger,
        writes: Writes,
        custody: CustodyDep,
    ) -> JSONResponse:
        loan = visible_loan(session, principal, loan_id)
        account = acting_account(custody, session, principal)
        if getattr(loan, party) != principal.member_id:
            raise catalogued(403, "forbidden", "forbidden.only-loan-party", {"party_term": party[:-3]})

        def workflow(ctx: WriteContext) -> tuple[int, Any]:
            ctx.transact(account, function(ledger.financing, loan_id))
            return _loan_response(request, ctx, loan_id)

        return writes.run(request, principal.member_id, f"{path}:{loan_id}".encode(), ledger, workflow)

    action.__name__ = f"{path}_loan"


_loan_action("repay", Financing.repay, "borrower_id", "Borrower repays principal and interest; the lien is released")
_loan_action(
    "foreclose", Financing.foreclose, "financier_id", "Lender takes what is owed from the order's note after due"
)
