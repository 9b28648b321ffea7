"""Delivery through the API: settings and zones (scopes, bad input, another tenant's zone),
quotes, orders for pickup or delivery (the fee a line of the order and of the payment's ledger
split, the address encrypted, the last address remembered, the fallbacks), the assistant's
internal routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from backend.services.platform.api_keys import create_api_key
from backend.wiring import Context
from tests.backend.commerce_helpers import (
    OTHER_PHONE,
    PHONE,
    acting,
    json_of,
    merchant,
    seed_catalog,
    stock,
)
from tests.backend.conftest import OTHER_ID, OTHER_KEY, TENANT_ID, merchant_headers

SHOP = {"shop_latitude": -1.2864, "shop_longitude": 36.8172}
EAST = {"name": "Kasarani", "areas": ["Kasarani", "Roysambu"], "fee_minor": 25_000,
        "free_above_minor": 500_000, "expected_time": "2-3 hours"}
RING = {"name": "Near the shop", "radius_m": 3_000, "fee_minor": 10_000,
        "expected_time": "within the hour"}


@pytest.fixture
def skus(tenants: Context) -> dict[str, int]:
    seed_catalog(tenants, OTHER_ID)
    return seed_catalog(tenants)


def settings(client, fallback: str = "pickup_only", **extra: Any) -> dict[str, Any]:
    return json_of(client.patch("/v1/delivery/settings", headers=merchant(), json={
        "offers_pickup": True, "offers_delivery": True, "fallback": fallback, **SHOP, **extra}),
        200)


def zone(client, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    return json_of(client.post("/v1/delivery/zones", json=body,
                               headers=headers or merchant()), 201)


def order(client, skus, headers=None, **body: Any) -> Any:
    return client.post("/v1/orders", headers=headers or acting(), json={
        "items": [{"variant_id": skus["SNK-WHT-40"], "quantity": 1}], **body})


def test_zones_are_listed_changed_and_deleted_per_tenant(client, tenants) -> None:
    assert json_of(client.get("/v1/delivery/settings", headers=merchant()), 200) == {
        "offers_pickup": True, "offers_delivery": False, "shop_latitude": None,
        "shop_longitude": None, "fallback": "pickup_only"}
    settings(client)
    east = zone(client, {**EAST, "areas": [" Kasarani ", "kasarani", "Roysambu"]})
    assert east["areas"] == ["Kasarani", "Roysambu"] and east["position"] == 1
    ring = zone(client, RING)
    assert ring["radius_m"] == 3_000 and ring["areas"] == [] and ring["position"] == 2
    listed = json_of(client.get("/v1/delivery/zones", headers=merchant()), 200)["zones"]
    assert [z["name"] for z in listed] == ["Kasarani", "Near the shop"]
    changed = json_of(client.patch(f"/v1/delivery/zones/{east['id']}", headers=merchant(),
                                   json={"fee_minor": 30_000, "areas": ["Kasa", "Mwiki"]}), 200)
    assert changed["fee_minor"] == 30_000 and changed["areas"] == ["Kasa", "Mwiki"]
    other = merchant_headers(OTHER_ID, OTHER_KEY)
    # Another tenant's zone does not exist for this one.
    assert json_of(client.get("/v1/delivery/zones", headers=other), 200)["zones"] == []
    for call in (client.patch(f"/v1/delivery/zones/{east['id']}", headers=other,
                              json={"fee_minor": 1}),
                 client.delete(f"/v1/delivery/zones/{east['id']}", headers=other)):
        body = json_of(call, 404)
        assert body["code"] and body["message"] and "delivery zone" in body["description"]
    assert client.delete(f"/v1/delivery/zones/{east['id']}", headers=merchant()).status_code == 204
    assert [z["id"] for z in json_of(client.get("/v1/delivery/zones", headers=merchant()),
                                     200)["zones"]] == [ring["id"]]
    assert client.delete("/v1/delivery/zones/999999", headers=merchant()).status_code == 404


@pytest.mark.parametrize("body, field", [
    ({**EAST, "fee_minor": -1}, "fee_minor"),
    ({**EAST, "free_above_minor": -5}, "free_above_minor"),
    ({"name": "Nothing", "fee_minor": 100}, "areas"),
    ({"name": "Nothing", "areas": [], "fee_minor": 100}, "areas"),
    ({"name": "Words", "areas": ["karibu na", "estate"], "fee_minor": 100}, "areas"),
    ({**RING, "radius_m": 0}, "radius_m"),
])
def test_bad_zones_are_clear_422s(client, tenants, body, field) -> None:
    settings(client)
    answer = json_of(client.post("/v1/delivery/zones", json=body, headers=merchant()), 422)
    assert answer["code"] and answer["message"] and answer["description"]
    assert field in answer["errors"], answer


def test_a_radius_needs_the_shops_coordinates(client, tenants) -> None:
    answer = json_of(client.post("/v1/delivery/zones", json=RING, headers=merchant()), 422)
    assert "radius_m" in answer["errors"] and "latitude" in answer["description"]
    settings(client)
    zone(client, RING)
    # The coordinates cannot go while a zone uses them.
    cleared = client.patch("/v1/delivery/settings", headers=merchant(),
                           json={"shop_latitude": None, "shop_longitude": None})
    assert json_of(cleared, 422)["errors"]["shop_latitude"]
    half = client.patch("/v1/delivery/settings", headers=merchant(), json={"shop_latitude": 1.0,
                                                                          "shop_longitude": None})
    assert half.status_code == 422
    assert client.patch("/v1/delivery/settings", headers=merchant(), json={
        "offers_pickup": False, "offers_delivery": False}).status_code == 422
    assert client.patch("/v1/delivery/settings", headers=merchant(), json={
        "fallback": "shrug"}).status_code == 422


def test_scopes_read_and_write(client, tenants) -> None:
    reader = create_api_key(tenants, TENANT_ID, "reader", frozenset({"settings:read"})).raw_key
    headers = {"X-TENANT-ID": TENANT_ID, "X-TENANT-API-KEY": reader}
    assert client.get("/v1/delivery/zones", headers=headers).status_code == 200
    assert client.post("/v1/delivery/zones", json=EAST, headers=headers).status_code == 403
    assert client.patch("/v1/delivery/settings", json={"fallback": "call_customer"},
                        headers=headers).status_code == 403


def test_quotes_for_addresses_and_pins(client, tenants) -> None:
    settings(client)
    east = zone(client, EAST)
    ring = zone(client, RING)
    sheng = json_of(client.post("/v1/delivery/quote", headers=merchant(), json={
        "goods_minor": 180_000, "address": "karibu na stage ya Kasa"}), 200)
    assert sheng["zone"]["id"] == east["id"] and sheng["fee_minor"] == 25_000
    assert sheng["matched_area"] == "Kasarani" and sheng["expected_time"] == "2-3 hours"
    assert sheng["fallback"] is None and sheng["currency"] == "KES"
    free = json_of(client.post("/v1/delivery/quote", headers=merchant(), json={
        "goods_minor": 500_000, "address": "Roysambu"}), 200)
    assert free["fee_minor"] == 0 and free["free_delivery"] is True
    pin = json_of(client.post("/v1/delivery/quote", headers=merchant(), json={
        "goods_minor": 1, "latitude": -1.2800, "longitude": 36.8172}), 200)
    assert pin["zone"]["id"] == ring["id"] and 650 <= pin["distance_m"] <= 770
    outside = json_of(client.post("/v1/delivery/quote", headers=merchant(), json={
        "goods_minor": 1, "address": "Kitengela"}), 200)
    assert outside["zone"] is None and outside["fallback"] == "pickup_only"
    assert outside["fee_minor"] == 0
    for bad in ({"goods_minor": 1}, {"goods_minor": -1, "address": "Kasarani"},
                {"goods_minor": 1, "latitude": 91, "longitude": 0},
                {"goods_minor": 1, "latitude": 1.0}):
        assert client.post("/v1/delivery/quote", headers=merchant(), json=bad).status_code == 422


def test_a_delivery_order_has_the_fee_as_a_line_and_remembers_the_address(
        client, tenants, skus) -> None:
    settings(client)
    zone(client, EAST)
    placed = json_of(order(client, skus, fulfilment="delivery", delivery={
        "address": "Mtaa wa Roysambu, opposite Naivas", "recipient_phone": "0712 000 003"}), 201)
    assert placed["fulfilment"] == "delivery" and placed["total_minor"] == 180_000 + 25_000
    goods, fee = placed["lines"]
    assert goods["kind"] == "product" and fee["kind"] == "delivery"
    assert fee["variant_id"] is None and fee["sku"] == "DELIVERY"
    assert fee["line_total_minor"] == 25_000 and fee["title"] == "Delivery: Kasarani"
    assert placed["delivery"] == {
        "zone": "Kasarani", "expected_time": "2-3 hours", "needs_call": False,
        "fee_minor": 25_000, "address": "Mtaa wa Roysambu, opposite Naivas",
        "latitude": None, "longitude": None, "recipient_phone": "+254712000003"}
    assert stock(tenants, skus["SNK-WHT-40"]) == 4  # the fee line reserves nothing
    # Encrypted at rest, like phone numbers.
    with tenants.db.engine.connect() as connection:
        stored = connection.execute(text(
            "SELECT delivery_address_encrypted, recipient_phone_encrypted FROM orders "
            "WHERE id = :o"), {"o": placed["id"]}).one()
        remembered = connection.execute(text(
            "SELECT address_encrypted FROM customer_delivery_addresses")).scalar_one()
    assert "Roysambu" not in stored[0] and "254712000003" not in stored[1]
    assert "Roysambu" not in remembered
    # Next time: "same address as last time?"
    options = json_of(client.get("/internal/v1/delivery/options", headers=acting()), 200)
    assert options["offers_delivery"] and options["offers_pickup"]
    assert options["last_delivery"] == {
        "address": "Mtaa wa Roysambu, opposite Naivas", "latitude": None, "longitude": None,
        "recipient_phone": "+254712000003"}
    again = json_of(order(client, skus, fulfilment="delivery",
                          delivery={"same_as_last": True}), 201)
    assert again["delivery"]["zone"] == "Kasarani" and again["total_minor"] == 205_000
    assert again["delivery"]["recipient_phone"] == "+254712000003"
    # Another customer has no last address.
    other = json_of(client.get("/internal/v1/delivery/options",
                               headers=acting(phone=OTHER_PHONE)), 200)
    assert other["last_delivery"] is None
    none = order(client, skus, acting(phone=OTHER_PHONE), fulfilment="delivery",
                 delivery={"same_as_last": True})
    assert json_of(none, 422)["errors"]["same_as_last"]
    # Cancelling gives the goods' stock back; the fee line holds none.
    json_of(client.post(f"/v1/orders/{again['id']}/transitions", json={"to": "cancelled"},
                        headers=acting()), 200)
    assert stock(tenants, skus["SNK-WHT-40"]) == 4


def test_staff_without_customers_read_do_not_see_the_address(client, tenants, skus) -> None:
    settings(client)
    zone(client, EAST)
    placed = json_of(order(client, skus, fulfilment="delivery",
                           delivery={"address": "Kasarani"}), 201)
    clerk = create_api_key(tenants, TENANT_ID, "clerk", frozenset({"orders:read"})).raw_key
    seen = json_of(client.get(f"/v1/orders/{placed['id']}", headers={
        "X-TENANT-ID": TENANT_ID, "X-TENANT-API-KEY": clerk}), 200)
    assert seen["delivery"]["zone"] == "Kasarani" and seen["delivery"]["address"] is None
    assert json_of(client.get(f"/v1/orders/{placed['id']}", headers=merchant()),
                   200)["delivery"]["address"] == "Kasarani"
    writer = create_api_key(tenants, TENANT_ID, "writer", frozenset({"orders:write"})).raw_key
    cancelled = json_of(client.post(f"/v1/orders/{placed['id']}/transitions",
                                    json={"to": "cancelled"},
                                    headers={"X-TENANT-ID": TENANT_ID,
                                             "X-TENANT-API-KEY": writer}), 200)
    assert cancelled["delivery"]["zone"] == "Kasarani"
    assert cancelled["delivery"]["address"] is None


def test_outside_every_zone_pickup_only_refuses_and_call_customer_flags(
        client, tenants, skus) -> None:
    settings(client)
    zone(client, EAST)
    refused = json_of(order(client, skus, fulfilment="delivery",
                            delivery={"address": "Kitengela"}), 422)
    assert refused["code"] and "pickup" in refused["description"]
    assert stock(tenants, skus["SNK-WHT-40"]) == 5  # nothing reserved
    settings(client, fallback="call_customer")
    taken = json_of(order(client, skus, fulfilment="delivery",
                          delivery={"address": "Kitengela"}), 201)
    assert taken["total_minor"] == 180_000 and [l["kind"] for l in taken["lines"]] == ["product"]
    assert taken["delivery"]["needs_call"] is True and taken["delivery"]["zone"] is None
    assert taken["delivery"]["fee_minor"] == 0


def test_pickup_and_what_the_shop_offers(client, tenants, skus) -> None:
    # Default settings: pickup only.
    assert json_of(order(client, skus, fulfilment="delivery",
                         delivery={"address": "Kasarani"}), 422)["errors"]["fulfilment"]
    picked = json_of(order(client, skus, fulfilment="pickup"), 201)
    assert picked["fulfilment"] == "pickup" and picked["delivery"] is None
    assert picked["total_minor"] == 180_000
    settings(client, offers_pickup=False)
    assert order(client, skus, fulfilment="pickup").status_code == 422
    assert order(client, skus, fulfilment="pickup",
                 delivery={"address": "x"}).status_code == 422
    assert order(client, skus, delivery={"address": "x"}).status_code == 422
    assert order(client, skus, fulfilment="delivery").status_code == 422
    assert order(client, skus, fulfilment="boat").status_code == 422
    # Orders without a fulfilment choice are as before.
    assert json_of(order(client, skus), 201)["fulfilment"] is None


def test_a_pin_order_and_the_internal_quote(client, tenants, skus) -> None:
    settings(client)
    ring = zone(client, RING)
    client.post("/v1/carts/current/items", json={"variant_id": skus["SNK-WHT-40"],
                                                 "quantity": 2}, headers=acting())
    quoted = json_of(client.post("/internal/v1/delivery/quote", headers=acting(), json={
        "latitude": -1.2800, "longitude": 36.8172}), 200)
    assert quoted["goods_minor"] == 360_000 and quoted["zone"]["id"] == ring["id"]
    placed = json_of(client.post("/v1/orders", headers=acting(), json={
        "fulfilment": "delivery", "delivery": {"latitude": -1.2800, "longitude": 36.8172}}), 201)
    assert placed["total_minor"] == 360_000 + 10_000
    assert placed["delivery"]["latitude"] == pytest.approx(-1.28)
    last = json_of(client.post("/internal/v1/delivery/quote", headers=acting(), json={
        "same_as_last": True, "goods_minor": 5}), 200)
    assert last["zone"]["id"] == ring["id"] and last["goods_minor"] == 5
    assert json_of(client.post("/internal/v1/delivery/quote", headers=acting(phone=OTHER_PHONE),
                               json={"same_as_last": True}), 422)["errors"]["same_as_last"]
    # The internal routes are the service's, acting for a customer.
    assert client.get("/internal/v1/delivery/options", headers=merchant()).status_code in (401,
                                                                                          403)


@pytest.fixture
def shop(live_server) -> Iterator[tuple[Any, Context]]:
    """A live backend paying through the simulators (as tests/backend/test_payments.py)."""
    from tests.backend.conftest import (
        OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, TENANT_KEY, TENANT_NUMBER, TENANT_SID,
        TENANT_TOKEN, add_tenant)
    from tests.backend.payment_helpers import FakeRasa, configure_payments, settle_jobs

    rasa = FakeRasa()
    server = live_server(rasa_url=rasa.url, rasa_token="rasa-secret")
    ctx: Context = server.app.extensions["backend"]
    ctx.jobs._intervals = (0.05, 0.05, 0.05)  # type: ignore[attr-defined]  # quick retries
    add_tenant(ctx, TENANT_ID, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, TENANT_KEY)
    add_tenant(ctx, OTHER_ID, OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, OTHER_KEY)
    configure_payments(ctx)
    try:
        yield server.app.test_client(), ctx
        settle_jobs(ctx)
    finally:
        rasa.close()


def test_the_fee_is_paid_with_the_goods_and_split_in_the_ledger(shop) -> None:
    from tests.backend.payment_helpers import wait_for

    client, ctx = shop
    skus = seed_catalog(ctx)
    settings(client)
    zone(client, EAST)
    client.post("/internal/v1/messages/inbound", headers={
        "Authorization": acting()["Authorization"]}, json={
        "tenant_id": TENANT_ID, "from": PHONE, "message_sid": "SM" + "d" * 32,
        "body": "nataka delivery Kasarani"})
    placed = json_of(order(client, skus, fulfilment="delivery",
                           delivery={"address": "Kasarani"}), 201)
    assert placed["total_minor"] == 205_000
    payment = json_of(client.post(f"/v1/orders/{placed['id']}/payments", headers=acting(),
                                  json={"method": "mpesa_stk"}), 201)
    assert payment["amount_minor"] == 205_000

    def final() -> dict[str, Any] | None:
        body = client.get(f"/v1/payments/{payment['id']}", headers=acting()).get_json()
        return body if body["status"] in ("succeeded", "failed", "expired") else None

    assert wait_for(final)["status"] == "succeeded"
    wallet = json_of(client.get("/v1/wallet", headers=merchant_headers()), 200)
    # starter tier: 3 % of goods and fee together, half up; the legs add up to what was paid.
    assert wallet["fees_minor"] == 6_150 and wallet["credited_minor"] == 205_000 - 6_150
