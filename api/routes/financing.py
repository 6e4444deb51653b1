"""Financing routes: factoring offers (atomic delivery-versus-payment), recourse claims and order-financing loans.

The rules and answers are in api/services/financing.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.deps import CurrentPrincipal, DbSession, Write
from api.schemas.core import Page
from api.schemas.financing import LoanOut, MakeOfferIn, OfferOut, OpenLoanIn, PurchaseOut
from api.services import financing
from api.services.common import paginate
from api.services.financing import FinancingCall, ledger_or_none
from api.services.visibility import Views, request_secret
from chain.node.contracts import Financing
from chain.readmodel.store import Loan, Offer, Purchase

router = APIRouter(prefix="/v1/financing", tags=["financing"])


# ------------------------------------------------------------------------------------- offers


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
    page = paginate(session, financing.offers_query(principal, status, note_id), Offer.id, cursor, limit)
    currency = request.app.state.settings.currency
    ledger = ledger_or_none(request)
    views = Views(session, principal, request_secret(request))
    items = [
        financing.offer_out(session, o, currency, ledger, financing.offer_visibility(session, o, views))
        for o in page.rows
    ]
    return Page[OfferOut](items=items, next_cursor=page.next_cursor)


@router.get("/offers/{offer_id}", summary="One offer, with the current price quote while open")
def get_offer(offer_id: int, session: DbSession, principal: CurrentPrincipal, request: Request) -> OfferOut:
    offer, _ = financing.visible_offer(session, principal, offer_id)
    vis = financing.offer_visibility(session, offer, Views(session, principal, request_secret(request)))
    return financing.offer_out(session, offer, request.app.state.settings.currency, ledger_or_none(request), vis)


@router.post("/offers", status_code=201, response_model=OfferOut, summary="Financier offers to buy value of a note")
def make_offer(body: MakeOfferIn, w: Write) -> JSONResponse:
    return financing.make_offer(w, body)


@router.post("/offers/{offer_id}/cancel", response_model=OfferOut, summary="The offering financier withdraws it")
def cancel_offer(offer_id: int, w: Write) -> JSONResponse:
    return financing.cancel_offer(w, offer_id)


@router.post(
    "/offers/{offer_id}/accept",
    response_model=PurchaseOut,
    summary="The note holder accepts: cash and value change hands in one transaction",
)
def accept_offer(offer_id: int, w: Write) -> JSONResponse:
    return financing.accept_offer(w, offer_id)


# ---------------------------------------------------------------------------------- purchases


@router.get("/purchases", summary="Purchases I sold or bought; all for auditors")
def list_purchases(
    session: DbSession,
    principal: CurrentPrincipal,
    request: Request,
    recourse_status: Annotated[str | None, Query(pattern="^(none|claimed|paid)$")] = None,
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[PurchaseOut]:
    page = paginate(session, financing.purchases_query(principal, recourse_status), Purchase.id, cursor, limit)
    currency = request.app.state.settings.currency
    items = [financing.purchase_out(session, p, currency) for p in page.rows]
    return Page[PurchaseOut](items=items, next_cursor=page.next_cursor)


@router.get("/purchases/{purchase_id}", summary="One purchase")
def get_purchase(purchase_id: int, session: DbSession, principal: CurrentPrincipal, request: Request) -> PurchaseOut:
    purchase = financing.visible_purchase(session, principal, purchase_id)
    return financing.purchase_out(session, purchase, request.app.state.settings.currency)


def _purchase_action(path: str, function: FinancingCall, party: str, summary: str) -> None:
    @router.post(f"/purchases/{{purchase_id}}/{path}", response_model=PurchaseOut, summary=summary)
    def action(purchase_id: int, w: Write) -> JSONResponse:
        return financing.act_on_purchase(w, purchase_id, path, function, party)

    action.__name__ = path.replace("-", "_")  # the audit log's `action`


_purchase_action(
    "claim-recourse", Financing.claim_recourse, "financier_id", "Financier claims recourse after a default"
)
_purchase_action(
    "pay-recourse", Financing.pay_recourse, "seller_id", "Seller pays a recourse claim and gets the note back"
)


# -------------------------------------------------------------------------------------- loans


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
    page = paginate(session, financing.loans_query(principal, status, order_id), Loan.id, cursor, limit)
    currency = request.app.state.settings.currency
    ledger = ledger_or_none(request)
    items = [financing.loan_out(loan, currency, ledger) for loan in page.rows]
    return Page[LoanOut](items=items, next_cursor=page.next_cursor)


@router.get("/loans/{loan_id}", summary="One loan, with the amount owed while active")
def get_loan(loan_id: int, session: DbSession, principal: CurrentPrincipal, request: Request) -> LoanOut:
    loan = financing.visible_loan(session, principal, loan_id)
    return financing.loan_out(loan, request.app.state.settings.currency, ledger_or_none(request))


@router.post("/loans", status_code=201, response_model=LoanOut, summary="The order's pledgee lends against it")
def open_loan(body: OpenLoanIn, w: Write) -> JSONResponse:
    return financing.open_loan(w, body)


def _loan_action(path: str, function: FinancingCall, party: str, summary: str) -> None:
    @router.post(f"/loans/{{loan_id}}/{path}", response_model=LoanOut, summary=summary)
    def action(loan_id: int, w: Write) -> JSONResponse:
        return financing.act_on_loan(w, loan_id, path, function, party)

    action.__name__ = f"{path}_loan"  # the audit log's `action`


_loan_action("repay", Financing.repay, "borrower_id", "Borrower repays principal and interest; the lien is released")
_loan_action(
    "foreclose", Financing.foreclose, "financier_id", "Lender takes what is owed from the order's note after due"
)
