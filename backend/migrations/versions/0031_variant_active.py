"""A product's variant can be taken off sale and offered again (product_variants.active, true
for every existing variant): customers' listings, matching, carts and orders see only active
variants of active products; the merchant's product page and the variant endpoints see all.

Revision ID: 0031
Revises: 0028
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | Sequence[str] | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("product_variants") as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("product_variants") as batch:
        batch.drop_column("active")
