"""The wallet ledger: accounts, transactions whose entries sum to zero, withdrawals and their
audit trail. Balances are never stored: they are sums of entries."""

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
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.models.base import Base, IdType, UtcDateTime, utcnow

WITHDRAWAL_STATUSES = ("pending_approval", "approved", "processing", "paid", "failed")


class LedgerAccount(Base):
    """`key` names it: "tenant:<id>:wallet:KES", "tenant:<id>:held:KES", "platform:fees:KES",
    "external:customer_payments:KES", "external:payouts:KES"."""

    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    tenant_id: Mapped[str | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class LedgerTransaction(Base):
    """One money movement. At most one of each kind per payment (a payment is credited once)."""

    __tablename__ = "ledger_transactions"
    __table_args__ = (
        UniqueConstraint("kind", "payment_id"),
        UniqueConstraint("kind", "withdrawal_id"),
        Index("ix_ledger_transactions_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # payment, withdrawal_hold, payout, …
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="RESTRICT"))
    withdrawal_id: Mapped[int | None] = mapped_column(
        ForeignKey("withdrawals.id", ondelete="RESTRICT")
    )
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    entries: Mapped[list[LedgerEntry]] = relationship(
        back_populates="transaction", order_by="LedgerEntry.id", cascade="all"
    )


class LedgerEntry(Base):
    """One leg: a signed amount on one account (credits positive); a transaction's legs sum to 0."""

    __tablename__ = "ledger_entries"
    __table_args__ = (CheckConstraint("amount_minor <> 0", name="amount_not_zero"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_transactions.id", ondelete="RESTRICT"), index=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_accounts.id", ondelete="RESTRICT"), index=True
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))

    transaction: Mapped[LedgerTransaction] = relationship(back_populates="entries")


class Withdrawal(Base):
    """A merchant's request to be paid out: held at once, approved by another user, paid by B2C."""

    __tablename__ = "withdrawals"
    __table_args__ = (
        CheckConstraint(
            f"status IN ({', '.join(repr(s) for s in WITHDRAWAL_STATUSES)})", name="status_known"
        ),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        Index("ix_withdrawals_status", "status"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    phone_encrypted: Mapped[str] = mapped_column(Text)  # the M-Pesa number paid
    requested_by: Mapped[str] = mapped_column(String(64))  # "api_key:3"
    approved_by: Mapped[str | None] = mapped_column(String(64))
    originator_conversation_id: Mapped[str] = mapped_column(String(64), unique=True)
    conversation_id: Mapped[str | None] = mapped_column(String(64))
    provider_transaction_id: Mapped[str | None] = mapped_column(String(64))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class WalletAuditEvent(Base):
    """Who did what to a tenant's money, and when (withdrawals requested, approved, paid…)."""

    __tablename__ = "wallet_audit_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    withdrawal_id: Mapped[int | None] = mapped_column(
        ForeignKey("withdrawals.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
