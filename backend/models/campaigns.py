"""Campaigns (backend/domain/campaigns.py), their template variants, their recipients (one row per
customer and campaign: a batch run twice sends nothing twice) and customers' tags."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.domain.campaigns import CAMPAIGN_STATUSES, RECIPIENT_STATUSES
from backend.models.base import Base, IdType, UtcDateTime, utcnow


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class CustomerTag(Base):
    """A merchant's label on a customer (e.g. "vip", "nairobi"), for campaign segments."""

    __tablename__ = "customer_tags"
    __table_args__ = (
        UniqueConstraint("customer_id", "tag"),
        Index("ix_customer_tags_tenant_id_tag", "tenant_id", "tag"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint(_in("status", CAMPAIGN_STATUSES), name="status_known"),
        Index("ix_campaigns_tenant_id_created_at", "tenant_id", "created_at"),
        # The scheduler: scheduled campaigns that came due.
        Index("ix_campaigns_status_send_at", "status", "send_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16))
    segment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    send_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    seed: Mapped[int] = mapped_column(Integer)  # the A/B split's (reproducible)
    recipients: Mapped[int] = mapped_column(Integer, default=0)  # materialised
    batches: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class CampaignVariant(Base):
    __tablename__ = "campaign_variants"
    __table_args__ = (UniqueConstraint("campaign_id", "position"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # 0 → "A", 1 → "B"...
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("message_templates.id", ondelete="SET NULL"), index=True
    )
    template_name: Mapped[str] = mapped_column(String(64))
    variables: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)


class CampaignRecipient(Base):
    """One customer of a campaign: unique per (campaign, customer), so materialising or sending
    a batch again finds the row and does nothing twice. The phone is not copied here: the
    outbound message holds it encrypted, the customer row too."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id"),
        CheckConstraint(_in("status", RECIPIENT_STATUSES), name="status_known"),
        Index("ix_campaign_recipients_campaign_id_batch", "campaign_id", "batch"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    variant_id: Mapped[int] = mapped_column(ForeignKey("campaign_variants.id", ondelete="CASCADE"))
    batch: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    outbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="SET NULL"), index=True
    )
    # Why it waits (quiet_hours, daily_limit) or why it was refused (a REFUSALS key: text).
    deferred: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
