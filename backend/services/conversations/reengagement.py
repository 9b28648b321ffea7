"""Re-engagement: the scheduler's sweep reminds a customer of an abandoned cart once, nudges a
customer silent for 7 days once, and marks one silent for 14 days dormant
(backend/domain/notifications.py REENGAGEMENT).

An abandoned cart is the customer's cart (one per customer) still holding items
features.cart_reminder_hours (default 24) after its last change; placing the order empties it,
and an order placed but not paid is cancelled by the expiry sweep with its own message
(order_expired), so it is not reminded of here. A cart is reminded of once per filling
(carts.filled_at): emptied and filled again, it may be reminded of again.

Each message is an automatic message (services/conversations/automatic.py): in the customer's
language, switchable per tenant (features.automatic_messages), through the one send decision
(consent of its kind, the 24-hour window or the tenant's approved template named after the
event, quiet hours, limits), and recorded once per (tenant, event, subject) by a unique row, so
a sweep run twice, or two schedulers at once, send one message; a refusal keeps its reason."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.wiring import Context
from backend.domain.notifications import (
    DORMANT_AFTER,
    SILENT_AFTER,
    cart_reminder_after,
)
from backend.domain.orders import Line, order_total
from backend.models import (
    AutomaticMessage,
    Cart,
    CartItem,
    Conversation,
    Customer,
    ProductVariant,
    Tenant,
)
from backend.models.base import utcnow
from backend.services.conversations.automatic import announce, customer_language
from backend.services.conversations.outbound import enqueue_delivery, last_inbound_at

log = logging.getLogger(__name__)
CART_REMINDER = "cart_reminder"
NUDGE = "reengagement_nudge"
# A reminder is due from its moment for this long; a sweep stopped for longer skips what is
# older rather than writing about a cart or a silence the customer has long forgotten.
DUE_FOR = timedelta(days=7)
# How many of each a sweep handles per tenant (the next sweep takes the rest).
BATCH = 500


@dataclass
class ReengagementReport:
    carts: Counter[str] = field(default_factory=Counter)  # outcome → count
    nudges: Counter[str] = field(default_factory=Counter)
    dormant: int = 0


def sweep_reengagement(ctx: Context, now: datetime | None = None) -> ReengagementReport:
    """Every tenant not suspended: mark the 14-day silent dormant, then remind abandoned carts
    and nudge the 7-day silent (each once, each in its own transaction)."""
    moment = now or utcnow()
    report = ReengagementReport()
    with ctx.db.transaction() as session:
        tenant_ids = list(session.scalars(
            select(Tenant.id).where(Tenant.status != "suspended").order_by(Tenant.id)))
    for tenant_id in tenant_ids:
        report.dormant += mark_dormant(ctx, tenant_id, moment)
        for cart_id, subject in abandoned_carts(ctx, tenant_id, moment):
            report.carts[remind_cart(ctx, tenant_id, cart_id, subject, moment)] += 1
        for customer_id, subject in silent_customers(ctx, tenant_id, moment):
            report.nudges[nudge(ctx, tenant_id, customer_id, subject, moment)] += 1
    if report.dormant or report.carts or report.nudges:
        log.info("re-engagement: carts %s, nudges %s, %d marked dormant", dict(report.carts),
                 dict(report.nudges), report.dormant)
    return report


def _aware(value: datetime | str) -> datetime:
    """A datetime from an aggregate (SQLite's max() hands back the stored text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _stamp(at: datetime) -> str:
    return _aware(at).isoformat(timespec="microseconds")


def _last_inbound(tenant_id: str):  # type: ignore[no-untyped-def]
    """(customer_id, last_inbound) of the tenant's customers who ever wrote."""
    return (
        select(Conversation.customer_id,
               func.max(Conversation.last_inbound_at).label("last_inbound"))
        .where(Conversation.tenant_id == tenant_id, Conversation.last_inbound_at.is_not(None))
        .group_by(Conversation.customer_id)
        .subquery()
    )


def mark_dormant(ctx: Context, tenant_id: str, now: datetime) -> int:
    """Customers silent for DORMANT_AFTER become dormant (no nudge after that); returns how
    many. Their next message clears it (conversations.current_conversation)."""
    last = _last_inbound(tenant_id)
    with ctx.db.transaction() as session:
        ids = list(session.scalars(
            select(Customer.id).join(last, last.c.customer_id == Customer.id)
            .where(Customer.tenant_id == tenant_id, Customer.dormant_at.is_(None),
                   last.c.last_inbound <= now - DORMANT_AFTER)
        ))
        if not ids:
            return 0
        return session.execute(
            update(Customer)
            .where(Customer.tenant_id == tenant_id, Customer.id.in_(ids),
                   Customer.dormant_at.is_(None))
            .values(dormant_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount


def _not_yet(session: Session, tenant_id: str, event: str,
             candidates: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The candidates whose (event, subject) has no record yet."""
    if not candidates:
        return []
    done = set(session.scalars(select(AutomaticMessage.subject).where(
        AutomaticMessage.tenant_id == tenant_id, AutomaticMessage.event == event,
        AutomaticMessage.subject.in_([subject for _, subject in candidates]))))
    return [(key, subject) for key, subject in candidates if subject not in done]


def abandoned_carts(ctx: Context, tenant_id: str, now: datetime) -> list[tuple[int, str]]:
    """(cart id, subject) of carts holding items, untouched for the tenant's reminder delay
    (and for less than DUE_FOR more), not yet reminded of since they were filled."""
    with ctx.db.transaction() as session:
        tenant = session.get_one(Tenant, tenant_id)
        due = now - cart_reminder_after(tenant.features)
        rows = session.execute(
            select(Cart.id, Cart.filled_at)
            .where(Cart.tenant_id == tenant_id, Cart.filled_at.is_not(None),
                   Cart.updated_at <= due, Cart.updated_at > due - DUE_FOR,
                   select(CartItem.id).where(CartItem.cart_id == Cart.id).exists())
            .order_by(Cart.updated_at)
            .limit(BATCH)
        ).all()
        candidates = [(row.id, f"cart:{row.id}@{_stamp(row.filled_at)}") for row in rows]
        return _not_yet(session, tenant_id, CART_REMINDER, candidates)


def silent_customers(ctx: Context, tenant_id: str, now: datetime) -> list[tuple[int, str]]:
    """(customer id, subject) of customers not dormant whose last message is SILENT_AFTER to
    DORMANT_AFTER old, not yet nudged for this silence (the subject names its start)."""
    last = _last_inbound(tenant_id)
    with ctx.db.transaction() as session:
        rows = session.execute(
            select(Customer.id, last.c.last_inbound)
            .join(last, last.c.customer_id == Customer.id)
            .where(Customer.tenant_id == tenant_id, Customer.dormant_at.is_(None),
                   last.c.last_inbound <= now - SILENT_AFTER,
                   last.c.last_inbound > now - DORMANT_AFTER)
            .order_by(last.c.last_inbound)
            .limit(BATCH)
        ).all()
        candidates = [(row.id, f"customer:{row.id}@{_stamp(row.last_inbound)}") for row in rows]
        return _not_yet(session, tenant_id, NUDGE, candidates)


def remind_cart(ctx: Context, tenant_id: str, cart_id: int, subject: str,
                now: datetime) -> str:
    """The cart's one reminder (sent, refused with the reason, off), or "duplicate"/"skipped"
    when another sweep did it, or the cart changed since it was picked."""
    try:
        with ctx.db.transaction() as session:
            cart = session.scalar(select(Cart).where(Cart.tenant_id == tenant_id,
                                                     Cart.id == cart_id).with_for_update())
            lines = _cart_lines(session, cart) if cart is not None else []
            if cart is None or not lines or cart.filled_at is None \
                    or subject != f"cart:{cart.id}@{_stamp(cart.filled_at)}":
                return "skipped"
            tenant = session.get_one(Tenant, tenant_id)
            customer = session.get_one(Customer, cart.customer_id)
            language = customer_language(tenant, customer)
            total = order_total(lines)
            values = {"shop": tenant.name, "items": str(sum(line.quantity for line in lines)),
                      "currency": tenant.currency, "amount": f"{total / 100:,.2f}"}
            outcome, ids = announce(session, ctx, tenant, customer, CART_REMINDER, subject,
                                     values, language, now=now)
    except IntegrityError:
        return "duplicate"  # another sweep recorded it at the same moment
    if ids:
        enqueue_delivery(ctx, ids)
    return outcome


def _cart_lines(session: Session, cart: Cart) -> list[Line]:
    rows = session.execute(
        select(ProductVariant.price_minor, CartItem.quantity)
        .join(ProductVariant, ProductVariant.id == CartItem.variant_id)
        .where(CartItem.tenant_id == cart.tenant_id, CartItem.cart_id == cart.id)
    ).all()
    return [Line(row.price_minor, row.quantity) for row in rows]


def nudge(ctx: Context, tenant_id: str, customer_id: int, subject: str, now: datetime) -> str:
    """The silent customer's one nudge (promotional: their consent decides), or "duplicate"."""
    try:
        with ctx.db.transaction() as session:
            customer = session.scalar(select(Customer).where(
                Customer.tenant_id == tenant_id, Customer.id == customer_id).with_for_update())
            if customer is None or customer.dormant_at is not None:
                return "skipped"
            wrote = last_inbound_at(session, customer)
            if wrote is None or subject != f"customer:{customer.id}@{_stamp(wrote)}":
                return "skipped"  # they wrote since they were picked
            tenant = session.get_one(Tenant, tenant_id)
            language = customer_language(tenant, customer)
            outcome, ids = announce(session, ctx, tenant, customer, NUDGE, subject,
                                     {"shop": tenant.name}, language, now=now)
    except IntegrityError:
        return "duplicate"
    if ids:
        enqueue_delivery(ctx, ids)
    return outcome
