"""Appointment deposits: a service's deposit rule (services.deposit_kind, deposit_value,
hold_minutes), appointments held pending payment until hold_until or released (their order
and deposit), and
refunds of payments (refunds: one per payment, B2C or card).

Columns are only added to services (no batch rebuild on SQLite, whose drop would cascade to its
variants, windows and appointments); appointments, which nothing references, is rebuilt for its
status check.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | Sequence[str] | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)
OLD_STATUSES = "status IN ('booked', 'cancelled', 'no_show')"
NEW_STATUSES = "status IN ('booked', 'cancelled', 'no_show', 'pending_payment', 'released')"


def upgrade() -> None:
    op.add_column("services", sa.Column("deposit_kind", sa.String(16), nullable=False,
                                        server_default="none"))
    op.add_column("services", sa.Column("deposit_value", sa.BigInteger(), nullable=True))
    op.add_column("services", sa.Column("hold_minutes", sa.Integer(), nullable=True))
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("order_id", ID, nullable=True))
        batch.add_column(sa.Column("deposit_minor", sa.BigInteger(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("hold_until", WHEN, nullable=True))
        batch.create_index(op.f("ix_appointments_status_hold_until"), ["status", "hold_until"])
        batch.create_foreign_key(op.f("fk_appointments_order_id_orders"), "orders", ["order_id"],
                                 ["id"], ondelete="SET NULL")
        batch.create_index(op.f("ix_appointments_order_id"), ["order_id"])
        batch.drop_constraint(op.f("ck_appointments_status_known"), type_="check")
        batch.create_check_constraint("status_known", NEW_STATUSES)
    op.create_table(
        "refunds",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("payment_id", ID, nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("originator_conversation_id", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(100), nullable=True),
        sa.Column("provider_reference", sa.String(100), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.CheckConstraint("status IN ('pending', 'sent', 'succeeded', 'failed')",
                           name="ck_refunds_status_known"),
        sa.CheckConstraint("amount_minor > 0", name="ck_refunds_amount_positive"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_refunds_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], ondelete="RESTRICT",
                                name="fk_refunds_payment_id_payments"),
        sa.PrimaryKeyConstraint("id", name="pk_refunds"),
        sa.UniqueConstraint("payment_id", name="uq_refunds_payment_id"),
        sa.UniqueConstraint("originator_conversation_id",
                            name="uq_refunds_originator_conversation_id"),
    )
    op.create_index("ix_refunds_tenant_id", "refunds", ["tenant_id"])
    op.create_index("ix_refunds_status_updated_at", "refunds", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_refunds_status_updated_at", table_name="refunds")
    op.drop_index("ix_refunds_tenant_id", table_name="refunds")
    op.drop_table("refunds")
    op.execute("UPDATE appointments SET status = 'cancelled' "
               "WHERE status IN ('pending_payment', 'released')")
    with op.batch_alter_table("appointments") as batch:
        batch.drop_constraint(op.f("ck_appointments_status_known"), type_="check")
        batch.create_check_constraint("status_known", OLD_STATUSES)
        batch.drop_index(op.f("ix_appointments_status_hold_until"))
        batch.drop_column("hold_until")
        batch.drop_index(op.f("ix_appointments_order_id"))
        batch.drop_constraint(op.f("fk_appointments_order_id_orders"), type_="foreignkey")
        batch.drop_column("deposit_minor")
        batch.drop_column("order_id")
    op.drop_column("services", "hold_minutes")
    op.drop_column("services", "deposit_value")
    op.drop_column("services", "deposit_kind")
