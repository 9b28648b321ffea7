"""The demo seed: three tenants (one per tier), keys, customers with consent history; a second
run changes nothing; the commerce seed is called for each tenant with its customers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import phonenumbers
import pytest
from sqlalchemy import text

import backend.seed
from backend.seed import DEMO_API_KEY, DEMO_TENANT, seed
from backend.seed.platform import DEMO_TENANTS, seed_platform
from backend.settings import REPO_ROOT
from backend.wiring import Context
from tests.backend.conftest import FERNET_KEY, HASH_KEY, SERVICE_TOKEN, service_headers

TABLES = ["tenants", "api_keys", "customers", "consent_events"]


def snapshot(ctx: Context) -> dict[str, list]:
    with ctx.db.engine.connect() as connection:
        return {
            table: [
                tuple(row) for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY 1"))
            ]
            for table in TABLES
        }


def test_platform_seed_is_idempotent(ctx: Context) -> None:
    first = seed_platform(ctx)
    before = snapshot(ctx)
    second = seed_platform(ctx)
    assert [t.tenant_id for t in first] == ["demo-shop", "demo-salon", "demo-duka"]
    assert all(t.created and t.customers_added == 100 for t in first)
    assert all(not t.created and t.customers_added == 0 for t in second)
    assert [t.customer_ids for t in second] == [t.customer_ids for t in first]
    assert snapshot(ctx) == before  # same rows, same ciphertexts, same ids


def test_seed_hands_each_tenant_and_its_customers_to_the_commerce_seed(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str, list[int]]] = []
    monkeypatch.setattr(backend.seed, "seed_commerce",
                        lambda c, tenant_id, kind, ids: calls.append((tenant_id, kind, ids)))
    seeded = seed(ctx)
    assert [(tenant, kind) for tenant, kind, _ in calls] == [
        ("demo-shop", "shop"), ("demo-salon", "salon"), ("demo-duka", "mixed")]
    assert [ids for _, _, ids in calls] == [t.customer_ids for t in seeded[:3]]
    # Then the two store merchants, whose catalogs come from their stores (test_seed_stores.py).
    assert [t.tenant_id for t in seeded[3:]] == ["demo-kitenge", "demo-simu"]
    assert all(len(ids) == len(set(ids)) == 100 for _, _, ids in calls)


def test_seeded_tenants(client, ctx: Context) -> None:
    seed_platform(ctx)
    resolved = client.get(
        "/internal/v1/tenants/resolve",
        query_string={"number": "whatsapp:+254700000001"},
        headers=service_headers(),
    ).get_json()
    assert resolved["tenant_id"] == "demo-shop"
    assert resolved["name"] == "Duka Moja Shoes & Clothing"
    assert resolved["twilio_auth_token"] == "demo-twilio-auth-token"
    assert resolved["twilio_account_sid"] == DEMO_TENANT.twilio_account_sid
    assert resolved["sandbox"] is True and resolved["primary_language"] == "en"
    assert resolved["tier"] == "growth" and resolved["quiet_hours"] == {
        "start": "21:00", "end": "07:00"}

    expected = {
        "demo-shop": ("+254700000001", "growth", "en", DEMO_API_KEY),
        "demo-salon": ("+254700000002", "starter", "sw", "demo-salon-api-key"),
        "demo-duka": ("+254700000003", "enterprise", "en", "demo-duka-api-key"),
    }
    for tenant_id, (number, tier, language, key) in expected.items():
        headers = {"X-TENANT-ID": tenant_id, "X-TENANT-API-KEY": key}
        settings = client.get("/v1/tenant", headers=headers).get_json()
        assert (settings["whatsapp_number"], settings["tier"], settings["primary_language"]) == (
            number, tier, language)
        assert settings["status"] == "active" and settings["timezone"] == "Africa/Nairobi"
        token = client.get("/internal/v1/tenants/resolve", query_string={"number": number},
                           headers=service_headers()).get_json()["twilio_auth_token"]
        assert token == f"{tenant_id}-twilio-auth-token".replace("demo-shop-", "demo-")
        customers = client.get("/v1/customers", query_string={"page_size": 200},
                               headers=headers).get_json()
        assert customers["count"] == 100
        phones = [c["phone"] for c in customers["results"]]
        assert len(set(phones)) == 100
        assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in phones)
        assert {c["language"] for c in customers["results"]} == {"en", "sw", "sheng", None}
        promotional = [c for c in customers["results"] if c["preferences"]["promotional"]]
        no_reminders = [c for c in customers["results"] if not c["preferences"]["reminders"]]
        assert 10 <= len(promotional) <= 40 and 5 <= len(no_reminders) <= 30
        assert any(not c["preferences"]["transactional"] for c in customers["results"])
        # Every current consent other than the default is explained by the audit trail.
        for customer in promotional[:5]:
            events = client.get(f"/v1/customers/{customer['id']}/consent-events",
                                headers=headers).get_json()["results"]
            assert events[-1]["kind"] == "promotional" or any(
                e["kind"] == "promotional" and e["new_value"] for e in events)
    salon = client.get("/v1/tenant", headers={"X-TENANT-ID": "demo-salon",
                                              "X-TENANT-API-KEY": "demo-salon-api-key"}).get_json()
    assert salon["business_hours"]["sunday"] is None
    assert salon["business_hours"]["saturday"] == {"open": "08:00", "close": "20:00"}
    with ctx.db.engine.connect() as connection:
        stored = connection.execute(text("SELECT key_hash FROM api_keys")).scalars().all()
        trail = connection.execute(text("SELECT count(*) FROM consent_events")).scalar_one()
    assert all(demo.api_key not in value for demo in DEMO_TENANTS for value in stored)
    assert trail > 100


def test_seed_brings_an_existing_demo_shop_to_the_demo_settings(client, ctx: Context) -> None:
    from backend.services.platform.tenants import ensure_tenant

    ensure_tenant(ctx, DEMO_TENANT.__class__(**{**DEMO_TENANT.__dict__, "tier": "starter"}))
    seed_platform(ctx)
    resolved = client.get("/internal/v1/tenants/resolve", query_string={"number": "+254700000001"},
                          headers=service_headers()).get_json()
    assert resolved["tier"] == "growth"


def test_migrate_and_seed_commands(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'nested' / 'app.db'}",
        "SERVICE_TOKEN": SERVICE_TOKEN,
        "ENCRYPTION_KEY": FERNET_KEY,
        "HASH_KEY": HASH_KEY,
    }

    def run(module: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", module],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("backend.migrate")
    first = run("backend.seed")
    for tenant in ("demo-shop", "demo-salon", "demo-duka"):
        assert f"tenant {tenant} created; 100 customer(s) added" in first
    assert "demo-kitenge: woocommerce store connected, 13 product(s) added" in first
    assert "demo-simu: shopify store connected, 13 product(s) added" in first
    second = run("backend.seed")
    assert "tenant demo-shop already present; 0 customer(s) added" in second
    assert "demo-simu: shopify store already connected, 0 product(s) added" in second
