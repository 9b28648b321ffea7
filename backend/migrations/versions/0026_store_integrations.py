"""Store integrations: WooCommerce and Shopify connections (store_integrations), the log of
each import or sync (integration_runs), the stock changes made here waiting to be pushed to the store
(store_stock_adjustments), and the simulated stores' products
(sandbox_store_products).

Revision ID: 0026
Revises: 0022
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "store_integrations",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("store_url", sa.String(300), nullable=False),
        sa.Column("api_url", sa.String(300), nullable=False),
        sa.Column("credentials_encrypted", sa.Text(), nullable=False),
        sa.Column("webhook_token_hash", sa.String(64), nullable=False),
        sa.Column("webhook_token_encrypted", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sync_cursor", WHEN, nullable=True),
        sa.Column("sync_cursor_ids", sa.JSON(), nullable=False),
        sa.Column("last_full_at", WHEN, nullable=True),
        sa.Column("webhooks_registered", sa.Boolean(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_store_integrations_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_store_integrations"),
        sa.UniqueConstraint("tenant_id", "provider",
                            name="uq_store_integrations_tenant_id_provider"),
        sa.UniqueConstraint("webhook_token_hash",
                            name="uq_store_integrations_webhook_token_hash"),
    )
    op.create_table(
        "integration_runs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("integration_id", ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("product_ids", sa.JSON(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("deactivated", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("queued_at", WHEN, nullable=False),
        sa.Column("started_at", WHEN, nullable=True),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_integration_runs_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["integration_id"], ["store_integrations.id"],
                                ondelete="CASCADE",
                                name="fk_integration_runs_integration_id_store_integrations"),
        sa.PrimaryKeyConstraint("id", name="pk_integration_runs"),
    )
    op.create_index("ix_integration_runs_tenant_id", "integration_runs", ["tenant_id"])
    op.create_index("ix_integration_runs_integration_id_id", "integration_runs",
                    ["integration_id", "id"])
    op.create_table(
        "store_stock_adjustments",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("variant_id", ID, nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("pushed_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_store_stock_adjustments_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["variant_id"], ["product_variants.id"], ondelete="CASCADE",
                                name="fk_store_stock_adjustments_variant_id_product_variants"),
        sa.PrimaryKeyConstraint("id", name="pk_store_stock_adjustments"),
    )
    op.create_index("ix_store_stock_adjustments_status_tenant_id", "store_stock_adjustments",
                    ["status", "tenant_id"])
    op.create_index("ix_store_stock_adjustments_variant_id", "store_stock_adjustments",
                    ["variant_id"])
    op.create_table(
        "sandbox_store_products",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("store", sa.String(100), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("modified_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sandbox_store_products"),
        sa.UniqueConstraint("provider", "store", "product_id",
                            name="uq_sandbox_store_products_provider_store_product_id"),
    )
    op.create_index("ix_sandbox_store_products_provider_store_modified_at",
                    "sandbox_store_products", ["provider", "store", "modified_at"])


def downgrade() -> None:
    op.drop_index("ix_sandbox_store_products_provider_store_modified_at",
                  table_name="sandbox_store_products")
    op.drop_table("sandbox_store_products")
    op.drop_index("ix_store_stock_adjustments_variant_id", table_name="store_stock_adjustments")
    op.drop_index("ix_store_stock_adjustments_status_tenant_id",
                  table_name="store_stock_adjustments")
    op.drop_table("store_stock_adjustments")
    op.drop_index("ix_integration_runs_integration_id_id", table_name="integration_runs")
    op.drop_index("ix_integration_runs_tenant_id", table_name="integration_runs")
    op.drop_table("integration_runs")
    op.drop_table("store_integrations")
