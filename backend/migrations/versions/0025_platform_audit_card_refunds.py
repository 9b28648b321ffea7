"""Platform audit and card clean-up: audit_logs.tenant_id may be null (the operator's actions
that belong to no tenant: discount codes, tiers; GET /v1/platform/audit-logs), a discount code
may be deactivated by the operator (deactivated_at), billing cards
may be removed by the owner, and the Paystack card-check charge's refund is recorded on its
card (check_refund: pending | refunded | failed, the refund's id, when).

Revision ID: 0025
Revises: 0022 (the lead rechains it when merging)
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "status IN ('pending', 'active', 'replaced', 'failed')"
NEW_STATUSES = "status IN ('pending', 'active', 'replaced', 'failed', 'removed')"
# 0020 named it twice over (an explicit name run through the naming convention again).
DOUBLE_NAMED = "ck_billing_cards_ck_billing_cards_status_known"
REFUNDS = "check_refund IS NULL OR check_refund IN ('pending', 'refunded', 'failed')"


def upgrade() -> None:
    with op.batch_alter_table("audit_logs") as batch:
        batch.alter_column("tenant_id", existing_type=sa.String(64), nullable=True)
    op.add_column("discount_codes", sa.Column("deactivated_at", sa.DateTime(timezone=True),
                                              nullable=True))
    with op.batch_alter_table("billing_cards") as batch:
        batch.add_column(sa.Column("check_refund", sa.String(8), nullable=True))
        batch.add_column(sa.Column("check_refund_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("check_refunded_at", sa.DateTime(timezone=True),
                                   nullable=True))
        batch.drop_constraint(op.f(DOUBLE_NAMED), type_="check")
        batch.create_check_constraint("status_known", NEW_STATUSES)
        batch.create_check_constraint("check_refund_known", REFUNDS)


def downgrade() -> None:
    op.execute("UPDATE billing_cards SET status = 'replaced' WHERE status = 'removed'")
    with op.batch_alter_table("billing_cards") as batch:
        batch.drop_constraint(op.f("ck_billing_cards_check_refund_known"), type_="check")
        batch.drop_constraint(op.f("ck_billing_cards_status_known"), type_="check")
        batch.create_check_constraint("status_known", OLD_STATUSES)
        batch.drop_column("check_refunded_at")
        batch.drop_column("check_refund_id")
        batch.drop_column("check_refund")
    with op.batch_alter_table("discount_codes") as batch:
        batch.drop_column("deactivated_at")
    op.execute("DELETE FROM audit_logs WHERE tenant_id IS NULL")
    with op.batch_alter_table("audit_logs") as batch:
        batch.alter_column("tenant_id", existing_type=sa.String(64), nullable=False)
