"""Handoffs: a conversation passed to a person (who asked, when, why) and back to the assistant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, IdType, UtcDateTime, utcnow

HANDOFF_REASONS = ("requested", "fallback", "llm_budget", "merchant")


class ConversationHandoff(Base):
    __tablename__ = "conversation_handoffs"
    __table_args__ = (
        CheckConstraint(
            "reason IN ('requested', 'fallback', 'llm_budget', 'merchant')", name="reason_known"
        ),
        Index("ix_conversation_handoffs_tenant_id_resumed_at", "tenant_id", "resumed_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(16))
    last_message: Mapped[str | None] = mapped_column(Text)  # what the customer said last
    requested_by: Mapped[str] = mapped_column(String(64))  # "assistant", "merchant:api_key:3"
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Set when the assistant takes the conversation back; None while a person has it.
    resumed_by: Mapped[str | None] = mapped_column(String(64))
    resumed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
