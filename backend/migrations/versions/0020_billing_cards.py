"""Billing cards: a card saved for the subscription through Paystack or Stripe (the setup's
hosted page, then the tenant's active card, its reusable token encrypted).

Revision ID: 0020
Revises: 0018 (the lead rechains it after 0019 when merging)
Create Date: 2026-12-09
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "billing_cards",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(8), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("token_encrypted", sa.Text(), nullable=True),
        sa.Column("label", sa.String(40), nullable=True),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("updated_at", NOW, nullable=False),
        sa.CheckConstraint("provider IN ('paystack', 'stripe')",
                           name="ck_billing_cards_provider_known"),
        sa.CheckConstraint("status IN ('pending', 'active', 'replaced', 'failed')",
                           name="ck_billing_cards_status_known"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_billing_cards_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_billing_cards"),
        sa.UniqueConstraint("reference", name="uq_billing_cards_reference"),
    )
    op.create_index("ix_billing_cards_tenant_id_status", "billing_cards",
                    ["tenant_id", "status"])


def downgrade() -> None:
    op.drop_table("billing_cards")
