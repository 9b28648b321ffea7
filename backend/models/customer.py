"""Customers of a tenant, known by phone (stored encrypted, found by keyed hash), and the
audit trail of their consent changes."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, IdType, UtcDateTime, utcnow

CUSTOMER_REF_PREFIX = "c"
CUSTOMER_REF_PATTERN = re.compile(r"^c[0-9a-f]{24}$")


def new_customer_ref() -> str:
    """A random opaque reference: "c" and 24 hex digits (never a phone-like run of digits
    at a word start, so log masking leaves it whole)."""
    return CUSTOMER_REF_PREFIX + secrets.token_hex(12)

CONSENT_KINDS = ("transactional", "reminders", "promotional")


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "phone_hash"),
        # The assistant's references are looked up per tenant and unique there.
        Index("ix_customers_tenant_id_ref", "tenant_id", "ref", unique=True),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    phone_encrypted: Mapped[str] = mapped_column(Text)
    phone_hash: Mapped[str] = mapped_column(String(64))
    # What the assistant knows the customer by (Rasa's sender id "<tenant>:<ref>", the actions'
    # X-CUSTOMER-REF): random, so it reveals nothing of the phone; see services/platform/customers.py.
    ref: Mapped[str] = mapped_column(String(32), default=lambda: new_customer_ref())
    profile_name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8))  # None: the tenant's language
    # Consent per kind of message; every change is logged in consent_events.
    consent_transactional: Mapped[bool] = mapped_column(Boolean, default=True)
    consent_reminders: Mapped[bool] = mapped_column(Boolean, default=True)
    consent_promotional: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when the customer has been silent for 14 days (no re-engagement nudge after that);
    # cleared by their next message (services/conversations/reengagement.py).
    dormant_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ConsentEvent(Base):
    """One consent change: which kind, old → new, who made it, through which channel, when."""

    __tablename__ = "consent_events"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('transactional', 'reminders', 'promotional')", name="kind_known"
        ),
        Index("ix_consent_events_tenant_id_customer_id", "tenant_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    old_value: Mapped[bool] = mapped_column(Boolean)
    new_value: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str] = mapped_column(String(64))  # "merchant:api_key:3", "assistant", "seed"
    channel: Mapped[str] = mapped_column(String(32))  # "merchant_api", "whatsapp", "seed"…
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
