"""Carts and orders: prices from the catalog, stock reserved and released, the status machine,
Idempotency-Key, the assistant's own-customer access, and expiry of unpaid orders."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from backend.wiring import Context
from backend.services.orders.orders import expire_unpaid
from tests.backend.commerce_helpers import (
    OTHER_PHONE,
    PHONE,
    acting,
    customer,
    json_of,
    merchant,
    seed_catalog,
    stock,
)
from tests.backend.conftest import OTHER_ID, OTHER_KEY, merchant_headers


@pytest.fixture
def skus(tenants: Context) -> dict[str, int]:
    seed_catalog(tenants, OTHER_ID)
    return seed_catalog(tenants)


def test_cart_add_update_remove_with_stock_checks(client, tenants, skus) -> None:
    empty = json_of(client.get("/v1/carts/current", headers=acting()), 200)
    assert empty["items"] == [] and empty["total_minor"] == 0
    boots = skus["BT-BLK-42"]
    cart = json_of(client.post("/v1/carts/current/items", json={"variant_id": boots, "quantity": 2},
                               headers=acting()), 201)
    assert cart["id"] == empty["id"] and cart["total_minor"] == 2 * 480000
    again = json_of(client.post("/v1/carts/current/items", json={"variant_id": boots},
                                headers=acting()), 201)
    [item] = again["items"]
    assert item["quantity"] == 3 and item["line_total_minor"] == 1440000
    too_many = client.post("/v1/carts/current/items", json={"variant_id": boots},
                           headers=acting())
    assert too_many.status_code == 409 and "in stock" in too_many.get_json()["description"]
    shirt = json_of(client.post("/v1/carts/current/items",
                                json={"variant_id": skus["KTG-M"], "quantity": 1},
                                headers=acting()), 201)
    assert shirt["total_minor"] == 1440000 + 250050
    updated = json_of(client.patch(f"/v1/carts/current/items/{item['id']}", json={"quantity": 1},
                                   headers=acting()), 200)
    assert updated["total_minor"] == 480000 + 250050
    assert client.patch(f"/v1/carts/current/items/{item['id']}", json={"quantity": 4},
                        headers=acting()).status_code == 409
    assert client.patch(f"/v1/carts/current/items/{item['id']}", json={"quantity": 0},
                        headers=acting()).status_code == 422
    # Another customer cannot touch this cart's items.
    assert client.delete(f"/v1/carts/current/items/{item['id']}",
                         headers=acting(phone=OTHER_PHONE)).status_code == 404
    removed = json_of(client.delete(f"/v1/carts/current/items/{item['id']}", headers=acting()), 200)
    assert [i["sku"] for i in removed["items"]] == ["KTG-M"]
    assert stock(tenants, boots) == 3  # a cart reserves nothing


def test_cart_refuses_other_tenants_variants_and_merchants_see_carts(client, tenants, skus) -> None:
    with tenants.db.engine.connect() as connection:
        theirs = connection.execute(text(
            "SELECT id FROM product_variants WHERE tenant_id = :t LIMIT 1"), {"t": OTHER_ID}
        ).scalar_one()
    assert client.post("/v1/carts/current/items", json={"variant_id": theirs},
                       headers=acting()).status_code == 404
    # Merchants have no "current" cart: that needs the service token and a customer.
    assert client.get("/v1/carts/current", headers=merchant()).status_code == 403
    json_of(client.post("/v1/carts/current/items", json={"variant_id": skus["KTG-M"]},
                        headers=acting()), 201)
    listed = json_of(client.get("/v1/carts", headers=merchant()), 200)
    assert listed["count"] == 1 and listed["results"][0]["customer_id"] == customer(tenants)
    cart_id = listed["results"][0]["id"]
    assert json_of(client.get(f"/v1/carts/{cart_id}", headers=merchant()), 200)["total_minor"] \
        == 250050
    assert client.get(f"/v1/carts/{cart_id}",
                      headers=merchant_headers(OTHER_ID, OTHER_KEY)).status_code == 404
    assert json_of(client.get("/v1/carts", query_string={"customer_id": 999999},
                              headers=merchant()), 200)["count"] == 0


def test_assistant_orders_the_cart_at_todays_prices(client, tenants, skus) -> None:
    boots = skus["BT-BLK-42"]
    json_of(client.post("/v1/carts/current/items", json={"variant_id": boots, "quantity": 2},
                        headers=acting()), 201)
    # The merchant changes the price after the item went into the cart: the order uses it.
    json_of(client.patch(f"/v1/variants/{boots}", json={"price_minor": 500000},
                         headers=merchant()), 200)
    order = json_of(client.post("/v1/orders", json={"total_minor": 1}, headers=acting()), 422)
    order = json_of(client.post("/v1/orders", json={}, headers=acting()), 201)
    assert order["status"] == "pending_payment" and order["total_minor"] == 1000000
    assert order["lines"][0]["unit_price_minor"] == 500000 and order["placed_at"]
    assert stock(tenants, boots) == 1
    assert json_of(client.get("/v1/carts/current", headers=acting()), 200)["items"] == []
    assert client.post("/v1/orders", json={}, headers=acting()).status_code == 409  # empty cart


def test_merchant_order_status_machine_and_stock(client, tenants, skus) -> None:
    buyer = customer(tenants)
    shirt, boots = skus["KTG-M"], skus["BT-BRN-42"]
    body = {"customer_id": buyer, "items": [{"variant_id": shirt, "quantity": 1},
                                            {"variant_id": boots, "quantity": 2}]}
    order = json_of(client.post("/v1/orders", json=body, headers=merchant()), 201)
    assert order["total_minor"] == 250050 + 2 * 450000
    assert (stock(tenants, shirt), stock(tenants, boots)) == (0, 0)
    short = client.post("/v1/orders", json=body, headers=merchant())
    assert short.status_code == 409 and stock(tenants, shirt) == 0

    def move(to: str, status: int = 200) -> dict:
        return json_of(client.post(f"/v1/orders/{order['id']}/transitions", json={"to": to},
                                   headers=merchant()), status)

    assert "allowed: cancelled, paid" in move("delivered", 409)["description"]
    assert move("paid")["status"] == "paid"
    move("cancelled", 409)
    assert move("fulfilled")["status"] == "fulfilled"
    assert move("delivered")["status"] == "delivered"
    move("refunded", 409)
    assert (stock(tenants, shirt), stock(tenants, boots)) == (0, 0)
    move("nonsense", 422)


def test_cancel_and_refund_release_stock_and_drafts_reserve_late(client, tenants, skus) -> None:
    buyer = customer(tenants)
    sneakers = skus["SNK-WHT-40"]
    body = {"customer_id": buyer, "items": [{"variant_id": sneakers, "quantity": 2}]}
    first = json_of(client.post("/v1/orders", json=body, headers=merchant()), 201)
    assert stock(tenants, sneakers) == 3
    json_of(client.post(f"/v1/orders/{first['id']}/transitions", json={"to": "cancelled"},
                        headers=merchant()), 200)
    assert stock(tenants, sneakers) == 5
    draft = json_of(client.post("/v1/orders", json={**body, "draft": True},
                                headers=merchant()), 201)
    assert draft["status"] == "draft" and draft["placed_at"] is None
    assert stock(tenants, sneakers) == 5
    json_of(client.post(f"/v1/orders/{draft['id']}/transitions", json={"to": "pending_payment"},
                        headers=merchant()), 200)
    assert stock(tenants, sneakers) == 3
    json_of(client.post(f"/v1/orders/{draft['id']}/transitions", json={"to": "paid"},
                        headers=merchant()), 200)
    refunded = json_of(client.post(f"/v1/orders/{draft['id']}/transitions",
                                   json={"to": "refunded"}, headers=merchant()), 200)
    assert refunded["status"] == "refunded" and stock(tenants, sneakers) == 5


def test_a_shipped_order_returned_undelivered_puts_its_stock_back(client, tenants, skus) -> None:
    buyer = customer(tenants)
    sneakers = skus["SNK-WHT-40"]
    body = {"customer_id": buyer, "items": [{"variant_id": sneakers, "quantity": 2}]}
    order = json_of(client.post("/v1/orders", json=body, headers=merchant()), 201)

    def move(to: str, expected: int = 200) -> dict:
        return json_of(client.post(f"/v1/orders/{order['id']}/transitions", json={"to": to},
                                   headers=merchant()), expected)

    move("returned", 409)  # not shipped yet
    move("paid")
    move("fulfilled")
    assert stock(tenants, sneakers) == 3
    assert move("returned")["status"] == "returned"
    assert stock(tenants, sneakers) == 5  # the goods are back on the shelf
    move("delivered", 409)
    assert move("refunded")["status"] == "refunded" and stock(tenants, sneakers) == 5


def test_order_validation_and_unknown_references(client, tenants, skus) -> None:
    buyer = customer(tenants)
    assert client.post("/v1/orders", json={"items": [{"variant_id": skus["KTG-M"],
                                                      "quantity": 1}]},
                       headers=merchant()).status_code == 422  # no customer
    assert client.post("/v1/orders", json={"customer_id": buyer}, headers=merchant()
                       ).status_code == 400  # no items
    assert client.post("/v1/orders", json={"customer_id": buyer, "items": [
        {"variant_id": skus["KTG-M"], "quantity": 0}]}, headers=merchant()).status_code == 422
    assert client.post("/v1/orders", json={"customer_id": 999999, "items": [
        {"variant_id": skus["KTG-M"], "quantity": 1}]}, headers=merchant()).status_code == 404
    assert client.post("/v1/orders", json={"customer_id": buyer, "items": [
        {"variant_id": 999999, "quantity": 1}]}, headers=merchant()).status_code == 404
    assert client.get("/v1/orders/999999", headers=merchant()).status_code == 404
    assert client.post("/v1/orders/999999/transitions", json={"to": "paid"},
                       headers=merchant()).status_code == 404


def test_listing_filters_and_the_assistants_own_orders(client, tenants, skus) -> None:
    mine, theirs = customer(tenants, PHONE), customer(tenants, OTHER_PHONE)
    ids = []
    for buyer in (mine, theirs, mine):
        body = {"customer_id": buyer, "items": [{"variant_id": skus["SNK-WHT-40"],
                                                 "quantity": 1}]}
        ids.append(json_of(client.post("/v1/orders", json=body, headers=merchant()), 201)["id"])
    json_of(client.post(f"/v1/orders/{ids[2]}/transitions", json={"to": "paid"},
                        headers=merchant()), 200)
    every = json_of(client.get("/v1/orders", headers=merchant()), 200)
    assert [o["id"] for o in every["results"]] == ids[::-1]
    paid = json_of(client.get("/v1/orders", query_string={"status": "paid"},
                              headers=merchant()), 200)
    assert [o["id"] for o in paid["results"]] == [ids[2]]
    by_customer = json_of(client.get("/v1/orders", query_string={"customer_id": theirs},
                                     headers=merchant()), 200)
    assert [o["id"] for o in by_customer["results"]] == [ids[1]]
    page = json_of(client.get("/v1/orders", query_string={"page_size": 2}, headers=merchant()),
                   200)
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    own = json_of(client.get("/v1/orders", query_string={"mine": "true"}, headers=acting()), 200)
    assert sorted(o["id"] for o in own["results"]) == [ids[0], ids[2]]
    assert client.get("/v1/orders", query_string={"mine": "true"},
                      headers=merchant()).status_code == 400
    assert client.get(f"/v1/orders/{ids[1]}", headers=acting()).status_code == 404
    assert json_of(client.get(f"/v1/orders/{ids[0]}", headers=acting()), 200)["id"] == ids[0]
    # The assistant can cancel its customer's order, but never mark one paid.
    assert client.post(f"/v1/orders/{ids[0]}/transitions", json={"to": "paid"},
                       headers=acting()).status_code == 400
    assert client.post(f"/v1/orders/{ids[1]}/transitions", json={"to": "cancelled"},
                       headers=acting()).status_code == 404
    assert json_of(client.post(f"/v1/orders/{ids[0]}/transitions", json={"to": "cancelled"},
                               headers=acting()), 200)["status"] == "cancelled"
    assert client.get(f"/v1/orders/{ids[0]}",
                      headers=merchant_headers(OTHER_ID, OTHER_KEY)).status_code == 404


def test_idempotency_key_on_orders(client, tenants, skus) -> None:
    buyer = customer(tenants)
    body = {"customer_id": buyer, "items": [{"variant_id": skus["SNK-WHT-40"], "quantity": 1}]}
    headers = merchant(**{"Idempotency-Key": "order-abc-1"})
    first = client.post("/v1/orders", json=body, headers=headers)
    again = client.post("/v1/orders", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.headers["Idempotent-Replayed"] == "false"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert stock(tenants, skus["SNK-WHT-40"]) == 4  # reserved once
    other_body = {**body, "items": [{"variant_id": skus["SNK-WHT-40"], "quantity": 2}]}
    reused = client.post("/v1/orders", json=other_body, headers=headers)
    assert reused.status_code == 422 and "Idempotency-Key" in reused.get_json()["description"]
    # Keys belong to a tenant: the other tenant may use the same key for its own order.
    other_buyer = customer(tenants, tenant_id=OTHER_ID)
    with tenants.db.engine.connect() as connection:
        other_variant = connection.execute(text(
            "SELECT id FROM product_variants WHERE tenant_id = :t AND sku = 'KTG-M'"),
            {"t": OTHER_ID}).scalar_one()
    their = client.post("/v1/orders", json={"customer_id": other_buyer, "items": [
        {"variant_id": other_variant, "quantity": 1}]},
        headers={**merchant_headers(OTHER_ID, OTHER_KEY), "Idempotency-Key": "order-abc-1"})
    assert their.status_code == 201 and their.get_json()["id"] != first.get_json()["id"]
    # A failed attempt stores no key: after the stock is there, the same key works.
    no_stock = {"customer_id": buyer, "items": [{"variant_id": skus["KTG-M"], "quantity": 5}]}
    key = merchant(**{"Idempotency-Key": "retry-me"})
    assert client.post("/v1/orders", json=no_stock, headers=key).status_code == 409
    json_of(client.patch(f"/v1/variants/{skus['KTG-M']}", json={"stock": 5}, headers=merchant()),
            200)
    assert client.post("/v1/orders", json=no_stock, headers=key).status_code == 201


def test_unpaid_orders_expire_and_release_stock(client, tenants, skus) -> None:
    buyer = customer(tenants)
    sneakers = skus["SNK-WHT-40"]
    body = {"customer_id": buyer, "items": [{"variant_id": sneakers, "quantity": 2}]}
    old = json_of(client.post("/v1/orders", json=body, headers=merchant()), 201)
    paid = json_of(client.post("/v1/orders", json=body, headers=merchant()), 201)
    json_of(client.post(f"/v1/orders/{paid['id']}/transitions", json={"to": "paid"},
                        headers=merchant()), 200)
    fresh = json_of(client.post("/v1/orders", json={**body, "items": [
        {"variant_id": sneakers, "quantity": 1}]}, headers=merchant()), 201)
    assert stock(tenants, sneakers) == 0
    with tenants.db.engine.begin() as connection:
        connection.execute(text("UPDATE orders SET placed_at = :t WHERE id IN (:a, :b)"),
                           {"t": "2020-01-01 00:00:00+00:00", "a": old["id"], "b": paid["id"]})
    assert expire_unpaid(tenants, timedelta(minutes=30)) == [old["id"]]
    expired = json_of(client.get(f"/v1/orders/{old['id']}", headers=merchant()), 200)
    assert expired["status"] == "cancelled" and "payment" in expired["cancel_reason"]
    assert stock(tenants, sneakers) == 2
    assert json_of(client.get(f"/v1/orders/{fresh['id']}", headers=merchant()), 200)["status"] \
        == "pending_payment"
    assert expire_unpaid(tenants, timedelta(minutes=30)) == []


def test_expiry_job_uses_the_configured_timeout(make_app, tenants) -> None:
    from backend.queueing.runner import bound_context
    from backend.jobs.orders import check_every_minutes, expire_unpaid_orders

    with bound_context(tenants):
        assert expire_unpaid_orders() == {"expired": 0}
    assert check_every_minutes(30) == 5 and check_every_minutes(3) == 1
