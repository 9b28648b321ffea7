"""The LLM call log: every call to a chat model, with its tokens, estimated cost and outcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, IdType, UtcDateTime, utcnow

LLM_PURPOSES = ("faq_answer", "classify")
LLM_OUTCOMES = ("ok", "timeout", "error", "malformed", "unsupported")


class LlmCall(Base):
    """One call to a chat model: who, why, which model, tokens, estimated cost, latency, outcome.

    Cost is in micro-units of the tenant's currency (1 KES = 1,000,000): a call costs a fraction of
    a cent, so minor units would round every call to zero.
    """

    __tablename__ = "llm_calls"
    __table_args__ = (
        Index("ix_llm_calls_tenant_id_created_at", "tenant_id", "created_at"),
        CheckConstraint(
            "purpose IN ('faq_answer', 'classify')", name="purpose_known"
        ),
        CheckConstraint(
            "outcome IN ('ok', 'timeout', 'error', 'malformed', 'unsupported')",
            name="outcome_known",
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(100))
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    cost_micros: Mapped[int] = mapped_column(IdType, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    latency_ms: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
