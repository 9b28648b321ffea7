"""Analytics: the daily roll-up per tenant and local day (analytics_daily), the log of FAQ
answers given to customers (faq_answer_log), and the indexes the roll-up reads a tenant's day
through (inbound messages by arrival, orders by placement, conversations by start, payments
by creation).

Revision ID: 0022
Revises: 0018
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)

COUNTS = (
    "messages_in", "messages_out", "conversations", "customers_new", "customers_returning",
    "orders", "orders_paid", "conversations_ordered", "conversations_paid", "bookings",
    "appointments", "no_shows", "classifications", "fallbacks", "handoffs", "handoffs_replied",
    "faq_answered", "faq_declined", "llm_calls", "campaign_sent", "campaign_delivered",
    "campaign_read", "campaign_replied", "campaign_converted",
)
SUMS = ("revenue_minor", "first_reply_seconds", "llm_cost_micros")
MAPS = ("outbound_statuses", "payments", "intents")


def upgrade() -> None:
    op.create_table(
        "analytics_daily",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS],
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in SUMS],
        *[sa.Column(name, sa.JSON(), nullable=False) for name in MAPS],
        sa.Column("computed_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_analytics_daily_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_analytics_daily"),
        sa.UniqueConstraint("tenant_id", "day", name="uq_analytics_daily_tenant_id_day"),
    )
    op.create_table(
        "faq_answer_log",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_faq_answer_log_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_faq_answer_log"),
    )
    op.create_index("ix_faq_answer_log_tenant_id_created_at", "faq_answer_log",
                    ["tenant_id", "created_at"])
    op.create_index("ix_inbound_messages_tenant_id_created_at", "inbound_messages",
                    ["tenant_id", "created_at"])
    op.create_index("ix_orders_tenant_id_placed_at", "orders", ["tenant_id", "placed_at"])
    op.create_index("ix_conversations_tenant_id_started_at", "conversations",
                    ["tenant_id", "started_at"])
    op.create_index("ix_payments_tenant_id_created_at", "payments", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_payments_tenant_id_created_at", table_name="payments")
    op.drop_index("ix_conversations_tenant_id_started_at", table_name="conversations")
    op.drop_index("ix_orders_tenant_id_placed_at", table_name="orders")
    op.drop_index("ix_inbound_messages_tenant_id_created_at", table_name="inbound_messages")
    op.drop_index("ix_faq_answer_log_tenant_id_created_at", table_name="faq_answer_log")
    op.drop_table("faq_answer_log")
    op.drop_table("analytics_daily")
