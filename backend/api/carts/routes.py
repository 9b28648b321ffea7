"""/v1/carts/current… for the assistant (service token + X-CUSTOMER-PHONE); /v1/carts for all."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.acting import acting_customer_id
from backend.api.auth import require_tenant
from backend.api.carts.schemas import (
    CartItemAddSchema,
    CartItemUpdateSchema,
    CartPageSchema,
    CartQuerySchema,
    CartSchema,
)
from backend.api.commerce import CUSTOMER_DOC
from backend.api.common import TENANT_SECURITY, ErrorSchema, context, tenant_id
from backend.api.pagination import paginated
from backend.api.scopes import SERVICE, requires
from backend.services.orders.carts import (
    CartView,
    add_item,
    current_cart,
    get_cart,
    list_carts,
    remove_item,
    update_item,
)

blp = Blueprint("carts", __name__, url_prefix="/v1/carts", description="Carts")
blp.before_request(require_tenant)


@blp.before_request
def _find_acting_customer() -> None:
    """/current… routes: the customer is resolved before the body is even validated, so a
    merchant key learns nothing from them (the scope check refused it already: 403)."""
    if request.path.startswith(f"{blp.url_prefix}/current"):
        g.acting_customer_id = acting_customer_id()


def _customer() -> int:
    customer_id: int = g.acting_customer_id
    return customer_id

ACTING = {"security": [{"ServiceToken": [], "TenantId": []}], **CUSTOMER_DOC}


@blp.route("")
class Carts(MethodView):
    @requires("orders:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(CartQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, CartPageSchema)
    def get(self, **query: Any) -> dict[str, Any]:
        """Every customer's cart (filter by customer_id), priced from the catalog now"""
        return paginated(list_carts(context(), tenant_id(), **query))


@blp.route("/<int:cart_id>")
class CartById(MethodView):
    @requires("orders:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, CartSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such cart")
    def get(self, cart_id: int) -> CartView:
        """One cart"""
        return get_cart(context(), tenant_id(), cart_id)


@blp.route("/current")
class CurrentCart(MethodView):
    @requires(SERVICE)
    @blp.doc(**ACTING)
    @blp.response(200, CartSchema)
    def get(self) -> CartView:
        """The acting customer's cart (created empty on first use)"""
        return current_cart(context(), tenant_id(), _customer())


@blp.route("/current/items")
class CurrentCartItems(MethodView):
    @requires(SERVICE)
    @blp.doc(**ACTING)
    @blp.arguments(CartItemAddSchema)
    @blp.response(201, CartSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such variant")
    @blp.alt_response(409, schema=ErrorSchema, description="Not enough stock")
    def post(self, body: dict[str, Any]) -> CartView:
        """Add a variant (or more of it); the cart's quantity must stay within stock"""
        return add_item(context(), tenant_id(), _customer(), body["variant_id"],
                        body["quantity"])


@blp.route("/current/items/<int:item_id>")
class CurrentCartItem(MethodView):
    @requires(SERVICE)
    @blp.doc(**ACTING)
    @blp.arguments(CartItemUpdateSchema)
    @blp.response(200, CartSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such item in this cart")
    @blp.alt_response(409, schema=ErrorSchema, description="Not enough stock")
    def patch(self, body: dict[str, Any], item_id: int) -> CartView:
        """Set an item's quantity"""
        return update_item(context(), tenant_id(), _customer(), item_id,
                           body["quantity"])

    @requires(SERVICE)
    @blp.doc(**ACTING)
    @blp.response(200, CartSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such item in this cart")
    def delete(self, item_id: int) -> CartView:
        """Remove an item; answers with the cart"""
        return remove_item(context(), tenant_id(), _customer(), item_id)
