"""seed_commerce: 50 products and 10 services per kind, history for customers, idempotent."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from backend.seed.catalog import demo_catalog
from backend.seed.commerce import seed_commerce
from tests.backend.commerce_helpers import customer
from tests.backend.conftest import TENANT_ID


def counts(ctx) -> dict[str, int]:
    with ctx.db.engine.connect() as connection:
        return {table: connection.execute(text(
            f"SELECT count(*) FROM {table} WHERE tenant_id = :t"), {"t": TENANT_ID}).scalar_one()
            for table in ("products", "services", "availability_windows", "orders",
                          "appointments")}


@pytest.mark.parametrize("kind", ["shop", "salon", "mixed"])
def test_seed_commerce_is_complete_and_idempotent(tenants, kind: str) -> None:
    with tenants.db.engine.begin() as connection:
        connection.execute(text("UPDATE tenants SET tier = 'growth' WHERE id = :t"),
                           {"t": TENANT_ID})
    buyers = [customer(tenants, f"+2547150000{n:02d}") for n in range(5)]
    seed_commerce(tenants, TENANT_ID, kind, buyers)
    first = counts(tenants)
    assert first["products"] == 50 and first["services"] == 10
    assert first["availability_windows"] == 60  # Monday to Saturday for each service
    assert first["orders"] >= 10 and first["appointments"] >= 5
    with tenants.db.engine.connect() as connection:
        statuses = set(connection.execute(text("SELECT DISTINCT status FROM orders")).scalars())
        future = connection.execute(text(
            "SELECT count(*) FROM appointments WHERE starts_at > CURRENT_TIMESTAMP")).scalar_one()
        titles = list(connection.execute(text(
            "SELECT title FROM products WHERE tenant_id = :t ORDER BY id"), {"t": TENANT_ID}
        ).scalars())
    assert {"pending_payment", "paid", "delivered", "cancelled", "refunded"} <= statuses
    assert future >= 1
    if kind == "shop":
        assert titles[:40] == [p.title for p in demo_catalog()]
    seed_commerce(tenants, TENANT_ID, kind, buyers)
    assert counts(tenants) == first
