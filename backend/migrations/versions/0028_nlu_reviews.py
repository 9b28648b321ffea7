"""The NLU review loop: a reviewer's decision on each logged customer message (nlu_reviews: the
intent it really is with its entities, or discarded; who decided and when).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "nlu_reviews",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("classification_id", ID, nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("intent", sa.String(128), nullable=True),
        sa.Column("entities", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=False),
        sa.Column("decided_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_nlu_reviews_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["classification_id"], ["nlu_classifications.id"],
                                ondelete="CASCADE",
                                name="fk_nlu_reviews_classification_id_nlu_classifications"),
        sa.PrimaryKeyConstraint("id", name="pk_nlu_reviews"),
        sa.UniqueConstraint("classification_id", name="uq_nlu_reviews_classification_id"),
    )
    op.create_index("ix_nlu_reviews_tenant_id_decided_at", "nlu_reviews",
                    ["tenant_id", "decided_at"])


def downgrade() -> None:
    op.drop_index("ix_nlu_reviews_tenant_id_decided_at", table_name="nlu_reviews")
    op.drop_table("nlu_reviews")
