"""Platform operator: onboarding records (owner to invite, languages, last Twilio connection
test), suspensions and reactivations with their reasons, per-tenant fee waivers.

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def _tenant(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                   name=f"fk_{table}_tenant_id_tenants")


def upgrade() -> None:
    op.create_table(
        "tenant_onboarding",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("owner_email_encrypted", sa.Text(), nullable=True),
        sa.Column("owner_invited_at", WHEN, nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("twilio_tested_at", WHEN, nullable=True),
        sa.Column("twilio_test_ok", sa.Boolean(), nullable=True),
        sa.Column("twilio_test_error", sa.Text(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        _tenant("tenant_onboarding"),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_tenant_onboarding"),
    )
    op.create_table(
        "tenant_status_changes",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.CheckConstraint("status IN ('suspended', 'active')",
                           name="ck_tenant_status_changes_status_known"),
        _tenant("tenant_status_changes"),
        sa.PrimaryKeyConstraint("id", name="pk_tenant_status_changes"),
    )
    op.create_index("ix_tenant_status_changes_tenant_id_id", "tenant_status_changes",
                    ["tenant_id", "id"])
    op.create_table(
        "fee_waivers",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("starts_at", WHEN, nullable=False),
        sa.Column("ends_at", WHEN, nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.Column("revoked_by", sa.String(64), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        _tenant("fee_waivers"),
        sa.PrimaryKeyConstraint("id", name="pk_fee_waivers"),
    )
    op.create_index("ix_fee_waivers_tenant_id_starts_at", "fee_waivers",
                    ["tenant_id", "starts_at"])


def downgrade() -> None:
    op.drop_index("ix_fee_waivers_tenant_id_starts_at", table_name="fee_waivers")
    op.drop_table("fee_waivers")
    op.drop_index("ix_tenant_status_changes_tenant_id_id", table_name="tenant_status_changes")
    op.drop_table("tenant_status_changes")
    op.drop_table("tenant_onboarding")
