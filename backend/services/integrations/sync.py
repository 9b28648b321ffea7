"""Import and sync runs (in jobs): products, variants, prices, stock, images and categories
from the store into the catalog.

- The store wins on what it owns: title, description, category, images, price and stock are
  overwritten from upstream on every run; a variant gone upstream keeps its row (order lines
  point at it) with stock 0.
- Nothing half-imported: each product and its variants are written together (a SAVEPOINT per
  product inside the page's transaction); a product that breaks a rule (no title, no variant,
  no price, negative stock, a SKU another product uses, the plan's product limit) is skipped
  whole and logged on the run with its upstream id.
- Initial and full runs read every product and mark inactive (never delete) the imported
  products the store no longer has; incremental runs ask for what changed after the cursor
  (the newest upstream modification seen, WooCommerce `modified_after` / Shopify
  `updated_at:>`), WooCommerce's trashed products included; webhook runs fetch the products a
  webhook named and apply them (gone: inactive).
- The store failing as a whole (timeout, unreachable after retries, credentials refused)
  fails the run with its error; what was committed before stays (each product is whole).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from backend.domain.errors import DomainError
from backend.domain.money import Money, MoneyError
from backend.models import IntegrationRun, Product, ProductVariant, StoreIntegration, Tenant
from backend.models.base import utcnow
from backend.providers import woocommerce
from backend.providers.store_http import StoreError, StoreProduct
from backend.services.integrations.connections import Client, client_for
from backend.services.platform.limits import check_limit
from backend.wiring import Context

log = logging.getLogger(__name__)
MAX_LOGGED_ERRORS = 200
# Stores stamp changes in whole seconds: incremental syncs ask from the cursor's second (what
# changed "after" the second before), and skip what they already applied at the cursor itself.
CURSOR_OVERLAP = timedelta(seconds=1)
DEFAULT_CATEGORY = "General"


class ItemError(ValueError):
    """A product that cannot be imported as it is upstream."""


@dataclass(frozen=True)
class Variant:
    sku: str
    price_minor: int
    stock: int
    attributes: dict[str, str]


@dataclass(frozen=True)
class Item:
    external_id: str
    title: str
    description: str
    category: str
    images: list[str]
    active: bool
    variants: list[Variant]


@dataclass
class Report:
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    newest: datetime | None = None
    newest_ids: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)

    def fail(self, external_id: str | None, message: str) -> None:
        self.failed += 1
        if len(self.errors) < MAX_LOGGED_ERRORS:
            self.errors.append({"external_id": external_id, "message": message[:300]})

    def saw(self, external_id: str, when: datetime | None) -> None:
        if when is None:
            return
        if self.newest is None or when > self.newest:
            self.newest, self.newest_ids = when, set()
        if when == self.newest:
            self.newest_ids.add(external_id)


def item_of(product: StoreProduct, currency: str) -> Item:
    """The product as the catalog holds it, or ItemError saying what is wrong with it."""
    title = product.title.strip()
    if not title:
        raise ItemError("no title")
    if not product.variants:
        raise ItemError("no variant")
    variants = []
    for variant in product.variants:
        sku = variant.sku.strip()[:64]
        if variant.price is None:
            raise ItemError(f"variant {variant.external_id} ({sku}) has no price")
        try:
            price = Money.from_major(variant.price, currency).amount_minor
        except MoneyError:
            raise ItemError(f"variant {variant.external_id} ({sku}) has an unusable price "
                            f"{variant.price!r}") from None
        if price < 0:
            raise ItemError(f"variant {variant.external_id} ({sku}) has a negative price")
        if variant.stock is not None and variant.stock < 0:
            raise ItemError(f"variant {variant.external_id} ({sku}) has negative stock "
                            f"({variant.stock})")
        variants.append(Variant(sku, price, variant.stock or 0,
                                {k[:64]: v[:200] for k, v in variant.attributes.items()}))
    skus = [v.sku for v in variants]
    if len(set(skus)) != len(skus) or not all(skus):
        raise ItemError("two variants share a SKU (or one has none)")
    return Item(product.external_id, title[:200], product.description[:5000],
                (product.category.strip() or DEFAULT_CATEGORY)[:64], product.images[:10],
                product.active, variants)


class Importer:
    def __init__(self, ctx: Context, tenant_id: str, tier: str, source: str, currency: str,
                 report: Report, cursor: datetime | None = None) -> None:
        self.ctx, self.tenant_id, self.tier, self.source = ctx, tenant_id, tier, source
        self.currency, self.report = currency, report
        # Failures of products not modified since the cursor were logged by an earlier run.
        self.cursor = cursor

    def apply(self, products: Iterable[StoreProduct | StoreError]) -> None:
        items: list[Item] = []
        for product in products:
            if isinstance(product, StoreError):
                self.report.fail(product.item, str(product))
                continue
            self.report.seen.add(product.external_id)
            self.report.saw(product.external_id, product.modified_at)
            try:
                items.append(item_of(product, self.currency))
            except ItemError as error:
                if not (self.cursor and product.modified_at and product.modified_at <= self.cursor):
                    self.report.fail(product.external_id, str(error))
        if items:
            self._write(items)

    def _write(self, items: list[Item]) -> None:
        with self.ctx.db.transaction() as session:
            existing = {p.external_id: p for p in session.scalars(
                select(Product).options(selectinload(Product.variants)).where(
                    Product.tenant_id == self.tenant_id, Product.external_source == self.source,
                    Product.external_id.in_([i.external_id for i in items])))}
            skus = [v.sku for i in items for v in i.variants]
            owners = {sku: owner for sku, owner in session.execute(
                select(ProductVariant.sku, ProductVariant.product_id).where(
                    ProductVariant.tenant_id == self.tenant_id, ProductVariant.sku.in_(skus)))}
            count = session.scalar(select(func.count(Product.id)).where(
                Product.tenant_id == self.tenant_id)) or 0
            creates: list[Item] = []
            updates: list[tuple[Product, Item]] = []
            page_skus: set[str] = set()
            for item in items:
                product = existing.get(item.external_id)
                taken = [v.sku for v in item.variants if owners.get(v.sku) not in (
                    None, product.id if product else None) or (
                    product is None and v.sku in page_skus)]
                if taken:
                    self.report.fail(item.external_id, f"SKU {taken[0]} is used by another "
                                                       f"product of this shop")
                    continue
                if product is None:
                    page_skus.update(v.sku for v in item.variants)
                    creates.append(item)
                else:
                    updates.append((product, item))
            if updates:
                self._update_all(session, updates)
            if creates:
                self._create_all(session, creates, count)

    def _update_all(self, session: Session, updates: list[tuple[Product, Item]]) -> None:
        """Existing products brought up to date in one SAVEPOINT; if the database refuses one,
        again one SAVEPOINT each, so only that one is skipped."""
        try:
            with session.begin_nested():
                changed = sum(1 for product, item in updates
                              if self._update(session, product, item))
            self.report.updated += changed
            return
        except IntegrityError:
            pass
        for product, item in updates:
            try:
                with session.begin_nested():
                    if self._update(session, product, item):
                        self.report.updated += 1
            except IntegrityError as error:
                self.report.fail(item.external_id, f"refused by the database: "
                                                   f"{type(error.orig).__name__}")

    def _create_all(self, session: Session, items: list[Item], count: int) -> None:
        """New products in two statements (products, then their variants) when they all fit
        the plan and the database takes them; else one SAVEPOINT each, so a refused one is
        skipped whole and the rest are written."""
        try:
            check_limit(session, self.tier, "products", count, len(items))
            with session.begin_nested():
                ids = session.scalars(insert(Product).returning(
                    Product.id, sort_by_parameter_order=True), [{
                        "tenant_id": self.tenant_id, "title": i.title,
                        "description": i.description, "category": i.category,
                        "images": i.images, "active": i.active,
                        "external_source": self.source, "external_id": i.external_id}
                        for i in items]).all()
                session.execute(insert(ProductVariant), [{
                    "tenant_id": self.tenant_id, "product_id": product_id, "sku": v.sku,
                    "price_minor": v.price_minor, "currency": self.currency, "stock": v.stock,
                    "attributes": v.attributes}
                    for product_id, item in zip(ids, items, strict=True) for v in item.variants])
            self.report.created += len(items)
            return
        except (DomainError, IntegrityError):
            pass  # one at a time below: each is written or skipped whole
        for item in items:
            try:
                check_limit(session, self.tier, "products", count, 1)
                with session.begin_nested():
                    self._create(session, item)
                count += 1
                self.report.created += 1
            except DomainError as error:
                self.report.fail(item.external_id, error.description)
            except IntegrityError as error:
                self.report.fail(item.external_id, f"refused by the database: "
                                                   f"{type(error.orig).__name__}")

    def _create(self, session: Session, item: Item) -> None:
        product = Product(tenant_id=self.tenant_id, title=item.title,
                          description=item.description, category=item.category,
                          images=item.images, active=item.active,
                          external_source=self.source, external_id=item.external_id,
                          variants=[ProductVariant(tenant_id=self.tenant_id, sku=v.sku,
                                                   price_minor=v.price_minor,
                                                   currency=self.currency, stock=v.stock,
                                                   attributes=v.attributes)
                                    for v in item.variants])
        session.add(product)
        session.flush()

    def _update(self, session: Session, product: Product, item: Item) -> bool:
        changed = False
        for name in ("title", "description", "category", "images", "active"):
            if getattr(product, name) != getattr(item, name):
                setattr(product, name, getattr(item, name))
                changed = True
        by_sku = {v.sku: v for v in product.variants}
        for new in item.variants:
            variant = by_sku.pop(new.sku, None)
            if variant is None:
                product.variants.append(ProductVariant(
                    tenant_id=self.tenant_id, sku=new.sku, price_minor=new.price_minor,
                    currency=self.currency, stock=new.stock, attributes=new.attributes))
                changed = True
                continue
            for name, value in (("price_minor", new.price_minor), ("stock", new.stock),
                                ("attributes", new.attributes), ("currency", self.currency)):
                if getattr(variant, name) != value:
                    setattr(variant, name, value)
                    changed = True
        for gone in by_sku.values():  # sold no more upstream: kept for old orders, not sold
            if gone.stock:
                gone.stock = 0
                changed = True
        return changed

    def deactivate(self, external_ids: Iterable[str]) -> None:
        ids = list(external_ids)
        with self.ctx.db.transaction() as session:
            for start in range(0, len(ids), 500):
                result = session.execute(update(Product).where(
                    Product.tenant_id == self.tenant_id, Product.external_source == self.source,
                    Product.external_id.in_(ids[start:start + 500]), Product.active.is_(True))
                    .values(active=False))
                self.report.deactivated += int(result.rowcount or 0)  # type: ignore[attr-defined]

    def deactivate_unseen(self) -> None:
        with self.ctx.db.transaction() as session:
            active = set(session.scalars(select(Product.external_id).where(
                Product.tenant_id == self.tenant_id, Product.external_source == self.source,
                Product.active.is_(True))))
        self.deactivate(sorted(str(i) for i in active - self.report.seen if i is not None))


def _prefetched(pages: Iterable[Any], prepare: Any) -> Iterator[Any]:
    """The pages, each prepared (WooCommerce: its variations read) on a thread while the one
    before is written, so the store's answers and our writes overlap."""
    if prepare is None:
        yield from pages
        return
    with ThreadPoolExecutor(1, thread_name_prefix="store-prefetch") as pool:
        pending: Future[Any] | None = None
        for page in pages:
            future = pool.submit(prepare, page)
            if pending is not None:
                yield pending.result()
            pending = future
        if pending is not None:
            yield pending.result()


