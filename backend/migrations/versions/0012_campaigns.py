"""Campaigns: campaigns, their template variants (A/B), their recipients (unique per campaign and
customer: a batch run twice sends nothing twice; no phone copied, the outbound message keeps it
encrypted) and customers' tags for segments.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CAMPAIGN_STATUSES = "status IN ('scheduled', 'queued', 'sending', 'done', 'cancelled')"
RECIPIENT_STATUSES = "status IN ('pending', 'planned', 'refused', 'cancelled')"


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE"
        ) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], ondelete=ondelete,
                                   name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "customer_tags",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("customer_tags", "tenant_id", "tenants"),
        _fk("customer_tags", "customer_id", "customers"),
        sa.PrimaryKeyConstraint("id", name="pk_customer_tags"),
        sa.UniqueConstraint("customer_id", "tag", name="uq_customer_tags_customer_id_tag"),
    )
    op.create_index("ix_customer_tags_tenant_id_tag", "customer_tags", ["tenant_id", "tag"])
    op.create_table(
        "campaigns",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("segment", sa.JSON(), nullable=False),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(CAMPAIGN_STATUSES, name="status_known"),
        _fk("campaigns", "tenant_id", "tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_campaigns"),
    )
    op.create_index("ix_campaigns_tenant_id_created_at", "campaigns", ["tenant_id", "created_at"])
    op.create_index("ix_campaigns_status_send_at", "campaigns", ["status", "send_at"])
    op.create_table(
        "campaign_variants",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("template_id", ID, nullable=True),
        sa.Column("template_name", sa.String(64), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        _fk("campaign_variants", "tenant_id", "tenants"),
        _fk("campaign_variants", "campaign_id", "campaigns"),
        _fk("campaign_variants", "template_id", "message_templates", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_campaign_variants"),
        sa.UniqueConstraint("campaign_id", "position",
                            name="uq_campaign_variants_campaign_id_position"),
    )
    op.create_index("ix_campaign_variants_template_id", "campaign_variants", ["template_id"])
    op.create_table(
        "campaign_recipients",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("variant_id", ID, nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outbound_id", ID, nullable=True),
        sa.Column("deferred", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(RECIPIENT_STATUSES, name="status_known"),
        _fk("campaign_recipients", "tenant_id", "tenants"),
        _fk("campaign_recipients", "campaign_id", "campaigns"),
        _fk("campaign_recipients", "customer_id", "customers"),
        _fk("campaign_recipients", "variant_id", "campaign_variants"),
        _fk("campaign_recipients", "outbound_id", "outbound_messages", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_campaign_recipients"),
        sa.UniqueConstraint("campaign_id", "customer_id",
                            name="uq_campaign_recipients_campaign_id_customer_id"),
    )
    op.create_index("ix_campaign_recipients_campaign_id_batch", "campaign_recipients",
                    ["campaign_id", "batch"])
    op.create_index("ix_campaign_recipients_customer_id", "campaign_recipients", ["customer_id"])
    op.create_index("ix_campaign_recipients_outbound_id", "campaign_recipients", ["outbound_id"])


def downgrade() -> None:
    op.drop_table("campaign_recipients")
    op.drop_table("campaign_variants")
    op.drop_table("campaigns")
    op.drop_index("ix_customer_tags_tenant_id_tag", "customer_tags")
    op.drop_table("customer_tags")
