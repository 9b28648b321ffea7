"""Stock reserved by chat orders goes back to the store as adjustments.

Choice: push stock adjustments, not orders. Creating the order in the store would duplicate
its payment, fulfilment and customer records (and, for Shopify, need the write_orders scope
and the customer's details); the store only needs to stop selling what a chat order took.
So each reservation (an order placed: −quantity) and each release (cancelled or expired:
+quantity) of an imported variant is written as a StoreStockAdjustment in the order's own
transaction (a transactional outbox), and a job pushes them: Shopify's
`inventoryAdjustQuantities` adds the delta atomically; WooCommerce's REST API can only set a
quantity, so it reads the variation's stock and writes stock + delta. A failed push stays
pending and is tried again by the next sweep (MAX_ATTEMPTS, then failed with its error).
The store still wins: the next sync brings its figure, which then includes the adjustment.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.models import Product, ProductVariant, StoreIntegration, StoreStockAdjustment
from backend.models.base import utcnow
from backend.models.integrations import STORE_PROVIDERS
from backend.providers.store_http import StoreError
from backend.services.integrations.connections import client_for
from backend.wiring import Context

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


def note_stock_change(session: Session, tenant_id: str, variant_id: int, delta: int) -> None:
    """In the caller's transaction: remember a stock change of an imported variant."""
    source = session.scalar(select(Product.external_source).join(
        ProductVariant, ProductVariant.product_id == Product.id).where(
        ProductVariant.id == variant_id, ProductVariant.tenant_id == tenant_id))
    if source in STORE_PROVIDERS and delta:
        session.add(StoreStockAdjustment(tenant_id=tenant_id, variant_id=variant_id, delta=delta,
                                         status="pending", attempts=0))


def tenants_with_pending(ctx: Context) -> list[str]:
    with ctx.db.transaction() as session:
        return list(session.scalars(select(StoreStockAdjustment.tenant_id).where(
            StoreStockAdjustment.status == "pending").distinct()))


def _claim(ctx: Context, tenant_id: str) -> list[tuple[int, int, int, str, str, str]]:
    """The tenant's pending adjustments, marked `pushing` (one job pushes each): (id,
    variant_id, delta, provider, product external id, sku)."""
    with ctx.db.transaction() as session:
        rows = session.execute(
            select(StoreStockAdjustment.id, StoreStockAdjustment.variant_id,
                   StoreStockAdjustment.delta, Product.external_source, Product.external_id,
                   ProductVariant.sku)
            .join(ProductVariant, ProductVariant.id == StoreStockAdjustment.variant_id)
            .join(Product, Product.id == ProductVariant.product_id)
            .where(StoreStockAdjustment.tenant_id == tenant_id,
                   StoreStockAdjustment.status == "pending")
            .order_by(StoreStockAdjustment.id).limit(500)).all()
        ids = [row[0] for row in rows]
        claimed = session.execute(update(StoreStockAdjustment).where(
            StoreStockAdjustment.id.in_(ids), StoreStockAdjustment.status == "pending")
            .values(status="pushing", attempts=StoreStockAdjustment.attempts + 1))
        if int(claimed.rowcount or 0) != len(ids):  # type: ignore[attr-defined]
            raise RuntimeError("another job took some of these adjustments")
        return [tuple(row) for row in rows]  # type: ignore[misc]


def _finish(ctx: Context, ids: list[int], error: str | None) -> None:
    with ctx.db.transaction() as session:
        for row in session.scalars(select(StoreStockAdjustment).where(
                StoreStockAdjustment.id.in_(ids))):
            if error is None:
                row.status, row.pushed_at, row.error = "pushed", utcnow(), None
            else:
                row.error = error[:300]
                row.status = "failed" if row.attempts >= MAX_ATTEMPTS else "pending"


def push_stock(ctx: Context, tenant_id: str) -> dict[str, Any]:
    """Push the tenant's pending adjustments, summed per variant, to their stores."""
    claimed = _claim(ctx, tenant_id)
    groups: dict[tuple[str, str, str], list[tuple[int, int]]] = defaultdict(list)
    for adjustment_id, _, delta, provider, external_id, sku in claimed:
        groups[(provider, external_id, sku)].append((adjustment_id, delta))
    with ctx.db.transaction() as session:
        integrations = {row.provider: row for row in session.scalars(select(StoreIntegration)
                        .where(StoreIntegration.tenant_id == tenant_id,
                               StoreIntegration.status == "connected"))}
        session.expunge_all()
    clients = {provider: client_for(ctx, row) for provider, row in integrations.items()}
    pushed = failed = 0
    try:
        for (provider, external_id, sku), items in groups.items():
            ids, delta = [i for i, _ in items], sum(d for _, d in items)
            client = clients.get(provider)
            try:
                if client is None:
                    raise StoreError(f"no {provider} store is connected", "invalid")
                product = client.api.product(external_id)
                variant = next((v for v in product.variants if v.sku == sku), None) \
                    if product else None
                if variant is None:
                    raise StoreError(f"the store no longer sells {sku}", "not_found")
                if delta and provider == "woocommerce":
                    client.api.adjust_stock(external_id, variant.external_id, delta)
                elif delta:
                    client.api.adjust_stock(variant.external_id, delta)
            except StoreError as error:
                failed += len(ids)
                log.warning("stock of %s not pushed to %s: %s", sku, provider, error)
                _finish(ctx, ids, str(error))
            else:
                pushed += len(ids)
                _finish(ctx, ids, None)
    finally:
        for client in clients.values():
            client.api.close()
    return {"pushed": pushed, "failed": failed}
