"""Billing: tiers as data (prices, limits, features, trial), discount codes, subscriptions,
invoices with their number sequence, charge attempts and reminders; tenants.tier references the
tiers table (instead of a CHECK on three names) and tenants get an encrypted billing phone.

Revision ID: 0018
Revises: 0014
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.DateTime(timezone=True)

# The tiers of backend/domain/tiers.py on 2026-12-07 (frozen here: a migration does not change
# when the code does). Prices in KES cents.
SEED = [
    {"name": "starter", "monthly_price_minor": 150_000, "yearly_price_minor": 1_500_000,
     "max_products": 100, "max_services": 10, "max_users": 3, "max_messages_per_month": 2_000,
     "max_messages_per_day": 200, "fee_basis_points": 300, "payment_facilitation": False,
     "features": {"campaigns": False, "card_payments": False}},
    {"name": "growth", "monthly_price_minor": 500_000, "yearly_price_minor": 5_000_000,
     "max_products": 2_000, "max_services": 50, "max_users": 10, "max_messages_per_month": 20_000,
     "max_messages_per_day": 2_000, "fee_basis_points": 200, "payment_facilitation": True,
     "features": {"campaigns": True, "card_payments": True}},
    {"name": "enterprise", "monthly_price_minor": 1_500_000, "yearly_price_minor": 15_000_000,
     "max_products": None, "max_services": None, "max_users": None,
     "max_messages_per_month": None, "max_messages_per_day": None, "fee_basis_points": 100,
     "payment_facilitation": True, "features": {"campaigns": True, "card_payments": True}},
]


def _tiers() -> None:
    table = op.create_table(
        "tiers",
        sa.Column("name", sa.String(16), nullable=False),
        sa.Column("monthly_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("yearly_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("max_products", sa.Integer(), nullable=True),
        sa.Column("max_services", sa.Integer(), nullable=True),
        sa.Column("max_users", sa.Integer(), nullable=True),
        sa.Column("max_messages_per_month", sa.Integer(), nullable=True),
        sa.Column("max_messages_per_day", sa.Integer(), nullable=True),
        sa.Column("fee_basis_points", sa.Integer(), nullable=False),
        sa.Column("payment_facilitation", sa.Boolean(), nullable=False),
        sa.Column("trial_days", sa.Integer(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("updated_at", NOW, nullable=False),
        sa.CheckConstraint("monthly_price_minor >= 0 AND yearly_price_minor >= 0",
                           name="ck_tiers_prices_not_negative"),
        sa.CheckConstraint("fee_basis_points BETWEEN 0 AND 10000", name="ck_tiers_fee_in_range"),
        sa.CheckConstraint("trial_days >= 0", name="ck_tiers_trial_not_negative"),
        sa.PrimaryKeyConstraint("name", name="pk_tiers"),
    )
    now = datetime.now(UTC)
    op.bulk_insert(table, [{**row, "currency": "KES", "trial_days": 14, "created_at": now,
                            "updated_at": now} for row in SEED])


def _tenants() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_constraint("ck_tenants_tier_known", type_="check")
        batch.create_foreign_key("fk_tenants_tier_tiers", "tiers", ["tier"], ["name"])
        batch.add_column(sa.Column("billing_phone_encrypted", sa.Text(), nullable=True))


def _existing_tenants_on_trial() -> None:
    """Tenants from before billing start a 14-day trial now (not from when they were made)."""
    tenants = op.get_bind().execute(sa.text("SELECT id, tier FROM tenants")).all()
    if not tenants:
        return
    now = datetime.now(UTC)
    end = now + timedelta(days=14)
    table = sa.table(
        "subscriptions", sa.column("tenant_id", sa.String()), sa.column("tier", sa.String()),
        sa.column("cycle", sa.String()), sa.column("status", sa.String()),
        sa.column("payment_method", sa.String()), sa.column("trial_ends_at", NOW),
        sa.column("current_period_start", NOW), sa.column("current_period_end", NOW),
        sa.column("discount_cycles_left", sa.Integer()), sa.column("created_at", NOW),
        sa.column("updated_at", NOW))
    op.bulk_insert(table, [
        {"tenant_id": tenant_id, "tier": tier, "cycle": "monthly", "status": "trialing",
         "payment_method": "mpesa", "trial_ends_at": end, "current_period_start": now,
         "current_period_end": end, "discount_cycles_left": 0, "created_at": now,
         "updated_at": now} for tenant_id, tier in tenants])


def upgrade() -> None:
    _tiers()
    _tenants()
    op.create_table(
        "discount_codes",
        sa.Column("id", ID, nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("cycles", sa.Integer(), nullable=False),
        sa.Column("expires_at", NOW, nullable=True),
        sa.Column("max_redemptions", sa.Integer(), nullable=True),
        sa.Column("redemptions", sa.Integer(), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
        sa.CheckConstraint("kind IN ('percent', 'fixed')", name="ck_discount_codes_kind_known"),
        sa.CheckConstraint("value > 0", name="ck_discount_codes_value_positive"),
        sa.CheckConstraint("cycles >= 1", name="ck_discount_codes_cycles_positive"),
        sa.CheckConstraint("redemptions >= 0", name="ck_discount_codes_redemptions_not_negative"),
        sa.PrimaryKeyConstraint("id", name="pk_discount_codes"),
        sa.UniqueConstraint("code", name="uq_discount_codes_code"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("cycle", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payment_method", sa.String(8), nullable=False),
        sa.Column("trial_ends_at", NOW, nullable=True),
        sa.Column("current_period_start", NOW, nullable=False),
        sa.Column("current_period_end", NOW, nullable=False),
        sa.Column("discount_code_id", ID, nullable=True),
        sa.Column("discount_cycles_left", sa.Integer(), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("updated_at", NOW, nullable=False),
        sa.CheckConstraint("cycle IN ('monthly', 'yearly')", name="ck_subscriptions_cycle_known"),
        sa.CheckConstraint(
            "status IN ('trialing', 'active', 'past_due', 'suspended', 'cancelled')",
            name="ck_subscriptions_status_known"),
        sa.CheckConstraint("payment_method IN ('mpesa', 'card')",
                           name="ck_subscriptions_payment_method_known"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_subscriptions_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["tier"], ["tiers.name"], name="fk_subscriptions_tier_tiers"),
        sa.ForeignKeyConstraint(["discount_code_id"], ["discount_codes.id"], ondelete="SET NULL",
                                name="fk_subscriptions_discount_code_id_discount_codes"),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
        sa.UniqueConstraint("tenant_id", name="uq_subscriptions_tenant_id"),
    )
    op.create_index("ix_subscriptions_current_period_end", "subscriptions",
                    ["current_period_end"])
    _existing_tenants_on_trial()
    op.create_table(
        "invoice_counters",
        sa.Column("name", sa.String(16), nullable=False),
        sa.Column("last_value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_invoice_counters"),
    )
    op.create_table(
        "invoices",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("subscription_id", ID, nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("period_start", NOW, nullable=False),
        sa.Column("period_end", NOW, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("subtotal_minor", sa.BigInteger(), nullable=False),
        sa.Column("discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("tax_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", NOW, nullable=True),
        sa.Column("paid_at", NOW, nullable=True),
        sa.Column("paid_reference", sa.String(64), nullable=True),
        sa.Column("created_at", NOW, nullable=False),
        sa.CheckConstraint("status IN ('draft', 'open', 'paid', 'void')",
                           name="ck_invoices_status_known"),
        sa.CheckConstraint("total_minor >= 0", name="ck_invoices_total_not_negative"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_invoices_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"], ondelete="CASCADE",
                                name="fk_invoices_subscription_id_subscriptions"),
        sa.PrimaryKeyConstraint("id", name="pk_invoices"),
        sa.UniqueConstraint("number", name="uq_invoices_number"),
        sa.UniqueConstraint("subscription_id", "period_start",
                            name="uq_invoices_subscription_id_period_start"),
    )
    op.create_index("ix_invoices_tenant_id_id", "invoices", ["tenant_id", "id"])
    op.create_index("ix_invoices_status_next_attempt_at", "invoices",
                    ["status", "next_attempt_at"])
    op.create_table(
        "billing_charges",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("invoice_id", ID, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("checkout_request_id", sa.String(64), nullable=True),
        sa.Column("reference", sa.String(64), nullable=True),
        sa.Column("failure", sa.String(200), nullable=True),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("updated_at", NOW, nullable=False),
        sa.CheckConstraint("status IN ('queued', 'sending', 'pending', 'paid', 'failed')",
                           name="ck_billing_charges_status_known"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_billing_charges_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], ondelete="CASCADE",
                                name="fk_billing_charges_invoice_id_invoices"),
        sa.PrimaryKeyConstraint("id", name="pk_billing_charges"),
        sa.UniqueConstraint("key", name="uq_billing_charges_key"),
        sa.UniqueConstraint("checkout_request_id",
                            name="uq_billing_charges_checkout_request_id"),
        sa.UniqueConstraint("invoice_id", "attempt", name="uq_billing_charges_invoice_id_attempt"),
    )
    op.create_table(
        "billing_reminders",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("invoice_id", ID, nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("message_sid", sa.String(64), nullable=True),
        sa.Column("detail", sa.String(200), nullable=True),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("sent_at", NOW, nullable=True),
        sa.CheckConstraint("status IN ('queued', 'sent', 'failed', 'unsent')",
                           name="ck_billing_reminders_status_known"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_billing_reminders_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], ondelete="SET NULL",
                                name="fk_billing_reminders_invoice_id_invoices"),
        sa.PrimaryKeyConstraint("id", name="pk_billing_reminders"),
        sa.UniqueConstraint("key", name="uq_billing_reminders_key"),
    )
    op.create_index("ix_billing_reminders_tenant_id_id", "billing_reminders", ["tenant_id", "id"])


def downgrade() -> None:
    op.drop_table("billing_reminders")
    op.drop_table("billing_charges")
    op.drop_table("invoices")
    op.drop_table("invoice_counters")
    op.drop_table("subscriptions")
    op.drop_table("discount_codes")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("billing_phone_encrypted")
        batch.drop_constraint("fk_tenants_tier_tiers", type_="foreignkey")
        batch.create_check_constraint(
            "ck_tenants_tier_known", "tier IN ('starter', 'growth', 'enterprise')")
    op.drop_table("tiers")
