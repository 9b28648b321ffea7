"""The catalog: listing, finding and adding a tenant's products with their variants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from backend.context import Context
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.money import Money, price_range
from backend.models import Product, ProductVariant, Tenant
from backend.services.tenants import require_tenant

MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class VariantView:
    id: int
    sku: str
    price_minor: int
    currency: str
    stock: int
    attributes: dict[str, Any]


@dataclass(frozen=True)
class ProductView:
    id: int
    title: str
    description: str
    category: str
    currency: str
    price_min_minor: int | None
    price_max_minor: int | None
    in_stock: bool
    variants: list[VariantView]


@dataclass(frozen=True)
class ProductPage:
    count: int
    page: int
    page_size: int
    results: list[ProductView]

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.count

    @property
    def has_previous(self) -> bool:
        return self.page > 1


@dataclass(frozen=True)
class NewVariant:
    sku: str
    price: Money
    stock: int
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NewProduct:
    title: str
    description: str
    category: str
    variants: Sequence[NewVariant]


def _view(product: Product, tenant_currency: str) -> ProductView:
    variants = [
        VariantView(v.id, v.sku, v.price_minor, v.currency, v.stock, dict(v.attributes))
        for v in product.variants
    ]
    low, high = price_range(v.price_minor for v in variants)
    return ProductView(
        id=product.id,
        title=product.title,
        description=product.description,
        category=product.category,
        currency=variants[0].currency if variants else tenant_currency,
        price_min_minor=low,
        price_max_minor=high,
        in_stock=any(v.stock > 0 for v in variants),
        variants=variants,
    )


def _active_products(tenant_id: str) -> Select[Product]:
    return select(Product).where(Product.tenant_id == tenant_id, Product.active.is_(True))


def list_products(
    ctx: Context,
    tenant_id: str,
    *,
    q: str | None = None,
    category: str | None = None,
    max_price: int | None = None,
    in_stock: bool = False,
    page: int = 1,
    page_size: int = 50,
) -> ProductPage:
    """Active products ordered by id; `q` matches title, description or category, any case;
    `max_price` (minor units) and `in_stock` keep products with such a variant."""
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page must be >= 1 and page_size between 1 and {MAX_PAGE_SIZE}")
    query = _active_products(tenant_id)
    if q:
        query = query.where(
            or_(
                Product.title.icontains(q, autoescape=True),
                Product.description.icontains(q, autoescape=True),
                Product.category.icontains(q, autoescape=True),
            )
        )
    if category:
        query = query.where(func.lower(Product.category) == category.strip().lower())
    if max_price is not None or in_stock:
        query = query.where(_has_variant(tenant_id, max_price, in_stock))
    with ctx.db.transaction() as session:
        currency = require_tenant(session, tenant_id).currency
        count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        products = session.scalars(
            query.options(selectinload(Product.variants))
            .order_by(Product.id)
            .offset((page - 1) * page_size)
            .limit(page_size)
        ).all()
        results = [_view(product, currency) for product in products]
    return ProductPage(count=count, page=page, page_size=page_size, results=results)


def _has_variant(tenant_id: str, max_price: int | None, in_stock: bool) -> Any:
    """EXISTS a variant of the product within the budget (and in stock, when asked)."""
    variant = select(ProductVariant.id).where(
        ProductVariant.tenant_id == tenant_id, ProductVariant.product_id == Product.id)
    if max_price is not None:
        variant = variant.where(ProductVariant.price_minor <= max_price)
    if in_stock:
        variant = variant.where(ProductVariant.stock > 0)
    return variant.exists()


def get_product(ctx: Context, tenant_id: str, product_id: int) -> ProductView:
    """One active product of this tenant; another tenant's product is simply not found."""
    with ctx.db.transaction() as session:
        currency = require_tenant(session, tenant_id).currency
        product = session.scalar(
            _active_products(tenant_id)
            .where(Product.id == product_id)
            .options(selectinload(Product.variants))
        )
        if product is None:
            raise NotFound(f"No product {product_id}")
        return _view(product, currency)


def add_products(ctx: Context, tenant_id: str, products: Sequence[NewProduct]) -> int:
    """Insert, in order, the products none of whose SKUs exist yet; returns how many were added."""
    with ctx.db.transaction() as session:
        tenant: Tenant = require_tenant(session, tenant_id)
        known = set(
            session.scalars(select(ProductVariant.sku).where(ProductVariant.tenant_id == tenant_id))
        )
        added = 0
        for new in products:
            if any(v.sku in known for v in new.variants):
                continue
            session.add(_product_row(tenant, new))
            session.flush()  # ids follow the given order
            known.update(v.sku for v in new.variants)
            added += 1
        return added


def _product_row(tenant: Tenant, new: NewProduct) -> Product:
    if not new.variants:
        raise InvalidInput(f"{new.title!r} needs at least one variant")
    if any(v.price.currency != tenant.currency for v in new.variants):
        raise InvalidInput(f"{new.title!r} must be priced in {tenant.currency}")
    return Product(
        tenant_id=tenant.id,
        title=new.title,
        description=new.description,
        category=new.category,
        active=True,
        variants=[
            ProductVariant(
                tenant_id=tenant.id,
                sku=v.sku,
                price_minor=v.price.amount_minor,
                currency=v.price.currency,
                stock=v.stock,
                attributes=dict(v.attributes),
            )
            for v in new.variants
        ],
    )
