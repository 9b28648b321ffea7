"""What the platform operator keeps about tenants: onboarding (owner to invite, languages, the
last Twilio connection test), every suspension and reactivation with its reason, and fee waivers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, IdType, UtcDateTime, utcnow

STATUS_CHANGES = ("suspended", "active")  # what an operator's status change sets


class TenantOnboarding(Base):
    """One row per tenant the operator created (seeded tenants have none until first tested)."""

    __tablename__ = "tenant_onboarding"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    owner_email_encrypted: Mapped[str | None] = mapped_column(Text)
    # None while the owner's invitation waits to be sent (accounts' invite, wired at merge).
    owner_invited_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    twilio_tested_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    twilio_test_ok: Mapped[bool | None] = mapped_column(Boolean)
    twilio_test_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TenantStatusChange(Base):
    """A suspension or reactivation by the operator, and why (the latest is the current one)."""

    __tablename__ = "tenant_status_changes"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUS_CHANGES!r}", name="status_known"),
        Index("ix_tenant_status_changes_tenant_id_id", "tenant_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class FeeWaiver(Base):
    """No platform fee on the tenant's payments from starts_at until ends_at (None: until
    revoked) unless revoked_at came first."""

    __tablename__ = "fee_waivers"
    __table_args__ = (Index("ix_fee_waivers_tenant_id_starts_at", "tenant_id", "starts_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
