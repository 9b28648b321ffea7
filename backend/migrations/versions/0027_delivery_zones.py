"""Delivery: the tenant's delivery settings (delivery_settings), its zones (delivery_zones), each
customer's last delivery address (customer_delivery_addresses), the order's fulfilment columns
and the order line's kind (a delivery fee is a line without a variant).

Columns are only added to orders and order_lines (no batch rebuild on SQLite, whose drop would
cascade to the rows that reference them).

Revision ID: 0027
Revises: 0024
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "delivery_settings",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("offers_pickup", sa.Boolean(), nullable=False),
        sa.Column("offers_delivery", sa.Boolean(), nullable=False),
        sa.Column("shop_latitude", sa.Float(), nullable=True),
        sa.Column("shop_longitude", sa.Float(), nullable=True),
        sa.Column("fallback", sa.String(16), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.CheckConstraint("fallback IN ('pickup_only', 'call_customer')",
                           name="ck_delivery_settings_fallback_known"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_delivery_settings_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_delivery_settings"),
    )
    op.create_table(
        "delivery_zones",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("radius_m", sa.Integer(), nullable=True),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("free_above_minor", sa.BigInteger(), nullable=True),
        sa.Column("expected_time", sa.String(100), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.CheckConstraint("fee_minor >= 0", name="ck_delivery_zones_fee_not_negative"),
        sa.CheckConstraint("free_above_minor IS NULL OR free_above_minor >= 0",
                           name="ck_delivery_zones_free_above_not_negative"),
        sa.CheckConstraint("radius_m IS NULL OR radius_m > 0",
                           name="ck_delivery_zones_radius_positive"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_delivery_zones_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_zones"),
    )
    op.create_index("ix_delivery_zones_tenant_id_position", "delivery_zones",
                    ["tenant_id", "position"])
    op.create_table(
        "customer_delivery_addresses",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("address_encrypted", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("recipient_phone_encrypted", sa.Text(), nullable=True),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_customer_delivery_addresses_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE",
                                name="fk_customer_delivery_addresses_customer_id_customers"),
        sa.PrimaryKeyConstraint("id", name="pk_customer_delivery_addresses"),
        sa.UniqueConstraint("tenant_id", "customer_id",
                            name="uq_customer_delivery_addresses_tenant_id_customer_id"),
    )
    op.add_column("orders", sa.Column("fulfilment", sa.String(16), nullable=True))
    op.add_column("orders", sa.Column("delivery_address_encrypted", sa.Text(), nullable=True))
    op.add_column("orders", sa.Column("delivery_latitude", sa.Float(), nullable=True))
    op.add_column("orders", sa.Column("delivery_longitude", sa.Float(), nullable=True))
    op.add_column("orders", sa.Column("recipient_phone_encrypted", sa.Text(), nullable=True))
    op.add_column("orders", sa.Column("delivery_zone", sa.String(100), nullable=True))
    op.add_column("orders", sa.Column("expected_time", sa.String(100), nullable=True))
    op.add_column("orders", sa.Column("delivery_needs_call", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.add_column("order_lines", sa.Column("kind", sa.String(16), nullable=False,
                                           server_default="product"))


def downgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("orders") as batch:
        for column in ("delivery_needs_call", "expected_time", "delivery_zone",
                       "recipient_phone_encrypted", "delivery_longitude", "delivery_latitude",
                       "delivery_address_encrypted", "fulfilment"):
            batch.drop_column(column)
    op.drop_table("customer_delivery_addresses")
    op.drop_index("ix_delivery_zones_tenant_id_position", table_name="delivery_zones")
    op.drop_table("delivery_zones")
    op.drop_table("delivery_settings")
