"""The Delivery section of the settings page and the order page's delivery (web app), through the
API's schemas and scopes, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
from typing import Any

from backend.services.accounts.access import create_role
from backend.services.orders.delivery import (
    DeliveryRequest,
    create_zone,
    get_delivery_settings,
    list_zones,
    update_delivery_settings,
)
from backend.services.orders.orders import place_order
from backend.wiring import Context
from tests.backend.accounts_helpers import make_user
from tests.backend.commerce_helpers import customer, seed_catalog
from tests.backend.conftest import OTHER_ID, TENANT_ID
from tests.backend.test_web_pages import web_login

ZONE_FORM = {"name": "Kasarani", "areas": "Kasarani, Roysambu\nMwiki", "radius_m": "",
             "fee": "250", "free_above": "5,000", "expected_time": "2-3 hours"}


def test_the_delivery_section_edits_options_and_zones(client: Any, tenants: Context) -> None:
    make_user(tenants, "viewer@duka.example", role="viewer")
    make_user(tenants, "owner@duka.example")
    viewer_token = web_login(client, "viewer@duka.example")
    shown = client.get("/app/settings").data.decode()
    assert "Delivery" in shown and "Save delivery options" not in shown
    assert client.post("/app/settings/delivery/zones", data={
        **ZONE_FORM, "csrf_token": viewer_token}).status_code == 403
    client.post("/app/logout", data={"csrf_token": viewer_token})

    token = web_login(client, "owner@duka.example")
    saved = client.post("/app/settings/delivery", data={
        "csrf_token": token, "offers_pickup": "on", "offers_delivery": "on",
        "shop_latitude": "-1.2864", "shop_longitude": "36.8172", "fallback": "call_customer"})
    assert saved.status_code == 303
    options = get_delivery_settings(tenants, TENANT_ID)
    assert options.offers_delivery and options.fallback == "call_customer"
    assert options.shop_latitude is not None and abs(options.shop_latitude + 1.2864) < 1e-9
    assert client.post("/app/settings/delivery/zones", data={
        **ZONE_FORM, "csrf_token": token}).status_code == 303
    [zone] = list_zones(tenants, TENANT_ID)
    assert zone.areas == ["Kasarani", "Roysambu", "Mwiki"]
    assert zone.fee_minor == 25_000 and zone.free_above_minor == 500_000
    page = html.unescape(client.get("/app/settings").data.decode())
    assert "Kasarani, Roysambu, Mwiki" in page and 'value="250.00"' in page

    # Bad input: a clear 422 page, nothing changed.
    negative = client.post("/app/settings/delivery/zones", data={
        **ZONE_FORM, "fee": "-5", "csrf_token": token})
    assert negative.status_code == 422
    empty = client.post(f"/app/settings/delivery/zones/{zone.id}", data={
        **ZONE_FORM, "areas": " , ", "csrf_token": token})
    assert empty.status_code == 422 and b"radius" in empty.data
    assert list_zones(tenants, TENANT_ID) == [zone]

    changed = client.post(f"/app/settings/delivery/zones/{zone.id}", data={
        **ZONE_FORM, "areas": "", "radius_m": "5000", "free_above": "", "csrf_token": token})
    assert changed.status_code == 303
    [zone] = list_zones(tenants, TENANT_ID)
    assert zone.radius_m == 5_000 and zone.areas == [] and zone.free_above_minor is None

    # Another shop's zone is not found.
    theirs = create_zone(tenants, OTHER_ID, {"name": "X", "areas": ["Juja"], "fee_minor": 1})
    assert client.post(f"/app/settings/delivery/zones/{theirs.id}/delete",
                       data={"csrf_token": token}).status_code == 404
    assert client.post(f"/app/settings/delivery/zones/{zone.id}/delete",
                       data={"csrf_token": token}).status_code == 303
    assert list_zones(tenants, TENANT_ID) == []
    assert len(list_zones(tenants, OTHER_ID)) == 1


def test_the_order_page_shows_the_delivery_to_who_may_see_customers(
        client: Any, tenants: Context) -> None:
    variants = seed_catalog(tenants)
    update_delivery_settings(tenants, TENANT_ID, {"offers_delivery": True})
    create_zone(tenants, TENANT_ID, {"name": "Rongai", "areas": ["Ongata Rongai"],
                                     "fee_minor": 30_000, "expected_time": "same day"})
    order = place_order(tenants, TENANT_ID, customer(tenants), [(variants["SNK-WHT-40"], 1)],
                        delivery=DeliveryRequest("delivery", "Rongai, karibu na Tuskys",
                                                 recipient_phone="0712000009")).order
    create_role(tenants, TENANT_ID, "packer", ["orders:read"])
    make_user(tenants, "packer@duka.example", role="packer")
    make_user(tenants, "owner@duka.example")
    token = web_login(client, "packer@duka.example")
    page = html.unescape(client.get(f"/app/orders/{order.id}").data.decode())
    assert "Delivery: Rongai" in page and "same day" in page and "300.00" in page
    assert "Tuskys" not in page and "0712000009" not in page and "254712000009" not in page
    client.post("/app/logout", data={"csrf_token": token})
    web_login(client, "owner@duka.example")
    page = html.unescape(client.get(f"/app/orders/{order.id}").data.decode())
    assert "Rongai, karibu na Tuskys" in page and "+254712000009" in page
    assert "2,100.00" in page or "2100.00" in page  # 1,800 goods + 300 fee
