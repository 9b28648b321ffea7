"""Re-engagement: a customer silent for 14 days is marked dormant (customers.dormant_at, cleared
when they write again); a cart remembers when it was last filled from empty (carts.filled_at),
so an abandoned cart is reminded of once per filling.

Revision ID: 0013
Revises: 0011 (the campaigns branch adds 0012 meanwhile; the merge chains them)
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("dormant_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("carts") as batch:
        batch.add_column(sa.Column("filled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("carts") as batch:
        batch.drop_column("filled_at")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("dormant_at")
