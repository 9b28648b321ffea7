"""Tenants (merchants), their settings and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.domain.tenant_settings import (
    TENANT_STATUSES,
    default_business_hours,
    default_features,
)
from backend.models.base import Base, IdType, UtcDateTime, utcnow


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Tenant(Base):
    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint(_in("status", TENANT_STATUSES), name="status_known"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # slug, e.g. "demo-shop"
    name: Mapped[str] = mapped_column(String(200))
    whatsapp_number: Mapped[str] = mapped_column(String(20), unique=True)  # E.164
    twilio_account_sid: Mapped[str] = mapped_column(String(34), index=True)
    twilio_auth_token_encrypted: Mapped[str] = mapped_column(Text)
    sandbox: Mapped[bool] = mapped_column(Boolean, default=True)
    primary_language: Mapped[str] = mapped_column(String(8), default="en")
    currency: Mapped[str] = mapped_column(String(3), default="KES")
    timezone: Mapped[str] = mapped_column(String(64), default="Africa/Nairobi")
    status: Mapped[str] = mapped_column(String(16), default="active")  # TENANT_STATUSES
    tier: Mapped[str] = mapped_column(ForeignKey("tiers.name"), default="starter")  # tiers table
    # Shapes: backend/domain/tenant_settings.py (validated before they are stored).
    business_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=default_business_hours)
    quiet_hours: Mapped[dict[str, str] | None] = mapped_column(JSON)  # None: no quiet hours
    features: Mapped[dict[str, Any]] = mapped_column(JSON, default=default_features)
    # The owner's M-Pesa number the subscription is charged to (encrypted E.164; billing).
    billing_phone_encrypted: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_tenant_id_prefix", "tenant_id", "prefix"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(100))  # the merchant's label
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # What the key may do (backend.domain.permissions), sorted; keys made before scopes existed
    # hold every scope of that time (migration 0016).
    scopes: Mapped[list[str]] = mapped_column(JSON)
