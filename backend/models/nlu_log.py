"""The NLU classification log: what the assistant understood of each customer message.

Message text is stored as the inbound log stores bodies (plain text in the tenant's rows);
phone numbers never appear here, only the customer's id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, IdType, UtcDateTime, utcnow


class NluClassification(Base):
    __tablename__ = "nlu_classifications"
    __table_args__ = (
        UniqueConstraint("tenant_id", "message_id"),
        Index("ix_nlu_classifications_tenant_id_confidence", "tenant_id", "confidence"),
        Index("ix_nlu_classifications_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    message_id: Mapped[str] = mapped_column(String(64))  # Rasa's id of the user message
    message_sid: Mapped[str | None] = mapped_column(String(64))  # Twilio MessageSid
    text: Mapped[str] = mapped_column(Text, default="")
    intent: Mapped[str | None] = mapped_column(String(128))
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    language: Mapped[str | None] = mapped_column(String(16))
    # Top intents as [{"name", "confidence"}], best first (at most three).
    ranking: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Extracted entities as [{"entity", "value"}].
    entities: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # When the customer's message was classified (the event's timestamp).
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class NluReview(Base):
    """A reviewer's decision on one logged customer message (the NLU review loop): the intent it
    really is, with entities marked over its masked text, or discarded. One row per message; a
    changed decision overwrites it (who and when of the last change; the audit log keeps the
    history)."""

    __tablename__ = "nlu_reviews"
    __table_args__ = (
        UniqueConstraint("classification_id"),
        Index("ix_nlu_reviews_tenant_id_decided_at", "tenant_id", "decided_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    classification_id: Mapped[int] = mapped_column(
        ForeignKey("nlu_classifications.id", ondelete="CASCADE"))
    decision: Mapped[str] = mapped_column(String(16))  # "intent" or "discard"
    intent: Mapped[str | None] = mapped_column(String(128))
    # [{"start", "end", "entity", "value"}] over the masked text, sorted by start.
    entities: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    decided_by: Mapped[str] = mapped_column(String(64))  # "user:5", "api_key:3"
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class NluModel(Base):
    """A model in the registry (the NLU review loop's second half): trained in a job from the
    candidate data, evaluated with `make eval`'s scorer against the promoted model, gated, then
    promoted (swapped into every rasa server) or not. Platform-wide: no tenant."""

    __tablename__ = "nlu_models"
    __table_args__ = (
        Index("ix_nlu_models_status", "status"),
        Index("ix_nlu_models_sha256", "sha256"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    # candidate, training, evaluating, failed, ready, rejected, promoted, retired
    status: Mapped[str] = mapped_column(String(16))
    file_path: Mapped[str | None] = mapped_column(String(500))
    sha256: Mapped[str | None] = mapped_column(String(64))
    data_hash: Mapped[str | None] = mapped_column(String(64))  # the inputs, as train.sh hashes them
    data_dir: Mapped[str | None] = mapped_column(String(500))  # what it trains on
    note: Mapped[str | None] = mapped_column(String(500))
    progress: Mapped[str | None] = mapped_column(String(200))  # "training: epoch 12/100"
    error: Mapped[str | None] = mapped_column(Text)
    # {"heldout": {lang: accuracy %}, "false_action": {"<set> <lang>": rate %}, "n": {...}}
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # {"passed": bool, "baseline_id": int | None, "reasons": [str]}
    gate: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    built_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    promoted_by: Mapped[str | None] = mapped_column(String(64))
    promoted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When its (last) promotion was queued: one whose job died is not waited for past the limit.
    promotion_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
