"""Orders: placed from a cart or a merchant's list, priced from the catalog, stock reserved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import case, exists, func, select, update
from sqlalchemy.orm import Session, selectinload

from backend.services.platform.audit import record_audit
from backend.wiring import Context
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.orders import (
    CANCELLED,
    DRAFT,
    FULFILLED,
    PENDING_PAYMENT,
    Line,
    check_transition,
    order_total,
    stock_effect,
)
from backend.domain.delivery import DELIVERY
from backend.domain.notifications import ORDER_EVENTS
from backend.models import Appointment, Cart, CartItem, Order, OrderLine, ProductVariant
from backend.models.base import utcnow
from backend.models.orders import DELIVERY_LINE, PRODUCT_LINE
from backend.security import Crypto
from backend.services.conversations.automatic import note_event, queue_event
from backend.services.integrations.stock import note_stock_change
from backend.services.orders.carts import require_customer, sellable_variant
from backend.services.orders.delivery import DeliveryRequest, apply_delivery
from backend.services.platform.idempotency import IdempotencyRequest, remember, replayed_id
from backend.services.platform.pages import Page, fetch_page
from backend.services.platform.tenants import require_tenant

EXPIRED_REASON = "payment not received in time"


@dataclass(frozen=True)
class OrderLineView:
    id: int
    variant_id: int | None
    sku: str
    title: str
    unit_price_minor: int
    quantity: int
    line_total_minor: int
    kind: str = PRODUCT_LINE


@dataclass(frozen=True)
class DeliveryView:
    """The order's delivery; the address, pin and recipient only for callers who may see
    customers' data (never in the audit log)."""

    zone: str | None
    expected_time: str | None
    needs_call: bool
    fee_minor: int
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    recipient_phone: str | None = None


@dataclass(frozen=True)
class OrderView:
    id: int
    customer_id: int
    status: str
    currency: str
    total_minor: int
    placed_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    lines: list[OrderLineView]
    courier: str | None = None
    tracking: str | None = None
    fulfilment: str | None = None  # pickup | delivery; None: ordered before delivery existed
    delivery: DeliveryView | None = None


@dataclass(frozen=True)
class Shipping:
    """Who carries a shipped order and its tracking number, when the merchant knows them."""

    courier: str | None = None
    tracking: str | None = None


@dataclass(frozen=True)
class PlacedOrder:
    order: OrderView
    replayed: bool  # True: answered from an earlier request with the same Idempotency-Key


def _delivery_view(order: Order, crypto: Crypto | None) -> DeliveryView | None:
    if order.fulfilment != DELIVERY:
        return None
    fee = sum(l.line_total_minor for l in order.lines if l.kind == DELIVERY_LINE)
    view = DeliveryView(order.delivery_zone, order.expected_time, order.delivery_needs_call, fee)
    if crypto is None:
        return view
    decrypt = (lambda token: None if token is None else crypto.decrypt(token))
    return replace(view, address=decrypt(order.delivery_address_encrypted),
                   latitude=order.delivery_latitude, longitude=order.delivery_longitude,
                   recipient_phone=decrypt(order.recipient_phone_encrypted))


def _view(order: Order, crypto: Crypto | None = None) -> OrderView:
    """The order; with `crypto`, its delivery address and recipient decrypted."""
    return OrderView(
        id=order.id,
        customer_id=order.customer_id,
        status=order.status,
        currency=order.currency,
        total_minor=order.total_minor,
        placed_at=order.placed_at,
        cancel_reason=order.cancel_reason,
        courier=order.courier,
        tracking=order.tracking,
        created_at=order.created_at,
        lines=[
            OrderLineView(l.id, l.variant_id, l.sku, l.title, l.unit_price_minor, l.quantity,
                          l.line_total_minor, l.kind or PRODUCT_LINE)
            for l in order.lines
        ],
        fulfilment=order.fulfilment,
        delivery=_delivery_view(order, crypto),
    )


