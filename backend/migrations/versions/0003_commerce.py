"""Commerce: catalog search, services and availability, carts, orders, bookings, idempotency.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_DOCUMENT = "to_tsvector('simple', title || ' ' || description || ' ' || category)"


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)


def _ref(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=nullable)


def _tenant_id() -> sa.Column[Any]:
    return sa.Column("tenant_id", sa.String(64), nullable=False)


def _timestamp(name: str = "created_at", nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE") -> Any:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return _fk(table, "tenant_id", "tenants")


def _alter_products() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("images", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("external_source", sa.String(32), nullable=True))
        batch.add_column(sa.Column("external_id", sa.String(128), nullable=True))
        batch.create_unique_constraint(
            "uq_products_tenant_id_external_source_external_id",
            ["tenant_id", "external_source", "external_id"],
        )
    with op.batch_alter_table("products") as batch:
        batch.alter_column("images", server_default=None)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_products_search ON products USING gin ({SEARCH_DOCUMENT})")


def _create_services() -> None:
    op.create_table(
        "services",
        _id(),
        _tenant_id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _timestamp(),
        _tenant_fk("services"),
        sa.PrimaryKeyConstraint("id", name="pk_services"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_services_tenant_id_name"),
    )
    op.create_table(
        "service_variants",
        _id(),
        _tenant_id(),
        _ref("service_id"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.CheckConstraint("price_minor >= 0", name="ck_service_variants_price_not_negative"),
        sa.CheckConstraint("duration_minutes > 0", name="ck_service_variants_duration_positive"),
        _fk("service_variants", "service_id", "services"),
        _tenant_fk("service_variants"),
        sa.PrimaryKeyConstraint("id", name="pk_service_variants"),
        sa.UniqueConstraint("service_id", "name", name="uq_service_variants_service_id_name"),
    )
    op.create_index("ix_service_variants_service_id", "service_variants", ["service_id"])
    op.create_table(
        "availability_windows",
        _id(),
        _tenant_id(),
        _ref("service_id"),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("on_date", sa.Date(), nullable=True),
        sa.Column("starts_at", sa.Time(), nullable=False),
        sa.Column("ends_at", sa.Time(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(weekday IS NULL) <> (on_date IS NULL)", name="ck_availability_windows_weekday_or_date"
        ),
        sa.CheckConstraint(
            "weekday IS NULL OR (weekday >= 0 AND weekday <= 6)",
            name="ck_availability_windows_weekday_range",
        ),
        sa.CheckConstraint("ends_at > starts_at", name="ck_availability_windows_ends_after_start"),
        sa.CheckConstraint("capacity > 0", name="ck_availability_windows_capacity_positive"),
        _fk("availability_windows", "service_id", "services"),
        _tenant_fk("availability_windows"),
        sa.PrimaryKeyConstraint("id", name="pk_availability_windows"),
    )
    op.create_index("ix_availability_windows_service_id", "availability_windows", ["service_id"])
    op.create_table(
        "appointments",
        _id(),
        _tenant_id(),
        _ref("customer_id"),
        _ref("service_id"),
        _ref("service_variant_id"),
        _ref("window_id", nullable=True),
        _timestamp("starts_at"),
        _timestamp("ends_at"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        _timestamp(),
        _timestamp("updated_at"),
        sa.CheckConstraint(
            "status IN ('booked', 'cancelled')", name="ck_appointments_status_known"
        ),
        sa.CheckConstraint("ends_at > starts_at", name="ck_appointments_ends_after_start"),
        _fk("appointments", "customer_id", "customers"),
        _fk("appointments", "service_id", "services"),
        _fk("appointments", "service_variant_id", "service_variants"),
        _fk("appointments", "window_id", "availability_windows", ondelete="SET NULL"),
        _tenant_fk("appointments"),
        sa.PrimaryKeyConstraint("id", name="pk_appointments"),
    )
    op.create_index("ix_appointments_customer_id", "appointments", ["customer_id"])
    op.create_index("ix_appointments_window_id", "appointments", ["window_id"])
    op.create_index(
        "ix_appointments_service_id_starts_at", "appointments", ["service_id", "starts_at"]
    )


def _create_orders() -> None:
    op.create_table(
        "carts",
        _id(),
        _tenant_id(),
        _ref("customer_id"),
        _timestamp(),
        _timestamp("updated_at"),
        _fk("carts", "customer_id", "customers"),
        _tenant_fk("carts"),
        sa.PrimaryKeyConstraint("id", name="pk_carts"),
        sa.UniqueConstraint("tenant_id", "customer_id", name="uq_carts_tenant_id_customer_id"),
    )
    op.create_table(
        "cart_items",
        _id(),
        _tenant_id(),
        _ref("cart_id"),
        _ref("variant_id"),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_cart_items_quantity_positive"),
        _fk("cart_items", "cart_id", "carts"),
        _fk("cart_items", "variant_id", "product_variants"),
        _tenant_fk("cart_items"),
        sa.PrimaryKeyConstraint("id", name="pk_cart_items"),
        sa.UniqueConstraint("cart_id", "variant_id", name="uq_cart_items_cart_id_variant_id"),
    )
    op.create_index("ix_cart_items_variant_id", "cart_items", ["variant_id"])
    op.create_table(
        "orders",
        _id(),
        _tenant_id(),
        _ref("customer_id"),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        _timestamp("placed_at", nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        _timestamp(),
        _timestamp("updated_at"),
        sa.CheckConstraint(
            "status IN ('draft', 'pending_payment', 'paid', 'fulfilled', 'delivered', "
            "'cancelled', 'refunded')",
            name="ck_orders_status_known",
        ),
        sa.CheckConstraint("total_minor >= 0", name="ck_orders_total_not_negative"),
        _fk("orders", "customer_id", "customers"),
        _tenant_fk("orders"),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
    )
    op.create_index("ix_orders_tenant_id_status", "orders", ["tenant_id", "status"])
    op.create_index("ix_orders_tenant_id_customer_id", "orders", ["tenant_id", "customer_id"])
    op.create_index("ix_orders_status_placed_at", "orders", ["status", "placed_at"])
    op.create_table(
        "order_lines",
        _id(),
        _tenant_id(),
        _ref("order_id"),
        _ref("variant_id", nullable=True),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("line_total_minor", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_order_lines_quantity_positive"),
        sa.CheckConstraint("unit_price_minor >= 0", name="ck_order_lines_price_not_negative"),
        _fk("order_lines", "order_id", "orders"),
        _fk("order_lines", "variant_id", "product_variants", ondelete="SET NULL"),
        _tenant_fk("order_lines"),
        sa.PrimaryKeyConstraint("id", name="pk_order_lines"),
    )
    op.create_index("ix_order_lines_order_id", "order_lines", ["order_id"])
    op.create_index("ix_order_lines_variant_id", "order_lines", ["variant_id"])
    op.create_table(
        "idempotency_keys",
        _id(),
        _tenant_id(),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.BigInteger(), nullable=False),
        _timestamp(),
        _tenant_fk("idempotency_keys"),
        sa.PrimaryKeyConstraint("id", name="pk_idempotency_keys"),
        sa.UniqueConstraint("tenant_id", "key", name="uq_idempotency_keys_tenant_id_key"),
    )


def upgrade() -> None:
    _alter_products()
    _create_services()
    _create_orders()


def downgrade() -> None:
    for table in (
        "idempotency_keys",
        "order_lines",
        "orders",
        "cart_items",
        "carts",
        "appointments",
        "availability_windows",
        "service_variants",
        "services",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_products_search")
    with op.batch_alter_table("products") as batch:
        batch.drop_constraint(
            "uq_products_tenant_id_external_source_external_id", type_="unique"
        )
        batch.drop_column("external_id")
        batch.drop_column("external_source")
        batch.drop_column("images")
