"""Tenant platform: status, tiers and limits, settings, API keys, customer consent, conversations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the defaults at the time of this migration (later code may change them).
DEFAULT_BUSINESS_HOURS = {
    **{
        day: {"open": "08:00", "close": "18:00"}
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
    },
    "sunday": None,
}
DEFAULT_FEATURES = {
    "rule_based_intents": True,
    "mpesa_stk": True,
    "card_payments": False,
    "llm_budget_minor_per_month": 0,
    "llm_budget_exhausted_action": "fallback_to_rules",
}


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)


def _ref(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=nullable)


def _timestamp(name: str = "created_at", nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
    )


def _customer_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["customer_id"],
        ["customers.id"],
        name=f"fk_{table}_customer_id_customers",
        ondelete="CASCADE",
    )


def _upgrade_tenants() -> None:
    # Tier and status first: the commerce code reads tenant.tier. Existing tenants become
    # active starters; the JSON settings get the defaults before turning NOT NULL.
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(
            sa.Column("status", sa.String(16), nullable=False, server_default="active")
        )
        batch.add_column(sa.Column("tier", sa.String(16), nullable=False, server_default="starter"))
        batch.add_column(sa.Column("business_hours", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("quiet_hours", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("features", sa.JSON(), nullable=True))
    tenants = sa.table(
        "tenants", sa.column("business_hours", sa.JSON()), sa.column("features", sa.JSON())
    )
    op.execute(
        tenants.update().values(business_hours=DEFAULT_BUSINESS_HOURS, features=DEFAULT_FEATURES)
    )
    with op.batch_alter_table("tenants") as batch:
        batch.alter_column("business_hours", existing_type=sa.JSON(), nullable=False)
        batch.alter_column("features", existing_type=sa.JSON(), nullable=False)
        batch.create_check_constraint(
            "ck_tenants_status_known", "status IN ('trial', 'active', 'suspended')"
        )
        batch.create_check_constraint(
            "ck_tenants_tier_known", "tier IN ('starter', 'growth', 'enterprise')"
        )


def _upgrade_customers() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("name", sa.String(100), nullable=True))
    with op.batch_alter_table("customers") as batch:
        batch.add_column(
            sa.Column("consent_transactional", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(
            sa.Column("consent_reminders", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(
            sa.Column("consent_promotional", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "consent_events",
        _id(),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        _ref("customer_id"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("old_value", sa.Boolean(), nullable=False),
        sa.Column("new_value", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        _timestamp(),
        sa.CheckConstraint(
            "kind IN ('transactional', 'reminders', 'promotional')",
            name="ck_consent_events_kind_known",
        ),
        _customer_fk("consent_events"),
        _tenant_fk("consent_events"),
        sa.PrimaryKeyConstraint("id", name="pk_consent_events"),
    )
    op.create_index(
        "ix_consent_events_tenant_id_customer_id", "consent_events", ["tenant_id", "customer_id"]
    )


def _upgrade_conversations() -> None:
    op.create_table(
        "conversations",
        _id(),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        _ref("customer_id"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("needs_human", sa.Boolean(), nullable=False),
        _timestamp("started_at"),
        _timestamp("last_inbound_at", nullable=True),
        _timestamp("last_message_at"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_conversations_status_known"),
        _customer_fk("conversations"),
        _tenant_fk("conversations"),
        sa.PrimaryKeyConstraint("id", name="pk_conversations"),
    )
    op.create_index(
        "ix_conversations_tenant_id_customer_id_started_at",
        "conversations",
        ["tenant_id", "customer_id", "started_at"],
    )
    for table in ("inbound_messages", "outbound_messages"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(_ref("conversation_id", nullable=True))
            batch.create_foreign_key(
                f"fk_{table}_conversation_id_conversations",
                "conversations",
                ["conversation_id"],
                ["id"],
                ondelete="SET NULL",
            )
            batch.create_index(f"ix_{table}_conversation_id", ["conversation_id"])
    op.create_index(
        "ix_outbound_messages_tenant_id_created_at",
        "outbound_messages",
        ["tenant_id", "created_at"],
    )


def upgrade() -> None:
    _upgrade_tenants()
    _upgrade_customers()
    _upgrade_conversations()


def downgrade() -> None:
    op.drop_index("ix_outbound_messages_tenant_id_created_at", table_name="outbound_messages")
    for table in ("outbound_messages", "inbound_messages"):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_conversation_id")
            batch.drop_constraint(f"fk_{table}_conversation_id_conversations", type_="foreignkey")
            batch.drop_column("conversation_id")
    op.drop_table("conversations")
    op.drop_table("consent_events")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("consent_promotional")
        batch.drop_column("consent_reminders")
        batch.drop_column("consent_transactional")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("name")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_constraint("ck_tenants_tier_known", type_="check")
        batch.drop_constraint("ck_tenants_status_known", type_="check")
        batch.drop_column("features")
        batch.drop_column("quiet_hours")
        batch.drop_column("business_hours")
        batch.drop_column("tier")
        batch.drop_column("status")
