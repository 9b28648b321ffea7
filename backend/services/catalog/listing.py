"""The catalog: listing, finding and adding a tenant's products with their variants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
import re
from typing import Any

from sqlalchemy import Select, false, func, or_, select, text
from sqlalchemy.orm import selectinload

from backend.wiring import Context
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.matching import Candidate, Match, rank, words
from backend.domain.money import Money, price_range
from backend.models import Product, ProductVariant, Tenant
from backend.models.catalog import SEARCH_DOCUMENT_SQL
from backend.services.platform.pages import Page, check_page
from backend.services.platform.tenants import require_tenant

WORD = re.compile(r"[^\W_]+")
MATCH_SHORTLIST = 25
MATCH_THRESHOLD = 0.3


@dataclass(frozen=True)
class VariantView:
    id: int
    sku: str
    price_minor: int
    currency: str
    stock: int
    attributes: dict[str, Any]
    active: bool = True  # offered to customers (customers' listings hold only active ones)


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
    images: list[str]
    active: bool
    external_source: str | None
    external_id: str | None


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
    images: Sequence[str] = ()
    external_source: str | None = None
    external_id: str | None = None


def product_view(product: Product, tenant_currency: str,
                 include_inactive: bool = False) -> ProductView:
    """The product as customers see it: its active variants; with include_inactive (the
    merchant's own reads and writes) every variant, each with its `active`."""
    variants = [
        VariantView(v.id, v.sku, v.price_minor, v.currency, v.stock, dict(v.attributes),
                    v.active is not False)
        for v in product.variants if include_inactive or v.active is not False
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
        images=list(product.images or []),
        active=product.active,
        external_source=product.external_source,
        external_id=product.external_id,
    )


LISTED_COLUMNS = (Product.id, Product.title, Product.description, Product.category,
                  Product.images, Product.active, Product.external_source, Product.external_id)
VARIANT_COLUMNS = (ProductVariant.product_id, ProductVariant.id, ProductVariant.sku,
                   ProductVariant.price_minor, ProductVariant.currency, ProductVariant.stock,
                   ProductVariant.attributes)


def _active_products(tenant_id: str) -> Select[Product]:
    return select(Product).where(Product.tenant_id == tenant_id, Product.active.is_(True))


def _search_words(q: str) -> list[str]:
    """Letters and digits only ("100%" → "100"; "_" → nothing)."""
    return [word.lower() for word in WORD.findall(q)]


def _text_match(q: str, dialect: str) -> Any:
    """PostgreSQL: full text search on the GIN-indexed document, each word as a prefix
    ("access" finds "accessories"); elsewhere a case-insensitive substring of title,
    description or category."""
    if dialect == "postgresql":
        words = _search_words(q)
        if not words:
            return false()
        tsquery = " & ".join(f"{word}:*" for word in words)
        return text(f"{SEARCH_DOCUMENT_SQL} @@ to_tsquery('simple', :tsquery)").bindparams(
            tsquery=tsquery
        )
    return or_(
        Product.title.icontains(q, autoescape=True),
        Product.description.icontains(q, autoescape=True),
        Product.category.icontains(q, autoescape=True),
    )


def list_products(
    ctx: Context,
    tenant_id: str,
    *,
    q: str | None = None,
    category: str | None = None,
    min_price: int | None = None,
    max_price: int | None = None,
    in_stock: bool = False,
    include_inactive: bool = False,
    page: int = 1,
    page_size: int = 50,
) -> Page[ProductView]:
    """Active products ordered by id; `q` matches title, description or category, any case;
    `min_price`/`max_price` (minor units) and `in_stock` keep products with such a variant."""
    check_page(page, page_size)
    conditions: list[Any] = [Product.tenant_id == tenant_id]
    if not include_inactive:
        conditions.append(Product.active.is_(True))
    if q:
        conditions.append(_text_match(q, ctx.db.engine.dialect.name))
    if category:
        conditions.append(func.lower(Product.category) == category.strip().lower())
    if min_price is not None or max_price is not None or in_stock:
        conditions.append(_has_variant(tenant_id, min_price, max_price, in_stock))
    with ctx.db.transaction() as session:
        # Plain rows, not ORM objects: the listing is the hottest read of the assistant.
        # A separate count: a window count(*) over() would make PostgreSQL read every match
        # before the LIMIT, where the page alone can walk the primary key and stop early.
        count = int(session.scalar(select(func.count(Product.id)).where(*conditions)) or 0)
        rows = session.execute(
            select(*LISTED_COLUMNS)
            .where(*conditions)
            .order_by(Product.id)
            .offset((page - 1) * page_size)
            .limit(page_size)
        ).all()
        variants: dict[int, list[VariantView]] = {row.id: [] for row in rows}
        if rows:
            for v in session.execute(
                select(*VARIANT_COLUMNS)
                .where(ProductVariant.product_id.in_(list(variants)),
                       ProductVariant.active.is_(True))
                .order_by(ProductVariant.id)
            ):
                variants[v.product_id].append(
                    VariantView(v.id, v.sku, v.price_minor, v.currency, v.stock,
                                dict(v.attributes)))
        # The tenant's currency only matters for a product without variants (rare): ask then.
        currency = "" if all(variants.values()) else require_tenant(session, tenant_id).currency
    results = [_listed_view(row, variants[row.id], currency) for row in rows]
    return Page(count=count, page=page, page_size=page_size, results=results)


def _listed_view(row: Any, variants: list[VariantView], tenant_currency: str) -> ProductView:
    low, high = price_range(v.price_minor for v in variants)
    return ProductView(
        id=row.id,
        title=row.title,
        description=row.description,
        category=row.category,
        currency=variants[0].currency if variants else tenant_currency,
        price_min_minor=low,
        price_max_minor=high,
        in_stock=any(v.stock > 0 for v in variants),
        variants=variants,
        images=list(row.images or []),
        active=row.active,
        external_source=row.external_source,
        external_id=row.external_id,
    )


def _has_variant(
    tenant_id: str, min_price: int | None, max_price: int | None, in_stock: bool
) -> Any:
    """EXISTS a variant of the product within the price range (and in stock, when asked)."""
    variant = select(ProductVariant.id).where(
        ProductVariant.tenant_id == tenant_id, ProductVariant.product_id == Product.id,
        ProductVariant.active.is_(True))
    if min_price is not None:
        variant = variant.where(ProductVariant.price_minor >= min_price)
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
        return product_view(product, currency)


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
        images=list(new.images),
        external_source=new.external_source,
        external_id=new.external_id,
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


def match_products(ctx: Context, tenant_id: str, text_: str, limit: int = 5) -> list[Match]:
    """Active products ranked by how well their title, category and variant attributes
    (colour, size) match what the customer wrote.

    Two passes keep large catalogs fast: titles and categories of every product first, then the
    variants' attributes of the best MATCH_SHORTLIST only (attributes refine, never introduce, a
    match)."""
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        rows = session.execute(
            select(Product.id, Product.title, Product.category)
            .where(Product.tenant_id == tenant_id, Product.active.is_(True))
        ).all()
        shortlist = rank(text_, (
            Candidate(row.id, row.title, tuple(words(f"{row.title} {row.category}")), ())
            for row in rows
        ), limit=max(MATCH_SHORTLIST, limit), threshold=MATCH_THRESHOLD)
        if not shortlist:
            return []
        attributes: dict[int, list[tuple[int, tuple[str, ...]]]] = {m.product_id: []
                                                                    for m in shortlist}
        for v in session.execute(
            select(ProductVariant.product_id, ProductVariant.id, ProductVariant.attributes)
            .where(ProductVariant.product_id.in_(list(attributes)),
                   ProductVariant.active.is_(True))
            .order_by(ProductVariant.id)
        ):
            values = " ".join(str(value) for value in (v.attributes or {}).values())
            attributes[v.product_id].append((v.id, tuple(words(values))))
    by_id = {row.id: row for row in rows}
    return rank(text_, (
        Candidate(m.product_id, m.title,
                  tuple(words(f"{m.title} {by_id[m.product_id].category}")),
                  tuple(attributes[m.product_id]))
        for m in shortlist
    ), limit=limit, threshold=MATCH_THRESHOLD)


def tenant_currency(ctx: Context, tenant_id: str) -> str:
    """The currency the tenant prices in (what a merchant's bare minor units mean)."""
    with ctx.db.transaction() as session:
        return require_tenant(session, tenant_id).currency
