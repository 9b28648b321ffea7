"""Shared set-up for the commerce tests: a small catalog, a bookable service, customers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from backend.wiring import Context
from backend.domain.money import Money
from backend.services.catalog.listing import NewProduct, NewVariant, add_products
from backend.services.platform.customers import acting_customer
from tests.backend.conftest import TENANT_ID, merchant_headers, service_headers

PHONE = "+254712000001"
OTHER_PHONE = "+254712000002"


def kes(amount: str) -> Money:
    return Money.from_major(amount, "KES")


CATALOG = [
    NewProduct("Leather Chelsea Boots", "Handmade in Kariokor", "shoes", [
        NewVariant("BT-BLK-42", kes("4800"), 3, {"size": "42", "colour": "black"}),
        NewVariant("BT-BRN-42", kes("4500"), 2, {"size": "42", "colour": "brown"}),
    ]),
    NewProduct("Canvas Sneakers", "White low-top", "shoes", [
        NewVariant("SNK-WHT-40", kes("1800"), 5, {"size": "40", "colour": "white"}),
    ]),
    NewProduct("Kitenge Shirt", "Bright print", "clothing", [
        NewVariant("KTG-M", kes("2500.50"), 1, {"size": "M"}),
    ]),
]  # fmt: skip


def acting(tenant_id: str = TENANT_ID, phone: str = PHONE, **extra: str) -> dict[str, str]:
    return {**service_headers(tenant_id), "X-CUSTOMER-PHONE": phone, **extra}


def seed_catalog(ctx: Context, tenant_id: str = TENANT_ID) -> dict[str, int]:
    """Adds CATALOG; returns variant ids by SKU."""
    add_products(ctx, tenant_id, CATALOG)
    with ctx.db.engine.connect() as connection:
        from sqlalchemy import text

        rows = connection.execute(
            text("SELECT sku, id FROM product_variants WHERE tenant_id = :t"), {"t": tenant_id}
        )
        return {sku: variant_id for sku, variant_id in rows}


def customer(ctx: Context, phone: str = PHONE, tenant_id: str = TENANT_ID) -> int:
    return acting_customer(ctx, tenant_id, phone)


def stock(ctx: Context, variant_id: int) -> int:
    from sqlalchemy import text

    with ctx.db.engine.connect() as connection:
        return int(connection.execute(
            text("SELECT stock FROM product_variants WHERE id = :v"), {"v": variant_id}
        ).scalar_one())


def next_weekday(weekday: int, at_least_days: int = 7) -> date:
    """A date at least `at_least_days` ahead falling on `weekday` (0 = Monday)."""
    day = date.today() + timedelta(days=at_least_days)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def json_of(response: Any, status: int) -> Any:
    assert response.status_code == status, (response.status_code, response.get_json())
    return response.get_json()


def merchant(**extra: str) -> dict[str, str]:
    return {**merchant_headers(), **extra}