def _merge(items: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """One (variant id, quantity) per variant, in variant id order (a fixed lock order)."""
    merged: dict[int, int] = {}
    for variant_id, quantity in items:
        if quantity < 1:
            raise InvalidInput("Every quantity must be at least 1")
        merged[variant_id] = merged.get(variant_id, 0) + quantity
    if not merged:
        raise InvalidInput("An order needs at least one item")
    return sorted(merged.items())


def _reserve(session: Session, tenant_id: str, variant_id: int, quantity: int, sku: str) -> None:
    """Take stock with one conditional UPDATE, so concurrent orders can never oversell."""
    taken = session.execute(
        update(ProductVariant)
        .where(
            ProductVariant.id == variant_id,
            ProductVariant.tenant_id == tenant_id,
            ProductVariant.stock >= quantity,
        )
        .values(stock=ProductVariant.stock - quantity)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise Conflict(f"Not enough stock of {sku} for {quantity}")
    note_stock_change(session, tenant_id, variant_id, -quantity)  # pushed to its store, if any


def _release(session: Session, order: Order) -> None:
    for line in order.lines:
        if line.variant_id is not None:
            session.execute(
                update(ProductVariant)
                .where(ProductVariant.id == line.variant_id)
                .values(stock=ProductVariant.stock + line.quantity)
                .execution_options(synchronize_session=False)
            )
            note_stock_change(session, order.tenant_id, line.variant_id, line.quantity)


def _reserve_order(session: Session, order: Order) -> None:
    products = [l for l in order.lines if (l.kind or PRODUCT_LINE) == PRODUCT_LINE]
    for line in sorted(products, key=lambda l: l.variant_id or 0):
        if line.variant_id is None:
            raise Conflict(f"{line.sku} is no longer in the catalog")
        _reserve(session, order.tenant_id, line.variant_id, line.quantity, line.sku)
    order.placed_at = utcnow()


def _order_row(session: Session, tenant_id: str, currency: str, customer_id: int,
               items: Sequence[tuple[int, int]]) -> Order:
    lines: list[OrderLine] = []
    for variant_id, quantity in _merge(items):
        variant = sellable_variant(session, tenant_id, variant_id)
        line = Line(variant.price_minor, quantity)
        lines.append(
            OrderLine(
                tenant_id=tenant_id,
                variant_id=variant.id,
                sku=variant.sku,
                title=variant.product.title,
                unit_price_minor=variant.price_minor,
                quantity=quantity,
                line_total_minor=line.total_minor,
            )
        )
    total = order_total(Line(l.unit_price_minor, l.quantity) for l in lines)
    return Order(tenant_id=tenant_id, customer_id=customer_id, status=DRAFT, currency=currency,
                 total_minor=total, lines=lines)


def place_order(
    ctx: Context,
    tenant_id: str,
    customer_id: int,
    items: Sequence[tuple[int, int]] | None,
    *,
    draft: bool = False,
    idempotency: IdempotencyRequest | None = None,
    notify: bool = False,
    delivery: DeliveryRequest | None = None,
) -> PlacedOrder:
    """Create an order priced from the catalog now; `items=None` takes (and empties) the cart.

    Unless `draft`, the order is pending_payment and its stock is reserved (409 when short).
    With `notify` (the merchant placed it for the customer) the customer is told
    (order_confirmed); in the chat the assistant already says it. `delivery`: pickup, or
    delivery with its fee as a line of the order (services/orders/delivery.py).
    """
    with ctx.db.transaction() as session:
        currency = require_tenant(session, tenant_id).currency
        previous = replayed_id(session, tenant_id, idempotency)
        if previous is not None:
            return PlacedOrder(_view(_require_order(session, tenant_id, previous), ctx.crypto),
                               replayed=True)
        require_customer(session, tenant_id, customer_id)
        cart_items: list[CartItem] = []
        if items is None:
            cart = session.scalar(
                select(Cart).where(Cart.tenant_id == tenant_id, Cart.customer_id == customer_id)
            )
            cart_items = list(cart.items) if cart else []
            if not cart_items:
                raise Conflict("The cart is empty")
            items = [(item.variant_id, item.quantity) for item in cart_items]
        order = _order_row(session, tenant_id, currency, customer_id, items)
        if delivery is not None:
            apply_delivery(session, ctx.crypto, order, delivery, order.total_minor)
        session.add(order)
        if not draft:
            _reserve_order(session, order)
            order.status = PENDING_PAYMENT
        for item in cart_items:
            session.delete(item)
        session.flush()
        remember(session, tenant_id, idempotency, order.id)
        placed = PlacedOrder(_view(order, ctx.crypto), replayed=False)
        record_audit(session, tenant_id, None, "order.create", ("order", order.id),
                     after=_view(order))
        noted = note_event(session, tenant_id, "order_confirmed", order.id, customer_id) \
            if notify and not draft else None
    if noted is not None:
        queue_event(ctx, noted)
    return placed


def _require_order(session: Session, tenant_id: str, order_id: int, customer_id: int | None = None,
                   lock: bool = False) -> Order:
    query = select(Order).where(Order.id == order_id, Order.tenant_id == tenant_id)
    if customer_id is not None:
        query = query.where(Order.customer_id == customer_id)
    order = session.scalar(query.with_for_update() if lock else query)
    if order is None:
        raise NotFound(f"No order {order_id}")
    return order


def _move(session: Session, order: Order, to: str, reason: str | None = None) -> None:
    check_transition(order.status, to)
    effect = stock_effect(order.status, to)
    if effect > 0:
        _reserve_order(session, order)
    elif effect < 0:
        _release(session, order)
    order.status = to
    if to == CANCELLED:
        order.cancel_reason = reason
    session.flush()


def transition_order(ctx: Context, tenant_id: str, order_id: int, to: str,
                     customer_id: int | None = None, reason: str | None = None,
                     notify: bool = True, shipping: Shipping = Shipping()) -> OrderView:
    """Move an order along the status machine (409 when not allowed), reserving or releasing;
    the customer is told (an automatic message) unless `notify` is off (the demo's history)."""
    with ctx.db.transaction() as session:
        order = _require_order(session, tenant_id, order_id, customer_id, lock=True)
        if (shipping.courier or shipping.tracking) and to != FULFILLED:
            raise InvalidInput("courier and tracking are given when the order ships (fulfilled)")
        before = _view(order)
        _move(session, order, to, reason)
        if to == FULFILLED:
            order.courier, order.tracking = shipping.courier, shipping.tracking
        view = _view(order)
        record_audit(session, tenant_id, None, "order.transition", ("order", order.id),
                     before, view)
        shown = _view(order, ctx.crypto)
        # The customer hears of it (noted with the change, queued after the commit); not when
        # they cancelled it themselves.
        event = ORDER_EVENTS.get(to)
        noted = None
        if notify and event is not None and not (to == CANCELLED and customer_id is not None):
            noted = note_event(session, tenant_id, event, order_id, order.customer_id)
    if noted is not None:
        queue_event(ctx, noted)
    return shown


def get_order(ctx: Context, tenant_id: str, order_id: int,
              customer_id: int | None = None, with_address: bool = True) -> OrderView:
    """The order; its delivery address and recipient unless `with_address` is off (staff who
    may not see customers' data)."""
    with ctx.db.transaction() as session:
        return _view(_require_order(session, tenant_id, order_id, customer_id),
                     ctx.crypto if with_address else None)


def list_orders(ctx: Context, tenant_id: str, *, status: str | None = None,
                customer_id: int | None = None, created_since: datetime | None = None,
                page: int = 1, page_size: int = 50) -> Page[OrderView]:
    """Newest first (the page's lines loaded in one more query, not one per order)."""
    query = select(Order).where(Order.tenant_id == tenant_id)
    if status:
        query = query.where(Order.status == status)
    if customer_id is not None:
        query = query.where(Order.customer_id == customer_id)
    if created_since is not None:
        query = query.where(Order.created_at >= created_since)
    with ctx.db.transaction() as session:
        count, orders = fetch_page(session, query.options(selectinload(Order.lines)), page,
                                   page_size, Order.id.desc())
        return Page(count, page, page_size, [_view(o) for o in orders])


def orders_since(ctx: Context, tenant_id: str, since: datetime,
                 paid_statuses: Sequence[str]) -> tuple[int, int]:
    """(orders created since `since`, the total of those in `paid_statuses`) in one aggregate
    query."""
    with ctx.db.transaction() as session:
        return count_orders_since(session, tenant_id, since, paid_statuses)


def count_orders_since(session: Session, tenant_id: str, since: datetime,
                       paid_statuses: Sequence[str]) -> tuple[int, int]:
    """orders_since in `session`."""
    count, paid = session.execute(
        select(func.count(), func.coalesce(func.sum(case(
            (Order.status.in_(list(paid_statuses)), Order.total_minor), else_=0)), 0))
        .where(Order.tenant_id == tenant_id, Order.created_at >= since)).one()
    return int(count or 0), int(paid or 0)


def latest_orders(session: Session, tenant_id: str, since: datetime,
                  limit: int) -> list[OrderView]:
    """The newest `limit` orders created since `since` (newest first, as list_orders shows
    them), without list_orders' count."""
    orders = session.scalars(
        select(Order).where(Order.tenant_id == tenant_id, Order.created_at >= since)
        .options(selectinload(Order.lines)).order_by(Order.id.desc()).limit(limit))
    return [_view(order) for order in orders]


def expire_unpaid(ctx: Context, timeout: timedelta, now: datetime | None = None) -> list[int]:
    """Cancel every order still pending_payment `timeout` after it was placed; returns their ids.

    Each order is its own transaction, locked and re-checked, so a payment landing meanwhile wins.
    """
    cutoff = (now or utcnow()) - timeout
    with ctx.db.transaction() as session:
        ids = list(session.scalars(
            select(Order.id).where(Order.status == PENDING_PAYMENT, Order.placed_at < cutoff)
            # A booking's deposit order lives as long as its hold (release_unpaid_holds).
            .where(~exists().where(Appointment.order_id == Order.id))
            .order_by(Order.id)
        ))
    expired: list[int] = []
    for order_id in ids:
        with ctx.db.transaction() as session:
            order = session.scalar(select(Order).where(Order.id == order_id).with_for_update())
            if order is None or order.status != PENDING_PAYMENT or order.placed_at is None \
                    or order.placed_at >= cutoff:
                continue
            _move(session, order, CANCELLED, EXPIRED_REASON)
            noted = note_event(session, order.tenant_id, "order_expired", order_id,
                               order.customer_id)
            expired.append(order_id)
        queue_event(ctx, noted)
    return expired
