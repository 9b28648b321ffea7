"""WooCommerce and Shopify integrations end to end over HTTP against the stores' simulators:
connect and test (bad credentials a clear 400), the initial import's exact counts with the
malformed items skipped and logged (nothing half-imported), an incremental sync after upstream
changes, webhooks with right and wrong signatures, a product deleted upstream made inactive,
429s and Shopify's THROTTLED waited out without failing the run, a store that times out
failing the run with its error, and another tenant seeing none of it. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
from sqlalchemy import select

from backend.models import Product
from backend.providers import shopify, woocommerce
from backend.sandbox.stores import (
    MALFORMED_ITEMS,
    change_products,
    create_store,
    delete_product,
    seed_catalog,
    set_scenario,
)
from backend.wiring import Context
from tests.backend.conftest import (
    OTHER_ID, OTHER_KEY, OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, TENANT_ID, TENANT_KEY,
    TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, add_tenant, merchant_headers)
from tests.backend.payment_helpers import wait_for

WOO_STORE, SHOP = "demo-woo", "demo-shop.myshopify.com"
WOO_KEYS = {"consumer_key": "ck_" + "a" * 40, "consumer_secret": "cs_" + "b" * 40}
SHOPIFY_KEYS = {"access_token": "shpat_" + "c" * 32, "app_secret": "shpss_" + "d" * 32}
COUNTS = {"woocommerce": 20, "shopify": 15}
PROVIDERS = ("woocommerce", "shopify")
FIRST_ID = 1000


# How long the stores' client waits for a store: long enough for a loaded machine (a 1 s wait
# failed a connection test in CI at load 10); the test of a store that times out waits 1 s.
STORE_TIMEOUT = 5.0
SLOW_STORE_TIMEOUT = 1.0


@pytest.fixture
def stores(live_server: Any) -> tuple[Any, Context]:
    return _stores(live_server, STORE_TIMEOUT)


@pytest.fixture
def slow_stores(live_server: Any) -> tuple[Any, Context]:
    """The same stores, with the client that gives up after SLOW_STORE_TIMEOUT."""
    return _stores(live_server, SLOW_STORE_TIMEOUT)


def _stores(live_server: Any, timeout: float) -> tuple[Any, Context]:
    server = live_server(store_timeout_seconds=timeout, store_retries=1)
    ctx: Context = server.app.extensions["backend"]
    ctx.jobs._intervals = (0.05, 0.05, 0.05)  # type: ignore[attr-defined]
    add_tenant(ctx, TENANT_ID, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, TENANT_KEY)
    add_tenant(ctx, OTHER_ID, OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, OTHER_KEY)
    create_store(ctx, "woocommerce", WOO_STORE, WOO_KEYS)
    seed_catalog(ctx, "woocommerce", WOO_STORE, COUNTS["woocommerce"], 3, first_id=FIRST_ID)
    create_store(ctx, "shopify", SHOP, SHOPIFY_KEYS)
    seed_catalog(ctx, "shopify", SHOP, COUNTS["shopify"], 3, first_id=FIRST_ID)
    return server.app.test_client(), ctx


def store_of(provider: str) -> str:
    return WOO_STORE if provider == "woocommerce" else SHOP


def answer(response: Any, status: int) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json() if status != 204 else None


def connect(client: Any, ctx: Context, provider: str, wrong: bool = False) -> dict[str, Any]:
    if provider == "woocommerce":
        body = {"site_url": f"{ctx.settings.payments_sandbox_url}/woocommerce/{WOO_STORE}",
                **WOO_KEYS}
        if wrong:
            body["consumer_secret"] = "cs_wrong"
    else:
        body = {"shop_domain": SHOP, "access_token": SHOPIFY_KEYS["access_token"],
                "api_secret": SHOPIFY_KEYS["app_secret"]}
        if wrong:
            body["access_token"] = "shpat_wrong"
    return dict(answer(client.post(f"/v1/integrations/{provider}", headers=merchant_headers(),
                                   json=body), 201))


def run(client: Any, provider: str, full: bool = False) -> dict[str, Any]:
    queued = answer(client.post(f"/v1/integrations/{provider}/runs"
                                + ("?full=true" if full else ""), headers=merchant_headers()), 202)
    assert queued["status"] in ("queued", "running", "succeeded", "failed")
    return dict(wait_for(lambda: (found := answer(client.get(
        f"/v1/integrations/{provider}/runs/{queued['id']}", headers=merchant_headers()), 200))
        ["status"] in ("succeeded", "failed") and found, timeout=60))


def imported(ctx: Context, provider: str) -> dict[str, Product]:
    with ctx.db.transaction() as session:
        rows = session.scalars(select(Product).where(
            Product.tenant_id == TENANT_ID, Product.external_source == provider)).all()
        for row in rows:
            _ = row.variants
        session.expunge_all()
        return {str(row.external_id): row for row in rows}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_connect_then_test_the_connection(stores: tuple[Any, Context], provider: str) -> None:
    client, ctx = stores
    view = connect(client, ctx, provider)
    assert view["status"] == "connected" and "/webhooks/stores/" in view["webhook_url"]
    assert "consumer_secret" not in json.dumps(view) and "access_token" not in json.dumps(view)
    info = answer(client.post(f"/v1/integrations/{provider}/test", headers=merchant_headers()),
                  200)
    assert info["currency"] == "KES"
    assert info["products"] == COUNTS[provider] + MALFORMED_ITEMS
    connect(client, ctx, provider, wrong=True)
    refused = answer(client.post(f"/v1/integrations/{provider}/test",
                                 headers=merchant_headers()), 400)
    assert refused["code"] and "refused the credentials" in refused["description"]
    # A wrong run fails with the same clear error, and imports nothing.
    failed = run(client, provider)
    assert failed["status"] == "failed" and "refused the credentials" in failed["error"]
    assert imported(ctx, provider) == {}


def test_connect_refuses_malformed_credentials(stores: tuple[Any, Context]) -> None:
    client, _ = stores
    bad = answer(client.post("/v1/integrations/woocommerce", headers=merchant_headers(),
                             json={"site_url": "https://shop.example", "consumer_key": "nope",
                                   "consumer_secret": "nope"}), 400)
    assert "consumer_key" in bad["errors"]
    bad = answer(client.post("/v1/integrations/shopify", headers=merchant_headers(),
                             json={"shop_domain": "evil.example.com", "access_token": "x",
                                   "api_secret": "y"}), 400)
    assert "shop_domain" in bad["errors"]
    answer(client.post("/v1/integrations/magento", headers=merchant_headers(), json={}), 404)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_initial_import_counts_exactly_and_skips_the_malformed(
        stores: tuple[Any, Context], provider: str) -> None:
    client, ctx = stores
    connect(client, ctx, provider)
    done = run(client, provider)
    count = COUNTS[provider]
    assert (done["kind"], done["status"]) == ("initial", "succeeded"), done
    assert (done["created"], done["updated"], done["deactivated"], done["failed"]) == (
        count, 0, 0, MALFORMED_ITEMS)
    broken = {str(FIRST_ID + count + i) for i in range(MALFORMED_ITEMS)}
    assert {e["external_id"] for e in done["errors"]} == broken
    messages = " ".join(e["message"] for e in done["errors"])
    assert "has no price" in messages and "negative stock (-4)" in messages
    products = imported(ctx, provider)
    assert len(products) == count and not broken & set(products)  # nothing half-imported
    first = products[str(FIRST_ID)]
    assert first.active and first.category == "Shoes" and first.images[0].startswith("https://")
    assert sorted(v.price_minor for v in first.variants) == [50_000] * 3
    assert sorted(v.stock for v in first.variants) == [10, 11, 12]
    assert {v.attributes["Size"] for v in first.variants} == {"S", "M", "L"}
    status = answer(client.get(f"/v1/integrations/{provider}", headers=merchant_headers()), 200)
    assert status["last_run"]["id"] == done["id"] and status["sync_cursor"]
    assert status["webhooks_registered"]
    # Run again at once: nothing changed upstream, so nothing is counted.
    again = run(client, provider)
    assert (again["kind"], again["created"], again["updated"], again["failed"]) == (
        "incremental", 0, 0, 0), again


@pytest.mark.parametrize("provider", PROVIDERS)
def test_incremental_sync_brings_upstream_changes_and_the_store_wins(
        stores: tuple[Any, Context], provider: str) -> None:
    client, ctx = stores
    connect(client, ctx, provider)
    run(client, provider)
    changed = [FIRST_ID + i for i in (1, 3, 5, 7, 9)]
    with ctx.db.transaction() as session:  # a local edit the store will overwrite
        product = session.scalar(select(Product).where(
            Product.tenant_id == TENANT_ID, Product.external_source == provider,
            Product.external_id == str(changed[0])))
        assert product is not None
        product.variants[0].price_minor = 1
    change_products(ctx, provider, store_of(provider), changed, price="999.00", stock=2,
                    notify=False)
    done = run(client, provider)
    assert (done["kind"], done["status"], done["created"], done["updated"], done["failed"]) == (
        "incremental", "succeeded", 0, len(changed), 0), done
    products = imported(ctx, provider)
    for pid in changed:
        assert {(v.price_minor, v.stock) for v in products[str(pid)].variants} == {(99_900, 2)}
    assert {v.price_minor for v in products[str(FIRST_ID)].variants} == {50_000}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_webhooks_signed_right_apply_and_wrong_are_refused(
        stores: tuple[Any, Context], provider: str) -> None:
    client, ctx = stores
    view = connect(client, ctx, provider)
    run(client, provider)  # registers the webhooks with the store
    change_products(ctx, provider, store_of(provider), [FIRST_ID + 2], price="1234.00")
    wait_for(lambda: {v.price_minor for v in imported(ctx, provider)[
        str(FIRST_ID + 2)].variants} == {123_400}, timeout=30)
    def webhook_runs() -> list[dict[str, Any]]:
        found = answer(client.get(f"/v1/integrations/{provider}/runs",
                                  headers=merchant_headers()), 200)["results"]
        return [r for r in found if r["kind"] == "webhook"]

    done = wait_for(lambda: (found := webhook_runs()) and found[0]["status"] == "succeeded"
                    and found)
    assert len(done) == 1 and done[0]["updated"] == 1, done
    runs = answer(client.get(f"/v1/integrations/{provider}/runs", headers=merchant_headers()),
                  200)["results"]
    module: Any = woocommerce if provider == "woocommerce" else shopify
    raw = json.dumps({"id": FIRST_ID + 4}).encode()
    forged = requests.post(view["webhook_url"], data=raw, timeout=10, headers={
        module.SIGNATURE_HEADER: module.signature("not-the-secret", raw),
        "Content-Type": "application/json"})
    assert forged.status_code == 401 and forged.json()["code"]
    unsigned = requests.post(view["webhook_url"], data=raw, timeout=10)
    assert unsigned.status_code == 401
    unknown = requests.post(view["webhook_url"].rsplit("/", 1)[0] + "/guessed-token", data=raw,
                            timeout=10, headers={module.SIGNATURE_HEADER: "x"})
    assert unknown.status_code == 401
    assert len(answer(client.get(f"/v1/integrations/{provider}/runs",
                                 headers=merchant_headers()), 200)["results"]) == len(runs)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_product_deleted_upstream_becomes_inactive(
        stores: tuple[Any, Context], provider: str) -> None:
    client, ctx = stores
    connect(client, ctx, provider)
    run(client, provider)
    # Told by the delete webhook…
    delete_product(ctx, provider, store_of(provider), FIRST_ID + 1)
    wait_for(lambda: not imported(ctx, provider)[str(FIRST_ID + 1)].active, timeout=30)
    # …or, without a webhook, found by the full run.
    delete_product(ctx, provider, store_of(provider), FIRST_ID + 2, notify=False)
    done = run(client, provider, full=True)
    assert (done["kind"], done["status"], done["deactivated"], done["created"]) == (
        "full", "succeeded", 1, 0), done
    products = imported(ctx, provider)
    assert len(products) == COUNTS[provider]  # kept, not deleted
    assert [p for p, row in products.items() if not row.active] == [
        str(FIRST_ID + 1), str(FIRST_ID + 2)] or sorted(
        p for p, row in products.items() if not row.active) == [
        str(FIRST_ID + 1), str(FIRST_ID + 2)]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rate_limits_are_waited_out_without_failing_the_run(
        stores: tuple[Any, Context], provider: str) -> None:
    client, ctx = stores
    connect(client, ctx, provider)
    set_scenario(ctx, provider, store_of(provider), throttle_next=3)
    if provider == "shopify":  # and an empty cost bucket: THROTTLED until it refills
        set_scenario(ctx, provider, SHOP, bucket=0.0, bucket_at=time.time(), restore_rate=2000.0)
    started = time.monotonic()
    done = run(client, provider)
    assert (done["status"], done["created"], done["failed"]) == (
        "succeeded", COUNTS[provider], MALFORMED_ITEMS), done
    assert time.monotonic() - started >= 0.6  # three Retry-After: 0.2 waited


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_store_that_times_out_fails_the_run_with_its_error(
        slow_stores: tuple[Any, Context], provider: str) -> None:
    client, ctx = slow_stores
    connect(client, ctx, provider)
    set_scenario(ctx, provider, store_of(provider), delay_seconds=2.5)
    slow = answer(client.post(f"/v1/integrations/{provider}/test", headers=merchant_headers()),
                  503)
    assert "did not answer" in slow["description"]
    done = run(client, provider)
    assert done["status"] == "failed" and "did not answer within 1 s" in done["error"]
    assert done["finished_at"] and imported(ctx, provider) == {}


def test_another_tenant_never_sees_the_integration(stores: tuple[Any, Context]) -> None:
    client, ctx = stores
    connect(client, ctx, "woocommerce")
    done = run(client, "woocommerce")
    other = merchant_headers(OTHER_ID, OTHER_KEY)
    assert answer(client.get("/v1/integrations", headers=other), 200)["results"] == []
    for path in ("/v1/integrations/woocommerce", "/v1/integrations/woocommerce/runs",
                 f"/v1/integrations/woocommerce/runs/{done['id']}"):
        answer(client.get(path, headers=other), 404)
    answer(client.post("/v1/integrations/woocommerce/runs", headers=other), 404)
    answer(client.post("/v1/integrations/woocommerce/test", headers=other), 404)
    answer(client.delete("/v1/integrations/woocommerce", headers=other), 404)
    mine = answer(client.get("/v1/integrations", headers=merchant_headers()), 200)["results"]
    assert [i["provider"] for i in mine] == ["woocommerce"]
    # Disconnecting forgets the store, keeps its products.
    answer(client.delete("/v1/integrations/woocommerce", headers=merchant_headers()), 204)
    answer(client.get("/v1/integrations/woocommerce", headers=merchant_headers()), 404)
    assert len(imported(ctx, "woocommerce")) == COUNTS["woocommerce"]


def upstream_stock(ctx: Context, provider: str, pid: int, sku: str) -> int:
    from backend.sandbox.models import SandboxStoreProduct

    with ctx.db.transaction() as session:
        data = session.scalar(select(SandboxStoreProduct.data).where(
            SandboxStoreProduct.provider == provider, SandboxStoreProduct.product_id == pid))
    assert data is not None
    if provider == "woocommerce":
        return int(next(v["stock_quantity"] for v in data["_variations"] if v["sku"] == sku))
    return int(next(v["inventoryQuantity"] for v in data["variants"] if v["sku"] == sku))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_stock_reserved_by_a_chat_order_is_pushed_back_to_the_store(
        stores: tuple[Any, Context], provider: str) -> None:
    from backend.services.integrations.stock import push_stock
    from backend.services.orders.orders import transition_order
    from tests.backend.payment_helpers import place_order

    client, ctx = stores
    connect(client, ctx, provider)
    run(client, provider)
    sku = ("W" if provider == "woocommerce" else "S") + f"{FIRST_ID}-S"
    assert upstream_stock(ctx, provider, FIRST_ID, sku) == 10
    order = place_order(client, ctx, sku=sku, quantity=3)
    assert push_stock(ctx, TENANT_ID) == {"pushed": 1, "failed": 0}
    assert upstream_stock(ctx, provider, FIRST_ID, sku) == 7
    assert push_stock(ctx, TENANT_ID) == {"pushed": 0, "failed": 0}  # each pushed once
    transition_order(ctx, TENANT_ID, order["id"], "cancelled", notify=False)
    assert push_stock(ctx, TENANT_ID) == {"pushed": 1, "failed": 0}
    assert upstream_stock(ctx, provider, FIRST_ID, sku) == 10
