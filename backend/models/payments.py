"""Payments: a tenant's provider settings, one record per payment attempt, and the webhook
events received from providers (stored once each)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, IdType, UtcDateTime, utcnow

PAYMENT_STATUSES = ("pending", "succeeded", "failed", "expired", "awaiting_customer")
PAYMENT_METHODS = ("mpesa_stk", "mpesa_manual", "card")
PAYMENT_PROVIDERS = ("daraja", "paystack", "stripe", "pesapal", "merchant_link", "manual")
EVENT_STATUSES = ("received", "processed", "duplicate", "flagged", "unknown_reference", "ignored")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class PaymentSettings(Base):
    """How a tenant takes payments: `config` holds the non-secret values (shortcode, provider
    choice, base URLs), `secrets_encrypted` the credentials as one Fernet-encrypted JSON object."""

    __tablename__ = "payment_settings"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secrets_encrypted: Mapped[str] = mapped_column(Text)
    # The secret path token of the tenant's M-Pesa callback URLs: found by keyed hash.
    callback_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    callback_token_encrypted: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Payment(Base):
    """One attempt to pay an order: which method and provider, how much, and what came of it."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(_in("status", PAYMENT_STATUSES), name="status_known"),
        CheckConstraint(_in("method", PAYMENT_METHODS), name="method_known"),
        CheckConstraint(_in("provider", PAYMENT_PROVIDERS), name="provider_known"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        UniqueConstraint("provider", "provider_reference"),
        UniqueConstraint("provider", "receipt"),
        Index("ix_payments_tenant_id_order_id", "tenant_id", "order_id"),
        Index("ix_payments_tenant_id_created_at", "tenant_id", "created_at"),  # analytics
        Index("ix_payments_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    method: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    phone_encrypted: Mapped[str | None] = mapped_column(Text)  # the number an STK push goes to
    provider_reference: Mapped[str | None] = mapped_column(String(100))  # CheckoutRequestID…
    merchant_request_id: Mapped[str | None] = mapped_column(String(100))
    checkout_url: Mapped[str | None] = mapped_column(Text)
    instructions: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    receipt: Mapped[str | None] = mapped_column(String(64))  # M-Pesa receipt number
    failure_code: Mapped[str | None] = mapped_column(String(32))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # Set when money arrived that does not match (amount, currency, a closed order): no credit
    # (mismatch) or a credit someone must look at (cancelled order).
    review_reason: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class PaymentEvent(Base):
    """A provider's webhook/callback, stored once under (provider, event_id) before processing."""

    __tablename__ = "payment_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_id"),
        CheckConstraint(_in("status", EVENT_STATUSES), name="status_known"),
        Index("ix_payment_events_status_received_at", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(64))  # "stk_callback", "charge.success"…
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="received")
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("payments.id", ondelete="SET NULL"), index=True
    )
    detail: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)



REFUND_STATUSES = ("pending", "sent", "succeeded", "failed")


class Refund(Base):
    """A succeeded payment given back to the customer, at most once (unique payment): M-Pesa
    B2C to the payer's phone, or the card provider's refund. Its ledger reversal is written
    when the money has gone back."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint(_in("status", REFUND_STATUSES), name="status_known"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        UniqueConstraint("payment_id"),
        UniqueConstraint("originator_conversation_id"),
        Index("ix_refunds_status_updated_at", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="RESTRICT"))
    provider: Mapped[str] = mapped_column(String(16))  # the payment's
    status: Mapped[str] = mapped_column(String(16), default="pending")
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text, default="")
    # B2C: ours (sent as OriginatorConversationID) and Daraja's; card: the provider's refund id.
    originator_conversation_id: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str | None] = mapped_column(String(100))
    provider_reference: Mapped[str | None] = mapped_column(String(100))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
