"""The NLU model registry (nlu_models): each trained model with its data hash, state, training
progress, evaluation figures, promotion gate and who built and promoted it. Platform-wide (every
tenant talks to the same model), so no tenant_id.

Revision ID: 0030
Revises: 0028
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | Sequence[str] | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "nlu_models",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("file_path", sa.String(500), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("data_hash", sa.String(64), nullable=True),
        sa.Column("data_dir", sa.String(500), nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("progress", sa.String(200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("figures", sa.JSON(), nullable=True),
        sa.Column("gate", sa.JSON(), nullable=True),
        sa.Column("built_by", sa.String(64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.Column("promoted_by", sa.String(64), nullable=True),
        sa.Column("promoted_at", WHEN, nullable=True),
        sa.Column("promotion_requested_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_nlu_models"),
    )
    op.create_index("ix_nlu_models_status", "nlu_models", ["status"])
    op.create_index("ix_nlu_models_sha256", "nlu_models", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_nlu_models_sha256", table_name="nlu_models")
    op.drop_index("ix_nlu_models_status", table_name="nlu_models")
    op.drop_table("nlu_models")
