"""Orders: the list with a status filter, one order, and changing its status (the service tells
the customer, as through the API)."""

from __future__ import annotations

from flask import Response, request

from backend.domain.orders import ORDER_STATUSES, TRANSITIONS
from backend.interface.inputs import OrderQuerySchema, TransitionSchema
from backend.interface.scopes import requires
from backend.services.orders.orders import Shipping, get_order, list_orders, transition_order
from backend.web.core import (
    blp,
    context,
    done,
    page,
    page_args,
    tenant_id,
    validated,
    viewer,
)

PAGE_SIZE = 25


@blp.get("/orders")
@requires("orders:read")
def orders() -> Response:
    query = validated(OrderQuerySchema(), {
        key: value for key, value in (("status", request.args.get("status", "")),
                                      ("page", str(page_args()))) if value})
    found = list_orders(context(), tenant_id(), status=query["status"], page=query["page"],
                        page_size=PAGE_SIZE)
    return page("orders.html", orders=found, chosen=query["status"] or "",
                statuses=ORDER_STATUSES, pages=max(1, -(-found.count // PAGE_SIZE)))


@blp.get("/orders/<int:order_id>")
@requires("orders:read")
def order(order_id: int) -> Response:
    # The delivery address and recipient only for staff who may see customers' data.
    found = get_order(context(), tenant_id(), order_id,
                      with_address=viewer().may("customers:read"))
    return page("order.html", order=found, next_statuses=sorted(TRANSITIONS[found.status]))


@blp.post("/orders/<int:order_id>/status")
@requires("orders:write")
def order_status(order_id: int) -> Response:
    form = {key: request.form.get(key, "").strip() for key in
            ("to", "reason", "courier", "tracking")}
    body = validated(TransitionSchema(), {key: value for key, value in form.items() if value})
    changed = transition_order(context(), tenant_id(), order_id, body["to"], None,
                               body["reason"], shipping=Shipping(body["courier"],
                                                                 body["tracking"]))
    return done("web.order", "orders.changed", order_id=changed.id)
