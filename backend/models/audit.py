"""The audit log: who changed what on a tenant, from which request (personal data masked)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, IdType, UtcDateTime, utcnow


class AuditLog(Base):
    """One write: a service's record of an important change (before/after), or the generic
    record of any other successful write request (route, target, status)."""

    __tablename__ = "audit_logs"
    __table_args__ = (
        Index("ix_audit_logs_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_audit_logs_tenant_id_target_type_target_id", "tenant_id", "target_type",
              "target_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    # None: the platform operator's action that belongs to no tenant (discount codes, tiers).
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(64))  # "user:5", "api_key:3", "service", "system"
    action: Mapped[str] = mapped_column(String(64))  # "products.update", "orders.transitions"
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # masked
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # masked
    route: Mapped[str | None] = mapped_column(String(200))  # "PATCH /v1/products/<int:product_id>"
    status: Mapped[int | None] = mapped_column(Integer)  # the generic record's HTTP status
    request_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
