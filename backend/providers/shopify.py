"""Shopify Admin API client, GraphQL (`/admin/api/<version>/graphql.json`, header
`X-Shopify-Access-Token`); the REST Admin API is legacy, so products and their variants are
read with GraphQL cursors: `products(first:, after:, query:)` → `pageInfo{hasNextPage
endCursor}`, a product's further variants with `product.variants(after:)`.

Rate limits: GraphQL is limited by query cost (a leaky bucket of points per shop). Every answer
reports `extensions.cost.throttleStatus` {maximumAvailable, currentlyAvailable, restoreRate}:
before a query the client waits until the bucket holds its expected cost, and a `THROTTLED`
error waits (cost − available) / restoreRate then repeats the query. An HTTP 429 waits its
Retry-After (store_http). Changes since a time: `query: "updated_at:>'<ISO time>'"`.

Webhooks are signed `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(raw body, the app's client
secret)); topics PRODUCTS_CREATE, PRODUCTS_UPDATE, PRODUCTS_DELETE."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from backend.providers.store_http import (
    StoreError,
    StoreHttp,
    StoreInfo,
    StoreProduct,
    StoreVariant,
)

API_VERSION = "2024-10"
SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
WEBHOOK_TOPICS = ("PRODUCTS_CREATE", "PRODUCTS_UPDATE", "PRODUCTS_DELETE")
# 40 products of up to 20 variants: a requested cost of 882, under the 1,000 single-query cap.
PRODUCTS_PER_PAGE = 40
VARIANTS_PER_PRODUCT = 20
MAX_THROTTLED = 20

VARIANT_FIELDS = "id legacyResourceId sku price inventoryQuantity selectedOptions { name value }"
PRODUCT_FIELDS = (
    "id legacyResourceId title description productType status updatedAt "
    "images(first: 5) { nodes { url } } "
    f"variants(first: {VARIANTS_PER_PRODUCT}) {{ pageInfo {{ hasNextPage endCursor }} "
    f"nodes {{ {VARIANT_FIELDS} }} }}")
PRODUCTS_QUERY = (
    "query Products($first: Int!, $after: String, $query: String) { "
    "products(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) { "
    f"pageInfo {{ hasNextPage endCursor }} nodes {{ {PRODUCT_FIELDS} }} }} }}")
PRODUCT_QUERY = f"query Product($id: ID!) {{ product(id: $id) {{ {PRODUCT_FIELDS} }} }}"
VARIANTS_QUERY = (
    "query ProductVariants($id: ID!, $after: String) { product(id: $id) { "
    f"variants(first: 100, after: $after) {{ pageInfo {{ hasNextPage endCursor }} "
    f"nodes {{ {VARIANT_FIELDS} }} }} }} }}")
SHOP_QUERY = "query Shop { shop { name currencyCode } productsCount { count } }"
WEBHOOKS_QUERY = ("query Webhooks { webhookSubscriptions(first: 50) { nodes { topic "
                  "endpoint { ... on WebhookHttpEndpoint { callbackUrl } } } } }")
WEBHOOK_CREATE = (
    "mutation WebhookCreate($topic: WebhookSubscriptionTopic!, $url: URL!) { "
    "webhookSubscriptionCreate(topic: $topic, webhookSubscription: "
    "{ callbackUrl: $url, format: JSON }) { webhookSubscription { id } "
    "userErrors { field message } } }")
INVENTORY_QUERY = ("query VariantInventory($id: ID!) { productVariant(id: $id) { inventoryItem { "
                   "id inventoryLevels(first: 1) { nodes { location { id } } } } } }")
INVENTORY_ADJUST = (
    "mutation InventoryAdjust($input: InventoryAdjustQuantitiesInput!) { "
    "inventoryAdjustQuantities(input: $input) { userErrors { field message } } }")
INVENTORY_SET = (
    "mutation InventorySet($input: InventorySetQuantitiesInput!) { "
    "inventorySetQuantities(input: $input) { userErrors { field message } } }")


def signature(secret: str, raw_body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()).decode()


def valid_signature(secret: str, raw_body: bytes, header: str | None) -> bool:
    return bool(secret and header) and hmac.compare_digest(signature(secret, raw_body),
                                                           header or "")


def gid(kind: str, legacy_id: str) -> str:
    return f"gid://shopify/{kind}/{legacy_id}"


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def _variant(node: dict[str, Any]) -> StoreVariant:
    stock = node.get("inventoryQuantity")
    price = node.get("price")
    return StoreVariant(
        external_id=str(node["legacyResourceId"]),
        sku=str(node.get("sku") or f"shopify-{node['legacyResourceId']}"),
        price=str(price) if price not in (None, "") else None,
        stock=None if stock is None else int(stock),
        attributes={str(o["name"]): str(o["value"]) for o in node.get("selectedOptions") or []
                    if o.get("name") != "Title"})


class ShopifyClient:
    def __init__(self, api_url: str, access_token: str, *, timeout: float = 20.0,
                 retries: int = 3, sleep: Callable[[float], None] | None = None) -> None:
        if not access_token:
            raise StoreError("Shopify needs an Admin API access token", "auth")
        self.endpoint = f"{api_url.rstrip('/')}/admin/api/{API_VERSION}/graphql.json"
        self.http = StoreHttp("Shopify", timeout, retries, **({"sleep": sleep} if sleep else {}))
        self.http.headers["X-Shopify-Access-Token"] = access_token
        self.throttle: dict[str, float] | None = None
        self.throttled = 0  # THROTTLED answers waited out

    def close(self) -> None:
        self.http.close()

    def _wait_for(self, cost: float) -> None:
        status = self.throttle
        if status and status["currentlyAvailable"] < cost and status["restoreRate"] > 0:
            self.http.sleep((cost - status["currentlyAvailable"]) / status["restoreRate"])

    def query(self, query: str, variables: dict[str, Any] | None = None,
              expected_cost: float = 10) -> dict[str, Any]:
        for _ in range(MAX_THROTTLED + 1):
            self._wait_for(expected_cost)
            response = self.http.request("POST", self.endpoint,
                                         json={"query": query, "variables": variables or {}})
            body = self.http.json(response)
            if response.status_code >= 400 or not isinstance(body, dict):
                raise StoreError(f"Shopify answered {response.status_code}", "invalid",
                                 response.status_code)
            cost = (body.get("extensions") or {}).get("cost") or {}
            if cost.get("throttleStatus"):
                self.throttle = {k: float(v) for k, v in cost["throttleStatus"].items()}
            errors = body.get("errors") or []
            if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                self.throttled += 1
                expected_cost = float(cost.get("requestedQueryCost") or expected_cost)
                status = self.throttle or {"currentlyAvailable": 0, "restoreRate": 50}
                self.http.sleep(max(expected_cost - status["currentlyAvailable"], 1)
                                / max(status["restoreRate"], 1))
                self.throttle = None  # waited: the bucket is refilled that much
                continue
            if errors:
                raise StoreError(f"Shopify: {errors[0].get('message')}", "invalid")
            return dict(body.get("data") or {})
        raise StoreError("Shopify kept throttling the query", "unavailable")

    def store_info(self) -> StoreInfo:
        data = self.query(SHOP_QUERY, expected_cost=2)
        count = (data.get("productsCount") or {}).get("count")
        return StoreInfo(name=str(data["shop"]["name"]), currency=str(data["shop"]["currencyCode"]),
                         products=int(count) if count is not None else None)

    def _product(self, node: dict[str, Any]) -> StoreProduct:
        variants = node["variants"]
        nodes = list(variants["nodes"])
        page, after = variants["pageInfo"], None
        while page["hasNextPage"]:
            after = page["endCursor"]
            more = self.query(VARIANTS_QUERY, {"id": node["id"], "after": after},
                              expected_cost=102)["product"]["variants"]
            nodes += more["nodes"]
            page = more["pageInfo"]
        return StoreProduct(
            external_id=str(node["legacyResourceId"]), title=str(node.get("title") or ""),
            description=str(node.get("description") or ""),
            category=str(node.get("productType") or ""),
            images=[str(i["url"]) for i in (node.get("images") or {}).get("nodes") or []],
            active=node.get("status") == "ACTIVE", modified_at=_when(node.get("updatedAt")),
            variants=[_variant(v) for v in nodes])

    def _safe_product(self, node: dict[str, Any]) -> StoreProduct | StoreError:
        try:
            return self._product(node)
        except (KeyError, TypeError, ValueError) as error:
            return StoreError(f"malformed product: {error}", "invalid",
                              item=str(node.get("legacyResourceId")))

    def product_pages(self, modified_after: datetime | None = None
                      ) -> Iterator[list[StoreProduct | StoreError]]:
        """Products a page at a time, least recently updated first (a malformed one is its
        StoreError)."""
        search = None
        if modified_after is not None:
            search = f"updated_at:>'{modified_after.astimezone(UTC).isoformat()}'"
        after: str | None = None
        cost = 2 + PRODUCTS_PER_PAGE * (2 + VARIANTS_PER_PRODUCT)
        while True:
            page = self.query(PRODUCTS_QUERY, {"first": PRODUCTS_PER_PAGE, "after": after,
                                               "query": search}, expected_cost=cost)["products"]
            yield [self._safe_product(node) for node in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    def product(self, product_id: str) -> StoreProduct | None:
        """One product as it is now; None when it was deleted."""
        node = self.query(PRODUCT_QUERY, {"id": gid("Product", product_id)},
                          expected_cost=25)["product"]
        return None if node is None else self._product(node)

    def register_webhooks(self, callback_url: str) -> None:
        existing = self.query(WEBHOOKS_QUERY)["webhookSubscriptions"]["nodes"]
        have = {(w["topic"], (w.get("endpoint") or {}).get("callbackUrl")) for w in existing}
        for topic in WEBHOOK_TOPICS:
            if (topic, callback_url) in have:
                continue
            errors = self.query(WEBHOOK_CREATE, {"topic": topic, "url": callback_url})[
                "webhookSubscriptionCreate"]["userErrors"]
            if errors:
                raise StoreError(f"Shopify refused the webhook: {errors[0]['message']}", "invalid")

    def _inventory(self, variant_id: str) -> tuple[str, str]:
        """(inventory item id, the location it is stocked at) of a variant."""
        item = self.query(INVENTORY_QUERY, {"id": gid("ProductVariant", variant_id)})[
            "productVariant"]
        if item is None:
            raise StoreError(f"Shopify has no variant {variant_id}", "not_found")
        levels = item["inventoryItem"]["inventoryLevels"]["nodes"]
        if not levels:
            raise StoreError(f"Shopify variant {variant_id} is stocked nowhere", "invalid")
        return item["inventoryItem"]["id"], levels[0]["location"]["id"]

    def adjust_stock(self, variant_id: str, delta: int) -> None:
        """Add `delta` (negative: take) to the variant's available stock, atomically upstream."""
        item, location = self._inventory(variant_id)
        errors = self.query(INVENTORY_ADJUST, {"input": {
            "name": "available", "reason": "correction",
            "changes": [{"inventoryItemId": item, "locationId": location, "delta": delta}]}})[
            "inventoryAdjustQuantities"]["userErrors"]
        if errors:
            raise StoreError(f"Shopify refused the adjustment: {errors[0]['message']}", "invalid")

    def set_stock(self, variant_id: str, quantity: int) -> None:
        item = self.query(INVENTORY_QUERY, {"id": gid("ProductVariant", variant_id)})[
            "productVariant"]
        if item is None:
            raise StoreError(f"Shopify has no variant {variant_id}", "not_found")
        levels = item["inventoryItem"]["inventoryLevels"]["nodes"]
        if not levels:
            raise StoreError(f"Shopify variant {variant_id} is stocked nowhere", "invalid")
        errors = self.query(INVENTORY_SET, {"input": {
            "name": "available", "reason": "correction", "ignoreCompareQuantity": True,
            "quantities": [{"inventoryItemId": item["inventoryItem"]["id"],
                            "locationId": levels[0]["location"]["id"],
                            "quantity": quantity}]}})["inventorySetQuantities"]["userErrors"]
        if errors:
            raise StoreError(f"Shopify refused the stock: {errors[0]['message']}", "invalid")
