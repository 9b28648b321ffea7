"""Demo commerce data for one tenant: 50 products, 10 services with weekly windows, and some
history (orders in several statuses, past and future appointments). Idempotent."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from backend.wiring import Context
from backend.domain.deposits import PERCENT, DepositRule
from backend.domain.money import Money
from backend.domain.orders import (
    CANCELLED,
    DELIVERED,
    FULFILLED,
    PAID,
    PENDING_PAYMENT,
    REFUNDED,
)
from backend.models import Appointment, Order, ProductVariant, Service
from backend.seed.catalog import catalog_for
from backend.services.bookings.appointments import available_slots, book
from backend.services.catalog.listing import add_products
from backend.services.bookings.services import NewService, NewServiceVariant, NewWindow, create_service
from backend.services.orders.delivery import create_zone, list_zones, update_delivery_settings
from backend.services.orders.orders import place_order, transition_order
from backend.services.platform.tenants import require_tenant

# name, category, description, [(variant, minutes, KES)], capacity
ServiceSpec = tuple[str, str, str, tuple[tuple[str, int, str], ...], int]

# Services booked against a deposit (the rest are paid at the salon): the long braiding styles
# hold a stylist for hours, so the demo salon asks 30 % up front, held 15 minutes.
DEPOSITS: dict[str, DepositRule] = {"Knotless Braids": DepositRule(PERCENT, 30, 15)}

SERVICES: dict[str, tuple[ServiceSpec, ...]] = {
    "salon": (
        ("Box Braids", "braiding", "Box braids, hair included.",
         (("Shoulder length", 180, "2500"), ("Waist length", 300, "4000")), 3),
        ("Cornrows", "braiding", "Straight-back or patterned cornrows.",
         (("Straight back", 60, "800"), ("Freestyle pattern", 120, "1500")), 3),
        ("Knotless Braids", "braiding", "Knotless braids, light on the scalp.",
         (("Medium", 240, "3500"), ("Small", 360, "5000")), 2),
        ("Haircut", "cuts", "Cut and style for ladies and gents.",
         (("Gents cut", 30, "300"), ("Ladies cut and style", 60, "800")), 4),
        ("Wash and Blow-dry", "styling", "Wash, treatment and blow-dry.",
         (("Short hair", 45, "600"), ("Long hair", 60, "900")), 3),
        ("Manicure", "nails", "Manicure with polish.",
         (("Classic", 30, "500"), ("Gel", 60, "1200")), 3),
        ("Pedicure", "nails", "Pedicure with foot soak and polish.",
         (("Classic", 45, "700"), ("Spa", 75, "1500")), 2),
        ("Wig Installation", "wigs", "Lace wig install and styling.",
         (("Glueless", 60, "1500"), ("Frontal with glue", 120, "2500")), 2),
        ("Make-up", "make-up", "Make-up for events.",
         (("Day look", 45, "1500"), ("Bridal", 120, "6000")), 2),
        ("Locs Retwist", "locs", "Retwist and style for locs.",
         (("Retwist", 90, "1500"), ("Retwist and style", 120, "2000")), 2),
    ),
    "mixed": (
        ("Screen Replacement", "repairs", "Cracked screen replaced with a tested part.",
         (("Budget phone", 60, "2500"), ("Mid-range phone", 90, "4500")), 2),
        ("Battery Replacement", "repairs", "New battery fitted and tested.",
         (("Standard", 30, "1500"), ("Fast-charge battery", 45, "2500")), 3),
        ("Charging Port Repair", "repairs", "Charging port cleaned or replaced.",
         (("Cleaning", 20, "300"), ("Replacement", 45, "1200")), 3),
        ("Water Damage Treatment", "repairs", "Ultrasonic cleaning after water damage.",
         (("Diagnosis and cleaning", 120, "2000"),), 1),
        ("Software Flashing", "software", "Re-install the phone's software; data backed up first.",
         (("Android", 60, "1000"),), 2),
        ("Phone Unlocking", "software", "Forgotten pattern or PIN removal with proof of ownership.",
         (("Pattern or PIN", 45, "800"),), 2),
        ("Data Transfer", "software", "Contacts, photos and WhatsApp moved to a new phone.",
         (("Standard", 30, "500"), ("With WhatsApp history", 60, "1000")), 3),
        ("Screen Protector Fitting", "accessories", "Bubble-free fitting of a protector.",
         (("Fitting only", 10, "100"),), 4),
        ("Laptop Servicing", "computers", "Dust cleaning, thermal paste and checks.",
         (("Standard service", 90, "2500"),), 2),
        ("Speaker and Mic Repair", "repairs", "Earpiece, loudspeaker or microphone fixed.",
         (("Standard", 45, "1000"),), 2),
    ),
    "shop": (
        ("Trouser Hemming", "tailoring", "Trousers shortened to your length.",
         (("Plain hem", 20, "200"), ("Hem with cuff", 30, "350")), 3),
        ("Dress Alterations", "tailoring", "Take in, let out or shorten a dress.",
         (("Simple", 45, "600"), ("Complex", 90, "1200")), 2),
        ("Kitenge Tailoring", "tailoring", "A made-to-measure kitenge outfit.",
         (("Shirt", 60, "1500"), ("Dress", 90, "2500")), 2),
        ("Suit Fitting", "tailoring", "Jacket and trousers fitted.",
         (("Fitting", 45, "1000"),), 2),
        ("Shoe Repair", "shoe care", "Soles, heels and stitching repaired.",
         (("Heel tips", 20, "300"), ("Full resole", 60, "1500")), 3),
        ("Shoe Shine", "shoe care", "Clean, polish and buff.",
         (("Standard shine", 15, "100"),), 4),
        ("Sneaker Cleaning", "shoe care", "Deep clean for canvas and leather sneakers.",
         (("Standard", 30, "400"), ("Deep clean and whitening", 60, "800")), 3),
        ("Zip Replacement", "tailoring", "Broken zips replaced on trousers, jackets and bags.",
         (("Trousers", 30, "300"), ("Jacket", 45, "600")), 2),
        ("Boot Stretching", "shoe care", "Tight boots stretched overnight.",
         (("Per pair", 30, "500"),), 2),
        ("Personal Styling", "styling", "An hour with a stylist choosing an outfit.",
         (("One hour", 60, "1000"),), 1),
    ),
}
# Opening of the weekly windows: Monday to Saturday (weekday 0–5).
WEEKDAY_HOURS = (time(9, 0), time(17, 0))
SATURDAY_HOURS = (time(9, 0), time(13, 0))
ORDER_STORIES = (DELIVERED, FULFILLED, PAID, PENDING_PAYMENT, CANCELLED, REFUNDED, DELIVERED)
PATHS = {
    PENDING_PAYMENT: (),
    PAID: (PAID,),
    FULFILLED: (PAID, FULFILLED),
    DELIVERED: (PAID, FULFILLED, DELIVERED),
    CANCELLED: (CANCELLED,),
    REFUNDED: (PAID, REFUNDED),
}


def seed_commerce(ctx: Context, tenant_id: str, kind: str, customer_ids: list[int]) -> None:
    """Catalog and services for a "shop", "salon" or "mixed" tenant, then orders and
    appointments for some of `customer_ids`; what already exists is left alone."""
    with ctx.db.transaction() as session:
        currency = require_tenant(session, tenant_id).currency
    add_products(ctx, tenant_id, catalog_for(kind, currency))
    _seed_services(ctx, tenant_id, kind, currency)
    if kind in DELIVERY_KINDS:
        seed_delivery(ctx, tenant_id, currency)
    if customer_ids:
        _seed_orders(ctx, tenant_id, customer_ids)
        _seed_appointments(ctx, tenant_id, customer_ids)


DELIVERY_KINDS = ("shop", "mixed")
SHOP_LOCATION = {"shop_latitude": -1.2841, "shop_longitude": 36.8233}  # Nairobi CBD
DELIVERY_ZONES = (
    ("Near the shop", [], 3_000, "150", None, "within 1 hour"),
    ("CBD and Westlands", ["Tao", "Westlands", "Parklands", "Ngara"], None, "200", "5000",
     "same day"),
    ("Eastlands", ["Kasarani", "Roysambu", "Umoja", "Buruburu", "Donholm", "Embakasi"], None,
     "300", "8000", "same day"),
    ("Rongai and Karen", ["Ongata Rongai", "Karen", "Langata"], None, "400", "10000",
     "next day"),
)


def seed_delivery(ctx: Context, tenant_id: str, currency: str) -> None:
    """Pickup and delivery offered, with the demo zones (left alone once any exists)."""
    if list_zones(ctx, tenant_id):
        return
    update_delivery_settings(ctx, tenant_id, {"offers_pickup": True, "offers_delivery": True,
                                              "fallback": "call_customer", **SHOP_LOCATION})
    for position, (name, areas, radius, fee, free_above, expected) in enumerate(DELIVERY_ZONES):
        create_zone(ctx, tenant_id, {
            "name": name, "areas": areas, "radius_m": radius, "position": position,
            "fee_minor": Money.from_major(fee, currency).amount_minor,
            "free_above_minor": None if free_above is None
            else Money.from_major(free_above, currency).amount_minor,
            "expected_time": expected})


def _windows(capacity: int) -> list[NewWindow]:
    windows = [NewWindow(*WEEKDAY_HOURS, capacity=capacity, weekday=day) for day in range(5)]
    return [*windows, NewWindow(*SATURDAY_HOURS, capacity=capacity, weekday=5)]


def _seed_services(ctx: Context, tenant_id: str, kind: str, currency: str) -> None:
    with ctx.db.transaction() as session:
        known = set(session.scalars(select(Service.name).where(Service.tenant_id == tenant_id)))
    for name, category, description, variants, capacity in SERVICES[kind]:
        if name in known:
            continue
        create_service(ctx, tenant_id, NewService(
            name, description, category,
            [NewServiceVariant(v, minutes, Money.from_major(kes, currency))
             for v, minutes, kes in variants],
            _windows(capacity), DEPOSITS.get(name, DepositRule()),
        ))


def _count(ctx: Context, model: type[Order] | type[Appointment], tenant_id: str) -> int:
    with ctx.db.transaction() as session:
        return int(session.scalar(
            select(func.count(model.id)).where(model.tenant_id == tenant_id)) or 0)


def _seed_orders(ctx: Context, tenant_id: str, customer_ids: list[int]) -> None:
    if _count(ctx, Order, tenant_id):
        return
    with ctx.db.transaction() as session:
        variants = list(session.scalars(
            select(ProductVariant.id).where(ProductVariant.tenant_id == tenant_id,
                                            ProductVariant.stock >= 3)
            .order_by(ProductVariant.id)))
    if not variants:
        return
    for n, story in enumerate(ORDER_STORIES * 2):
        buyer = customer_ids[n % len(customer_ids)]
        items = [(variants[(n * 7) % len(variants)], 1)]
        if n % 3 == 0:
            items.append((variants[(n * 7 + 3) % len(variants)], 1 + n % 2))
        placed = place_order(ctx, tenant_id, buyer, items)
        for status in PATHS[story]:
            transition_order(ctx, tenant_id, placed.order.id, status, notify=False)


def _seed_appointments(ctx: Context, tenant_id: str, customer_ids: list[int]) -> None:
    if _count(ctx, Appointment, tenant_id):
        return
    with ctx.db.transaction() as session:
        services = list(session.scalars(
            select(Service).where(Service.tenant_id == tenant_id).order_by(Service.id)))
        plans = [(s.id, s.variants[0].id, s.variants[0].duration_minutes,
                  s.variants[0].price_minor, s.variants[0].currency)
                 for s in services if s.name not in DEPOSITS][:5]
    today = datetime.now(UTC).date()
    # The past cannot be booked through the API, so history is written as it would have been.
    with ctx.db.transaction() as session:
        for n, (service_id, variant_id, minutes, price, currency) in enumerate(plans):
            starts = datetime.combine(today - timedelta(days=3 + 4 * n), time(7, 0), UTC)
            session.add(Appointment(
                tenant_id=tenant_id, customer_id=customer_ids[n % len(customer_ids)],
                service_id=service_id, service_variant_id=variant_id, window_id=None,
                starts_at=starts, ends_at=starts + timedelta(minutes=minutes),
                status="cancelled" if n == 2 else "booked", price_minor=price,
                currency=currency, notes="seeded history"))
    for n, (service_id, variant_id, *_rest) in enumerate(plans):
        first: date = today + timedelta(days=1 + n)
        free = available_slots(ctx, tenant_id, service_id, first, first + timedelta(days=6),
                               variant_id)
        if free:
            book(ctx, tenant_id, customer_ids[(n + 1) % len(customer_ids)], variant_id,
                 free[min(n, len(free) - 1)].starts_at, "seeded", notify=False)
