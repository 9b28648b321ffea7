"""Merchants' catalog edits: products and variants, within the tier's product limit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from backend.services.platform.audit import record_audit
from backend.wiring import Context
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.models import Product, ProductVariant, Tenant
from backend.services.catalog.listing import NewProduct, NewVariant, ProductView
from backend.services.catalog.listing import product_view
from backend.services.platform.edits import apply_changes
from backend.services.platform.limits import check_limit
from backend.services.platform.scoped import tenant_row
from backend.services.platform.tenants import require_tenant

def _view(product: Product, tenant_currency: str) -> ProductView:
    """The merchant's view: every variant, active or not."""
    return product_view(product, tenant_currency, include_inactive=True)


PRODUCT_FIELDS = ("title", "description", "category", "images", "active", "external_source",
                  "external_id")
VARIANT_FIELDS = ("sku", "price_minor", "stock", "attributes", "active")


@dataclass(frozen=True)
class ProductVariantView:
    """A variant with its product id (the catalog listing keeps the shorter VariantView)."""

    id: int
    product_id: int
    sku: str
    price_minor: int
    currency: str
    stock: int
    attributes: dict[str, Any]
    active: bool = True  # offered to customers (a merchant takes a variant off sale and back)


def _variant_view(variant: ProductVariant) -> ProductVariantView:
    return ProductVariantView(variant.id, variant.product_id, variant.sku, variant.price_minor,
                              variant.currency, variant.stock, dict(variant.attributes),
                              variant.active is not False)


def _product(session: Session, tenant_id: str, product_id: int) -> Product:
    """Any product of the tenant, active or not (merchants edit inactive ones too)."""
    product = session.scalar(
        select(Product).where(Product.id == product_id, Product.tenant_id == tenant_id)
        .options(selectinload(Product.variants))
    )
    if product is None:
        raise NotFound(f"No product {product_id}")
    return product


def _variant(session: Session, tenant_id: str, variant_id: int) -> ProductVariant:
    variant = tenant_row(session, ProductVariant, variant_id, tenant_id, "variant")
    return variant


def _sku_taken(session: Session, tenant_id: str, sku: str, but: int | None = None) -> None:
    query = select(ProductVariant.id).where(
        ProductVariant.tenant_id == tenant_id, ProductVariant.sku == sku)
    if but is not None:
        query = query.where(ProductVariant.id != but)
    if session.scalar(query) is not None:
        raise Conflict(f"SKU {sku!r} is already used by another variant")


def _external_taken(session: Session, tenant_id: str, source: str | None, external_id: str | None,
                    but: int | None = None) -> None:
    if source is None or external_id is None:
        return
    query = select(Product.id).where(Product.tenant_id == tenant_id,
                                     Product.external_source == source,
                                     Product.external_id == external_id)
    if but is not None:
        query = query.where(Product.id != but)
    if session.scalar(query) is not None:
        raise Conflict(f"A product from {source} with id {external_id!r} already exists")


def _check_products_limit(session: Session, tenant: Tenant, adding: int) -> None:
    count = session.scalar(select(func.count(Product.id)).where(Product.tenant_id == tenant.id))
    check_limit(session, tenant.tier, "products", int(count or 0), adding)


def _new_variant(tenant: Tenant, product_id: int | None, new: NewVariant) -> ProductVariant:
    if new.price.currency != tenant.currency:
        raise InvalidInput(f"Prices must be in {tenant.currency}")
    if new.stock < 0:
        raise InvalidInput("stock cannot be negative", {"stock": ["Must be at least 0."]})
    variant = ProductVariant(tenant_id=tenant.id, sku=new.sku, price_minor=new.price.amount_minor,
                             currency=new.price.currency, stock=new.stock,
                             attributes=dict(new.attributes))
    if product_id is not None:
        variant.product_id = product_id
    return variant


