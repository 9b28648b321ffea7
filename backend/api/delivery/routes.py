"""Delivery settings and zones (settings:read / settings:write), quotes, and the assistant's
routes for the order form (the service token acting for a customer)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.acting import CUSTOMER_HEADERS
from backend.api.auth import require_tenant
from backend.api.commerce import CUSTOMER_DOC, customer_scope
from backend.api.common import SERVICE_SECURITY, TENANT_SECURITY, ErrorSchema, context, tenant_id
from backend.api.delivery.schemas import (
    AssistantQuoteRequestSchema,
    DeliveryOptionsSchema,
    DeliverySettingsPatchSchema,
    DeliverySettingsSchema,
    QuoteRequestSchema,
    QuoteSchema,
    ZoneCreateSchema,
    ZoneListSchema,
    ZonePatchSchema,
    ZoneSchema,
)
from backend.api.scopes import SERVICE, requires
from backend.domain.errors import InvalidInput, Unprocessable
from backend.services.orders import delivery
from backend.services.orders.carts import current_cart

blp = Blueprint("delivery", __name__, url_prefix="/v1/delivery", description="Delivery")
blp.before_request(require_tenant)
internal_blp = Blueprint("delivery_internal", __name__, url_prefix="/internal/v1/delivery",
                         description="Delivery (service: the assistant's order form)")
internal_blp.before_request(require_tenant)
NO_ZONE = "No such delivery zone for this tenant"


@blp.route("/settings")
class Settings(MethodView):
    @requires("settings:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, DeliverySettingsSchema)
    def get(self) -> delivery.DeliverySettingsView:
        """Whether pickup and delivery are offered, the shop's location, the fallback"""
        return delivery.get_delivery_settings(context(), tenant_id())

    @requires("settings:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(DeliverySettingsPatchSchema)
    @blp.response(200, DeliverySettingsSchema)
    @blp.alt_response(422, schema=ErrorSchema, description="Settings that cannot be used")
    def patch(self, changes: dict[str, Any]) -> delivery.DeliverySettingsView:
        """Change the delivery settings"""
        return delivery.update_delivery_settings(context(), tenant_id(), changes)


@blp.route("/zones")
class Zones(MethodView):
    @requires("settings:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, ZoneListSchema)
    def get(self) -> dict[str, Any]:
        """The delivery zones, in matching order"""
        return {"zones": delivery.list_zones(context(), tenant_id())}

    @requires("settings:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(ZoneCreateSchema)
    @blp.response(201, ZoneSchema)
    @blp.alt_response(422, schema=ErrorSchema, description="A negative fee, no area and no "
                      "radius, a radius without the shop's location...")
    def post(self, body: dict[str, Any]) -> delivery.ZoneView:
        """Add a delivery zone (areas and/or a radius around the shop)"""
        return delivery.create_zone(context(), tenant_id(), body)


@blp.route("/zones/<int:zone_id>")
class ZoneById(MethodView):
    @requires("settings:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(ZonePatchSchema)
    @blp.response(200, ZoneSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NO_ZONE)
    @blp.alt_response(422, schema=ErrorSchema, description="A zone that cannot be used")
    def patch(self, changes: dict[str, Any], zone_id: int) -> delivery.ZoneView:
        """Change a delivery zone"""
        return delivery.update_zone(context(), tenant_id(), zone_id, changes)

    @requires("settings:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description=NO_ZONE)
    def delete(self, zone_id: int) -> None:
        """Delete a delivery zone (orders keep its name and fee)"""
        delivery.delete_zone(context(), tenant_id(), zone_id)


@blp.route("/quote")
class Quote(MethodView):
    @requires("settings:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(QuoteRequestSchema)
    @blp.response(200, QuoteSchema)
    @blp.alt_response(422, schema=ErrorSchema, description="No address and no location")
    def post(self, body: dict[str, Any]) -> delivery.QuoteView:
        """The zone, fee and expected time for an address or a location pin (or the fallback
        when no zone covers it)"""
        return delivery.quote(context(), tenant_id(), body["goods_minor"], body["address"],
                              body["latitude"], body["longitude"])


def _acting() -> int:
    acting = customer_scope()
    if acting is None:
        raise InvalidInput(f"Act for a customer with {CUSTOMER_HEADERS}")
    return acting


@internal_blp.route("/options")
class Options(MethodView):
    @requires(SERVICE)
    @internal_blp.doc(security=SERVICE_SECURITY, **CUSTOMER_DOC)
    @internal_blp.response(200, DeliveryOptionsSchema)
    @internal_blp.alt_response(404, schema=ErrorSchema, description="Unknown customer")
    def get(self) -> dict[str, Any]:
        """What the order form asks: pickup and/or delivery, and the customer's last delivery
        address ("same address as last time?")"""
        return delivery.delivery_options(context(), tenant_id(), _acting())


@internal_blp.route("/quote")
class AssistantQuote(MethodView):
    @requires(SERVICE)
    @internal_blp.doc(security=SERVICE_SECURITY, **CUSTOMER_DOC)
    @internal_blp.arguments(AssistantQuoteRequestSchema)
    @internal_blp.response(200, QuoteSchema)
    @internal_blp.alt_response(422, schema=ErrorSchema,
                               description="No address, no location and no earlier address")
    def post(self, body: dict[str, Any]) -> delivery.QuoteView:
        """The acting customer's quote: their cart's total (unless goods_minor is given) to an
        address, a pin, or their last address (same_as_last)"""
        ctx, tenant, customer = context(), tenant_id(), _acting()
        goods = body["goods_minor"]
        if goods is None:
            goods = current_cart(ctx, tenant, customer).total_minor
        address, latitude, longitude = body["address"], body["latitude"], body["longitude"]
        if body["same_as_last"]:
            last = delivery.last_delivery(ctx, tenant, customer)
            if last is None:
                raise Unprocessable("There is no earlier delivery address for this customer",
                                    {"same_as_last": ["No earlier delivery address."]})
            address, latitude, longitude = last.address, last.latitude, last.longitude
        return delivery.quote(ctx, tenant, goods, address, latitude, longitude)
