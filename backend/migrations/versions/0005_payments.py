"""Payments and wallets: provider settings, payment attempts, webhook events, the ledger
(accounts, transactions whose entries sum to zero, enforced on PostgreSQL by a deferred
constraint trigger), withdrawals with their audit trail, and the sandbox simulators' state.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Checked at COMMIT (deferred), once per transaction touched: every ledger transaction's
# entries must add up to zero, whatever code wrote them.
ZERO_SUM_FUNCTION = """
CREATE FUNCTION ledger_transaction_balances() RETURNS trigger AS $$
DECLARE
    txn bigint;
    total numeric;
BEGIN
    IF TG_OP = 'DELETE' THEN
        txn := OLD.transaction_id;
    ELSE
        txn := NEW.transaction_id;
    END IF;
    SELECT COALESCE(SUM(amount_minor), 0) INTO total FROM ledger_entries
        WHERE transaction_id = txn;
    IF total <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % does not balance (sum %)', txn, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""
ZERO_SUM_TRIGGER = """
CREATE CONSTRAINT TRIGGER ledger_entries_sum_to_zero
    AFTER INSERT OR UPDATE OR DELETE ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balances();
"""
TABLES = (
    "ledger_entries",
    "payment_events",
    "ledger_transactions",
    "payments",
    "wallet_audit_events",
    "withdrawals",
    "payment_settings",
    "ledger_accounts",
    "sandbox_payment_records",
)


def upgrade() -> None:
    op.create_table("sandbox_payment_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_payment_records")),
        sa.UniqueConstraint("provider", "reference", name=op.f("uq_sandbox_payment_records_provider_reference"))
    )
    op.create_table("ledger_accounts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_ledger_accounts_tenant_id_tenants"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("key", name=op.f("uq_ledger_accounts_key"))
    )
    op.create_index(op.f("ix_ledger_accounts_tenant_id"), "ledger_accounts", ["tenant_id"], unique=False)
    op.create_table("payment_settings",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secrets_encrypted", sa.Text(), nullable=False),
        sa.Column("callback_token_hash", sa.String(length=64), nullable=False),
        sa.Column("callback_token_encrypted", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_payment_settings_tenant_id_tenants"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_payment_settings")),
        sa.UniqueConstraint("callback_token_hash", name=op.f("uq_payment_settings_callback_token_hash"))
    )
    op.create_table("withdrawals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("phone_encrypted", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("originator_conversation_id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=True),
        sa.Column("provider_transaction_id", sa.String(length=64), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('pending_approval', 'approved', 'processing', 'paid', 'failed')", name=op.f("ck_withdrawals_status_known")),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_withdrawals_amount_positive")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_withdrawals_tenant_id_tenants"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_withdrawals")),
        sa.UniqueConstraint("originator_conversation_id", name=op.f("uq_withdrawals_originator_conversation_id"))
    )
    op.create_index("ix_withdrawals_status", "withdrawals", ["status"], unique=False)
    op.create_index(op.f("ix_withdrawals_tenant_id"), "withdrawals", ["tenant_id"], unique=False)
    op.create_table("wallet_audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("withdrawal_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_wallet_audit_events_tenant_id_tenants"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["withdrawal_id"], ["withdrawals.id"], name=op.f("fk_wallet_audit_events_withdrawal_id_withdrawals"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_audit_events"))
    )
    op.create_index(op.f("ix_wallet_audit_events_tenant_id"), "wallet_audit_events", ["tenant_id"], unique=False)
    op.create_index(op.f("ix_wallet_audit_events_withdrawal_id"), "wallet_audit_events", ["withdrawal_id"], unique=False)
    op.create_table("payments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("phone_encrypted", sa.Text(), nullable=True),
        sa.Column("provider_reference", sa.String(length=100), nullable=True),
        sa.Column("merchant_request_id", sa.String(length=100), nullable=True),
        sa.Column("checkout_url", sa.Text(), nullable=True),
        sa.Column("instructions", sa.JSON(), nullable=True),
        sa.Column("receipt", sa.String(length=64), nullable=True),
        sa.Column("failure_code", sa.String(length=32), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("method IN ('mpesa_stk', 'mpesa_manual', 'card')", name=op.f("ck_payments_method_known")),
        sa.CheckConstraint("provider IN ('daraja', 'paystack', 'stripe', 'pesapal', 'merchant_link', 'manual')", name=op.f("ck_payments_provider_known")),
        sa.CheckConstraint("status IN ('pending', 'succeeded', 'failed', 'expired', 'awaiting_customer')", name=op.f("ck_payments_status_known")),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_payments_amount_positive")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_payments_customer_id_customers"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_payments_order_id_orders"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_payments_tenant_id_tenants"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("provider", "provider_reference", name=op.f("uq_payments_provider_provider_reference")),
        sa.UniqueConstraint("provider", "receipt", name=op.f("uq_payments_provider_receipt"))
    )
    op.create_index("ix_payments_status_expires_at", "payments", ["status", "expires_at"], unique=False)
    op.create_index("ix_payments_tenant_id_order_id", "payments", ["tenant_id", "order_id"], unique=False)
    op.create_table("ledger_transactions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("withdrawal_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_ledger_transactions_payment_id_payments"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_ledger_transactions_tenant_id_tenants"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["withdrawal_id"], ["withdrawals.id"], name=op.f("fk_ledger_transactions_withdrawal_id_withdrawals"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transactions")),
        sa.UniqueConstraint("kind", "payment_id", name=op.f("uq_ledger_transactions_kind_payment_id")),
        sa.UniqueConstraint("kind", "withdrawal_id", name=op.f("uq_ledger_transactions_kind_withdrawal_id"))
    )
    op.create_index("ix_ledger_transactions_tenant_id_created_at", "ledger_transactions", ["tenant_id", "created_at"], unique=False)
    op.create_table("payment_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('received', 'processed', 'duplicate', 'flagged', 'unknown_reference', 'ignored')", name=op.f("ck_payment_events_status_known")),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_payment_events_payment_id_payments"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_payment_events_tenant_id_tenants"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
        sa.UniqueConstraint("provider", "event_id", name=op.f("uq_payment_events_provider_event_id"))
    )
    op.create_index(op.f("ix_payment_events_payment_id"), "payment_events", ["payment_id"], unique=False)
    op.create_index("ix_payment_events_status_received_at", "payment_events", ["status", "received_at"], unique=False)
    op.create_index(op.f("ix_payment_events_tenant_id"), "payment_events", ["tenant_id"], unique=False)
    op.create_table("ledger_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("transaction_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.CheckConstraint("amount_minor <> 0", name=op.f("ck_ledger_entries_amount_not_zero")),
        sa.ForeignKeyConstraint(["account_id"], ["ledger_accounts.id"], name=op.f("fk_ledger_entries_account_id_ledger_accounts"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["transaction_id"], ["ledger_transactions.id"], name=op.f("fk_ledger_entries_transaction_id_ledger_transactions"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries"))
    )
    op.create_index(op.f("ix_ledger_entries_account_id"), "ledger_entries", ["account_id"], unique=False)
    op.create_index(op.f("ix_ledger_entries_transaction_id"), "ledger_entries", ["transaction_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(ZERO_SUM_FUNCTION)
        op.execute(ZERO_SUM_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ledger_entries_sum_to_zero ON ledger_entries")
        op.execute("DROP FUNCTION ledger_transaction_balances()")
    for table in TABLES:
        op.drop_table(table)
