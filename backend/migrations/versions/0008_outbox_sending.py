"""Outbound messages become an outbox: a `sending` state claimed by exactly one sender, an
index for the sweep that finds rows left queued or sending, and one reply per inbound message
(unique tenant, in_reply_to, position; earlier duplicates keep the first and lose the link).

Revision ID: 0008
Revises: 0007
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK = "ck_outbound_messages_status_known"
# 0001 named it twice over (an explicit name run through the naming convention again).
OLD_CHECK = "ck_outbound_messages_ck_outbound_messages_status_known"
UNIQUE = "uq_outbound_messages_tenant_id_in_reply_to_position"


def upgrade() -> None:
    op.execute(
        "UPDATE outbound_messages SET in_reply_to = NULL"
        " WHERE in_reply_to IS NOT NULL AND id NOT IN"
        " (SELECT min(id) FROM outbound_messages WHERE in_reply_to IS NOT NULL"
        " GROUP BY tenant_id, in_reply_to, position)"
    )
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_constraint(op.f(OLD_CHECK), type_="check")
        batch.create_check_constraint(  # named ck_outbound_messages_status_known by convention
            "status_known", "status IN ('queued', 'sending', 'sent', 'failed')"
        )
        batch.create_index(
            "ix_outbound_messages_status_updated_at", ["status", "updated_at"]
        )
        batch.create_unique_constraint(op.f(UNIQUE), ["tenant_id", "in_reply_to", "position"])


def downgrade() -> None:
    op.execute("UPDATE outbound_messages SET status = 'queued' WHERE status = 'sending'")
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_constraint(op.f(UNIQUE), type_="unique")
        batch.drop_index("ix_outbound_messages_status_updated_at")
        batch.drop_constraint(op.f(CHECK), type_="check")
        batch.create_check_constraint(
            op.f(OLD_CHECK), "status IN ('queued', 'sent', 'failed')"
        )
