"""Store integrations (WooCommerce, Shopify): a tenant's connection, its credentials encrypted,
and the log of each import or sync run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, IdType, UtcDateTime, utcnow

STORE_PROVIDERS = ("woocommerce", "shopify")
RUN_KINDS = ("initial", "full", "incremental", "webhook")
RUN_STATUSES = ("queued", "running", "succeeded", "failed")


class StoreIntegration(Base):
    __tablename__ = "store_integrations"
    __table_args__ = (UniqueConstraint("tenant_id", "provider"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(16))
    # WooCommerce: the site URL; Shopify: the shop's domain (x.myshopify.com).
    store_url: Mapped[str] = mapped_column(String(300))
    # Where the client sends its requests (the live store, or the sandbox simulator).
    api_url: Mapped[str] = mapped_column(String(300))
    # JSON of the credentials (WooCommerce consumer key/secret; Shopify access token and the
    # app's secret that signs its webhooks) and of our WooCommerce webhook secret, encrypted.
    credentials_encrypted: Mapped[str] = mapped_column(Text)
    # The secret path token of our webhook URL: its keyed hash finds the integration.
    webhook_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    webhook_token_encrypted: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="connected")
    # The newest upstream modification seen: incremental syncs ask for what changed after it.
    sync_cursor: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The products already applied whose upstream stamp is the cursor itself (stores stamp whole
    # seconds, so the next sync asks from the cursor's second and skips these).
    sync_cursor_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_full_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    webhooks_registered: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class IntegrationRun(Base):
    """One import or sync: when it ran, what it did and what it could not."""

    __tablename__ = "integration_runs"
    __table_args__ = (Index("ix_integration_runs_integration_id_id", "integration_id", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("store_integrations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    # A webhook run: the upstream product ids it was told about.
    product_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    deactivated: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    # Per item: {"external_id", "message"} (the first 200); the run's own failure in `error`.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class StoreStockAdjustment(Base):
    """A stock change of an imported variant made here (a chat order reserving it, a cancelled
    or expired order releasing it), written in the order's own transaction and pushed to the
    store as an adjustment by a job (a transactional outbox: none is lost if the push fails)."""

    __tablename__ = "store_stock_adjustments"
    __table_args__ = (Index("ix_store_stock_adjustments_status_tenant_id", "status", "tenant_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(
        ForeignKey("product_variants.id", ondelete="CASCADE"), index=True)
    delta: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    pushed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
