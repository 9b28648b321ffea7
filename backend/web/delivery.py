"""The Delivery section of the shop's settings: pickup/delivery, the shop's location and the
fallback (settings:write, through the API's schemas and services: PATCH /v1/delivery/settings,
POST/PATCH/DELETE /v1/delivery/zones)."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from backend.domain.money import Money, MoneyError
from backend.interface.inputs import (
    DeliverySettingsPatchSchema,
    ZoneCreateSchema,
    ZonePatchSchema,
)
from backend.interface.scopes import requires
from backend.services.orders import delivery
from backend.services.platform.tenants import get_settings
from backend.web.core import PageError, blp, context, done, tenant_id, validated


def _number(name: str) -> str | None:
    text = request.form.get(name, "").strip()
    return text or None


def _minor(name: str, currency: str) -> int | None:
    text = (_number(name) or "").replace(",", "")
    if not text:
        return None
    try:
        return Money.from_major(text, currency).amount_minor
    except MoneyError as error:
        raise PageError(422, "catalog.price_invalid") from error


def _zone_form() -> dict[str, Any]:
    """The zone form as the API's body: areas one per line or comma-separated, money in KES."""
    currency = get_settings(context(), tenant_id()).currency
    raw_areas = request.form.get("areas", "").replace("\n", ",")
    form: dict[str, Any] = {
        "name": request.form.get("name", "").strip(),
        "areas": [area.strip() for area in raw_areas.split(",") if area.strip()],
        "radius_m": _number("radius_m"),
        "fee_minor": _minor("fee", currency),
        "free_above_minor": _minor("free_above", currency),
        "expected_time": _number("expected_time"),
    }
    return form


@blp.post("/settings/delivery")
@requires("settings:write")
def delivery_settings_update() -> Response:
    form = request.form
    body = validated(DeliverySettingsPatchSchema(), {
        "offers_pickup": form.get("offers_pickup") == "on",
        "offers_delivery": form.get("offers_delivery") == "on",
        "shop_latitude": _number("shop_latitude"),
        "shop_longitude": _number("shop_longitude"),
        "fallback": form.get("fallback", ""),
    })
    delivery.update_delivery_settings(context(), tenant_id(), body)
    return done("web.shop_settings", "delivery.saved")


@blp.post("/settings/delivery/zones")
@requires("settings:write")
def delivery_zone_create() -> Response:
    body = validated(ZoneCreateSchema(), _zone_form())
    delivery.create_zone(context(), tenant_id(), body)
    return done("web.shop_settings", "delivery.zone_saved")


@blp.post("/settings/delivery/zones/<int:zone_id>")
@requires("settings:write")
def delivery_zone_update(zone_id: int) -> Response:
    body = validated(ZonePatchSchema(), _zone_form())
    delivery.update_zone(context(), tenant_id(), zone_id, body)
    return done("web.shop_settings", "delivery.zone_saved")


@blp.post("/settings/delivery/zones/<int:zone_id>/delete")
@requires("settings:write")
def delivery_zone_delete(zone_id: int) -> Response:
    delivery.delete_zone(context(), tenant_id(), zone_id)
    return done("web.shop_settings", "delivery.zone_deleted")
