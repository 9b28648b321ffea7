"""Analytics: one roll-up row per tenant and local day (the tenant's timezone), and the log of
FAQ answers given to customers (answered or declined) that the roll-up counts.

Every figure is a count or a sum (money in integer minor units, LLM spend in micro-units), so
days add up to weeks and months; rates and averages are computed when read
(backend/domain/analytics.py). The nightly job and the backfill replace a day's row whole
(backend/services/analytics/rollup.py): rolling a day up again never counts twice.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, IdType, UtcDateTime, utcnow


class DailyRollup(Base):
    __tablename__ = "analytics_daily"
    __table_args__ = (UniqueConstraint("tenant_id", "day"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)  # the tenant's local calendar day
    timezone: Mapped[str] = mapped_column(String(64))  # the zone the day was cut in
    currency: Mapped[str] = mapped_column(String(3))
    # Messaging: inbound by arrival, outbound by when it went (or was due to go) out.
    messages_in: Mapped[int] = mapped_column(Integer, default=0)
    messages_out: Mapped[int] = mapped_column(Integer, default=0)
    # {status: count} of the day's outbound messages (sent, delivered, read, failed, ...).
    outbound_statuses: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    conversations: Mapped[int] = mapped_column(Integer, default=0)  # started that day
    customers_new: Mapped[int] = mapped_column(Integer, default=0)  # first message ever
    customers_returning: Mapped[int] = mapped_column(Integer, default=0)  # wrote before
    # Commerce: orders placed that day; paid = placed that day and paid (now or later).
    orders: Mapped[int] = mapped_column(Integer, default=0)
    orders_paid: Mapped[int] = mapped_column(Integer, default=0)
    revenue_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # paid orders' totals
    # Funnel: the day's conversations in which an order was placed, and one that is paid.
    conversations_ordered: Mapped[int] = mapped_column(Integer, default=0)
    conversations_paid: Mapped[int] = mapped_column(Integer, default=0)
    # {method: {"attempted": n, "succeeded": m}} of payment attempts started that day.
    payments: Mapped[dict[str, dict[str, int]]] = mapped_column(JSON, default=dict)
    # Bookings: appointments made that day; no-shows among appointments starting that day.
    bookings: Mapped[int] = mapped_column(Integer, default=0)
    appointments: Mapped[int] = mapped_column(Integer, default=0)  # starting that day, kept
    no_shows: Mapped[int] = mapped_column(Integer, default=0)
    # NLU: {intent: count} of the day's classified messages; fallbacks = nlu_fallback.
    classifications: Mapped[int] = mapped_column(Integer, default=0)
    fallbacks: Mapped[int] = mapped_column(Integer, default=0)
    intents: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # Handoffs requested that day; of them, those a person answered and how long it took.
    handoffs: Mapped[int] = mapped_column(Integer, default=0)
    handoffs_replied: Mapped[int] = mapped_column(Integer, default=0)
    first_reply_seconds: Mapped[int] = mapped_column(BigInteger, default=0)  # summed
    faq_answered: Mapped[int] = mapped_column(Integer, default=0)
    faq_declined: Mapped[int] = mapped_column(Integer, default=0)
    llm_calls: Mapped[int] = mapped_column(Integer, default=0)
    llm_cost_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    # Campaign messages that went out that day, and what came of them within 72 h.
    campaign_sent: Mapped[int] = mapped_column(Integer, default=0)
    campaign_delivered: Mapped[int] = mapped_column(Integer, default=0)
    campaign_read: Mapped[int] = mapped_column(Integer, default=0)
    campaign_replied: Mapped[int] = mapped_column(Integer, default=0)
    campaign_converted: Mapped[int] = mapped_column(Integer, default=0)
    # Order lines of the day's paid orders by product: {"<product id>": {"units": n,
    # "revenue_minor": m}} ("line:<title>" for a line whose variant has since been deleted).
    products: Mapped[dict[str, dict[str, int]]] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class FaqAnswerLog(Base):
    """One question the assistant put to the knowledge base for a customer: answered (from an
    entry, a passage or the LLM) or declined ("not sure", a person offered). No question text:
    only what the counts need."""

    __tablename__ = "faq_answer_log"
    __table_args__ = (Index("ix_faq_answer_log_tenant_id_created_at", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    answered: Mapped[bool] = mapped_column(Boolean)
    method: Mapped[str] = mapped_column(String(16))  # faq | passage | llm | none
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


ROLLUP_COUNTS: tuple[str, ...] = tuple(
    name for name, column in DailyRollup.__table__.columns.items()
    if isinstance(column.type, (Integer, BigInteger)) and name != "id"
)
ROLLUP_MAPS: tuple[str, ...] = ("outbound_statuses", "intents", "payments")


# Kept per day for the top-products report, not one of the figures of the daily series.
PRODUCTS = "products"


def empty_figures() -> dict[str, Any]:
    return {**{name: 0 for name in ROLLUP_COUNTS}, **{name: {} for name in ROLLUP_MAPS},
            PRODUCTS: {}}
