"""The demo store merchants: the seed stocks the simulated WooCommerce and Shopify stores with
named catalogs, connects Kitenge Corner and Simu Hub to them through the connection service
(credentials encrypted, the WooCommerce site and Shopify API on this backend's /sandbox/) and
queues the initial imports; run in-process, they fill the tenants' catalogs (variants, prices in
minor units, categories). A second seed changes nothing; with no simulator answering, the seed
connects but leaves the import to the stack's first integrations sweep. SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import text

import backend.seed
from backend.jobs.integrations import sweep_integrations
from backend.queueing.runner import bound_context
from backend.sandbox.stores import NamedProduct, NamedVariant, seed_catalog, seed_named_catalog
from backend.seed import seed_stores
from backend.seed.stores import DEMO_STORES, DemoStore
from backend.wiring import Context
from tests.backend.conftest import free_port

TABLES = ["tenants", "api_keys", "customers", "store_integrations", "integration_runs",
          "products", "product_variants", "sandbox_store_products", "delivery_settings",
          "delivery_zones", "kb_entries", "users", "memberships"]


@pytest.fixture
def live(live_server: Any) -> tuple[Any, Context]:
    server = live_server()
    ctx: Context = server.app.extensions["backend"]
    ctx.jobs._intervals = (0.05, 0.05, 0.05)  # type: ignore[attr-defined]
    return server.app.test_client(), ctx


def headers(store: DemoStore) -> dict[str, str]:
    return {"X-TENANT-ID": store.demo.tenant.id, "X-TENANT-API-KEY": store.demo.api_key}


def get(client: Any, path: str, store: DemoStore, **params: Any) -> Any:
    response = client.get(path, headers=headers(store), query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def snapshot(ctx: Context) -> dict[str, list[tuple[Any, ...]]]:
    with ctx.db.engine.connect() as connection:
        tables = {table: [tuple(row) for row in connection.execute(
            text(f"SELECT * FROM {table} ORDER BY 1"))] for table in TABLES}
        tables["store records"] = [tuple(row) for row in connection.execute(text(
            "SELECT * FROM sandbox_payment_records WHERE provider LIKE 'store-%' ORDER BY 1"))]
        return tables


def kes_minor(price: str) -> int:
    major, _, minor = price.partition(".")
    return int(major) * 100 + int((minor or "0").ljust(2, "0"))


def assert_catalog_imported(client: Any, store: DemoStore) -> None:
    page = get(client, "/v1/products", store, page_size=100)
    products = {p["title"]: p for p in page["results"]}
    assert sorted(products) == sorted(p.title for p in store.catalog)
    for upstream in store.catalog:
        product = products[upstream.title]
        assert product["external_source"] == store.provider and product["active"] is True
        assert product["category"] == upstream.category
        assert product["description"] == upstream.description
        assert product["currency"] == "KES" and product["images"]
        variants = {v["sku"]: v for v in product["variants"]}
        assert sorted(variants) == sorted(v.sku for v in upstream.variants)
        for variant in upstream.variants:
            got = variants[variant.sku]
            assert got["price_minor"] == kes_minor(variant.price)
            assert isinstance(got["price_minor"], int) and got["currency"] == "KES"
            assert got["stock"] == variant.stock
            assert got["attributes"] == variant.options
    # A couple of categories, each with several products.
    categories = Counter(p.category for p in store.catalog)
    assert len(categories) >= 3 and all(n >= 2 for n in categories.values())


def test_seed_connects_both_stores_and_the_queued_imports_fill_the_catalogs(
        live: tuple[Any, Context]) -> None:
    client, ctx = live
    stores = seed_stores(ctx)
    assert [(s.tenant.tenant_id, s.provider, s.connected, s.products_added)
            for s in stores] == [(store.demo.tenant.id, store.provider, True, len(store.catalog))
                                 for store in DEMO_STORES]
    assert all(10 <= len(store.catalog) <= 15 for store in DEMO_STORES)
    assert all(s.run_id for s in stores), "the simulator answers: the imports are queued now"
    ctx.jobs.drain(timeout=120)  # the queued import jobs, run in this process
    base = ctx.settings.payments_sandbox_url
    for store, seeded in zip(DEMO_STORES, stores, strict=True):
        view = get(client, f"/v1/integrations/{store.provider}", store)
        assert view["status"] == "connected"
        assert view["store_url"] == (f"{base}/woocommerce/{store.store}"
                                     if store.provider == "woocommerce" else store.store)
        run = view["last_run"]
        assert (run["id"], run["kind"], run["status"]) == (seeded.run_id, "initial", "succeeded")
        assert (run["created"], run["failed"]) == (len(store.catalog), 0), run
        assert_catalog_imported(client, store)
        # The merchant's tenant settings, delivery and payments like the other demo tenants.
        tenant = get(client, "/v1/tenant", store)
        assert (tenant["whatsapp_number"], tenant["name"]) == (
            store.demo.tenant.whatsapp_number, store.demo.tenant.name)
        zones = get(client, "/v1/delivery/zones", store)["zones"]
        assert len(zones) >= 3
    with ctx.db.engine.connect() as connection:
        stored = connection.execute(text(
            "SELECT credentials_encrypted, api_url FROM store_integrations ORDER BY id")).all()
    secrets = [v for store in DEMO_STORES for v in store.credentials.values()]
    assert len(stored) == 2
    assert not any(secret in str(row[0]) for row in stored for secret in secrets)
    assert stored[1][1] == f"{base}/shopify/{DEMO_STORES[1].store}"  # the simulator, not Shopify

    before = snapshot(ctx)
    again = seed_stores(ctx)
    ctx.jobs.drain(timeout=60)
    assert [(s.connected, s.products_added, s.run_id) for s in again] == [(False, 0, None)] * 2
    assert snapshot(ctx) == before


def test_without_a_simulator_the_first_sweep_queues_the_import(make_app: Any) -> None:
    """`make demo` seeds before the stack runs: nothing answers at payments_sandbox_url yet, so
    the seed connects and queues nothing; the scheduler's first integrations sweep (started
    once the backend answers) queues each initial import. Here nothing answers: the run the
    sweep queued fails with the store's error, and the next sweep queues a new one."""
    ctx: Context = make_app(backend_port=free_port()).extensions["backend"]  # nothing listens
    stores = seed_stores(ctx)
    assert [(s.connected, s.run_id) for s in stores] == [(True, None)] * 2
    with ctx.db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM integration_runs")).scalar() == 0
        assert connection.execute(text(
            "SELECT count(*) FROM store_integrations WHERE status = 'connected'")).scalar() == 2
    with bound_context(ctx):
        assert sweep_integrations()["queued"] == 2
    ctx.jobs.drain(timeout=60)
    with ctx.db.engine.connect() as connection:
        runs = connection.execute(text(
            "SELECT kind, status FROM integration_runs ORDER BY id")).all()
    assert [tuple(r) for r in runs] == [("initial", "failed")] * 2
    assert [s.run_id for s in seed_stores(ctx)] == [None, None]
    with bound_context(ctx):
        assert sweep_integrations()["queued"] == 2  # a new initial run each: failed ones end
    ctx.jobs.drain(timeout=60)


