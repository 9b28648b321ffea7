"""`python -m backend.seed`: three demo tenants (one per tier) with API keys, customers and
their commerce data (catalog, services, orders, bookings), two more whose catalogs come from
simulated stores (Kitenge Corner on WooCommerce, Simu Hub on Shopify: backend/seed/stores.py),
one staff user per role per tenant and a platform operator; a second run changes nothing.

`python -m backend.seed --history demo-shop` also gives that tenant a year of history (100,000
messages, 10,000 orders; --messages/--orders change it) for analytics and `make bench`."""

from __future__ import annotations

import argparse

from backend.seed.accounts import seed_staff
from backend.seed.commerce import seed_commerce
from backend.seed.history import seed_history
from backend.seed.kb import seed_kb
from backend.seed.payments import seed_billing_webhooks, seed_payments
from backend.seed.platform import DEMO_TENANTS, TenantSeed, seed_platform
from backend.seed.stores import StoreSeed, seed_demo_stores
from backend.queueing.runner import drain_jobs
from backend.services.platform.auth import authenticate_merchant
from backend.settings import Settings
from backend.wiring import Context, build_context

DEMO_TENANT = DEMO_TENANTS[0].tenant  # demo-shop: end-to-end tests talk to it
DEMO_API_KEY = DEMO_TENANTS[0].api_key


def seed(ctx: Context) -> list[TenantSeed]:
    """Tenants, keys and customers (seed_platform), then each tenant's commerce data; then the
    two store merchants (their stores connected, the initial imports queued)."""
    return [*_seed_tenants(ctx), *(s.tenant for s in seed_stores(ctx))]


def seed_stores(ctx: Context) -> list[StoreSeed]:
    stores = seed_demo_stores(ctx)
    seed_staff(ctx, [store.tenant.tenant_id for store in stores], first_index=len(DEMO_TENANTS))
    return stores


def _seed_tenants(ctx: Context) -> list[TenantSeed]:
    seeded = seed_platform(ctx)
    for tenant, demo in zip(seeded, DEMO_TENANTS, strict=True):
        seed_commerce(ctx, tenant.tenant_id, tenant.kind, tenant.customer_ids)
        seed_kb(ctx, tenant.tenant_id)
        seed_payments(ctx, tenant.tenant_id, authenticate_merchant(ctx, tenant.tenant_id,
                                                                   demo.api_key))
    seed_staff(ctx, [tenant.tenant_id for tenant in seeded])  # README "Staff accounts"
    seed_billing_webhooks(ctx)  # subscription cards (sandbox)
    return seeded


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m backend.seed", description=__doc__)
    parser.add_argument("--history", metavar="TENANT",
                        help="also seed a year of history for this tenant (e.g. demo-shop)")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=10_000)
    args = parser.parse_args(argv)
    ctx = build_context(Settings.from_env())
    try:
        seeded = _seed_tenants(ctx)
        stores = seed_stores(ctx)
        seeded += [store.tenant for store in stores]
        drain_jobs(ctx.jobs, 300)  # an import queued in this process (no Redis) ends here
        history = (seed_history(ctx, args.history, args.messages, args.orders)
                   if args.history else None)
    finally:
        ctx.db.dispose()
    for tenant in seeded:
        state = "created" if tenant.created else "already present"
        print(
            f"seed: tenant {tenant.tenant_id} {state}; "
            f"{tenant.customers_added} customer(s) added"
        )
    for store in stores:
        import_state = (f"initial import queued (run {store.run_id})" if store.run_id else
                        "nothing to queue (imported, on its way, or queued by the stack's "
                        "first integrations sweep once it runs)")
        print(f"seed: {store.tenant.tenant_id}: {store.provider} store "
              f"{'connected' if store.connected else 'already connected'}, "
              f"{store.products_added} product(s) added to it; {import_state}")
    if history is not None:
        if history.created:
            print(f"seed: history of {history.tenant_id}: {history.messages} messages, "
                  f"{history.orders} orders, {history.conversations} conversations, "
                  f"{history.customers} customers, {history.days_rolled_up} days rolled up "
                  f"in {history.seconds} s")
        else:
            print(f"seed: history of {history.tenant_id} already present")
