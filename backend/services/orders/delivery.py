"""Delivery: the tenant's settings and zones, quotes, and the delivery part of a new order (the fee
as an order line, the address encrypted, the customer's last address remembered)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.domain.delivery import (
    CALL_CUSTOMER,
    DELIVERY,
    FALLBACKS,
    FULFILMENTS,
    PICKUP,
    PICKUP_ONLY,
    Pin,
    Quote,
    Zone,
    check_pin,
    check_zone,
    quote_delivery,
)
from backend.domain.errors import Unprocessable
from backend.domain.phones import to_e164
from backend.models import CustomerDeliveryAddress, DeliverySettings, DeliveryZone, Order
from backend.models.orders import DELIVERY_LINE, OrderLine
from backend.security import Crypto
from backend.services.orders.carts import require_customer
from backend.services.platform.audit import record_audit
from backend.services.platform.scoped import tenant_row
from backend.services.platform.tenants import require_tenant
from backend.wiring import Context

FEE_SKU = "DELIVERY"


@dataclass(frozen=True)
class DeliverySettingsView:
    offers_pickup: bool
    offers_delivery: bool
    shop_latitude: float | None
    shop_longitude: float | None
    fallback: str


@dataclass(frozen=True)
class ZoneView:
    id: int
    name: str
    areas: list[str]
    radius_m: int | None
    fee_minor: int
    free_above_minor: int | None
    expected_time: str | None
    position: int


@dataclass(frozen=True)
class QuoteView:
    currency: str
    goods_minor: int
    zone: ZoneView | None
    fee_minor: int
    free_delivery: bool
    expected_time: str | None
    fallback: str | None  # set when no zone matched
    matched_area: str | None
    distance_m: int | None


@dataclass(frozen=True)
class LastDelivery:
    address: str | None
    latitude: float | None
    longitude: float | None
    recipient_phone: str | None


@dataclass(frozen=True)
class DeliveryRequest:
    """What the order form asked: pickup, or delivery to an address and/or a pin."""

    fulfilment: str
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    recipient_phone: str | None = None
    same_as_last: bool = False


DEFAULT_SETTINGS = DeliverySettingsView(True, False, None, None, PICKUP_ONLY)


def _settings_view(row: DeliverySettings | None) -> DeliverySettingsView:
    if row is None:
        return DEFAULT_SETTINGS
    return DeliverySettingsView(row.offers_pickup, row.offers_delivery, row.shop_latitude,
                                row.shop_longitude, row.fallback)


def _zone_view(row: DeliveryZone) -> ZoneView:
    return ZoneView(row.id, row.name, list(row.areas), row.radius_m, row.fee_minor,
                    row.free_above_minor, row.expected_time, row.position)


def _domain_zone(row: DeliveryZone) -> Zone:
    return Zone(row.id, row.name, tuple(row.areas), row.radius_m, row.fee_minor,
                row.free_above_minor, row.expected_time)


def _settings_row(session: Session, tenant_id: str) -> DeliverySettings | None:
    return session.get(DeliverySettings, tenant_id)


def _zones(session: Session, tenant_id: str) -> list[DeliveryZone]:
    return list(session.scalars(select(DeliveryZone).where(DeliveryZone.tenant_id == tenant_id)
                                .order_by(DeliveryZone.position, DeliveryZone.id)))


def _shop(settings: DeliverySettingsView) -> Pin | None:
    if settings.shop_latitude is None or settings.shop_longitude is None:
        return None
    return Pin(settings.shop_latitude, settings.shop_longitude)


def get_delivery_settings(ctx: Context, tenant_id: str) -> DeliverySettingsView:
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        return _settings_view(_settings_row(session, tenant_id))


def update_delivery_settings(ctx: Context, tenant_id: str,
                             changes: dict[str, Any]) -> DeliverySettingsView:
    """Change some settings; the shop's coordinates are set (or cleared) together."""
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        row = _settings_row(session, tenant_id)
        before = _settings_view(row)
        if row is None:
            row = DeliverySettings(tenant_id=tenant_id, offers_pickup=True, offers_delivery=False,
                                   fallback=PICKUP_ONLY)
            session.add(row)
        for name in ("offers_pickup", "offers_delivery", "shop_latitude", "shop_longitude",
                     "fallback"):
            if name in changes:
                setattr(row, name, changes[name])
        errors: dict[str, list[str]] = {}
        if (row.shop_latitude is None) != (row.shop_longitude is None):
            errors["shop_latitude"] = ["Give both the shop's latitude and longitude, or neither."]
        elif row.shop_latitude is not None and row.shop_longitude is not None:
            check_pin(row.shop_latitude, row.shop_longitude)
        if row.fallback not in FALLBACKS:
            errors["fallback"] = [f"One of {', '.join(FALLBACKS)}."]
        if not row.offers_pickup and not row.offers_delivery:
            errors["offers_pickup"] = ["Offer pickup, delivery or both."]
        if row.shop_latitude is None and any(z.radius_m is not None
                                             for z in _zones(session, tenant_id)):
            errors.setdefault("shop_latitude", [
                "Zones with a radius need the shop's coordinates: remove their radius first."])
        if errors:
            field = next(iter(errors))
            raise Unprocessable(f"Invalid delivery settings: {errors[field][0]}", errors)
        session.flush()
        after = _settings_view(row)
        record_audit(session, tenant_id, None, "delivery_settings.update",
                     ("tenant", tenant_id), before, after)
        return after


