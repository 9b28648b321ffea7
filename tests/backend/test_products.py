"""GET /v1/products and /v1/products/<id>: tenant-scoped, paginated, filtered, two logins."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text

from backend.wiring import Context
from backend.domain.money import Money
from backend.services.platform.auth import revoke_api_key
from backend.services.catalog.listing import NewProduct, NewVariant, add_products
from tests.backend.conftest import (
    OTHER_ID,
    OTHER_KEY,
    TENANT_ID,
    TENANT_KEY,
    merchant_headers,
    service_headers,
)


def kes(amount: str) -> Money:
    return Money.from_major(amount, "KES")


CATALOG = [
    NewProduct("Canvas Sneakers", "White low-top sneakers", "shoes", [
        NewVariant("SNK-40", kes("1800"), 3, {"size": "40", "colour": "white"}),
        NewVariant("SNK-42", kes("1950"), 0, {"size": "42", "colour": "white"}),
    ]),
    NewProduct("Kitenge Shirt", "Bright KITENGE print", "clothing", [
        NewVariant("KTG-M", kes("2500"), 2, {"size": "M"}),
    ]),
    NewProduct("Sold-out Boots", "Leather boots", "shoes", [
        NewVariant("BT-43", kes("4800"), 0, {"size": "43"}),
    ]),
    NewProduct("Beaded Bracelet", "Maasai beads 100% handmade", "accessories", [
        NewVariant("BRC-1", kes("400"), 9, {}),
    ]),
    NewProduct("Mtumba Denim", "Grade A second-hand jeans", "clothing", [
        NewVariant("MTB-32", kes("1200"), 1, {"size": "32"}),
        NewVariant("MTB-34", kes("1100.50"), 1, {"size": "34"}),
    ]),
]  # fmt: skip
OTHER_CATALOG = [
    NewProduct("Other Shop Sneakers", "Not yours", "shoes", [NewVariant("SNK-40", kes("999"), 5)]),
]


@pytest.fixture
def catalog(tenants: Context) -> Context:
    assert add_products(tenants, TENANT_ID, CATALOG) == len(CATALOG)
    assert add_products(tenants, OTHER_ID, OTHER_CATALOG) == 1  # same SKU, other tenant: fine
    return tenants


def titles(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [product["title"] for product in response.get_json()["results"]]


def test_list_is_the_tenants_products_in_id_order(client, catalog) -> None:
    response = client.get("/v1/products", headers=service_headers(TENANT_ID))
    body = response.get_json()
    assert body["count"] == 5 and body["next"] is None and body["previous"] is None
    assert titles(response) == [p.title for p in CATALOG]
    ids = [p["id"] for p in body["results"]]
    assert ids == sorted(ids)


def test_product_shape_and_money_in_minor_units(client, catalog) -> None:
    denim = client.get("/v1/products", query_string={"q": "mtumba"}, headers=merchant_headers())
    [product] = denim.get_json()["results"]
    assert product["currency"] == "KES"
    assert (product["price_min_minor"], product["price_max_minor"]) == (110050, 120000)
    assert product["in_stock"] is True
    assert product["variants"][0] == {
        "id": product["variants"][0]["id"],
        "sku": "MTB-32",
        "price_minor": 120000,
        "currency": "KES",
        "stock": 1,
        "attributes": {"size": "32"},
        "active": True,  # customers' reads hold only active variants (migration 0031)
    }
    boots = client.get("/v1/products", query_string={"q": "boots"}, headers=merchant_headers())
    assert boots.get_json()["results"][0]["in_stock"] is False


def test_pagination_follows_next_and_previous(client, catalog) -> None:
    first = client.get("/v1/products", query_string={"page_size": 2}, headers=merchant_headers())
    body = first.get_json()
    assert body["count"] == 5 and len(body["results"]) == 2 and body["previous"] is None
    seen = [p["title"] for p in body["results"]]
    next_url = body["next"]
    while next_url:
        parts = urlsplit(next_url)
        assert parse_qs(parts.query)["page_size"] == ["2"]
        page = client.get(f"{parts.path}?{parts.query}", headers=merchant_headers()).get_json()
        assert page["previous"] is not None
        seen += [p["title"] for p in page["results"]]
        next_url = page["next"]
    assert seen == [p.title for p in CATALOG]


def test_page_size_limits(client, catalog) -> None:
    too_big = client.get(
        "/v1/products", query_string={"page_size": 201}, headers=merchant_headers()
    )
    assert too_big.status_code == 422 and "page_size" in too_big.get_json()["errors"]
    zero = client.get("/v1/products", query_string={"page": 0}, headers=merchant_headers())
    assert zero.status_code == 422
    biggest = client.get(
        "/v1/products", query_string={"page_size": 200}, headers=merchant_headers()
    )
    assert biggest.status_code == 200


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "SNEAKERS"}, ["Canvas Sneakers"]),  # title, any case
        ({"q": "kitenge print"}, ["Kitenge Shirt"]),  # description
        ({"q": "ACCESS"}, ["Beaded Bracelet"]),  # category
        ({"q": "100%"}, ["Beaded Bracelet"]),  # LIKE wildcards are taken literally
        ({"q": "_"}, []),
        ({"category": "shoes"}, ["Canvas Sneakers", "Sold-out Boots"]),
        ({"category": "Clothing", "q": "denim"}, ["Mtumba Denim"]),
        ({"category": "hats"}, []),
        ({"in_stock": "true", "category": "shoes"}, ["Canvas Sneakers"]),
        ({"max_price": 190000}, ["Canvas Sneakers", "Beaded Bracelet", "Mtumba Denim"]),
        ({"max_price": 180000, "in_stock": "true", "q": "sneakers"}, ["Canvas Sneakers"]),
        # the only variant at or under KES 1,900 must also be the one in stock
        ({"max_price": 179999, "category": "shoes"}, []),
    ],
)
def test_filters(client, catalog, query: dict, expected: list[str]) -> None:
    response = client.get("/v1/products", query_string=query, headers=service_headers(TENANT_ID))
    assert titles(response) == expected
    assert response.get_json()["count"] == len(expected)


def test_a_negative_budget_is_422(client, catalog) -> None:
    response = client.get("/v1/products", query_string={"max_price": -1},
                          headers=service_headers(TENANT_ID))
    assert response.status_code == 422
    assert "max_price" in response.get_json()["errors"]


def test_detail_and_tenant_isolation(client, catalog: Context) -> None:
    listed = client.get("/v1/products", headers=merchant_headers()).get_json()["results"]
    detail = client.get(f"/v1/products/{listed[0]['id']}", headers=merchant_headers())
    assert detail.status_code == 200 and detail.get_json() == listed[0]
    with catalog.db.engine.connect() as connection:
        theirs = connection.execute(
            text("SELECT id FROM products WHERE tenant_id = :t"), {"t": OTHER_ID}
        ).scalar_one()
    assert client.get(f"/v1/products/{theirs}", headers=merchant_headers()).status_code == 404
    assert (
        client.get(f"/v1/products/{theirs}", headers=service_headers(TENANT_ID)).status_code == 404
    )
    own = client.get(f"/v1/products/{theirs}", headers=merchant_headers(OTHER_ID, OTHER_KEY))
    assert own.status_code == 200 and own.get_json()["title"] == "Other Shop Sneakers"
    assert client.get("/v1/products/999999", headers=merchant_headers()).status_code == 404
    other_list = client.get("/v1/products", headers=merchant_headers(OTHER_ID, OTHER_KEY))
    assert titles(other_list) == ["Other Shop Sneakers"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-TENANT-ID": TENANT_ID},
        {"X-TENANT-ID": TENANT_ID, "X-TENANT-API-KEY": "wrong-key-wrong-key"},
        {"X-TENANT-ID": OTHER_ID, "X-TENANT-API-KEY": TENANT_KEY},  # a key of another tenant
        {"X-TENANT-ID": "nobody", "X-TENANT-API-KEY": TENANT_KEY},
        {"Authorization": "Bearer wrong", "X-TENANT-ID": TENANT_ID},
        {"X-TENANT-API-KEY": TENANT_KEY},
    ],
)
def test_bad_credentials_are_401(client, catalog, headers: dict[str, str]) -> None:
    response = client.get("/v1/products", headers=headers)
    assert response.status_code == 401
    assert set(response.get_json()) == {"code", "message", "description"}


def test_service_token_needs_a_known_tenant(client, catalog) -> None:
    missing = client.get("/v1/products", headers=service_headers())
    assert missing.status_code == 401 and "X-TENANT-ID" in missing.get_json()["description"]
    unknown = client.get("/v1/products", headers=service_headers("nobody"))
    assert unknown.status_code == 404


def test_a_revoked_key_stops_working(client, catalog: Context) -> None:
    assert client.get("/v1/products", headers=merchant_headers()).status_code == 200
    revoke_api_key(catalog, TENANT_ID, TENANT_KEY)
    assert client.get("/v1/products", headers=merchant_headers()).status_code == 401


def test_inactive_products_are_hidden(client, catalog: Context) -> None:
    with catalog.db.engine.begin() as connection:
        connection.execute(
            text("UPDATE products SET active = :no WHERE title = 'Kitenge Shirt'"), {"no": False}
        )
    listed = client.get("/v1/products", headers=merchant_headers())
    assert "Kitenge Shirt" not in titles(listed) and listed.get_json()["count"] == 4
