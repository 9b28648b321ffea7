"""Interactive WhatsApp messages: an outbound message may carry its list-picker or reply-buttons
form; the Content API contents created for them are kept per tenant by fingerprint (created once,
then sent by ContentSid); the Twilio simulator records the content it sent.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "interactive_contents",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("content_sid", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_interactive_contents_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_interactive_contents"),
        sa.UniqueConstraint("tenant_id", "fingerprint",
                            name="uq_interactive_contents_tenant_id_fingerprint"),
    )
    with op.batch_alter_table("outbound_messages") as batch:
        batch.add_column(sa.Column("interactive", sa.JSON(), nullable=True))
    with op.batch_alter_table("sandbox_messages") as batch:
        batch.add_column(sa.Column("content_sid", sa.String(64), nullable=True))
        batch.add_column(sa.Column("interactive", sa.JSON(), nullable=True))


def downgrade() -> None:
    # Plain ALTERs (SQLite >= 3.35 drops a column in place): a batch copy of outbound_messages
    # would go through its dependants' ON DELETE rules.
    op.drop_column("sandbox_messages", "interactive")
    op.drop_column("sandbox_messages", "content_sid")
    op.drop_column("outbound_messages", "interactive")
    op.drop_table("interactive_contents")
