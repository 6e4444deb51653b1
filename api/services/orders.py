"""Orders: who sees an order, how it is answered, and the workflows of its life (propose, confirm, deliver,
cancel, accept into a receivable, pledge, release)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from api.deps import Principal, WriteDeps
from api.problems import catalogued
from api.schemas.core import AcceptOrderIn, OrderOut, PledgeOrderIn, ProposeOrderIn
from api.services.common import (
    end_of_day_utc,
    event_args,
    hex32,
    iso_date,
    maturity_seconds,
    member_or_404,
    sees_everything,
)
from api.services.visibility import display_names
from api.writes import WriteContext
from chain.node.contracts import ContractCall, OrderBook
from chain.readmodel.store import Order

OrderCall = Callable[[OrderBook, int], ContractCall]


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


def orders_query(principal: Principal, status: str | None) -> Select[Order]:
    """Orders the caller is a party to (supplier, buyer, holder or lienholder); all for auditors and the operator."""
    query = select(Order)
    if not sees_everything(principal):
        me = principal.member_id
        query = query.where(
            or_(Order.supplier_id == me, Order.buyer_id == me, Order.holder_id == me, Order.lienholder_id == me)
        )
    if status:
        query = query.where(Order.status == status)
    return query


def _respond(w: WriteDeps, ctx: WriteContext, order_id: int, status: int = 200) -> tuple[int, Any]:
    def build(session: Session, order: Order) -> tuple[int, Any]:
        return status, order_out(order, w.currency, session).model_dump(mode="json")

    return ctx.indexed(Order, order_id, "order-indexed-yet", {"order_id": order_id}, build)


def propose_order(w: WriteDeps, body: ProposeOrderIn) -> JSONResponse:
    """The supplier proposes an order to a buyer (201, the order)."""
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


def act_on_order(w: WriteDeps, order_id: int, function: str, make: OrderCall) -> JSONResponse:
    """A step any party may ask for (confirm, deliver, cancel, release): the contract decides who may take it."""
    visible_order(w.session, w.principal, order_id)
    account = w.account()

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, make(w.ledger.orders, order_id))
        return _respond(w, ctx, order_id)

    return w.run(f"{function}:{order_id}", workflow)


def accept_order(w: WriteDeps, order_id: int, body: AcceptOrderIn) -> JSONResponse:
    """The buyer accepts delivery and issues the receivable."""
    visible_order(w.session, w.principal, order_id)
    account = w.account()

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        call = w.ledger.orders.accept(
            order_id, body.face_value, maturity_seconds(body.maturity), hex32(body.invoice_hash)
        )
        ctx.transact(account, call)
        return _respond(w, ctx, order_id)

    return w.run(body, workflow)


def pledge_order(w: WriteDeps, order_id: int, body: PledgeOrderIn) -> JSONResponse:
    """The holder pledges the order to a financier."""
    visible_order(w.session, w.principal, order_id)
    account = w.account()
    financier = member_or_404(w.session, body.financier_id, "financier")

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, w.ledger.orders.pledge(order_id, financier.account))
        return _respond(w, ctx, order_id)

    return w.run(body, workflow)