def test_seed_includes_the_store_merchants(ctx: Context, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    monkeypatch.setattr(backend.seed, "_seed_tenants", lambda c: [])
    seeded = backend.seed.seed(ctx)
    assert [t.tenant_id for t in seeded] == ["demo-kitenge", "demo-simu"]
    with ctx.db.engine.connect() as connection:
        emails = set(connection.execute(text("SELECT email FROM users")).scalars())
    assert {"owner@demo-kitenge.example", "owner@demo-simu.example"} <= emails


def test_named_catalog_next_to_the_generated_one(ctx: Context) -> None:
    """seed_catalog's numbered products are unchanged; named ones sit beside them."""
    from backend.sandbox.stores import create_store, store_product_count

    create_store(ctx, "woocommerce", "mixed", {"consumer_key": "ck_x", "consumer_secret": "cs_x"})
    seed_catalog(ctx, "woocommerce", "mixed", 2, 2, malformed=False, first_id=1)
    ids = seed_named_catalog(ctx, "woocommerce", "mixed", [
        NamedProduct("Kikoi", "Wraps", "Striped.", (NamedVariant("K-1", "1200", 3),)),
        NamedProduct("Dress", "Dresses", "Ankara.", (
            NamedVariant("D-S", "2500.5", 1, {"Size": "S"}),
            NamedVariant("D-M", "2600", 2, {"Size": "M"})))], first_id=50)
    assert ids == [50, 51] and store_product_count(ctx, "woocommerce", "mixed") == 4
    with ctx.db.engine.connect() as connection:
        rows = {pid: data for pid, data in connection.execute(text(
            "SELECT product_id, data FROM sandbox_store_products ORDER BY product_id"))}
    import json
    rows = {pid: data if isinstance(data, dict) else json.loads(data) for pid, data in rows.items()}
    assert rows[1]["name"] == "Woo product 0"
    assert (rows[50]["type"], rows[50]["price"], rows[50]["sku"]) == ("simple", "1200.00", "K-1")
    assert rows[51]["type"] == "variable"
    assert [(v["sku"], v["price"], v["attributes"]) for v in rows[51]["_variations"]] == [
        ("D-S", "2500.50", [{"name": "Size", "option": "S"}]),
        ("D-M", "2600.00", [{"name": "Size", "option": "M"}])]
