"""The demo tenants' platform data: three tenants (one per tier), API keys, 100 customers each
with varied languages and consent, and the consent history that led there. Deterministic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.wiring import Context
from backend.models import Customer
from backend.services.platform.auth import issue_api_key
from backend.services.platform.customers import Actor, change_consent, find_customer
from backend.services.platform.tenants import NewTenant, ensure_tenant, require_tenant, update_settings

CUSTOMERS_PER_TENANT = 100
QUIET_HOURS = {"start": "21:00", "end": "07:00"}


def _hours(*days: tuple[str, str] | None) -> dict[str, Any]:
    names = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    return {
        name: None if day is None else {"open": day[0], "close": day[1]}
        for name, day in zip(names, days, strict=True)
    }


@dataclass(frozen=True)
class DemoTenant:
    tenant: NewTenant
    api_key: str  # demo-only; stored hashed
    kind: str  # what seed_commerce builds: "shop" | "salon" | "mixed"
    phone_prefix: str  # customers are <prefix>00 … <prefix>99


# Demo-only credentials: checked by the local Twilio simulator, never sent to Twilio.
DEMO_TENANTS: tuple[DemoTenant, ...] = (
    DemoTenant(
        NewTenant(
            id="demo-shop",
            name="Duka Moja Shoes & Clothing",
            whatsapp_number="+254700000001",
            twilio_account_sid="AC5d1e0a7c2b9f4e3d8a6b1c0f9e2d7a43",
            twilio_auth_token="demo-twilio-auth-token",
            primary_language="en",
            tier="growth",
            business_hours=_hours(*[("08:00", "19:00")] * 6, ("10:00", "16:00")),
            quiet_hours=QUIET_HOURS,
            features={
                "rule_based_intents": True,
                "mpesa_stk": True,
                "card_payments": True,
                "llm_budget_minor_per_month": 200_000,
                "llm_budget_exhausted_action": "fallback_to_rules",
            },
        ),
        api_key="demo-shop-api-key",
        kind="shop",
        phone_prefix="+2547110000",
    ),
    DemoTenant(
        NewTenant(
            id="demo-salon",
            name="Urembo Beauty Salon, Kilimani",
            whatsapp_number="+254700000002",
            twilio_account_sid="AC7b2f9c4e1a8d3b6f0e5c2a9d4b7e1f08",
            twilio_auth_token="demo-salon-twilio-auth-token",
            primary_language="sw",
            tier="starter",
            business_hours=_hours(
                ("10:00", "19:00"), *[("08:00", "19:00")] * 4, ("08:00", "20:00"), None
            ),
            quiet_hours=QUIET_HOURS,
            features={
                "rule_based_intents": True,
                "mpesa_stk": True,
                "card_payments": False,
                "llm_budget_minor_per_month": 0,
                "llm_budget_exhausted_action": "fallback_to_rules",
            },
        ),
        api_key="demo-salon-api-key",
        kind="salon",
        phone_prefix="+2547120000",
    ),
    DemoTenant(
        NewTenant(
            id="demo-duka",
            name="Mtaani Duka & Repairs",
            whatsapp_number="+254700000003",
            twilio_account_sid="AC3e8a1d6c9f2b5e0a7d4c1f8b3e6a9d25",
            twilio_auth_token="demo-duka-twilio-auth-token",
            primary_language="en",
            tier="enterprise",
            business_hours=_hours(*[("07:30", "20:00")] * 6, ("09:00", "14:00")),
            quiet_hours=QUIET_HOURS,
            features={
                "rule_based_intents": True,
                "mpesa_stk": True,
                "card_payments": True,
                "llm_budget_minor_per_month": 500_000,
                "llm_budget_exhausted_action": "handoff",
            },
        ),
        api_key="demo-duka-api-key",
        kind="mixed",
        phone_prefix="+2547130000",
    ),
)

FIRST_NAMES = (
    "Wanjiru", "Otieno", "Akinyi", "Kamau", "Njeri", "Mwangi", "Achieng", "Kiprop", "Wambui",
    "Mutua", "Chebet", "Omondi", "Nyambura", "Kariuki", "Atieno", "Kibet", "Muthoni", "Ouma",
    "Jepchirchir", "Njoroge", "Halima", "Baraka", "Zawadi", "Juma", "Amani",
)  # fmt: skip
LAST_NAMES = ("K.", "O.", "M.", "W.", "N.", "A.", "C.", "J.")
LANGUAGES: tuple[str | None, ...] = ("en", "sw", "sheng", "sw", "en", None, "sheng", "en")
SEED_EPOCH = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # fixed: a second run computes the same


@dataclass(frozen=True)
class ConsentStep:
    day: int  # days after the customer first wrote
    kind: str
    value: bool
    actor: Actor


CUSTOMER = Actor("customer", "whatsapp")
MERCHANT = Actor("seed:merchant", "merchant_api")


def consent_history(n: int) -> list[ConsentStep]:
    """A varied, deterministic history: about a third opt in to offers (some later opt out),
    some stop reminders, a few stop even order updates."""
    steps: list[ConsentStep] = []
    if n % 3 == 0:
        steps.append(ConsentStep(2 + n % 5, "promotional", True, CUSTOMER))
        if n % 9 == 0:
            steps.append(ConsentStep(20 + n % 7, "promotional", False, CUSTOMER))
    if n % 7 == 3:
        steps.append(ConsentStep(5 + n % 4, "reminders", False, CUSTOMER))
    if n % 11 == 5:
        steps.append(ConsentStep(9, "reminders", False, MERCHANT))  # asked the shop by phone
        steps.append(ConsentStep(30, "reminders", True, CUSTOMER))
    if n % 33 == 32:
        steps.append(ConsentStep(12, "transactional", False, CUSTOMER))
    return steps


@dataclass(frozen=True)
class TenantSeed:
    tenant_id: str
    kind: str
    created: bool
    customers_added: int
    customer_ids: list[int]


def seed_tenant(ctx: Context, demo: DemoTenant) -> TenantSeed:
    """Create (or bring back to the demo settings) one tenant, its API key and customers."""
    new = demo.tenant
    created = ensure_tenant(ctx, new)
    update_settings(
        ctx,
        new.id,
        {
            "name": new.name,
            "tier": new.tier,
            "status": new.status,
            "timezone": new.timezone,
            "primary_language": new.primary_language,
            "business_hours": new.business_hours,
            "quiet_hours": new.quiet_hours,
            "features": new.features,
        },
        as_operator=True,
    )
    issue_api_key(ctx, new.id, demo.api_key)
    added, ids = seed_customers(ctx, new.id, demo.phone_prefix)
    return TenantSeed(new.id, demo.kind, created, added, ids)


def seed_customers(
    ctx: Context, tenant_id: str, phone_prefix: str, count: int = CUSTOMERS_PER_TENANT
) -> tuple[int, list[int]]:
    """Customers <prefix>00…; only missing ones are created (with their consent history)."""
    added = 0
    ids: list[int] = []
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        for n in range(count):
            phone = f"{phone_prefix}{n:02d}"
            customer = find_customer(session, ctx.crypto, tenant_id, phone)
            if customer is None:
                customer = _new_customer(ctx, tenant_id, phone, n)
                session.add(customer)
                session.flush()
                for step in consent_history(n):
                    at = customer.created_at + timedelta(days=step.day, hours=n % 10)
                    change_consent(session, customer, step.kind, step.value, step.actor, at)
                added += 1
            ids.append(customer.id)
    return added, ids


def _new_customer(ctx: Context, tenant_id: str, phone: str, n: int) -> Customer:
    return Customer(
        tenant_id=tenant_id,
        phone_encrypted=ctx.crypto.encrypt(phone),
        phone_hash=ctx.crypto.keyed_hash(phone),
        profile_name=None if n % 13 == 12 else (
            f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_NAMES[n % len(LAST_NAMES)]}"
        ),
        language=LANGUAGES[n % len(LANGUAGES)],
        consent_transactional=True,
        consent_reminders=True,
        consent_promotional=False,
        created_at=SEED_EPOCH + timedelta(days=n, minutes=17 * n),
    )


def seed_platform(ctx: Context) -> list[TenantSeed]:
    return [seed_tenant(ctx, demo) for demo in DEMO_TENANTS]
