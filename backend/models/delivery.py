"""Delivery: the tenant's delivery settings, its zones, and each customer's last delivery address
(offered as "same address as last time"). Rules: backend/domain/delivery.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, IdType, UtcDateTime, utcnow


class DeliverySettings(Base):
    """One row per tenant that changed them; none: pickup only, no delivery."""

    __tablename__ = "delivery_settings"
    __table_args__ = (
        CheckConstraint("fallback IN ('pickup_only', 'call_customer')", name="fallback_known"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           primary_key=True)
    offers_pickup: Mapped[bool] = mapped_column(Boolean, default=True)
    offers_delivery: Mapped[bool] = mapped_column(Boolean, default=False)
    shop_latitude: Mapped[float | None] = mapped_column(Float)
    shop_longitude: Mapped[float | None] = mapped_column(Float)
    # An address outside every zone: "pickup_only" (refused) or "call_customer" (accepted, no fee).
    fallback: Mapped[str] = mapped_column(String(16), default="pickup_only")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class DeliveryZone(Base):
    __tablename__ = "delivery_zones"
    __table_args__ = (
        CheckConstraint("fee_minor >= 0", name="fee_not_negative"),
        CheckConstraint("free_above_minor IS NULL OR free_above_minor >= 0",
                        name="free_above_not_negative"),
        CheckConstraint("radius_m IS NULL OR radius_m > 0", name="radius_positive"),
        Index("ix_delivery_zones_tenant_id_position", "tenant_id", "position"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    # Place names matched against addresses (first zone in `position` order wins).
    areas: Mapped[list[str]] = mapped_column(JSON)
    radius_m: Mapped[int | None] = mapped_column(Integer)  # around the shop, for location pins
    fee_minor: Mapped[int] = mapped_column(BigInteger)
    free_above_minor: Mapped[int | None] = mapped_column(BigInteger)
    expected_time: Mapped[str | None] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class CustomerDeliveryAddress(Base):
    """The customer's last delivery address (encrypted like their phone)."""

    __tablename__ = "customer_delivery_addresses"
    __table_args__ = (UniqueConstraint("tenant_id", "customer_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    address_encrypted: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    recipient_phone_encrypted: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
