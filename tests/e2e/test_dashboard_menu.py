"""The issue's browser scenario on the real stack: a price changed in the dashboard (headless
chromium, the seeded catalog manager) is the price in the assistant's next menu on WhatsApp."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote_plus

import requests
from selenium.webdriver.common.by import By

from tests.e2e.conftest import new_phone
from tests.e2e.test_conversation import MENU_LINE, menu_titles
from tests.web.conftest import Browser, staff


def _line_of(menu: str, title: str) -> str:
    return next(line for line in menu.splitlines()
                if (m := MENU_LINE.match(line)) and m.group(2) == title)


def test_a_price_changed_in_the_dashboard_is_in_the_assistants_next_menu(stack, tmp_path):
    phone = new_phone()
    stack.say(phone, "hi there")
    [menu] = stack.say(phone, "what do you sell?")
    titles = list(menu_titles(menu).values())
    assert titles, menu
    product = requests.get(f"{stack.backend}/v1/products", params={"q": titles[0]},
                           timeout=10, headers={"Authorization": f"Bearer {stack.service_token}",
                                                "X-TENANT-ID": "demo-shop"}).json()["results"][0]
    assert product["title"] == titles[0], (product, menu)
    # Its cheapest variant made KES 1 cheaper still: the menu line starts with its price
    # ("KES 1,799" or "KES 1,799 – 2,500").
    variant = min(product["variants"], key=lambda v: v["price_minor"])
    new_price = variant["price_minor"] - 100
    assert new_price > 0 and f"KES {new_price // 100:,}" not in _line_of(menu, titles[0])

    # localhost: chromium keeps the stack's Secure session cookie on plain HTTP there.
    shots = Path(os.environ.get("SCREENSHOT_DIR", "").strip() or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    browser = Browser(f"http://localhost:{stack.env['BACKEND_PORT']}", shots)
    try:
        browser.sign_in(staff("catalog_manager"))
        browser.open(f"/app/catalog?q={quote_plus(product['title'])}")
        price = browser.driver.find_element(By.ID, f"price-{variant['id']}")
        price.clear()
        price.send_keys(str(new_price // 100))
        browser.submit(f"form#variant-{variant['id']} button[type=submit]")
        assert "Saved" in browser.text(".notice")
        browser.shoot("27-e2e-price-changed")
    finally:
        browser.close()

    [menu] = stack.say(phone, "what do you sell?")
    assert f"— KES {new_price // 100:,}" in _line_of(menu, titles[0]), menu
