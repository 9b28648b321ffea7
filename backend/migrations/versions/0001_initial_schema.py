"""Initial schema: tenants, API keys, customers, messages, catalog and the Twilio sandbox log.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)


def _ref(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=nullable)


def _tenant_id() -> sa.Column[Any]:
    return sa.Column("tenant_id", sa.String(64), nullable=False)


def _timestamp(name: str = "created_at", nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("whatsapp_number", sa.String(20), nullable=False),
        sa.Column("twilio_account_sid", sa.String(34), nullable=False),
        sa.Column("twilio_auth_token_encrypted", sa.Text(), nullable=False),
        sa.Column("sandbox", sa.Boolean(), nullable=False),
        sa.Column("primary_language", sa.String(8), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        _timestamp(),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
        sa.UniqueConstraint("whatsapp_number", name="uq_tenants_whatsapp_number"),
    )
    op.create_index("ix_tenants_twilio_account_sid", "tenants", ["twilio_account_sid"])

    op.create_table(
        "api_keys",
        _id(),
        _tenant_id(),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        _timestamp("revoked_at", nullable=True),
        _timestamp(),
        _tenant_fk("api_keys"),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_index("ix_api_keys_tenant_id_prefix", "api_keys", ["tenant_id", "prefix"])

    op.create_table(
        "customers",
        _id(),
        _tenant_id(),
        sa.Column("phone_encrypted", sa.Text(), nullable=False),
        sa.Column("phone_hash", sa.String(64), nullable=False),
        sa.Column("profile_name", sa.String(200), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        _timestamp(),
        _tenant_fk("customers"),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
        sa.UniqueConstraint("tenant_id", "phone_hash", name="uq_customers_tenant_id_phone_hash"),
    )

    op.create_table(
        "products",
        _id(),
        _tenant_id(),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _timestamp(),
        _tenant_fk("products"),
        sa.PrimaryKeyConstraint("id", name="pk_products"),
    )
    op.create_index("ix_products_tenant_id_category", "products", ["tenant_id", "category"])

    op.create_table(
        "product_variants",
        _id(),
        _tenant_id(),
        _ref("product_id"),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.CheckConstraint("price_minor >= 0", name="ck_product_variants_price_not_negative"),
        sa.CheckConstraint("stock >= 0", name="ck_product_variants_stock_not_negative"),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name="fk_product_variants_product_id_products",
            ondelete="CASCADE",
        ),
        _tenant_fk("product_variants"),
        sa.PrimaryKeyConstraint("id", name="pk_product_variants"),
        sa.UniqueConstraint("tenant_id", "sku", name="uq_product_variants_tenant_id_sku"),
    )
    op.create_index("ix_product_variants_product_id", "product_variants", ["product_id"])

    op.create_table(
        "inbound_messages",
        _id(),
        _tenant_id(),
        _ref("customer_id"),
        sa.Column("provider_sid", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        _timestamp(),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_inbound_messages_customer_id_customers",
            ondelete="CASCADE",
        ),
        _tenant_fk("inbound_messages"),
        sa.PrimaryKeyConstraint("id", name="pk_inbound_messages"),
        sa.UniqueConstraint(
            "tenant_id", "provider_sid", name="uq_inbound_messages_tenant_id_provider_sid"
        ),
    )
    op.create_index("ix_inbound_messages_customer_id", "inbound_messages", ["customer_id"])

    op.create_table(
        "outbound_messages",
        _id(),
        _tenant_id(),
        _ref("customer_id", nullable=True),
        sa.Column("to_phone_encrypted", sa.Text(), nullable=False),
        sa.Column("to_phone_hash", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("media_url", sa.Text(), nullable=True),
        sa.Column("in_reply_to", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("provider_sid", sa.String(64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _timestamp(),
        _timestamp("updated_at"),
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'failed')", name="ck_outbound_messages_status_known"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_outbound_messages_customer_id_customers",
            ondelete="SET NULL",
        ),
        _tenant_fk("outbound_messages"),
        sa.PrimaryKeyConstraint("id", name="pk_outbound_messages"),
    )
    op.create_index(
        "ix_outbound_messages_batch_id_position", "outbound_messages", ["batch_id", "position"]
    )
    op.create_index("ix_outbound_messages_customer_id", "outbound_messages", ["customer_id"])
    op.create_index(
        "ix_outbound_messages_tenant_id_to_phone_hash",
        "outbound_messages",
        ["tenant_id", "to_phone_hash"],
    )

    op.create_table(
        "sandbox_messages",
        _id(),
        _tenant_id(),
        sa.Column("sid", sa.String(34), nullable=False),
        sa.Column("from_address", sa.String(64), nullable=False),
        sa.Column("to_encrypted", sa.Text(), nullable=False),
        sa.Column("to_hash", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("media_url", sa.Text(), nullable=True),
        sa.Column("status_callback", sa.Text(), nullable=True),
        _timestamp(),
        _tenant_fk("sandbox_messages"),
        sa.PrimaryKeyConstraint("id", name="pk_sandbox_messages"),
        sa.UniqueConstraint("sid", name="uq_sandbox_messages_sid"),
    )
    op.create_index("ix_sandbox_messages_tenant_id", "sandbox_messages", ["tenant_id"])
    op.create_index("ix_sandbox_messages_to_hash", "sandbox_messages", ["to_hash"])


def downgrade() -> None:
    for table in (
        "sandbox_messages",
        "outbound_messages",
        "inbound_messages",
        "product_variants",
        "products",
        "customers",
        "api_keys",
        "tenants",
    ):
        op.drop_table(table)
