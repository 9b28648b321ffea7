"""Carts: one per (tenant, customer); items are variants with quantities, checked against stock."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.wiring import Context
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.orders import Line, order_total
from backend.models import Cart, CartItem, Customer, Product, ProductVariant
from backend.models.base import utcnow
from backend.services.platform.pages import Page, fetch_page
from backend.services.platform.scoped import tenant_row
from backend.services.platform.tenants import require_tenant


@dataclass(frozen=True)
class CartItemView:
    id: int
    variant_id: int
    product_id: int
    sku: str
    title: str
    attributes: dict[str, str]
    unit_price_minor: int
    quantity: int
    line_total_minor: int
    stock: int


@dataclass(frozen=True)
class CartView:
    id: int
    customer_id: int
    currency: str
    items: list[CartItemView]
    total_minor: int


def sellable_variant(session: Session, tenant_id: str, variant_id: int,
                     lock: bool = False) -> ProductVariant:
    """An active variant of an active product of this tenant (else 404)."""
    query = (
        select(ProductVariant)
        .join(Product, Product.id == ProductVariant.product_id)
        .where(
            ProductVariant.id == variant_id,
            ProductVariant.tenant_id == tenant_id,
            ProductVariant.active.is_(True),
            Product.active.is_(True),
        )
    )
    variant = session.scalar(query.with_for_update(of=ProductVariant) if lock else query)
    if variant is None:
        raise NotFound(f"No variant {variant_id}")
    return variant


def require_customer(session: Session, tenant_id: str, customer_id: int) -> Customer:
    return tenant_row(session, Customer, customer_id, tenant_id, "customer")


def _cart_of(session: Session, tenant_id: str, customer_id: int) -> Cart:
    cart = session.scalar(
        select(Cart).where(Cart.tenant_id == tenant_id, Cart.customer_id == customer_id)
    )
    if cart is None:
        cart = Cart(tenant_id=tenant_id, customer_id=customer_id)
        session.add(cart)
        session.flush()
    return cart


def _view(session: Session, cart: Cart, currency: str) -> CartView:
    session.refresh(cart, ["items"])
    items: list[CartItemView] = []
    for item in cart.items:
        variant = session.get(ProductVariant, item.variant_id,
                              options=[selectinload(ProductVariant.product)])
        assert variant is not None  # cart items cascade with their variant
        line = Line(variant.price_minor, item.quantity)
        items.append(
            CartItemView(
                id=item.id,
                variant_id=variant.id,
                product_id=variant.product_id,
                sku=variant.sku,
                title=variant.product.title,
                attributes=dict(variant.attributes),
                unit_price_minor=variant.price_minor,
                quantity=item.quantity,
                line_total_minor=line.total_minor,
                stock=variant.stock,
            )
        )
    total = order_total(Line(i.unit_price_minor, i.quantity) for i in items)
    return CartView(cart.id, cart.customer_id, currency, items, total)


def _touch(cart: Cart, filled: bool = False) -> None:
    """Mark the cart's items changed (the abandoned-cart reminder counts from the last change);
    `filled`: the first item went into an empty cart, so a new reminder may follow."""
    cart.updated_at = utcnow()
    if filled:
        cart.filled_at = cart.updated_at


def _check_stock(variant: ProductVariant, quantity: int) -> None:
    if quantity < 1:
        raise InvalidInput("quantity must be at least 1", {"quantity": ["Must be at least 1."]})
    if quantity > variant.stock:
        raise Conflict(f"Only {variant.stock} of {variant.sku} in stock; asked for {quantity}")


def current_cart(ctx: Context, tenant_id: str, customer_id: int) -> CartView:
    """The customer's cart (created empty on first sight), priced from the catalog now."""
    with ctx.db.transaction() as session:
        currency = require_tenant(session, tenant_id).currency
        return _view(session, _cart_of(session, tenant_id, customer_id), currency)


def add_item(ctx: Context, tenant_id: str, customer_id: int, variant_id: int,
             quantity: int) -> CartView:
    """Add a variant (adding to its quantity when already there), within the stock."""
    with ctx.db.transaction() as session:
        currency = require_tenant(session, tenant_id).currency
        cart = _cart_of(session, tenant_id, customer_id)
        variant = sellable_variant(session, tenant_id, variant_id)
        item = session.scalar(
            select(CartItem).where(CartItem.cart_id == cart.id, CartItem.variant_id == variant_id)
        )
        total = quantity + (item.quantity if item else 0)
        _check_stock(variant, total)
        empty = session.scalar(select(CartItem.id).where(CartItem.cart_id == cart.id)
                               .limit(1)) is None
        _touch(cart, filled=empty)
        if item is None:
            session.add(CartItem(tenant_id=tenant_id, cart_id=cart.id, variant_id=variant_id,
                                 quantity=total))
        else:
            item.quantity = total
        session.flush()
        return _view(session, cart, currency)


def _own_item(session: Session, cart: Cart, item_id: int) -> CartItem:
    item = session.get(CartItem, item_id)
    if item is None or item.cart_id != cart.id:
        raise NotFound(f"No item {item_id} in this cart")
    return item


def update_item(ctx: Context, tenant_id: str, customer_id: int, item_id: int,
                quantity: int) -> CartView:
    with ctx.db.transaction() as session:
        currency = require_tenant(session, tenant_id).currency
        cart = _cart_of(session, tenant_id, customer_id)
        item = _own_item(session, cart, item_id)
        _check_stock(sellable_variant(session, tenant_id, item.variant_id), quantity)
        item.quantity = quantity
        _touch(cart)
        session.flush()
        return _view(session, cart, currency)


def remove_item(ctx: Context, tenant_id: str, customer_id: int, item_id: int) -> CartView:
    with ctx.db.transaction() as session:
        currency = require_tenant(session, tenant_id).currency
        cart = _cart_of(session, tenant_id, customer_id)
        session.delete(_own_item(session, cart, item_id))
        _touch(cart)
        session.flush()
        return _view(session, cart, currency)


def list_carts(ctx: Context, tenant_id: str, *, customer_id: int | None = None,
               page: int = 1, page_size: int = 50) -> Page[CartView]:
    """The merchant's view of carts (non-empty or not), newest activity first."""
    query = select(Cart).where(Cart.tenant_id == tenant_id)
    if customer_id is not None:
        query = query.where(Cart.customer_id == customer_id)
    with ctx.db.transaction() as session:
        currency = require_tenant(session, tenant_id).currency
        count, carts = fetch_page(session, query, page, page_size, Cart.id)
        return Page(count, page, page_size, [_view(session, c, currency) for c in carts])


def get_cart(ctx: Context, tenant_id: str, cart_id: int) -> CartView:
    with ctx.db.transaction() as session:
        currency = require_tenant(session, tenant_id).currency
        cart = tenant_row(session, Cart, cart_id, tenant_id, "cart")
        return _view(session, cart, currency)
