"""The demo store merchants on the real stack: `backend.seed` (run before the stack starts, as
`make demo` does) connected Kitenge Corner to its simulated WooCommerce store and Simu Hub to
its simulated Shopify store; the stack's first integrations sweep queues their initial imports
and the worker runs them. Once imported (polled through the service API, bounded), a customer
writing to each shop's WhatsApp number gets a menu of the products that came from the store."""
from __future__ import annotations

import time
from typing import Any, Dict

import requests

from backend.seed.stores import DEMO_STORES, DemoStore
from tests.e2e.conftest import new_phone
from tests.e2e.test_conversation import menu_titles

IMPORT_TIMEOUT_SECONDS = 240


def api(stack, store: DemoStore, path: str, **params: Any) -> Dict[str, Any]:
    response = requests.get(f"{stack.backend}{path}", params=params, timeout=10, headers={
        "Authorization": f"Bearer {stack.service_token}", "X-TENANT-ID": store.demo.tenant.id})
    response.raise_for_status()
    return response.json()


def imported(stack, store: DemoStore) -> Dict[str, Any]:
    """The store's initial import, once it succeeded (failing on a failed one or the timeout)."""
    deadline = time.monotonic() + IMPORT_TIMEOUT_SECONDS
    view: Dict[str, Any] = {}
    while time.monotonic() < deadline:
        view = api(stack, store, f"/v1/integrations/{store.provider}")
        run = view.get("last_run") or {}
        assert run.get("status") != "failed", view
        if run.get("status") == "succeeded":
            return run
        time.sleep(1)
    raise AssertionError(f"{store.demo.tenant.id}: no import within "
                         f"{IMPORT_TIMEOUT_SECONDS} s: {view}")


def test_the_store_merchants_menus_list_the_products_imported_from_their_stores(stack):
    started = time.monotonic()
    for store in DEMO_STORES:
        run = imported(stack, store)
        assert (run["kind"], run["created"], run["failed"]) == (
            "initial", len(store.catalog), 0), run
    waited = time.monotonic() - started
    upstream = {store.demo.tenant.id: {p.title for p in store.catalog} for store in DEMO_STORES}
    for store in DEMO_STORES:
        products = api(stack, store, "/v1/products", page_size=100)["results"]
        assert {p["title"] for p in products} == upstream[store.demo.tenant.id]
        assert {p["external_source"] for p in products} == {store.provider}

    kitenge, simu = DEMO_STORES
    for store, asked in ((kitenge, "what do you sell?"), (simu, "mna simu gani?")):
        phone = new_phone()
        tenant = store.demo.tenant
        replies = stack.say(phone, asked, to=tenant.whatsapp_number,
                            token=tenant.twilio_auth_token)
        menus = [menu_titles(reply) for reply in replies if menu_titles(reply)]
        assert menus, (tenant.id, replies)
        titles = set(menus[0].values())
        assert len(titles) >= 5 and titles <= upstream[tenant.id], (tenant.id, replies)
    print(f"imports done {waited:.1f} s after the stack was up")
