"""The two demo merchants whose catalogs come from a store: Kitenge Corner, a boutique on
WooCommerce, and Simu Hub, a phone shop on Shopify. Each store is one of the backend's own
simulators (/sandbox/, backend/sandbox/stores.py), stocked with a small named catalog; the
tenant connects to it through the service the API uses (credentials encrypted as usual) and
its initial import is queued as a job.

The import needs the simulator to answer, that is the backend to be running: when it does
(`make seed` while the stack is up, the production profile), the seed queues the import now;
when it does not yet (`make demo` seeds before `make up`), the stack's first integrations
sweep, which runs as the scheduler starts, queues it for every connected store never imported.
A second run changes nothing: what exists is left alone, an imported store is not imported
again (a re-sync is the merchant's: POST /v1/integrations/<provider>/runs)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from backend.domain.errors import DomainError
from backend.models import IntegrationRun, StoreIntegration
from backend.sandbox.stores import (
    NamedProduct,
    NamedVariant,
    create_store,
    seed_named_catalog,
    store_config,
    store_product_count,
)
from backend.seed.commerce import seed_delivery
from backend.seed.kb import seed_kb
from backend.seed.payments import seed_payments
from backend.seed.platform import QUIET_HOURS, DemoTenant, TenantSeed, _hours, seed_tenant
from backend.services.integrations.connections import connect, queue_run, test_connection
from backend.services.platform.auth import authenticate_merchant
from backend.services.platform.tenants import NewTenant, require_tenant
from backend.wiring import Context

FEATURES = {
    "rule_based_intents": True,
    "mpesa_stk": True,
    "card_payments": True,
    "llm_budget_minor_per_month": 0,
    "llm_budget_exhausted_action": "fallback_to_rules",
}


@dataclass(frozen=True)
class DemoStore:
    demo: DemoTenant
    provider: str  # "woocommerce" | "shopify"
    store: str  # the simulator's store name (Shopify: the shop's myshopify.com domain)
    credentials: dict[str, str]  # what the merchant copies from the store's settings
    catalog: tuple[NamedProduct, ...]


def _v(sku: str, kes: str, stock: int, **options: str) -> NamedVariant:
    return NamedVariant(sku, kes, stock, {k.replace("_", " ").title(): v
                                          for k, v in options.items()})


def _sizes(prefix: str, kes: str, sizes: str, stock: int = 6) -> tuple[NamedVariant, ...]:
    return tuple(_v(f"{prefix}-{size}", kes, stock + n % 3, size=size)
                 for n, size in enumerate(sizes.split()))


KITENGE_CATALOG: tuple[NamedProduct, ...] = (
    NamedProduct("Ankara Maxi Dress", "Dresses",
                 "Floor-length Ankara print dress with a fitted waist, cotton wax print.",
                 _sizes("KC-DRS-MAXI", "3500", "S M L XL")),
    NamedProduct("Ankara Wrap Dress", "Dresses",
                 "Knee-length wrap dress in a bold Ankara print; ties at the side.",
                 _sizes("KC-DRS-WRAP", "2800", "S M L")),
    NamedProduct("Kitenge Shift Dress", "Dresses",
                 "Straight kitenge dress with pockets, for the office or church.",
                 _sizes("KC-DRS-SHIFT", "3200", "M L XL")),
    NamedProduct("Kitenge Peplum Top", "Tops & Shirts",
                 "Kitenge top with a peplum hem; pairs with jeans or a pencil skirt.",
                 _sizes("KC-TOP-PEP", "1800", "S M L")),
    NamedProduct("Men's Kitenge Shirt, Short Sleeve", "Tops & Shirts",
                 "Short-sleeved kitenge shirt, tailored in Nairobi.",
                 _sizes("KC-SHT-SS", "2200", "M L XL XXL")),
    NamedProduct("Men's Kitenge Shirt, Long Sleeve", "Tops & Shirts",
                 "Long-sleeved kitenge shirt for weddings and Fridays.",
                 _sizes("KC-SHT-LS", "2600", "M L XL")),
    NamedProduct("Kitenge Bomber Jacket", "Tops & Shirts",
                 "Lined bomber jacket with kitenge panels.",
                 _sizes("KC-JKT-BMB", "4500", "M L", stock=3)),
    NamedProduct("Kikoi Beach Wrap", "Kikoi & Wraps",
                 "Striped cotton kikoi from the coast: a wrap, a scarf or a beach towel.",
                 (_v("KC-KIK-WRAP", "1200", 15),)),
    NamedProduct("Kikoi Head Wrap", "Kikoi & Wraps",
                 "Soft kikoi head wrap in assorted colours.",
                 (_v("KC-KIK-HEAD", "600", 20),)),
    NamedProduct("Maasai Shuka Blanket", "Kikoi & Wraps",
                 "Red checked Maasai shuka, warm and light.",
                 (_v("KC-SHUKA", "1500", 10),)),
    NamedProduct("Beaded Leather Sandals", "Footwear",
                 "Hand-beaded leather sandals made in Kariokor.",
                 _sizes("KC-SND-BEAD", "1800", "37 38 39 40 41")),
    NamedProduct("Men's Leather Sandals", "Footwear",
                 "Plain brown leather sandals with a tyre-rubber sole.",
                 _sizes("KC-SND-MEN", "2000", "41 42 43 44")),
    NamedProduct("Ankara Tote Bag", "Kikoi & Wraps",
                 "Roomy Ankara tote with a zipped inner pocket.",
                 (_v("KC-BAG-TOTE", "1500", 8),)),
)


def _phone(prefix: str, kes: str, *options: tuple[str, str, str, int]) -> tuple[NamedVariant, ...]:
    """(storage, colour, KES or "" for `kes`, stock) per variant."""
    return tuple(_v(f"{prefix}-{storage}-{colour.split()[-1].upper()}", price or kes, stock,
                    storage=storage, colour=colour)
                 for storage, colour, price, stock in options)


SIMU_CATALOG: tuple[NamedProduct, ...] = (
    NamedProduct("Samsung Galaxy A15", "Phones",
                 "Simu ya Samsung: 6.5\" screen, 50 MP camera, 5000 mAh battery, dual SIM.",
                 _phone("SH-SAM-A15", "21999", ("128GB", "Black", "", 8), ("128GB", "Light Blue", "", 5),
                        ("256GB", "Black", "25999", 3))),
    NamedProduct("Tecno Spark 20", "Phones",
                 "Simu ya Tecno: 90 Hz screen, 50 MP camera, 18 W fast charging.",
                 _phone("SH-TEC-SP20", "15499", ("128GB", "Gravity Black", "", 10),
                        ("256GB", "Cyber White", "17999", 4))),
    NamedProduct("Infinix Hot 40i", "Phones",
                 "Simu ya Infinix: big 6.56\" screen and 5000 mAh battery.",
                 _phone("SH-INF-H40I", "14999", ("128GB", "Starlit Black", "", 7),
                        ("256GB", "Palm Blue", "16999", 4))),
    NamedProduct("Redmi 13C", "Phones",
                 "Simu ya Xiaomi: 50 MP camera, 5000 mAh battery, 90 Hz screen.",
                 _phone("SH-XIA-13C", "14499", ("128GB", "Midnight Black", "", 6),
                        ("256GB", "Navy Blue", "16499", 3))),
    NamedProduct("iPhone 13, refurbished", "Phones",
                 "Refurbished iPhone 13 with a 6-month shop warranty.",
                 _phone("SH-APL-IP13", "62000", ("128GB", "Midnight", "", 2),
                        ("128GB", "Starlight", "", 1))),
    NamedProduct("Oraimo FreePods 4", "Audio",
                 "Wireless earbuds with noise cancelling, 35 hours with the case.",
                 (_v("SH-ORA-FP4", "3999", 12),)),
    NamedProduct("Oraimo Riff Earbuds", "Audio",
                 "Light wireless earbuds for calls and music.",
                 (_v("SH-ORA-RIFF", "1999", 15),)),
    NamedProduct("Samsung 25W Fast Charger", "Chargers & Cables",
                 "Original Samsung 25 W USB-C wall charger.",
                 (_v("SH-SAM-CHG25", "2500", 9),)),
    NamedProduct("Oraimo 20W USB-C Charger", "Chargers & Cables",
                 "20 W fast charger with a USB-C cable.",
                 (_v("SH-ORA-CHG20", "1500", 14),)),
    NamedProduct("USB-C Cable, 1 m", "Chargers & Cables",
                 "Braided USB-C charging and data cable.",
                 (_v("SH-CBL-USBC", "400", 30),)),
    NamedProduct("Oraimo Power Bank 20000mAh", "Chargers & Cables",
                 "20,000 mAh power bank, two phones at once.",
                 (_v("SH-ORA-PB20K", "3500", 6),)),
    NamedProduct("Tempered Glass Screen Protector", "Protection",
                 "9H tempered glass; we fit it free in the shop.",
                 tuple(_v(f"SH-GLS-{code}", "500", 20, model=model) for code, model in (
                     ("A15", "Galaxy A15"), ("SP20", "Spark 20"), ("H40I", "Hot 40i"),
                     ("13C", "Redmi 13C"), ("IP13", "iPhone 13")))),
    NamedProduct("Silicone Phone Cover", "Protection",
                 "Soft silicone back cover.",
                 tuple(_v(f"SH-CVR-{code}", "800", 10, model=model) for code, model in (
                     ("A15", "Galaxy A15"), ("SP20", "Spark 20"), ("H40I", "Hot 40i"),
                     ("IP13", "iPhone 13")))),
)

# Demo-only credentials, valid only against the simulators.
DEMO_STORES: tuple[DemoStore, ...] = (
    DemoStore(
        DemoTenant(
            NewTenant(
                id="demo-kitenge",
                name="Kitenge Corner Boutique",
                whatsapp_number="+254700000004",
                twilio_account_sid="AC1f4c7a2e9b6d3f0a8c5e2b7d4a1f6c39",
                twilio_auth_token="demo-kitenge-twilio-auth-token",
                primary_language="en",
                tier="growth",
                business_hours=_hours(*[("09:00", "19:00")] * 6, ("11:00", "16:00")),
                quiet_hours=QUIET_HOURS,
                features=FEATURES,
            ),
            api_key="demo-kitenge-api-key",
            kind="woocommerce",
            phone_prefix="+2547140000",
        ),
        provider="woocommerce",
        store="kitenge-corner",
        credentials={"consumer_key": "ck_demokitengecorner0000000000000000000001",
                     "consumer_secret": "cs_demokitengecorner0000000000000000000001"},
        catalog=KITENGE_CATALOG,
    ),
    DemoStore(
        DemoTenant(
            NewTenant(
                id="demo-simu",
                name="Simu Hub Phones & Accessories",
                whatsapp_number="+254700000005",
                twilio_account_sid="AC8d2b5f1c7e4a9d6b3f0c8e5a2d7b4f61",
                twilio_auth_token="demo-simu-twilio-auth-token",
                primary_language="sw",
                tier="growth",
                business_hours=_hours(*[("08:30", "19:30")] * 6, ("10:00", "15:00")),
                quiet_hours=QUIET_HOURS,
                features=FEATURES,
            ),
            api_key="demo-simu-api-key",
            kind="shopify",
            phone_prefix="+2547150000",
        ),
        provider="shopify",
        store="simu-hub.myshopify.com",
        credentials={"access_token": "shpat_demosimuhub000000000000000000001",
                     "app_secret": "shpss_demosimuhub000000000000000000001"},
        catalog=SIMU_CATALOG,
    ),
)


@dataclass(frozen=True)
class StoreSeed:
    tenant: TenantSeed
    provider: str
    connected: bool  # connected by this run
    products_added: int  # to the simulated store by this run
    run_id: int | None  # the import this run queued (None: already imported, queued, or the
    #                     simulator does not answer yet: the stack's first sweep queues it)


def connect_payload(ctx: Context, store: DemoStore) -> dict[str, str]:
    """What the merchant types in the dashboard: the WooCommerce site's address (the
    simulator's, under this backend's /sandbox/), or the Shopify domain (a sandbox tenant's
    Shopify API calls go to the simulator: connections._endpoints)."""
    if store.provider == "woocommerce":
        return {"site_url": f"{ctx.settings.payments_sandbox_url}/woocommerce/{store.store}",
                **store.credentials}
    return {"shop_domain": store.store, "access_token": store.credentials["access_token"],
            "api_secret": store.credentials["app_secret"]}


def seed_demo_store(ctx: Context, store: DemoStore) -> StoreSeed:
    demo = store.demo
    seeded = seed_tenant(ctx, demo)
    tenant_id = seeded.tenant_id
    with ctx.db.transaction() as session:
        currency = require_tenant(session, tenant_id).currency
    seed_delivery(ctx, tenant_id, currency)
    seed_kb(ctx, tenant_id)
    seed_payments(ctx, tenant_id, authenticate_merchant(ctx, tenant_id, demo.api_key))
    # The simulated store: created and stocked once (creating it again would forget the
    # webhooks the import registered).
    if store_config(ctx, store.provider, store.store) is None:
        create_store(ctx, store.provider, store.store, store.credentials, currency)
    added = 0
    if store_product_count(ctx, store.provider, store.store) == 0:
        added = len(seed_named_catalog(ctx, store.provider, store.store, store.catalog))
    with ctx.db.transaction() as session:
        integration = session.scalar(select(StoreIntegration).where(
            StoreIntegration.tenant_id == tenant_id, StoreIntegration.provider == store.provider))
        connected = integration is None or integration.status != "connected"
    if connected:
        connect(ctx, tenant_id, store.provider, connect_payload(ctx, store), actor="seed")
    return StoreSeed(seeded, store.provider, connected, added,
                     _queue_import(ctx, tenant_id, store.provider))


def _queue_import(ctx: Context, tenant_id: str, provider: str) -> int | None:
    """Queue the initial import unless the store was imported or a run is on its way, and
    only when the store answers (the merchant's "Test connection" first)."""
    with ctx.db.transaction() as session:
        integration = session.scalar(select(StoreIntegration).where(
            StoreIntegration.tenant_id == tenant_id, StoreIntegration.provider == provider))
        assert integration is not None
        if integration.last_full_at is not None:
            return None
        pending = session.scalar(select(IntegrationRun.id).where(
            IntegrationRun.integration_id == integration.id,
            IntegrationRun.status.in_(("queued", "running"))).limit(1))
        if pending is not None:
            return None
    try:
        test_connection(ctx, tenant_id, provider)
    except DomainError:
        return None  # the backend serving the simulator is not up yet: the first sweep queues it
    return queue_run(ctx, tenant_id, provider).id


def seed_demo_stores(ctx: Context) -> list[StoreSeed]:
    return [seed_demo_store(ctx, store) for store in DEMO_STORES]
