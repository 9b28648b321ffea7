"""Analytics: top products. Each tenant-day of the roll-up keeps the units sold and the revenue
of the day's paid orders per product (analytics_daily.products, {product id: {units,
revenue_minor}}); days rolled up before this are filled in when they are rolled up again (the
backfill command), until then they count no products. And the indexes the web pages read a
busy tenant through: orders newest first and since the shop's midnight, the conversations
waiting for a person.

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("analytics_daily") as batch:
        batch.add_column(sa.Column("products", sa.JSON(), nullable=False,
                                   server_default=sa.text("'{}'")))
    op.create_index("ix_orders_tenant_id_id", "orders", ["tenant_id", "id"])
    op.create_index("ix_orders_tenant_id_created_at", "orders", ["tenant_id", "created_at"])
    op.create_index("ix_conversations_tenant_id_needs_human_status", "conversations",
                    ["tenant_id", "needs_human", "status"])


def downgrade() -> None:
    op.drop_index("ix_conversations_tenant_id_needs_human_status", table_name="conversations")
    op.drop_index("ix_orders_tenant_id_created_at", table_name="orders")
    op.drop_index("ix_orders_tenant_id_id", table_name="orders")
    with op.batch_alter_table("analytics_daily") as batch:
        batch.drop_column("products")
