"""The demo seed: tenant, API key and catalog; running it twice changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from backend.context import Context
from backend.seed import DEMO_API_KEY, DEMO_TENANT, seed
from backend.settings import REPO_ROOT
from tests.backend.conftest import FERNET_KEY, HASH_KEY, SERVICE_TOKEN, service_headers

TABLES = ["tenants", "api_keys", "products", "product_variants"]


def snapshot(ctx: Context) -> dict[str, list]:
    with ctx.db.engine.connect() as connection:
        return {
            table: [
                tuple(row) for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY 1"))
            ]
            for table in TABLES
        }


def test_seed_is_idempotent(ctx: Context) -> None:
    first = seed(ctx)
    before = snapshot(ctx)
    second = seed(ctx)
    assert first.tenant_created and first.products_added >= 32
    assert not second.tenant_created and second.products_added == 0
    assert snapshot(ctx) == before  # same rows, same ciphertexts, same ids


def test_seeded_demo_shop(client, ctx: Context) -> None:
    seed(ctx)
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

    headers = {"X-TENANT-ID": "demo-shop", "X-TENANT-API-KEY": DEMO_API_KEY}
    products = client.get(
        "/v1/products", query_string={"page_size": 200}, headers=headers
    ).get_json()
    assert products["count"] >= 32
    results = products["results"]
    assert {p["category"] for p in results} == {"shoes", "clothing", "accessories"}
    assert all(1 <= len(p["variants"]) <= 4 for p in results)
    variants = [v for p in results for v in p["variants"]]
    assert any(v["stock"] == 0 for v in variants) and any(v["stock"] > 0 for v in variants)
    assert all(v["currency"] == "KES" and v["price_minor"] % 100 == 0 for v in variants)
    assert {"Classic White Canvas Sneakers", "Mtumba Vintage Denim Jacket"} <= {
        p["title"] for p in results
    }
    with ctx.db.engine.connect() as connection:
        stored = connection.execute(text("SELECT prefix, key_hash FROM api_keys")).one()
    assert DEMO_API_KEY not in stored.key_hash


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
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("backend.migrate")
    assert "tenant demo-shop created" in run("backend.seed")
    assert "already present; 0 product(s) added" in run("backend.seed")