def _claim(ctx: Context, run_id: int) -> tuple[IntegrationRun, StoreIntegration, Tenant] | None:
    with ctx.db.transaction() as session:
        run = session.get(IntegrationRun, run_id, with_for_update=True)
        if run is None or run.status != "queued":
            return None
        row = session.get(StoreIntegration, run.integration_id)
        tenant = session.get(Tenant, run.tenant_id)
        if row is None or tenant is None or row.status != "connected":
            run.status, run.error, run.finished_at = "failed", "The store is not connected", \
                utcnow()
            return None
        run.status, run.started_at = "running", utcnow()
        session.flush()
        session.expunge_all()
        return run, row, tenant


def _register_webhooks(ctx: Context, client: Client, integration_id: int,
                       report: Report) -> None:
    try:
        if client.provider == "woocommerce":
            client.api.register_webhooks(client.webhook_url, client.webhook_secret)
        else:
            client.api.register_webhooks(client.webhook_url)
    except StoreError as error:
        if error.kind in ("timeout", "unavailable", "auth"):
            raise
        report.errors.append({"external_id": None,
                              "message": f"webhooks not registered: {error}"[:300]})
        return
    with ctx.db.transaction() as session:
        row = session.get(StoreIntegration, integration_id)
        if row is not None:
            row.webhooks_registered = True


