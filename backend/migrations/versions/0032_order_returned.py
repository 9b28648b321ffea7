"""An order can come back: shipped (fulfilled), then returned to the shop undelivered (refused,
nobody there); its stock is back in the catalog and it may still be refunded. The orders status
check gains 'returned' (SQLite rebuilds the table; env.py turns its foreign keys off meanwhile).

Revision ID: 0032
Revises: 0029
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0032"
down_revision: str | Sequence[str] | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = ("status IN ('draft', 'pending_payment', 'paid', 'fulfilled', 'delivered', "
                "'cancelled', 'refunded')")
NEW_STATUSES = ("status IN ('draft', 'pending_payment', 'paid', 'fulfilled', 'delivered', "
                "'cancelled', 'refunded', 'returned')")


def upgrade() -> None:
    # 0003 named it in full and the naming convention prefixed it again.
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint(op.f("ck_orders_ck_orders_status_known"), type_="check")
        batch.create_check_constraint("status_known", NEW_STATUSES)


def downgrade() -> None:
    # Before this revision a returned order could only be recorded as cancelled.
    op.execute("UPDATE orders SET status = 'cancelled' WHERE status = 'returned'")
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint(op.f("ck_orders_status_known"), type_="check")
        batch.create_check_constraint(op.f("ck_orders_ck_orders_status_known"), OLD_STATUSES)
