"""Conversations: a customer's messages with a tenant, split after 24 h of silence."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, IdType, UtcDateTime, utcnow

CONVERSATION_STATUSES = ("open", "closed")


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed')", name="status_known"),
        Index(
            "ix_conversations_tenant_id_customer_id_started_at",
            "tenant_id",
            "customer_id",
            "started_at",
        ),
        Index("ix_conversations_tenant_id_started_at", "tenant_id", "started_at"),  # analytics
        # The inbox and the overview: a tenant's few conversations waiting for a person.
        Index("ix_conversations_tenant_id_needs_human_status", "tenant_id", "needs_human",
              "status"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    needs_human: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Latest message either way; 24 h past it the next message starts a new conversation.
    last_message_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
