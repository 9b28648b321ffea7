"""Re-engagement: a customer silent for 14 days is marked dormant (customers.dormant_at, cleared
when they write again); a cart remembers when it was last filled from empty (carts.filled_at),
so an abandoned cart is reminded of once per filling.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("dormant_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("carts", sa.Column("filled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Plain ALTERs (SQLite >= 3.35): a batch copy of customers would cascade to their messages.
    op.drop_column("carts", "filled_at")
    op.drop_column("customers", "dormant_at")
