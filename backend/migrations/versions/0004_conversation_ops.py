"""Conversation operations: the NLU classification log and human handoffs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id(name: str = "id", nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=nullable)


def _timestamp(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "nlu_classifications",
        _id(),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        _id("customer_id", nullable=True),
        _id("conversation_id", nullable=True),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("message_sid", sa.String(64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(128), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("ranking", sa.JSON(), nullable=False),
        sa.Column("entities", sa.JSON(), nullable=False),
        _timestamp("created_at"),
        _fk("nlu_classifications", "tenant_id", "tenants", "CASCADE"),
        _fk("nlu_classifications", "customer_id", "customers", "SET NULL"),
        _fk("nlu_classifications", "conversation_id", "conversations", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_nlu_classifications"),
        sa.UniqueConstraint(
            "tenant_id", "message_id", name="uq_nlu_classifications_tenant_id_message_id"
        ),
    )
    op.create_index(
        "ix_nlu_classifications_tenant_id_confidence",
        "nlu_classifications",
        ["tenant_id", "confidence"],
    )
    op.create_index(
        "ix_nlu_classifications_tenant_id_created_at",
        "nlu_classifications",
        ["tenant_id", "created_at"],
    )
    op.create_index(
        "ix_nlu_classifications_customer_id", "nlu_classifications", ["customer_id"]
    )
    op.create_index(
        "ix_nlu_classifications_conversation_id", "nlu_classifications", ["conversation_id"]
    )
    op.create_table(
        "conversation_handoffs",
        _id(),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        _id("conversation_id"),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("last_message", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(64), nullable=False),
        _timestamp("requested_at"),
        sa.Column("resumed_by", sa.String(64), nullable=True),
        _timestamp("resumed_at", nullable=True),
        _fk("conversation_handoffs", "tenant_id", "tenants", "CASCADE"),
        _fk("conversation_handoffs", "conversation_id", "conversations", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_handoffs"),
        sa.CheckConstraint(
            "reason IN ('requested', 'fallback', 'llm_budget', 'merchant')",
            name="ck_conversation_handoffs_reason_known",
        ),
    )
    op.create_index(
        "ix_conversation_handoffs_tenant_id_resumed_at",
        "conversation_handoffs",
        ["tenant_id", "resumed_at"],
    )
    op.create_index(
        "ix_conversation_handoffs_conversation_id", "conversation_handoffs", ["conversation_id"]
    )


def downgrade() -> None:
    op.drop_table("conversation_handoffs")
    op.drop_table("nlu_classifications")
