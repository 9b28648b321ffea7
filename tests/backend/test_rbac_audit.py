"""The audit log: services record important changes with masked before/after, other writes get
a generic record, reads none; GET /v1/audit-logs filters and pages, and needs analytics:read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from backend.domain.permissions import BUILT_IN_ROLES
from backend.services.platform.audit import masked
from backend.wiring import Context
from tests.backend.conftest import merchant_headers
from tests.backend.test_rbac_keys import PHONE, add_product, fund_wallet, key_headers


def logs(client: Any, **query: Any) -> dict[str, Any]:
    response = client.get("/v1/audit-logs", headers=merchant_headers(), query_string=query)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_changes_are_recorded_with_before_after_actor_and_request(client: Any,
                                                                  tenants: Context) -> None:
    product = add_product(client)
    changed = client.patch(f"/v1/products/{product['id']}", json={"title": "Boots"},
                           headers={**merchant_headers(), "X-Request-ID": "req-audit-1"},
                           environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert changed.status_code == 200
    client.get("/v1/products", headers=merchant_headers())  # a read: not recorded
    page = logs(client, target_type="product", target_id=str(product["id"]))
    assert [r["action"] for r in page["results"]] == ["product.update", "product.create"]
    update = page["results"][0]
    assert update["before"]["title"] == "Sneakers" and update["after"]["title"] == "Boots"
    assert update["actor"].startswith("api_key:")
    assert update["request_id"] == "req-audit-1" and update["ip"] == "10.1.2.3"
    assert update["route"] == "PATCH /v1/products/<int:product_id>"
    assert logs(client)["count"] == 2


def test_other_writes_get_a_generic_record(client: Any, tenants: Context) -> None:
    product = add_product(client)
    response = client.post(f"/v1/products/{product['id']}/variants", headers=merchant_headers(),
                           json={"sku": "SNK-2", "price_minor": 1000})
    assert response.status_code == 201
    client.post(f"/v1/products/{product['id']}/variants", headers=merchant_headers(),
                json={"sku": "SNK-2", "price_minor": 1000})  # 409: nothing changed, no record
    generic = logs(client, action="products.ProductVariants.post")["results"]
    assert len(generic) == 1
    assert generic[0]["status"] == 201 and generic[0]["target_type"] == "product"
    assert generic[0]["target_id"] == str(product["id"]) and generic[0]["before"] is None


def test_withdrawals_are_recorded_with_the_phone_masked(client: Any, tenants: Context) -> None:
    fund_wallet(tenants)
    made = client.post("/v1/wallet/withdrawals", headers=merchant_headers(),
                       json={"amount_minor": 100_000, "phone": PHONE})
    assert made.status_code == 201
    record = logs(client, action="withdrawal.request")["results"][0]
    assert record["after"]["phone"] == "+2547****149"
    assert PHONE not in str(record)


def test_filters_paging_and_scope(client: Any, tenants: Context) -> None:
    for number in range(3):
        client.post("/v1/products", headers=merchant_headers(), json={
            "title": f"P{number}", "category": "c",
            "variants": [{"sku": f"S{number}", "price_minor": 100}]})
    first = logs(client, page_size=2)
    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"]
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert logs(client, **{"from": later})["count"] == 0
    assert logs(client, to=later)["count"] == 3
    assert logs(client, actor="api_key:999")["count"] == 0
    viewer = key_headers(tenants, "viewer", BUILT_IN_ROLES["viewer"])
    assert client.get("/v1/audit-logs", headers=viewer).status_code == 403
    other = client.get("/v1/audit-logs", headers=merchant_headers(
        "other-shop", "other-shop-api-key-0002")).get_json()
    assert other["count"] == 0  # tenant-scoped


def test_personal_data_is_masked() -> None:
    value = masked({"profile_name": "Wanjiku", "email": "wanjiku@example.com",
                    "note": "call +254712345678", "auth_token": "s3cret", "title": "Shoes"})
    assert value == {"profile_name": "****", "email": "w****@example.com",
                     "note": "call +2547****678", "auth_token": "[redacted]", "title": "Shoes"}
