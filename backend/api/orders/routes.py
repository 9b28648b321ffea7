"""Orders for merchants (any customer) and the assistant (its X-CUSTOMER-PHONE customer)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.acting import CUSTOMER_HEADERS
from backend.api.auth import require_tenant
from backend.api.commerce import (
    CUSTOMER_DOC,
    IDEMPOTENCY_DOC,
    body_customer,
    created,
    customer_scope,
    idempotency,
)
from backend.api.common import TENANT_SECURITY, ErrorSchema, context, principal, tenant_id
from backend.api.orders.schemas import (
    OrderCreateSchema,
    OrderPageSchema,
    OrderQuerySchema,
    OrderSchema,
    TransitionSchema,
)
from backend.api.pagination import paginated
from backend.api.scopes import requires
from backend.domain.delivery import PICKUP
from backend.domain.errors import InvalidInput, Unprocessable
from backend.domain.orders import CANCELLED
from backend.services.orders.delivery import DeliveryRequest
from backend.services.orders.orders import (
    OrderView,
    get_order,
    list_orders,
    place_order,
    Shipping,
    transition_order,
)

def _delivery_request(body: dict[str, Any]) -> DeliveryRequest | None:
    fulfilment, given = body["fulfilment"], body["delivery"]
    if fulfilment is None:
        if given is not None:
            raise Unprocessable("delivery needs fulfilment=delivery",
                                {"fulfilment": ["Set to 'delivery' with a delivery address."]})
        return None
    if fulfilment == PICKUP:
        if given is not None:
            raise Unprocessable("A pickup order has no delivery address",
                                {"delivery": ["Leave it out for pickup."]})
        return DeliveryRequest(PICKUP)
    given = given or {}
    if not given.get("same_as_last") and not given.get("address") \
            and given.get("latitude") is None:
        raise Unprocessable("A delivery needs an address, a location pin or same_as_last",
                            {"delivery": ["Give address, latitude/longitude or same_as_last."]})
    return DeliveryRequest(fulfilment, given.get("address"), given.get("latitude"),
                           given.get("longitude"), given.get("recipient_phone"),
                           bool(given.get("same_as_last")))


def _shown(order: OrderView) -> OrderView:
    """The order without its delivery address for callers who may not see customers."""
    if order.delivery is None or principal().may("customers:read"):
        return order
    return replace(order, delivery=replace(order.delivery, address=None, latitude=None,
                                           longitude=None, recipient_phone=None))


blp = Blueprint("orders", __name__, url_prefix="/v1/orders", description="Orders")
blp.before_request(require_tenant)


@blp.route("")
class Orders(MethodView):
    @requires("orders:read")
    @blp.doc(security=TENANT_SECURITY, **CUSTOMER_DOC)
    @blp.arguments(OrderQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, OrderPageSchema)
    def get(self, mine: bool, customer_id: int | None, **query: Any) -> dict[str, Any]:
        """List orders, newest first (with X-CUSTOMER-REF: only that customer's)"""
        acting = customer_scope()
        if mine and acting is None:
            raise InvalidInput(f"mine=true needs the service token and {CUSTOMER_HEADERS}")
        if acting is not None:
            customer_id = acting
        return paginated(list_orders(context(), tenant_id(), customer_id=customer_id, **query))

    @requires("orders:write")
    @blp.doc(security=TENANT_SECURITY, **IDEMPOTENCY_DOC)
    @blp.arguments(OrderCreateSchema)
    @blp.response(201, OrderSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown customer or variant")
    @blp.alt_response(409, schema=ErrorSchema, description="Not enough stock, or an empty cart")
    @blp.alt_response(422, schema=ErrorSchema, description="Invalid body, a reused key, or an "
                      "address outside every delivery zone (fallback pickup_only)")
    def post(self, body: dict[str, Any]) -> Any:
        """Place an order priced from the catalog now (the assistant: from the customer's cart)"""
        acting = customer_scope()
        customer_id = body_customer(acting, body["customer_id"])
        items = body["items"]
        if items is None and acting is None:
            raise InvalidInput("items are required", {"items": ["Give at least one item."]})
        lines = None if items is None else [(i["variant_id"], i["quantity"]) for i in items]
        delivery = _delivery_request(body)
        # The merchant's own orders are told to the customer; the assistant's, it says itself.
        placed = place_order(context(), tenant_id(), customer_id, lines, draft=body["draft"],
                             idempotency=idempotency("orders", body, customer_id),
                             notify=acting is None, delivery=delivery)
        return created(_shown(placed.order), placed.replayed)


@blp.route("/<int:order_id>")
class OrderById(MethodView):
    @requires("orders:read")
    @blp.doc(security=TENANT_SECURITY, **CUSTOMER_DOC)
    @blp.response(200, OrderSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such order (for this customer)")
    def get(self, order_id: int) -> OrderView:
        """One order with its lines (and its delivery address for callers who may see
        customers)"""
        return get_order(context(), tenant_id(), order_id, customer_scope(),
                         with_address=principal().may("customers:read"))


@blp.route("/<int:order_id>/transitions")
class OrderTransitions(MethodView):
    @requires("orders:write")
    @blp.doc(security=TENANT_SECURITY, **CUSTOMER_DOC)
    @blp.arguments(TransitionSchema)
    @blp.response(200, OrderSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such order")
    @blp.alt_response(409, schema=ErrorSchema, description="Transition not allowed, or no stock")
    def post(self, body: dict[str, Any], order_id: int) -> OrderView:
        """Move the order to another status (draft → pending_payment → paid → fulfilled →
        delivered, or fulfilled → returned when the goods come back; cancelled from
        draft/pending_payment; refunded from paid or returned)"""
        acting = customer_scope()
        if acting is not None and body["to"] != CANCELLED:
            # Payments and fulfilment are the merchant's (and the payment callbacks') to record.
            raise InvalidInput("Acting for a customer, an order can only be cancelled",
                               {"to": ["Only 'cancelled' with X-CUSTOMER-PHONE."]})
        return _shown(transition_order(context(), tenant_id(), order_id, body["to"], acting,
                                       body["reason"], shipping=Shipping(body["courier"],
                                                                         body["tracking"])))
