"""WhatsApp messages: the inbound log and the outbound delivery queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, IdType, UtcDateTime, utcnow

# scheduled (waits for its due_at: a send time, quiet hours, a full day) → queued → sending
# (claimed by one sender, right before the call to Twilio) → sent | failed; then Twilio's status
# callbacks: sent → delivered → read, or undelivered | failed. cancelled: never sent (the
# merchant cancelled it, or the rules refused it when it came due; `error` says why).
OUTBOUND_STATUSES = ("scheduled", "queued", "sending", "sent", "delivered", "read", "failed",
                     "undelivered", "cancelled")
MESSAGE_KINDS = ("reply", "transactional", "reminders", "promotional")
TEMPLATE_CATEGORIES = ("utility", "marketing")
APPROVAL_STATUSES = ("pending", "approved", "rejected")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class InboundMessage(Base):
    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "provider_sid"),
        # A tenant's messages of a day (analytics).
        Index("ix_inbound_messages_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    provider_sid: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text, default="")
    media: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class OutboundMessage(Base):
    __tablename__ = "outbound_messages"
    __table_args__ = (
        CheckConstraint(_in("status", OUTBOUND_STATUSES), name="status_known"),
        CheckConstraint(_in("kind", MESSAGE_KINDS), name="kind_known"),
        # Counting a tenant's messages of a day or month (tier limits), by when they go out.
        Index("ix_outbound_messages_tenant_id_due_at", "tenant_id", "due_at"),
        # The scheduler: scheduled rows that came due.
        Index("ix_outbound_messages_status_due_at", "status", "due_at"),
        Index("ix_outbound_messages_provider_sid", "provider_sid"),
        Index("ix_outbound_messages_batch_id_position", "batch_id", "position"),
        Index("ix_outbound_messages_tenant_id_to_phone_hash", "tenant_id", "to_phone_hash"),
        # Counting a tenant's messages of the month (tier limit).
        Index("ix_outbound_messages_tenant_id_created_at", "tenant_id", "created_at"),
        # The sweep: rows left queued or sending since a given time.
        Index("ix_outbound_messages_status_updated_at", "status", "updated_at"),
        # One reply per inbound message: the channel posting it again (a retry) stores nothing.
        UniqueConstraint("tenant_id", "in_reply_to", "position"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    to_phone_encrypted: Mapped[str] = mapped_column(Text)
    to_phone_hash: Mapped[str] = mapped_column(String(64))
    body: Mapped[str | None] = mapped_column(Text)
    media_url: Mapped[str | None] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[int | None] = mapped_column(Integer)  # Twilio's, from a send or callback
    kind: Mapped[str] = mapped_column(String(16), default="reply")  # MESSAGE_KINDS
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # When it may go out (now, a scheduled time, the end of quiet hours, the next day with room);
    # the tier's daily and monthly limits count messages by it.
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("message_templates.id", ondelete="SET NULL"), index=True
    )
    language: Mapped[str | None] = mapped_column(String(8))
    # A template sent through Twilio's Content API (body then holds the rendered preview).
    content_sid: Mapped[str | None] = mapped_column(String(64))
    content_variables: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # A menu or yes/no question also as a list picker or reply buttons (kit/interactive.py);
    # sent so where the tenant allows it and the window is open, else the body goes out.
    interactive: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Messages of one reply share a batch and are sent in position order.
    batch_id: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class MessageStatusEvent(Base):
    """One Twilio status callback, stored once per (message sid, status): a replayed callback
    changes nothing, and the message's status only moves forward (see conversations/status.py)."""

    __tablename__ = "message_status_events"
    __table_args__ = (UniqueConstraint("tenant_id", "provider_sid", "status"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    outbound_id: Mapped[int] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="CASCADE"), index=True
    )
    provider_sid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MessageTemplate(Base):
    """A merchant's WhatsApp template: named placeholders, one variant per language."""

    __tablename__ = "message_templates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint(_in("category", TEMPLATE_CATEGORIES), name="category_known"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(16))
    placeholders: Mapped[list[str]] = mapped_column(JSON, default=list)  # in {{1}}, {{2}} order
    sample_values: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    usage_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class MessageTemplateVariant(Base):
    """A template's text in one language, its Twilio Content sid and WhatsApp approval."""

    __tablename__ = "message_template_variants"
    __table_args__ = (
        UniqueConstraint("template_id", "language"),
        CheckConstraint(_in("approval", APPROVAL_STATUSES), name="approval_known"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           index=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("message_templates.id", ondelete="CASCADE")
    )
    language: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)  # with {{name}} placeholders
    content_sid: Mapped[str | None] = mapped_column(String(64))
    approval: Mapped[str] = mapped_column(String(16), default="pending")
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class InteractiveContent(Base):
    """A list picker or reply-buttons content created in the tenant's Twilio account, by the
    fingerprint of its definition: created once, then sent by ContentSid with the message's
    words and ids as ContentVariables."""

    __tablename__ = "interactive_contents"
    __table_args__ = (UniqueConstraint("tenant_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    content_sid: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class UsageWarning(Base):
    """The merchant warned that a day's or month's messages reached 80 % of the tier's limit;
    one per period."""

    __tablename__ = "usage_warnings"
    __table_args__ = (UniqueConstraint("tenant_id", "period", "period_start"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(8))  # day | month
    period_start: Mapped[datetime] = mapped_column(UtcDateTime)
    used: Mapped[int] = mapped_column(Integer)
    allowed: Mapped[int] = mapped_column(Integer)  # the tier's limit for the period
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


# pending: noted in the transaction that made the event, not handled yet (the outbox).
AUTOMATIC_OUTCOMES = ("pending", "sent", "refused", "off")


class AutomaticMessage(Base):
    """One event the platform tells a customer about on its own (backend/domain/notifications.py),
    stored once per (tenant, event, subject): a job or sweep running twice sends nothing more.
    A message the rules refused is kept here with the reason, never lost silently."""

    __tablename__ = "automatic_messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "event", "subject"),
        CheckConstraint(_in("outcome", AUTOMATIC_OUTCOMES), name="outcome_known"),
        Index("ix_automatic_messages_outcome_created_at", "outcome", "created_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))  # e.g. "order:12"
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)  # why refused (a REFUSALS key and text)
    outbound_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