def create_product(ctx: Context, tenant_id: str, new: NewProduct) -> ProductView:
    """A product with at least one variant; 403 past the tier's limit, 409 on a known SKU."""
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        _check_products_limit(session, tenant, 1)
        if not new.variants:
            raise InvalidInput("A product needs at least one variant",
                               {"variants": ["Give at least one variant."]})
        skus = [v.sku for v in new.variants]
        if len(set(skus)) != len(skus):
            raise Conflict("Two variants share a SKU")
        for sku in skus:
            _sku_taken(session, tenant_id, sku)
        _external_taken(session, tenant_id, new.external_source, new.external_id)
        product = Product(
            tenant_id=tenant_id, title=new.title, description=new.description,
            category=new.category, images=list(new.images), active=True,
            external_source=new.external_source, external_id=new.external_id,
            variants=[_new_variant(tenant, None, v) for v in new.variants],
        )
        session.add(product)
        session.flush()
        view = _view(product, tenant.currency)
        record_audit(session, tenant_id, None, "product.create", ("product", product.id),
                     after=view)
        return view


def get_any_product(ctx: Context, tenant_id: str, product_id: int) -> ProductView:
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        return _view(_product(session, tenant_id, product_id), tenant.currency)


def update_product(ctx: Context, tenant_id: str, product_id: int,
                   changes: Mapping[str, Any]) -> ProductView:
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        product = _product(session, tenant_id, product_id)
        _external_taken(session, tenant_id,
                        changes.get("external_source", product.external_source),
                        changes.get("external_id", product.external_id), but=product.id)
        before = _view(product, tenant.currency)
        apply_changes(session, product, changes, PRODUCT_FIELDS)
        after = _view(product, tenant.currency)
        record_audit(session, tenant_id, None, "product.update", ("product", product.id),
                     before, after)
        return after


def delete_product(ctx: Context, tenant_id: str, product_id: int) -> None:
    """Gone from the catalog and carts; past orders keep their copied lines."""
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        product = _product(session, tenant_id, product_id)
        record_audit(session, tenant_id, None, "product.delete", ("product", product.id),
                     before=_view(product, tenant.currency))
        session.delete(product)


def list_variants(ctx: Context, tenant_id: str, product_id: int) -> list[ProductVariantView]:
    with ctx.db.transaction() as session:
        return [_variant_view(v) for v in _product(session, tenant_id, product_id).variants]


def add_variant(ctx: Context, tenant_id: str, product_id: int,
                new: NewVariant) -> ProductVariantView:
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        product = _product(session, tenant_id, product_id)
        _sku_taken(session, tenant_id, new.sku)
        variant = _new_variant(tenant, product.id, new)
        session.add(variant)
        session.flush()
        return _variant_view(variant)


def get_variant(ctx: Context, tenant_id: str, variant_id: int) -> ProductVariantView:
    with ctx.db.transaction() as session:
        return _variant_view(_variant(session, tenant_id, variant_id))


def _others_on_sale(session: Session, tenant_id: str, variant: ProductVariant) -> int:
    """How many of the product's other variants are on sale (active)."""
    return int(session.scalar(select(func.count(ProductVariant.id)).where(
        ProductVariant.tenant_id == tenant_id, ProductVariant.product_id == variant.product_id,
        ProductVariant.active.is_(True), ProductVariant.id != variant.id)) or 0)


def update_variant(ctx: Context, tenant_id: str, variant_id: int,
                   changes: Mapping[str, Any]) -> ProductVariantView:
    with ctx.db.transaction() as session:
        variant = _variant(session, tenant_id, variant_id)
        if "sku" in changes:
            _sku_taken(session, tenant_id, changes["sku"], but=variant.id)
        if changes.get("active") is False and variant.active:
            if not _others_on_sale(session, tenant_id, variant):
                raise Conflict("A product keeps at least one variant on sale; take the product "
                               "off sale instead (its active=false)")
        before = _variant_view(variant)
        apply_changes(session, variant, changes, VARIANT_FIELDS)
        after = _variant_view(variant)
        record_audit(session, tenant_id, None, "variant.update", ("variant", variant.id),
                     before, after)
        return after


def delete_variant(ctx: Context, tenant_id: str, variant_id: int) -> None:
    """A product keeps at least one variant (409 for the last one: delete the product instead)."""
    with ctx.db.transaction() as session:
        variant = _variant(session, tenant_id, variant_id)
        siblings = session.scalar(select(func.count(ProductVariant.id))
                                  .where(ProductVariant.product_id == variant.product_id))
        if (siblings or 0) <= 1:
            raise Conflict("A product needs at least one variant; delete the product instead")
        if variant.active and not _others_on_sale(session, tenant_id, variant):
            raise Conflict("A product keeps at least one variant on sale; offer another one "
                           "first, or delete the product")
        session.delete(variant)

