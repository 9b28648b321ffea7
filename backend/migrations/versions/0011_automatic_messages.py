"""Automatic messages: one row per event the platform told (or would have told) a customer about
on its own, so that a job or sweep running twice sends nothing more, and a refusal keeps its
reason. Appointments gain the status no_show (the merchant records it; the customer gets a
follow-up). Orders gain courier and tracking (given when shipped, said in the message).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUS_CHECK = "ck_appointments_ck_appointments_status_known"
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "automatic_messages",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("outbound_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("outcome IN ('pending', 'sent', 'refused', 'off')", name="outcome_known"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_automatic_messages_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="SET NULL",
                                name="fk_automatic_messages_customer_id_customers"),
        sa.PrimaryKeyConstraint("id", name="pk_automatic_messages"),
        sa.UniqueConstraint("tenant_id", "event", "subject",
                            name="uq_automatic_messages_tenant_id_event_subject"),
    )
    op.create_index("ix_automatic_messages_customer_id", "automatic_messages", ["customer_id"])
    op.create_index("ix_automatic_messages_outcome_created_at", "automatic_messages",
                    ["outcome", "created_at"])
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("courier", sa.String(64), nullable=True))
        batch.add_column(sa.Column("tracking", sa.String(64), nullable=True))
    with op.batch_alter_table("appointments") as batch:
        # 0003 named it twice over (its name went through the naming convention again).
        batch.drop_constraint(op.f(OLD_STATUS_CHECK), type_="check")
        batch.create_check_constraint("status_known",
                                      "status IN ('booked', 'cancelled', 'no_show')")


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("tracking")
        batch.drop_column("courier")
    op.execute("UPDATE appointments SET status = 'cancelled' WHERE status = 'no_show'")
    with op.batch_alter_table("appointments") as batch:
        batch.drop_constraint(op.f("ck_appointments_status_known"), type_="check")
        batch.create_check_constraint(op.f(OLD_STATUS_CHECK), "status IN ('booked', 'cancelled')")
    op.drop_index("ix_automatic_messages_outcome_created_at", table_name="automatic_messages")
    op.drop_index("ix_automatic_messages_customer_id", table_name="automatic_messages")
    op.drop_table("automatic_messages")
