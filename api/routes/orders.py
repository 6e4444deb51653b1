"""Order routes: the supplier proposes, the buyer confirms, delivery is accepted into a receivable.

The rules and answers are in api/services/orders.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.deps import CurrentPrincipal, DbSession, Write
from api.schemas.core import AcceptOrderIn, OrderOut, Page, PledgeOrderIn, ProposeOrderIn
from api.services import orders
from api.services.common import paginate
from api.services.orders import OrderCall
from chain.node.contracts import OrderBook
from chain.readmodel.store import Order

router = APIRouter(prefix="/v1/orders", tags=["orders"])


@router.get("", summary="Orders I am a party to (supplier, buyer, holder or lienholder); all for auditors")
def list_orders(
    session: DbSession,
    principal: CurrentPrincipal,
    request: Request,
    status: Annotated[str | None, Query(description="proposed, confirmed, delivered, invoiced, cancelled")] = None,
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[OrderOut]:
    page = paginate(session, orders.orders_query(principal, status), Order.id, cursor, limit)
    currency = request.app.state.settings.currency
    items = [orders.order_out(o, currency, session) for o in page.rows]
    return Page[OrderOut](items=items, next_cursor=page.next_cursor)


@router.get("/{order_id}", summary="One order")
def get_order(order_id: int, session: DbSession, principal: CurrentPrincipal, request: Request) -> OrderOut:
    order = orders.visible_order(session, principal, order_id)
    return orders.order_out(order, request.app.state.settings.currency, session)


@router.post("", status_code=201, response_model=OrderOut, summary="Supplier proposes an order to a buyer")
def propose_order(body: ProposeOrderIn, w: Write) -> JSONResponse:
    return orders.propose_order(w, body)


def _order_action(function: str, make: OrderCall, summary: str) -> None:
    @router.post(f"/{{order_id}}/{function}", response_model=OrderOut, summary=summary)
    def action(order_id: int, w: Write) -> JSONResponse:
        return orders.act_on_order(w, order_id, function, make)

    action.__name__ = f"{function}_order"  # the audit log's `action`


_order_action("confirm", OrderBook.confirm, "Buyer confirms a proposed order")
_order_action("deliver", OrderBook.deliver, "The proposing supplier marks a confirmed order delivered")
_order_action("cancel", OrderBook.cancel, "Supplier or buyer cancels an order that is not confirmed yet")
_order_action("release", OrderBook.release, "Lienholder releases its pledge on the order")


@router.post("/{order_id}/accept", response_model=OrderOut, summary="Buyer accepts delivery and issues the receivable")
def accept_order(order_id: int, body: AcceptOrderIn, w: Write) -> JSONResponse:
    return orders.accept_order(w, order_id, body)


@router.post("/{order_id}/pledge", response_model=OrderOut, summary="Holder pledges the order to a financier")
def pledge_order(order_id: int, body: PledgeOrderIn, w: Write) -> JSONResponse:
    return orders.pledge_order(w, order_id, body)
