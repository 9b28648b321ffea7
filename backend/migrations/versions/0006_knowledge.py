"""Knowledge base: FAQ entries, documents and passages, the base's version; the LLM call log.

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column[Any]:
    return sa.Column("id", BIG, nullable=False)


def _tenant_id() -> sa.Column[Any]:
    return sa.Column("tenant_id", sa.String(64), nullable=False)


def _timestamp(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "kb_entries",
        _id(),
        _tenant_id(),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _tenant_fk("kb_entries"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_entries"),
        sa.UniqueConstraint("tenant_id", "key", name="uq_kb_entries_tenant_id_key"),
    )
    op.create_index("ix_kb_entries_tenant_id", "kb_entries", ["tenant_id"])
    op.create_table(
        "kb_documents",
        _id(),
        _tenant_id(),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _tenant_fk("kb_documents"),
        sa.PrimaryKeyConstraint("id", name="pk_kb_documents"),
    )
    op.create_index("ix_kb_documents_tenant_id", "kb_documents", ["tenant_id"])
    op.create_table(
        "kb_passages",
        _id(),
        _tenant_id(),
        sa.Column("document_id", BIG, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("heading", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _tenant_fk("kb_passages"),
        sa.ForeignKeyConstraint(
            ["document_id"], ["kb_documents.id"],
            name="fk_kb_passages_document_id_kb_documents", ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_kb_passages"),
        sa.UniqueConstraint(
            "document_id", "position", name="uq_kb_passages_document_id_position"
        ),
    )
    op.create_index("ix_kb_passages_tenant_id", "kb_passages", ["tenant_id"])
    op.create_table(
        "kb_states",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("generation", sa.String(32), nullable=False),
        _timestamp("updated_at"),
        _tenant_fk("kb_states"),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_kb_states"),
    )
    op.create_table(
        "llm_calls",
        _id(),
        _tenant_id(),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("cost_micros", BIG, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(300), nullable=False),
        _timestamp("created_at"),
        _tenant_fk("llm_calls"),
        sa.CheckConstraint(
            "purpose IN ('faq_answer', 'classify')", name="ck_llm_calls_purpose_known"
        ),
        sa.CheckConstraint(
            "outcome IN ('ok', 'timeout', 'error', 'malformed', 'unsupported')",
            name="ck_llm_calls_outcome_known",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_llm_calls"),
    )
    op.create_index(
        "ix_llm_calls_tenant_id_created_at", "llm_calls", ["tenant_id", "created_at"]
    )


def downgrade() -> None:
    for table in ("llm_calls", "kb_states", "kb_passages", "kb_documents", "kb_entries"):
        op.drop_table(table)
