"""The simulators' own tables: what the Twilio simulator received, in arrival order, and the
payment simulators' state. They live in the database so every backend process serves the same
simulated provider; the migrations create them in every mode (the schema does not depend on
SANDBOX)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, IdType, UtcDateTime, utcnow


class SandboxMessage(Base):
    __tablename__ = "sandbox_messages"
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    # None: sent from the platform's own number (password-reset codes), not a tenant's.
    tenant_id: Mapped[str | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    sid: Mapped[str] = mapped_column(String(34), unique=True)
    from_address: Mapped[str] = mapped_column(String(64))
    to_encrypted: Mapped[str] = mapped_column(Text)
    to_hash: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[str | None] = mapped_column(Text)
    media_url: Mapped[str | None] = mapped_column(Text)
    status_callback: Mapped[str | None] = mapped_column(Text)
    # A Content API message: its sid and, for a list picker or reply buttons, what was shown.
    content_sid: Mapped[str | None] = mapped_column(String(64))
    interactive: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SandboxPaymentRecord(Base):
    """State of the sandbox provider simulators (STK pushes, checkouts, tokens, scenarios), in
    the database so every backend process serves the same simulated provider."""

    __tablename__ = "sandbox_payment_records"
    __table_args__ = (UniqueConstraint("provider", "reference"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class SandboxStoreProduct(Base):
    """A product of a simulated WooCommerce or Shopify store: its upstream JSON (variants
    inside), when it last changed, and whether it was deleted there."""

    __tablename__ = "sandbox_store_products"
    __table_args__ = (
        UniqueConstraint("provider", "store", "product_id"),
        Index("ix_sandbox_store_products_provider_store_modified_at",
              "provider", "store", "modified_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    store: Mapped[str] = mapped_column(String(100))
    product_id: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    modified_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
