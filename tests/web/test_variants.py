"""A product's variants in a real browser (headless chromium): the catalog manager opens a
product from the catalog, adds a variant (a wrong price refused beside the form first), edits
it, sees it listed, and the API's product read (GET /v1/products/<id>, over HTTP) has it; takes
it off sale (gone from that read) and back, and removes it;
photographed at phone and desktop width (SCREENSHOT_DIR, tests/web/conftest.py)."""

from __future__ import annotations

import json
import uuid
from urllib.request import Request, urlopen

from selenium.webdriver.common.by import By

from backend.services.catalog.listing import list_products
from backend.wiring import Context
from tests.backend.conftest import SERVICE_TOKEN, LiveServer
from tests.web.conftest import SHOP, Browser, staff
from tests.web.test_dashboard import _at_phone_width


def _api_product(shop: LiveServer, product_id: int) -> dict[str, object]:
    request = Request(f"http://127.0.0.1:{shop.port}/v1/products/{product_id}",
                      headers={"Authorization": f"Bearer {SERVICE_TOKEN}", "X-TENANT-ID": SHOP})
    with urlopen(request, timeout=30) as response:
        assert response.status == 200
        found: dict[str, object] = json.loads(response.read())
        return found


def test_the_catalog_manager_adds_and_edits_a_variant(
        browser: Browser, shop: LiveServer, shop_ctx: Context) -> None:
    product = list_products(shop_ctx, SHOP, q="sneakers").results[0]
    sku = f"SNK-{uuid.uuid4().hex[:6].upper()}"
    browser.sign_in(staff("catalog_manager"))
    browser.open("/app/catalog?q=sneakers")
    browser.follow(By.CSS_SELECTOR, f"#product-{product.id} a.product-open", expect="#variant-new")
    assert product.title in browser.text("#product-title")
    assert _at_phone_width(browser) <= 360  # the variant forms fit a phone

    def fill(prefix: str, **values: str) -> None:
        for field, value in values.items():
            element = browser.driver.find_element(By.ID, f"{prefix}-{field}")
            element.clear()
            element.send_keys(value)

    fill("new", name="Size 44", sku=sku, price="2,150.505", stock="6")
    browser.submit("#variant-new button[type=submit]", expect="#new-error")
    assert "Enter the price in shillings" in browser.text("#new-error")
    assert browser.driver.find_element(By.ID, "new-sku").get_attribute("value") == sku
    fill("new", price="2,150.50")
    browser.submit("#variant-new button[type=submit]", expect=".notice")
    assert "Variant added" in browser.text(".notice")

    [made] = [v for p in list_products(shop_ctx, SHOP, q="sneakers").results
              if p.id == product.id for v in p.variants if v.sku == sku]
    assert (made.price_minor, made.stock, made.attributes) == (215_050, 6, {"name": "Size 44"})
    card = f"#variant-{made.id}"
    assert browser.driver.find_element(By.ID, f"v{made.id}-name").get_attribute(
        "value") == "Size 44"
    assert browser.driver.find_element(By.ID, f"v{made.id}-price").get_attribute(
        "value") == "2150.50"
    browser.shoot("30-product-variants")

    fill(f"v{made.id}", name="Size 44 wide", stock="5")
    browser.submit(f"{card} .variant-form button[type=submit]", expect=".notice")
    assert "Variant saved" in browser.text(".notice")
    assert browser.driver.find_element(By.ID, f"v{made.id}-name").get_attribute(
        "value") == "Size 44 wide"

    read = _api_product(shop, product.id)
    variants = {v["sku"]: v for v in read["variants"]}  # type: ignore[union-attr]
    assert variants[sku]["price_minor"] == 215_050
    assert variants[sku]["stock"] == 5
    assert variants[sku]["attributes"] == {"name": "Size 44 wide"}

    # Taken off sale: the API's product read (what customers see) no longer holds it; back.
    browser.submit(f"{card} .variant-active button[type=submit]", expect=".notice")
    assert "taken off sale" in browser.text(".notice")
    assert "Off sale" in browser.text(f"{card} .off-sale")
    assert sku not in {v["sku"] for v in _api_product(shop, product.id)["variants"]}  # type: ignore[union-attr]
    browser.shoot("31-product-variant-off-sale")
    browser.submit(f"{card} .variant-active button[type=submit]", expect=".notice")
    assert "on sale again" in browser.text(".notice")
    assert sku in {v["sku"] for v in _api_product(shop, product.id)["variants"]}  # type: ignore[union-attr]

    # Removed again (the seeded product keeps its own variants for the other tests).
    browser.submit(f"{card} .variant-remove button[type=submit]", expect=".notice")
    assert "Variant removed" in browser.text(".notice")
    assert sku not in {v["sku"] for v in _api_product(shop, product.id)["variants"]}  # type: ignore[union-attr]
    assert not browser.driver.find_elements(By.CSS_SELECTOR, card)