def _sync(ctx: Context, run: IntegrationRun, row: StoreIntegration, tenant: Tenant,
          client: Client, report: Report) -> None:
    if not row.webhooks_registered:
        _register_webhooks(ctx, client, row.id, report)
    info = client.api.store_info()
    if info.currency != tenant.currency:
        raise StoreError(f"The store sells in {info.currency or 'an unknown currency'}; this "
                         f"shop's prices are in {tenant.currency}", "invalid")
    cursor = row.sync_cursor if run.kind == "incremental" else None
    importer = Importer(ctx, tenant.id, tenant.tier, row.provider, tenant.currency, report,
                        cursor)
    woo = row.provider == "woocommerce"
    if run.kind == "webhook":
        for product_id in run.product_ids:
            product = client.api.product(product_id)
            if product is None:
                importer.deactivate([product_id])
            else:
                importer.apply([product])
        return
    since = cursor - CURSOR_OVERLAP if cursor else None
    done_at_cursor = set(row.sync_cursor_ids or []) if cursor else set()

    def fresh(external_id: str, modified: datetime | None) -> bool:
        """Not applied yet: changed after the cursor, or at it and not among those applied."""
        if cursor is None or modified is None or modified > cursor:
            return True
        return modified == cursor and external_id not in done_at_cursor

    pages = client.api.product_pages(since)
    if woo:
        pages = ([raw for raw in page if fresh(str(raw["id"]), woocommerce.modified_of(raw))]
                 for page in pages)
    else:
        pages = ([p for p in page if isinstance(p, StoreError)
                  or fresh(p.external_id, p.modified_at)] for page in pages)
    for page in _prefetched(pages, client.api.full_products if woo else None):
        importer.apply(page)
    if run.kind == "incremental":
        if woo and since is not None:
            for page in client.api.product_pages(since, status="trash"):
                importer.deactivate(str(raw["id"]) for raw in page)
    else:
        importer.deactivate_unseen()


