"""Confirmed orders: the supplier proposes, the buyer confirms, delivery is accepted into a receivable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.deps import CurrentPrincipal, DbSession, Principal, Write, WriteDeps
from api.problems import catalogued
from api.schemas.core import AcceptOrderIn, OrderOut, Page, PledgeOrderIn, ProposeOrderIn
from api.services.common import (
    end_of_day_utc,
    event_args,
    hex32,
    iso_date,
    maturity_seconds,
    member_or_404,
    paginate,
    sees_everything,
)
from api.services.visibility import display_names
from api.writes import WriteContext
from chain.node.contracts import ContractCall, OrderBook
from chain.readmodel.store import Order

router = APIRouter(prefix="/v1/orders", tags=["orders"])


def order_out(order: Order, currency: str, session: Session | None = None) -> OrderOut:
    """An order for one of its parties (who see each other: docs/permissions.md), with their display names when
    a `session` is given."""
    names = display_names(session, _parties(order)) if session is not None else {}
    return OrderOut(
        id=order.id,
        supplier_id=order.supplier_id,
        buyer_id=order.buyer_id,
        holder_id=order.holder_id,
        lienholder_id=order.lienholder_id or None,
        status=order.status,
        amount=order.amount,
        currency=currency,
        document_hash=order.document_hash,
        due_date=iso_date(order.due_date),
        receivable_id=order.slot_id,
        proposed_tx=order.proposed_tx,
        supplier_name=names.get(order.supplier_id),
        buyer_name=names.get(order.buyer_id),
        holder_name=names.get(order.holder_id),
        lienholder_name=names.get(order.lienholder_id),
    )


def _parties(order: Order) -> set[int]:
    return {order.supplier_id, order.buyer_id, order.holder_id, order.lienholder_id} - {0}


def visible_order(session: Session, principal: Principal, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise catalogued(404, "not-found", "not-found.no-order", {"order_id": order_id})
    if not sees_everything(principal) and principal.member_id not in _parties(order):
        raise catalogued(403, "forbidden", "forbidden.order-yours-see", {"order_id": order_id})
    return order


@router.get("", summary="Orders I am a party to (supplier, buyer, holder or lienholder); all for auditors")
def list_orders(
    session: DbSession,
    principal: CurrentPrincipal,
    request: Request,
    status: Annotated[str | None, Query(description="proposed, confirmed, delivered, invoiced, cancelled")] = None,
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[OrderOut]:
    query = select(Order)
    if not sees_everything(principal):
        me = principal.member_id
        query = query.where(
            or_(Order.supplier_id == me, Order.buyer_id == me, Order.holder_id == me, Order.lienholder_id == me)
        )
    if status:
        query = query.where(Order.status == status)
    page = paginate(session, query, Order.id, cursor, limit)
    currency = request.app.state.settings.currency
    return Page[OrderOut](items=[order_out(o, currency, session) for o in page.rows], next_cursor=page.next_cursor)


@router.get("/{order_id}", summary="One order")
def get_order(order_id: int, session: DbSession, principal: CurrentPrincipal, request: Request) -> OrderOut:
    return order_out(visible_order(session, principal, order_id), request.app.state.settings.currency, session)


def _respond(w: WriteDeps, ctx: WriteContext, order_id: int, status: int = 200) -> tuple[int, Any]:
    def build(session: Session, order: Order) -> tuple[int, Any]:
        return status, order_out(order, w.currency, session).model_dump(mode="json")

    return ctx.indexed(Order, order_id, "order-indexed-yet", {"order_id": order_id}, build)


@router.post("", status_code=201, response_model=OrderOut, summary="Supplier proposes an order to a buyer")
def propose_order(body: ProposeOrderIn, w: Write) -> JSONResponse:
    account = w.account()
    buyer = member_or_404(w.session, body.buyer_id, "buyer")
    ledger = w.ledger
    cash = ledger.deployment.address("CashToken")

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        call = ledger.orders.propose(
            buyer.account, body.amount, cash, hex32(body.document_hash), end_of_day_utc(body.due_date)
        )
        receipt = ctx.transact(account, call)
        order_id = int(event_args(ledger, receipt, "OrderBook", "OrderProposed")["orderId"])
        return _respond(w, ctx, order_id, 201)

    return w.run(body, workflow)


def _order_action(function: str, make: Callable[[OrderBook, int], ContractCall], summary: str) -> None:
    @router.post(f"/{{order_id}}/{function}", response_model=OrderOut, summary=summary)
    def action(order_id: int, w: Write) -> JSONResponse:
        visible_order(w.session, w.principal, order_id)
        account = w.account()

        def workflow(ctx: WriteContext) -> tuple[int, Any]:
            ctx.transact(account, make(w.ledger.orders, order_id))
            return _respond(w, ctx, order_id)

        return w.run(f"{function}:{order_id}", workflow)

    action.__name__ = f"{function}_order"


_order_action("confirm", OrderBook.confirm, "Buyer confirms a proposed order")
_order_action("deliver", OrderBook.deliver, "The proposing supplier marks a confirmed order delivered")
_order_action("cancel", OrderBook.cancel, "Supplier or buyer cancels an order that is not confirmed yet")
_order_action("release", OrderBook.release, "Lienholder releases its pledge on the order")


@router.post("/{order_id}/accept", response_model=OrderOut, summary="Buyer accepts delivery and issues the receivable")
def accept_order(order_id: int, body: AcceptOrderIn, w: Write) -> JSONResponse:
    visible_order(w.session, w.principal, order_id)
    account = w.account()

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        call = w.ledger.orders.accept(
            order_id, body.face_value, maturity_seconds(body.maturity), hex32(body.invoice_hash)
        )
        ctx.transact(account, call)
        return _respond(w, ctx, order_id)

    return w.run(body, workflow)


@router.post("/{order_id}/pledge", response_model=OrderOut, summary="Holder pledges the order to a financier")
def pledge_order(order_id: int, body: PledgeOrderIn, w: Write) -> JSONResponse:
    visible_order(w.session, w.principal, order_id)
    account = w.account()
    financier = member_or_404(w.session, body.financier_id, "financier")

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, w.ledger.orders.pledge(order_id, financier.account))
        return _respond(w, ctx, order_id)

    return w.run(body, workflow)
