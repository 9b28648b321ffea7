"""Merchants' catalog edits (products, variants), tier limits, price range and fuzzy matching."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.backend.commerce_helpers import json_of, merchant, seed_catalog
from tests.backend.conftest import (
    OTHER_ID,
    OTHER_KEY,
    TENANT_ID,
    merchant_headers,
    service_headers,
)

SANDALS = {
    "title": "Maasai Sandals",
    "description": "Tyre-sole sandals with beadwork",
    "category": "shoes",
    "images": ["https://cdn.example.com/sandals.jpg"],
    "external_source": "woocommerce",
    "external_id": "wc-77",
    "variants": [
        {"sku": "SDL-RED-41", "price_minor": 90000, "stock": 4,
         "attributes": {"size": "41", "colour": "red"}},
        {"sku": "SDL-BLU-42", "price_minor": 95000, "stock": 0,
         "attributes": {"size": "42", "colour": "blue"}},
    ],
}


def test_product_crud_duplicates_and_isolation(client, tenants) -> None:
    made = json_of(client.post("/v1/products", json=SANDALS, headers=merchant()), 201)
    assert made["images"] == SANDALS["images"] and made["external_id"] == "wc-77"
    assert (made["price_min_minor"], made["price_max_minor"], made["in_stock"]) == \
        (90000, 95000, True)
    assert client.post("/v1/products", json=SANDALS, headers=merchant()).status_code == 409
    same_external = {**SANDALS, "variants": [{"sku": "NEW-1", "price_minor": 1}]}
    assert client.post("/v1/products", json=same_external, headers=merchant()).status_code == 409
    # The other tenant may use the same SKUs and external ids.
    json_of(client.post("/v1/products", json=SANDALS,
                        headers=merchant_headers(OTHER_ID, OTHER_KEY)), 201)
    for bad in ({**SANDALS, "variants": []},
                {**SANDALS, "title": ""},
                {**SANDALS, "variants": [{"sku": "X", "price_minor": -1}]},
                {**SANDALS, "variants": [{"sku": "X", "price_minor": 10.5}]},
                {**SANDALS, "images": ["not a url"]}):
        assert client.post("/v1/products", json=bad, headers=merchant()).status_code == 422
    pid = made["id"]
    hidden = json_of(client.patch(f"/v1/products/{pid}", json={"active": False,
                                                               "title": "Sandals"},
                                  headers=merchant()), 200)
    assert hidden["active"] is False and hidden["title"] == "Sandals"
    assert client.get(f"/v1/products/{pid}", headers=merchant()).status_code == 404
    assert json_of(client.get("/v1/products", query_string={"include_inactive": "true"},
                              headers=merchant()), 200)["count"] == 1
    assert client.patch(f"/v1/products/{pid}", json={"title": "x"},
                        headers=merchant_headers(OTHER_ID, OTHER_KEY)).status_code == 404
    assert client.patch("/v1/products/999999", json={"title": "x"},
                        headers=merchant()).status_code == 404
    assert client.delete(f"/v1/products/{pid}", headers=merchant()).status_code == 204
    assert client.delete(f"/v1/products/{pid}", headers=merchant()).status_code == 404


def test_variant_crud(client, tenants) -> None:
    made = json_of(client.post("/v1/products", json=SANDALS, headers=merchant()), 201)
    pid = made["id"]
    added = json_of(client.post(f"/v1/products/{pid}/variants", json={
        "sku": "SDL-BLK-43", "price_minor": 99000, "stock": 2, "attributes": {"colour": "black"}},
        headers=merchant()), 201)
    assert added["product_id"] == pid and added["currency"] == "KES"
    assert client.post(f"/v1/products/{pid}/variants", json={"sku": "SDL-BLK-43",
                                                             "price_minor": 1},
                       headers=merchant()).status_code == 409
    listed = json_of(client.get(f"/v1/products/{pid}/variants", headers=merchant()), 200)
    assert [v["sku"] for v in listed["results"]] == ["SDL-RED-41", "SDL-BLU-42", "SDL-BLK-43"]
    changed = json_of(client.patch(f"/v1/variants/{added['id']}", json={"stock": 9},
                                   headers=merchant()), 200)
    assert changed["stock"] == 9 and changed["price_minor"] == 99000
    assert client.patch(f"/v1/variants/{added['id']}", json={"sku": "SDL-RED-41"},
                        headers=merchant()).status_code == 409
    assert client.patch(f"/v1/variants/{added['id']}", json={"stock": -1},
                        headers=merchant()).status_code == 422
    assert client.get(f"/v1/variants/{added['id']}",
                      headers=merchant_headers(OTHER_ID, OTHER_KEY)).status_code == 404
    for variant in listed["results"][:2]:
        assert client.delete(f"/v1/variants/{variant['id']}", headers=merchant()
                             ).status_code == 204
    last = client.delete(f"/v1/variants/{added['id']}", headers=merchant())
    assert last.status_code == 409


def test_the_tiers_product_limit_is_a_clear_403(client, tenants) -> None:
    with tenants.db.engine.begin() as connection:
        for n in range(100):  # the starter tier's limit
            connection.execute(text(
                "INSERT INTO products (tenant_id, title, description, category, images, active, "
                "created_at) VALUES (:t, :title, '', 'bulk', '[]', :yes, CURRENT_TIMESTAMP)"),
                {"t": TENANT_ID, "title": f"Bulk {n}", "yes": True})
    over = client.post("/v1/products", json=SANDALS, headers=merchant())
    assert over.status_code == 403
    assert "starter tier allows 100 products" in over.get_json()["description"]
    with tenants.db.engine.begin() as connection:
        connection.execute(text("UPDATE tenants SET tier = 'growth' WHERE id = :t"),
                           {"t": TENANT_ID})
    assert client.post("/v1/products", json=SANDALS, headers=merchant()).status_code == 201


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"min_price": 450000}, ["Leather Chelsea Boots"]),
        ({"min_price": 200000, "max_price": 260000}, ["Kitenge Shirt"]),
        ({"min_price": 480001}, []),
        ({"q": "kariokor"}, ["Leather Chelsea Boots"]),
        ({"q": "white low"}, ["Canvas Sneakers"]),
    ],
)
def test_price_range_and_text(client, tenants, query, expected) -> None:
    seed_catalog(tenants)
    response = json_of(client.get("/v1/products", query_string=query, headers=merchant()), 200)
    assert [p["title"] for p in response["results"]] == expected


def test_fuzzy_matching_resolves_what_customers_write(client, tenants) -> None:
    skus = seed_catalog(tenants)

    def match(text_: str) -> list[dict]:
        return json_of(client.get("/v1/products/match", query_string={"text": text_},
                                  headers=service_headers(TENANT_ID)), 200)["results"]

    boots = match("the black boots")
    assert boots[0]["title"] == "Leather Chelsea Boots"
    assert boots[0]["variant_id"] == skus["BT-BLK-42"] and 0 < boots[0]["score"] <= 1
    assert match("brown chelsea boot")[0]["variant_id"] == skus["BT-BRN-42"]
    assert match("snekers")[0]["title"] == "Canvas Sneakers"  # a typo
    assert match("kitenge")[0]["title"] == "Kitenge Shirt"
    assert match("black") == []  # a colour alone names no product
    assert match("the") == []
    assert client.get("/v1/products/match", headers=merchant()).status_code == 422
