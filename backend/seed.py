"""`python -m backend.seed`: demo tenant, API key and catalog; a second run changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from backend.context import Context, build_context
from backend.seed_data import demo_catalog
from backend.services.auth import issue_api_key
from backend.services.catalog import add_products
from backend.services.tenants import NewTenant, ensure_tenant
from backend.settings import Settings

DEMO_TENANT = NewTenant(
    id="demo-shop",
    name="Duka Moja Shoes & Clothing",
    whatsapp_number="+254700000001",
    twilio_account_sid="AC5d1e0a7c2b9f4e3d8a6b1c0f9e2d7a43",
    # Demo-only credential: it is checked by the local Twilio simulator, never sent to Twilio.
    twilio_auth_token="demo-twilio-auth-token",
    sandbox=True,
    primary_language="en",
)
# Demo-only merchant API key (stored hashed); never use it outside the sandbox demo.
DEMO_API_KEY = "demo-shop-api-key"


@dataclass(frozen=True)
class SeedReport:
    tenant_created: bool
    products_added: int


def seed(ctx: Context) -> SeedReport:
    created = ensure_tenant(ctx, DEMO_TENANT)
    issue_api_key(ctx, DEMO_TENANT.id, DEMO_API_KEY)
    added = add_products(ctx, DEMO_TENANT.id, demo_catalog(DEMO_TENANT.currency))
    return SeedReport(tenant_created=created, products_added=added)


def main() -> None:
    ctx = build_context(Settings.from_env())
    try:
        report = seed(ctx)
    finally:
        ctx.db.dispose()
    state = "created" if report.tenant_created else "already present"
    print(f"seed: tenant {DEMO_TENANT.id} {state}; {report.products_added} product(s) added")


if __name__ == "__main__":
    main()
