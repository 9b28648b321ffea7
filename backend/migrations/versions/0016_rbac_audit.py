"""Roles and permissions: API keys carry scopes (the keys that exist keep every scope, so nothing
a merchant runs breaks), and the audit log of every write.

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Every scope of backend/domain/permissions.py when this revision was written (a migration does
# not follow later changes of the code).
ALL_SCOPES_0016 = sorted([
    "analytics:read", "bookings:read", "bookings:write", "campaigns:read", "campaigns:write",
    "catalog:read", "catalog:write", "conversations:read", "conversations:reply",
    "customers:export", "customers:read", "customers:write", "integrations:write",
    "knowledge:read", "knowledge:write", "orders:read", "orders:write", "payments:settings",
    "settings:write", "users:manage", "wallet:approve", "wallet:read", "wallet:withdraw",
])


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("scopes", sa.JSON(), nullable=True))
    api_keys = sa.table("api_keys", sa.column("scopes", sa.JSON()))
    op.execute(api_keys.update().values(scopes=ALL_SCOPES_0016))
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("scopes", existing_type=sa.JSON(), nullable=False)
    op.create_table(
        "audit_logs",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=True),
        sa.Column("target_id", sa.String(64), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("route", sa.String(200), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("ip", sa.String(45), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_audit_logs_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_audit_logs"),
    )
    op.create_index("ix_audit_logs_tenant_id_created_at", "audit_logs",
                    ["tenant_id", "created_at"])
    op.create_index("ix_audit_logs_tenant_id_target_type_target_id", "audit_logs",
                    ["tenant_id", "target_type", "target_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_logs_tenant_id_target_type_target_id", table_name="audit_logs")
    op.drop_index("ix_audit_logs_tenant_id_created_at", table_name="audit_logs")
    op.drop_table("audit_logs")
    op.drop_column("api_keys", "scopes")