def list_zones(ctx: Context, tenant_id: str) -> list[ZoneView]:
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        return [_zone_view(row) for row in _zones(session, tenant_id)]


def _apply_zone(session: Session, tenant_id: str, row: DeliveryZone) -> None:
    settings = _settings_view(_settings_row(session, tenant_id))
    row.areas = check_zone(row.name or "", list(row.areas or []), row.radius_m, row.fee_minor,
                           row.free_above_minor, _shop(settings) is not None)
    row.name = row.name.strip()


def create_zone(ctx: Context, tenant_id: str, fields: dict[str, Any]) -> ZoneView:
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        position = fields.get("position")
        if position is None:
            position = (session.scalar(select(func.max(DeliveryZone.position))
                                       .where(DeliveryZone.tenant_id == tenant_id)) or 0) + 1
        row = DeliveryZone(tenant_id=tenant_id, name=fields["name"],
                           areas=list(fields.get("areas") or []),
                           radius_m=fields.get("radius_m"), fee_minor=fields["fee_minor"],
                           free_above_minor=fields.get("free_above_minor"),
                           expected_time=fields.get("expected_time"), position=position)
        _apply_zone(session, tenant_id, row)
        session.add(row)
        session.flush()
        view = _zone_view(row)
        record_audit(session, tenant_id, None, "delivery_zone.create", ("delivery_zone", row.id),
                     after=view)
        return view


def update_zone(ctx: Context, tenant_id: str, zone_id: int, changes: dict[str, Any]) -> ZoneView:
    with ctx.db.transaction() as session:
        row = tenant_row(session, DeliveryZone, zone_id, tenant_id, "delivery zone")
        before = _zone_view(row)
        for name in ("name", "areas", "radius_m", "fee_minor", "free_above_minor",
                     "expected_time", "position"):
            if name in changes:
                setattr(row, name, list(changes[name] or []) if name == "areas"
                        else changes[name])
        _apply_zone(session, tenant_id, row)
        session.flush()
        view = _zone_view(row)
        record_audit(session, tenant_id, None, "delivery_zone.update", ("delivery_zone", row.id),
                     before, view)
        return view


def delete_zone(ctx: Context, tenant_id: str, zone_id: int) -> None:
    with ctx.db.transaction() as session:
        row = tenant_row(session, DeliveryZone, zone_id, tenant_id, "delivery zone")
        record_audit(session, tenant_id, None, "delivery_zone.delete", ("delivery_zone", row.id),
                     before=_zone_view(row))
        session.delete(row)


def _pin(latitude: float | None, longitude: float | None) -> Pin | None:
    if latitude is None and longitude is None:
        return None
    if latitude is None or longitude is None:
        raise Unprocessable("A location needs both latitude and longitude",
                            {"latitude": ["Give both latitude and longitude."]})
    return check_pin(latitude, longitude)


def _quote(session: Session, tenant_id: str, goods_minor: int, address: str | None,
           pin: Pin | None) -> tuple[Quote, DeliverySettingsView, dict[int, DeliveryZone]]:
    settings = _settings_view(_settings_row(session, tenant_id))
    rows = _zones(session, tenant_id)
    quote = quote_delivery([_domain_zone(row) for row in rows], settings.fallback, goods_minor,
                           address=address, pin=pin, shop=_shop(settings))
    return quote, settings, {row.id: row for row in rows}


def quote(ctx: Context, tenant_id: str, goods_minor: int, address: str | None = None,
          latitude: float | None = None, longitude: float | None = None) -> QuoteView:
    """The fee and expected time of delivering `goods_minor` worth of goods there (or the
    merchant's fallback when no zone covers it)."""
    pin = _pin(latitude, longitude)
    with ctx.db.transaction() as session:
        currency = require_tenant(session, tenant_id).currency
        found, _, rows = _quote(session, tenant_id, goods_minor, address, pin)
        zone = _zone_view(rows[found.zone.id]) if found.zone is not None else None
        return QuoteView(currency, goods_minor, zone, found.fee_minor, found.free_delivery,
                         found.expected_time, found.fallback, found.matched_area,
                         found.distance_m)


