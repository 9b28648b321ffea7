"""Tiers (prices, limits, features), subscriptions, invoices, discount codes, the charges made
for each invoice and the reminders sent about them (backend/services/billing)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, IdType, UtcDateTime, utcnow

CYCLES = ("monthly", "yearly")
SUBSCRIPTION_STATUSES = ("trialing", "active", "past_due", "suspended", "cancelled")
PAYMENT_METHODS = ("mpesa", "card")
INVOICE_STATUSES = ("draft", "open", "paid", "void")
DISCOUNT_KINDS = ("percent", "fixed")
CHARGE_STATUSES = ("queued", "sending", "pending", "paid", "failed")
REMINDER_STATUSES = ("queued", "sent", "failed", "unsent")
CARD_PROVIDERS = ("paystack", "stripe")
CARD_STATUSES = ("pending", "active", "replaced", "failed", "removed")
CHECK_REFUNDS = ("pending", "refunded", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class TierRow(Base):
    """One subscription tier (backend.domain.tiers.Tier is its read-only view)."""

    __tablename__ = "tiers"
    __table_args__ = (
        CheckConstraint("monthly_price_minor >= 0 AND yearly_price_minor >= 0",
                        name="prices_not_negative"),
        CheckConstraint("fee_basis_points BETWEEN 0 AND 10000", name="fee_in_range"),
        CheckConstraint("trial_days >= 0", name="trial_not_negative"),
    )

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    monthly_price_minor: Mapped[int] = mapped_column(BigInteger)
    yearly_price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="KES")
    max_products: Mapped[int | None] = mapped_column(Integer)  # None: no limit
    max_services: Mapped[int | None] = mapped_column(Integer)
    max_users: Mapped[int | None] = mapped_column(Integer)
    max_messages_per_month: Mapped[int | None] = mapped_column(Integer)
    max_messages_per_day: Mapped[int | None] = mapped_column(Integer)
    fee_basis_points: Mapped[int] = mapped_column(Integer)
    payment_facilitation: Mapped[bool] = mapped_column(Boolean, default=False)
    trial_days: Mapped[int] = mapped_column(Integer, default=14)
    features: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class DiscountCode(Base):
    __tablename__ = "discount_codes"
    __table_args__ = (
        CheckConstraint(_in("kind", DISCOUNT_KINDS), name="kind_known"),
        CheckConstraint("value > 0", name="value_positive"),
        CheckConstraint("cycles >= 1", name="cycles_positive"),
        CheckConstraint("redemptions >= 0", name="redemptions_not_negative"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # upper case
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[int] = mapped_column(BigInteger)  # percent (1-100) or minor units
    cycles: Mapped[int] = mapped_column(Integer, default=1)  # invoices it applies to
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    max_redemptions: Mapped[int | None] = mapped_column(Integer)
    redemptions: Mapped[int] = mapped_column(Integer, default=0)
    deactivated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # by the operator
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Subscription(Base):
    """A tenant's one subscription; current_period_end is its next renewal."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint(_in("cycle", CYCLES), name="cycle_known"),
        CheckConstraint(_in("status", SUBSCRIPTION_STATUSES), name="status_known"),
        CheckConstraint(_in("payment_method", PAYMENT_METHODS), name="payment_method_known"),
        Index("ix_subscriptions_current_period_end", "current_period_end"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), unique=True)
    tier: Mapped[str] = mapped_column(ForeignKey("tiers.name"))
    cycle: Mapped[str] = mapped_column(String(8), default="monthly")
    status: Mapped[str] = mapped_column(String(16), default="trialing")
    payment_method: Mapped[str] = mapped_column(String(8), default="mpesa")
    trial_ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    current_period_start: Mapped[datetime] = mapped_column(UtcDateTime)
    current_period_end: Mapped[datetime] = mapped_column(UtcDateTime)
    discount_code_id: Mapped[int | None] = mapped_column(
        ForeignKey("discount_codes.id", ondelete="SET NULL"))
    discount_cycles_left: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class InvoiceCounter(Base):
    """The platform's invoice number sequence (one row, locked while a number is taken)."""

    __tablename__ = "invoice_counters"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger, default=0)


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint(_in("status", INVOICE_STATUSES), name="status_known"),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
        UniqueConstraint("subscription_id", "period_start"),  # one invoice per period
        Index("ix_invoices_tenant_id_id", "tenant_id", "id"),
        Index("ix_invoices_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(32), unique=True)
    period_start: Mapped[datetime] = mapped_column(UtcDateTime)
    period_end: Mapped[datetime] = mapped_column(UtcDateTime)
    currency: Mapped[str] = mapped_column(String(3), default="KES")
    # [{"description", "amount_minor"}]: the tier's price, then any discount (negative).
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    subtotal_minor: Mapped[int] = mapped_column(BigInteger)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(8), default="open")
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paid_reference: Mapped[str | None] = mapped_column(String(64))  # M-Pesa receipt
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class BillingCharge(Base):
    """One attempt to charge an invoice: its key is claimed (unique) before the provider is
    called, so a second run, a retried job or a restarted worker never charges it again."""

    __tablename__ = "billing_charges"
    __table_args__ = (
        CheckConstraint(_in("status", CHARGE_STATUSES), name="status_known"),
        UniqueConstraint("invoice_id", "attempt"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)  # 0: the renewal, 1-3: the retries
    key: Mapped[str] = mapped_column(String(64), unique=True)  # in the callback URL
    method: Mapped[str] = mapped_column(String(8))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(8), default="queued")
    checkout_request_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    reference: Mapped[str | None] = mapped_column(String(64))
    failure: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class BillingReminder(Base):
    """A renewal or failed-payment reminder to the owner (WhatsApp from the platform's number);
    its key makes each one once per period."""

    __tablename__ = "billing_reminders"
    __table_args__ = (
        CheckConstraint(_in("status", REMINDER_STATUSES), name="status_known"),
        Index("ix_billing_reminders_tenant_id_id", "tenant_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(24))  # renewal_7 | renewal_3 | renewal_1 | failed
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), default="queued")
    message_sid: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class BillingCard(Base):
    """A card the owner saves for the subscription: a setup started on the provider's hosted
    page (pending, found by its reference when the provider's webhook comes), then the
    tenant's one active card (the provider's reusable token encrypted: Paystack's
    authorization code and email, Stripe's customer and payment method), replaced by the
    next one saved."""

    __tablename__ = "billing_cards"
    __table_args__ = (
        CheckConstraint(_in("provider", CARD_PROVIDERS), name="provider_known"),
        CheckConstraint(_in("status", CARD_STATUSES), name="status_known"),
        CheckConstraint(f"check_refund IS NULL OR {_in('check_refund', CHECK_REFUNDS)}",
                        name="check_refund_known"),
        Index("ix_billing_cards_tenant_id_status", "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(8))
    # Paystack's transaction reference or Stripe's Checkout Session id (the setup's).
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(8), default="pending")
    token_encrypted: Mapped[str | None] = mapped_column(Text)  # JSON, Fernet-encrypted
    label: Mapped[str | None] = mapped_column(String(40))  # "visa **** 4081": no secret
    # Paystack's card check (BILLING_CARD_CHECK_MINOR) refunded by a job once the card is saved:
    # None (nothing to refund: Stripe charges nothing) | pending | refunded | failed.
    check_refund: Mapped[str | None] = mapped_column(String(8))
    check_refund_id: Mapped[str | None] = mapped_column(String(64))  # Paystack's refund id
    check_refunded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