def run_sync(ctx: Context, run_id: int) -> str:
    """Carry out a queued run and log what it did; a run not queued (done, or taken by another
    worker) is left alone."""
    claimed = _claim(ctx, run_id)
    if claimed is None:
        return "skipped"
    run, row, tenant = claimed
    report = Report()
    status, error = "succeeded", None
    client = client_for(ctx, row)
    try:
        _sync(ctx, run, row, tenant, client, report)
    except StoreError as failure:
        status, error = "failed", str(failure)
    except Exception as failure:  # logged with its trace; the run says what kind
        log.exception("store sync run %s failed", run_id)
        status, error = "failed", f"internal error: {type(failure).__name__}"
    finally:
        client.api.close()
    with ctx.db.transaction() as session:
        stored = session.get(IntegrationRun, run_id, with_for_update=True)
        integration = session.get(StoreIntegration, row.id, with_for_update=True)
        assert stored is not None and integration is not None
        stored.status, stored.error, stored.finished_at = status, error, utcnow()
        stored.created, stored.updated = report.created, report.updated
        stored.deactivated, stored.failed = report.deactivated, report.failed
        stored.errors = report.errors
        if status == "succeeded" and run.kind != "webhook":
            if report.newest and (integration.sync_cursor is None
                                  or report.newest > integration.sync_cursor):
                integration.sync_cursor = report.newest
                integration.sync_cursor_ids = sorted(report.newest_ids)
            elif report.newest and report.newest == integration.sync_cursor:
                integration.sync_cursor_ids = sorted(
                    set(integration.sync_cursor_ids or []) | report.newest_ids)
            if run.kind in ("initial", "full"):
                integration.last_full_at = stored.finished_at
    log.info("store sync run %s (%s %s): %s, %s created, %s updated, %s deactivated, %s failed",
             run_id, row.provider, run.kind, status, report.created, report.updated,
             report.deactivated, report.failed)
    return status


def fail_stuck_runs(ctx: Context, older_than: datetime) -> list[int]:
    """Runs still `running` since before `older_than` (their worker died): failed, so the next
    run can start."""
    with ctx.db.transaction() as session:
        runs = session.scalars(select(IntegrationRun).where(
            IntegrationRun.status == "running", IntegrationRun.started_at < older_than)
            .with_for_update()).all()
        for run in runs:
            run.status, run.finished_at = "failed", utcnow()
            run.error = "The run stopped without finishing (its worker ended)"
        return [run.id for run in runs]