def _last_row(session: Session, tenant_id: str,
              customer_id: int) -> CustomerDeliveryAddress | None:
    return session.scalar(select(CustomerDeliveryAddress).where(
        CustomerDeliveryAddress.tenant_id == tenant_id,
        CustomerDeliveryAddress.customer_id == customer_id))


def _decrypt(crypto: Crypto, token: str | None) -> str | None:
    return None if token is None else crypto.decrypt(token)


def last_delivery(ctx: Context, tenant_id: str, customer_id: int) -> LastDelivery | None:
    """The customer's last delivery address ("same address as last time?"), or None."""
    with ctx.db.transaction() as session:
        require_customer(session, tenant_id, customer_id)
        row = _last_row(session, tenant_id, customer_id)
        if row is None:
            return None
        return LastDelivery(_decrypt(ctx.crypto, row.address_encrypted), row.latitude,
                            row.longitude, _decrypt(ctx.crypto, row.recipient_phone_encrypted))


def delivery_options(ctx: Context, tenant_id: str, customer_id: int) -> dict[str, Any]:
    """What the order form asks: the settings and the customer's last address."""
    settings = get_delivery_settings(ctx, tenant_id)
    return {"offers_pickup": settings.offers_pickup,
            "offers_delivery": settings.offers_delivery,
            "fallback": settings.fallback,
            "last_delivery": last_delivery(ctx, tenant_id, customer_id)}


def apply_delivery(session: Session, crypto: Crypto, order: Order, request: DeliveryRequest,
                   goods_minor: int) -> None:
    """Set the order's fulfilment; for delivery: the zone's fee as a line (part of the total),
    the address and recipient encrypted, and the customer's last address remembered.

    Outside every zone: 422 with the "pickup_only" fallback; with "call_customer" the order is
    taken with no fee and flagged for a call."""
    tenant_id = order.tenant_id
    settings = _settings_view(_settings_row(session, tenant_id))
    if request.fulfilment not in FULFILMENTS:
        raise Unprocessable(f"fulfilment is one of {', '.join(FULFILMENTS)}",
                            {"fulfilment": [f"One of {', '.join(FULFILMENTS)}."]})
    if request.fulfilment == PICKUP:
        if not settings.offers_pickup:
            raise Unprocessable("This shop does not offer pickup: choose delivery",
                                {"fulfilment": ["Pickup is not offered."]})
        order.fulfilment = PICKUP
        return
    if not settings.offers_delivery:
        raise Unprocessable("This shop does not deliver: choose pickup",
                            {"fulfilment": ["Delivery is not offered."]})
    address, latitude, longitude, recipient = (request.address, request.latitude,
                                               request.longitude, request.recipient_phone)
    last = _last_row(session, tenant_id, order.customer_id)
    if request.same_as_last:
        if last is None:
            raise Unprocessable("There is no earlier delivery address for this customer",
                                {"same_as_last": ["No earlier delivery address."]})
        address = _decrypt(crypto, last.address_encrypted)
        latitude, longitude = last.latitude, last.longitude
        if recipient is None:
            recipient = _decrypt(crypto, last.recipient_phone_encrypted)
    address = " ".join(address.split()) if address else None
    pin = _pin(latitude, longitude)
    if recipient:
        recipient = to_e164(recipient, "recipient_phone")
    found, _, _ = _quote(session, tenant_id, goods_minor, address, pin)
    if found.zone is None and found.fallback == PICKUP_ONLY:
        raise Unprocessable(
            "We do not deliver to that address: choose pickup, or another address",
            {"address": ["Outside every delivery zone (this shop offers pickup instead)."]})
    order.fulfilment = DELIVERY
    order.delivery_address_encrypted = crypto.encrypt(address) if address else None
    order.delivery_latitude = pin.latitude if pin else None
    order.delivery_longitude = pin.longitude if pin else None
    order.recipient_phone_encrypted = crypto.encrypt(recipient) if recipient else None
    order.delivery_zone = found.zone.name if found.zone else None
    order.expected_time = found.expected_time
    order.delivery_needs_call = found.zone is None and found.fallback == CALL_CUSTOMER
    if found.zone is not None:
        order.lines.append(OrderLine(
            tenant_id=tenant_id, variant_id=None, sku=FEE_SKU,
            title=f"Delivery: {found.zone.name}"[:200], unit_price_minor=found.fee_minor,
            quantity=1, line_total_minor=found.fee_minor, kind=DELIVERY_LINE))
        order.total_minor += found.fee_minor
    if last is None:
        last = CustomerDeliveryAddress(tenant_id=tenant_id, customer_id=order.customer_id)
        session.add(last)
    last.address_encrypted = order.delivery_address_encrypted
    last.latitude, last.longitude = order.delivery_latitude, order.delivery_longitude
    last.recipient_phone_encrypted = order.recipient_phone_encrypted
