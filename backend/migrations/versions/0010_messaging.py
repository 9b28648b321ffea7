"""Messaging: every outbound message has a kind, a due time and Twilio's delivery status;
templates with language variants; status callbacks stored once; usage warnings once per period.

- outbound_messages: kind (reply for every row before), urgent, due_at (= created_at before),
  error_code, template_id, language, content_sid, content_variables; statuses scheduled,
  delivered, read, undelivered and cancelled added.
- message_templates, message_template_variants, message_status_events, usage_warnings.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "status IN ('queued', 'sending', 'sent', 'failed')"
STATUSES = ("status IN ('scheduled', 'queued', 'sending', 'sent', 'delivered', 'read', "
            "'failed', 'undelivered', 'cancelled')")
KINDS = "kind IN ('reply', 'transactional', 'reminders', 'promotional')"
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                   name=f"fk_{table}_tenant_id_tenants")


def upgrade() -> None:
    op.create_table(
        "message_templates",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("placeholders", sa.JSON(), nullable=False),
        sa.Column("sample_values", sa.JSON(), nullable=False),
        sa.Column("usage_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("category IN ('utility', 'marketing')",
                           name="category_known"),
        _tenant_fk("message_templates"),
        sa.PrimaryKeyConstraint("id", name="pk_message_templates"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_message_templates_tenant_id_name"),
    )
    op.create_table(
        "message_template_variants",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("template_id", ID, nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("content_sid", sa.String(64), nullable=True),
        sa.Column("approval", sa.String(16), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("approval IN ('pending', 'approved', 'rejected')",
                           name="approval_known"),
        _tenant_fk("message_template_variants"),
        sa.ForeignKeyConstraint(["template_id"], ["message_templates.id"], ondelete="CASCADE",
                                name="fk_message_template_variants_template_id_message_templates"),
        sa.PrimaryKeyConstraint("id", name="pk_message_template_variants"),
        sa.UniqueConstraint("template_id", "language",
                            name="uq_message_template_variants_template_id_language"),
    )
    op.create_index("ix_message_template_variants_tenant_id", "message_template_variants",
                    ["tenant_id"])
    op.create_table(
        "usage_warnings",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("allowed", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _tenant_fk("usage_warnings"),
        sa.PrimaryKeyConstraint("id", name="pk_usage_warnings"),
        sa.UniqueConstraint("tenant_id", "period", "period_start",
                            name="uq_usage_warnings_tenant_id_period_period_start"),
    )
    with op.batch_alter_table("outbound_messages") as batch:
        batch.add_column(sa.Column("error_code", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False,
                                   server_default="reply"))
        batch.add_column(sa.Column("urgent", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("template_id", ID, nullable=True))
        batch.add_column(sa.Column("language", sa.String(8), nullable=True))
        batch.add_column(sa.Column("content_sid", sa.String(64), nullable=True))
        batch.add_column(sa.Column("content_variables", sa.JSON(), nullable=True))
    op.execute("UPDATE outbound_messages SET due_at = created_at")
    with op.batch_alter_table("outbound_messages") as batch:
        batch.alter_column("due_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.alter_column("kind", existing_type=sa.String(16), server_default=None)
        batch.alter_column("urgent", existing_type=sa.Boolean(), server_default=None)
        batch.drop_constraint(op.f("ck_outbound_messages_status_known"), type_="check")
        batch.create_check_constraint("status_known", STATUSES)
        batch.create_check_constraint("kind_known", KINDS)
        batch.create_foreign_key(
            "fk_outbound_messages_template_id_message_templates", "message_templates",
            ["template_id"], ["id"], ondelete="SET NULL")
        batch.create_index("ix_outbound_messages_template_id", ["template_id"])
        batch.create_index("ix_outbound_messages_tenant_id_due_at", ["tenant_id", "due_at"])
        batch.create_index("ix_outbound_messages_status_due_at", ["status", "due_at"])
        batch.create_index("ix_outbound_messages_provider_sid", ["provider_sid"])
    op.create_table(
        "message_status_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("outbound_id", ID, nullable=False),
        sa.Column("provider_sid", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _tenant_fk("message_status_events"),
        sa.ForeignKeyConstraint(["outbound_id"], ["outbound_messages.id"], ondelete="CASCADE",
                                name="fk_message_status_events_outbound_id_outbound_messages"),
        sa.PrimaryKeyConstraint("id", name="pk_message_status_events"),
        sa.UniqueConstraint("tenant_id", "provider_sid", "status",
                            name="uq_message_status_events_tenant_id_provider_sid_status"),
    )
    op.create_index("ix_message_status_events_outbound_id", "message_status_events",
                    ["outbound_id"])


def downgrade() -> None:
    op.drop_table("message_status_events")
    op.execute("UPDATE outbound_messages SET status = 'sent'"
               " WHERE status IN ('delivered', 'read')")
    op.execute("UPDATE outbound_messages SET status = 'failed'"
               " WHERE status IN ('undelivered', 'cancelled', 'scheduled')")
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_index("ix_outbound_messages_provider_sid")
        batch.drop_index("ix_outbound_messages_status_due_at")
        batch.drop_index("ix_outbound_messages_tenant_id_due_at")
        batch.drop_index("ix_outbound_messages_template_id")
        batch.drop_constraint("fk_outbound_messages_template_id_message_templates",
                              type_="foreignkey")
        batch.drop_constraint(op.f("ck_outbound_messages_kind_known"), type_="check")
        batch.drop_constraint(op.f("ck_outbound_messages_status_known"), type_="check")
        batch.create_check_constraint("status_known", OLD_STATUSES)
        for column in ("content_variables", "content_sid", "language", "template_id", "due_at",
                       "urgent", "kind", "error_code"):
            batch.drop_column(column)
    op.drop_table("usage_warnings")
    op.drop_index("ix_message_template_variants_tenant_id", "message_template_variants")
    op.drop_table("message_template_variants")
    op.drop_table("message_templates")
