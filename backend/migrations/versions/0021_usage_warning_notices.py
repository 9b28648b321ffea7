"""Usage warning notices: each 80 % warning told once to each owner and admin with a WhatsApp
phone, from the platform's number (one row per warning and user, claimed before sending).

Revision ID: 0021
Revises: 0018
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "usage_warning_notices",
        sa.Column("id", ID, nullable=False),
        sa.Column("usage_warning_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("message_sid", sa.String(64), nullable=True),
        sa.Column("detail", sa.String(200), nullable=True),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("sent_at", NOW, nullable=True),
        sa.CheckConstraint("status IN ('queued', 'sending', 'sent', 'failed', 'unsent')",
                           name="ck_usage_warning_notices_status_known"),
        sa.ForeignKeyConstraint(["usage_warning_id"], ["usage_warnings.id"], ondelete="CASCADE",
                                name="fk_usage_warning_notices_usage_warning_id_usage_warnings"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_usage_warning_notices_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_usage_warning_notices"),
        sa.UniqueConstraint("usage_warning_id", "user_id",
                            name="uq_usage_warning_notices_usage_warning_id_user_id"),
    )
    op.create_index("ix_usage_warning_notices_user_id", "usage_warning_notices", ["user_id"])


def downgrade() -> None:
    op.drop_table("usage_warning_notices")
