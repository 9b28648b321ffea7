"""Bookable services, their variants, weekly or dated availability windows, and appointments."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.models.base import Base, IdType, UtcDateTime, utcnow

APPOINTMENT_STATUSES = ("booked", "cancelled", "no_show", "pending_payment", "released")


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(64), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Paid up front to book (backend/domain/deposits.py): none | fixed (deposit_value minor
    # units) | percent (deposit_value 1..100) | full; an unpaid hold is released after
    # hold_minutes (None: DEPOSIT_HOLD_MINUTES).
    deposit_kind: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    deposit_value: Mapped[int | None] = mapped_column(BigInteger)
    hold_minutes: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    variants: Mapped[list[ServiceVariant]] = relationship(
        back_populates="service", order_by="ServiceVariant.id", cascade="all, delete-orphan"
    )
    windows: Mapped[list[AvailabilityWindow]] = relationship(
        back_populates="service", order_by="AvailabilityWindow.id", cascade="all, delete-orphan"
    )


class ServiceVariant(Base):
    __tablename__ = "service_variants"
    __table_args__ = (
        UniqueConstraint("service_id", "name"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))

    service: Mapped[Service] = relationship(back_populates="variants")


class AvailabilityWindow(Base):
    """Open for bookings on a weekday (0 = Monday) or on one date, between two local times."""

    __tablename__ = "availability_windows"
    __table_args__ = (
        CheckConstraint(
            "(weekday IS NULL) <> (on_date IS NULL)", name="weekday_or_date"
        ),
        CheckConstraint("weekday IS NULL OR (weekday >= 0 AND weekday <= 6)", name="weekday_range"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int | None] = mapped_column(Integer)
    on_date: Mapped[date | None] = mapped_column(Date)
    starts_at: Mapped[time] = mapped_column(Time)  # the tenant's local time
    ends_at: Mapped[time] = mapped_column(Time)
    capacity: Mapped[int] = mapped_column(Integer, default=1)

    service: Mapped[Service] = relationship(back_populates="windows")


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("status IN ('booked', 'cancelled', 'no_show', 'pending_payment', "
                        "'released')", name="status_known"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_appointments_service_id_starts_at", "service_id", "starts_at"),
        Index("ix_appointments_status_hold_until", "status", "hold_until"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    service_variant_id: Mapped[int] = mapped_column(
        ForeignKey("service_variants.id", ondelete="CASCADE")
    )
    # The window whose capacity the appointment uses (its row is the lock for that capacity).
    window_id: Mapped[int | None] = mapped_column(
        ForeignKey("availability_windows.id", ondelete="SET NULL"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default="booked")
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    notes: Mapped[str] = mapped_column(Text, default="")
    # A deposit booking: the order paying it (one "deposit" line) and its amount; the
    # appointment is pending_payment (holding its seat) until that order is paid.
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    deposit_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    hold_until: Mapped[datetime | None] = mapped_column(UtcDateTime)  # released after it unpaid
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
