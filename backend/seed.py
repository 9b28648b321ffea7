"""`python -m backend.seed`: three demo tenants (one per tier) with API keys, customers and
their commerce data (catalog, services, orders, bookings); a second run changes nothing."""

from __future__ import annotations

from backend.context import Context, build_context
from backend.seed_platform import DEMO_TENANTS, TenantSeed, seed_platform
from backend.settings import Settings

DEMO_TENANT = DEMO_TENANTS[0].tenant  # demo-shop: end-to-end tests talk to it
DEMO_API_KEY = DEMO_TENANTS[0].api_key


def seed(ctx: Context) -> list[TenantSeed]:
    """Tenants, keys and customers (seed_platform), then each tenant's commerce data."""
    # Imported here: the commerce seed is its own module, built on the tenants made above.
    from backend.seed_commerce import seed_commerce
    from backend.seed_kb import seed_kb
    from backend.seed_payments import seed_payments
    from backend.services.auth import authenticate_merchant

    seeded = seed_platform(ctx)
    for tenant, demo in zip(seeded, DEMO_TENANTS, strict=True):
        seed_commerce(ctx, tenant.tenant_id, tenant.kind, tenant.customer_ids)
        seed_kb(ctx, tenant.tenant_id)
        seed_payments(ctx, tenant.tenant_id, authenticate_merchant(ctx, tenant.tenant_id,
                                                                   demo.api_key))
    return seeded


def main() -> None:
    ctx = build_context(Settings.from_env())
    try:
        seeded = seed(ctx)
    finally:
        ctx.db.dispose()
    for tenant in seeded:
        state = "created" if tenant.created else "already present"
        print(
            f"seed: tenant {tenant.tenant_id} {state}; "
            f"{tenant.customers_added} customer(s) added"
        )


if __name__ == "__main__":
    main()
