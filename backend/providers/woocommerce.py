"""WooCommerce REST API v3 client (`/wp-json/wc/v3`): products and their variations, paged
with `page` + `per_page` (≤ 100) until `X-WP-TotalPages`, changes since a time with
`modified_after` (+ `dates_are_gmt`), webhooks, and a variation's stock set back.

Authentication: the consumer key and secret as HTTP Basic over HTTPS; over plain http (only
the local simulator) as `consumer_key`/`consumer_secret` query parameters, which WooCommerce
itself accepts only over HTTPS, so a real store is always reached over HTTPS.

Webhooks are signed `X-WC-Webhook-Signature` = base64(HMAC-SHA256(raw body, webhook secret))."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from backend.providers.store_http import (
    StoreError,
    StoreHttp,
    StoreInfo,
    StoreProduct,
    StoreVariant,
)

API_PATH = "/wp-json/wc/v3"
PER_PAGE = 100
SIGNATURE_HEADER = "X-WC-Webhook-Signature"
TOPIC_HEADER = "X-WC-Webhook-Topic"
WEBHOOK_TOPICS = ("product.created", "product.updated", "product.deleted", "product.restored")


def signature(secret: str, raw_body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()).decode()


def valid_signature(secret: str, raw_body: bytes, header: str | None) -> bool:
    return bool(secret and header) and hmac.compare_digest(signature(secret, raw_body),
                                                           header or "")


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _stock(raw: dict[str, Any]) -> int | None:
    if not raw.get("manage_stock") and raw.get("stock_quantity") is None:
        return None
    value = raw.get("stock_quantity")
    return None if value is None else int(value)


def _price(raw: dict[str, Any]) -> str | None:
    value = raw.get("regular_price") or raw.get("price")
    return str(value) if value not in (None, "") else None


def modified_of(raw: dict[str, Any]) -> datetime | None:
    """When a raw product last changed (UTC)."""
    return _when(raw.get("date_modified_gmt") or raw.get("date_modified"))


def product_of(raw: dict[str, Any], variations: list[dict[str, Any]]) -> StoreProduct:
    """A WooCommerce product (and its variations, for a variable product) normalised."""
    if raw.get("type") == "variable":
        variants = [StoreVariant(
            external_id=str(v["id"]), sku=str(v.get("sku") or f"woo-{raw['id']}-{v['id']}"),
            price=_price(v), stock=_stock(v),
            attributes={str(a.get("name")): str(a.get("option")) for a in v.get("attributes") or []})
            for v in variations]
    else:
        variants = [StoreVariant(external_id=str(raw["id"]),
                                 sku=str(raw.get("sku") or f"woo-{raw['id']}"),
                                 price=_price(raw), stock=_stock(raw))]
    categories = raw.get("categories") or []
    return StoreProduct(
        external_id=str(raw["id"]), title=str(raw.get("name") or ""),
        description=str(raw.get("short_description") or raw.get("description") or ""),
        category=str(categories[0].get("name")) if categories else "",
        images=[str(i["src"]) for i in raw.get("images") or [] if i.get("src")],
        active=raw.get("status") == "publish",
        modified_at=_when(raw.get("date_modified_gmt") or raw.get("date_modified")),
        variants=variants)


class WooCommerceClient:
    def __init__(self, site_url: str, consumer_key: str, consumer_secret: str, *,
                 timeout: float = 20.0, retries: int = 3,
                 sleep: Callable[[float], None] | None = None) -> None:
        if not consumer_key or not consumer_secret:
            raise StoreError("WooCommerce needs a consumer key and secret", "auth")
        self.base = site_url.rstrip("/") + API_PATH
        self.http = StoreHttp("WooCommerce", timeout, retries,
                              **({"sleep": sleep} if sleep else {}))
        if site_url.startswith("https://"):
            self.http.auth = (consumer_key, consumer_secret)
            self._auth_params: dict[str, str] = {}
        else:
            self._auth_params = {"consumer_key": consumer_key, "consumer_secret": consumer_secret}

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, params: dict[str, Any] | None = None,
              body: dict[str, Any] | None = None) -> tuple[Any, dict[str, str]]:
        response = self.http.request(method, self.base + path,
                                     params={**self._auth_params, **(params or {})}, json=body)
        data = self.http.json(response)
        if response.status_code == 404:
            raise StoreError(f"WooCommerce: {path} not found", "not_found", 404)
        if response.status_code >= 400:
            message = data.get("message") if isinstance(data, dict) else None
            raise StoreError(f"WooCommerce answered {response.status_code}: {message}",
                             "invalid", response.status_code)
        return data, dict(response.headers)

    def store_info(self) -> StoreInfo:
        """Checks the credentials: the store's currency and how many products it has."""
        currency, _ = self._call("GET", "/settings/general/woocommerce_currency")
        _, headers = self._call("GET", "/products", {"per_page": 1})
        total = headers.get("X-WP-Total")
        return StoreInfo(name="WooCommerce", currency=str(currency.get("value") or ""),
                         products=int(total) if total and total.isdigit() else None)

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        page = 1
        while True:
            data, headers = self._call("GET", path, {**params, "page": page, "per_page": PER_PAGE})
            yield list(data)
            total_pages = int(headers.get("X-WP-TotalPages") or 1)
            if page >= total_pages or not data:
                return
            page += 1

    def product_pages(self, modified_after: datetime | None = None,
                      status: str = "any") -> Iterator[list[dict[str, Any]]]:
        """Raw products a page at a time, oldest modification first."""
        params: dict[str, Any] = {"status": status, "orderby": "modified", "order": "asc"}
        if modified_after is not None:
            params["modified_after"] = modified_after.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
            params["dates_are_gmt"] = "true"
        yield from self._pages("/products", params)

    def variations(self, product_id: str) -> list[dict[str, Any]]:
        return [v for page in self._pages(f"/products/{product_id}/variations", {}) for v in page]

    def full_products(self, raws: list[dict[str, Any]], workers: int = 8
                      ) -> list[StoreProduct | StoreError]:
        """A page of raw products with their variations, fetched `workers` at a time; a product
        whose variations cannot be read is its StoreError (the caller logs it), unless the store
        itself is failing (timeout, unavailable, credentials), which is raised."""
        def one(raw: dict[str, Any]) -> StoreProduct | StoreError:
            try:
                return self.full_product(raw)
            except StoreError as error:
                if error.kind in ("timeout", "unavailable", "auth"):
                    raise
                error.item = str(raw.get("id"))
                return error
            except (KeyError, TypeError, ValueError) as error:
                return StoreError(f"malformed product: {error}", "invalid",
                                  item=str(raw.get("id")))

        if sum(1 for raw in raws if raw.get("type") == "variable") < 2:
            return [one(raw) for raw in raws]
        with ThreadPoolExecutor(workers, thread_name_prefix="woocommerce") as pool:
            return list(pool.map(one, raws))

    def full_product(self, raw: dict[str, Any]) -> StoreProduct:
        variations = self.variations(str(raw["id"])) if raw.get("type") == "variable" else []
        return product_of(raw, variations)

    def product(self, product_id: str) -> StoreProduct | None:
        """One product as it is now; None when it is gone (deleted or in the trash)."""
        try:
            raw, _ = self._call("GET", f"/products/{product_id}")
        except StoreError as error:
            if error.kind == "not_found":
                return None
            raise
        return None if raw.get("status") == "trash" else self.full_product(raw)

    def register_webhooks(self, delivery_url: str, secret: str) -> None:
        existing, _ = self._call("GET", "/webhooks", {"per_page": 100})
        have = {(w.get("topic"), w.get("delivery_url")) for w in existing}
        for topic in WEBHOOK_TOPICS:
            if (topic, delivery_url) not in have:
                self._call("POST", "/webhooks", body={
                    "name": f"WhatsApp assistant: {topic}", "topic": topic,
                    "delivery_url": delivery_url, "secret": secret, "status": "active"})

    def adjust_stock(self, product_id: str, variant_id: str, delta: int) -> int:
        """Add `delta` to a variation's (or a simple product's) stock: WooCommerce's REST API
        only sets a quantity, so this reads it and writes it back (a sale in the store between
        the two is overwritten: the next sync shows the store's figure). The new quantity."""
        path = (f"/products/{product_id}" if product_id == variant_id
                else f"/products/{product_id}/variations/{variant_id}")
        current, _ = self._call("GET", path)
        quantity = int(current.get("stock_quantity") or 0) + delta
        self.set_stock(product_id, variant_id, quantity)
        return quantity

    def set_stock(self, product_id: str, variant_id: str, quantity: int) -> None:
        path = (f"/products/{product_id}" if product_id == variant_id
                else f"/products/{product_id}/variations/{variant_id}")
        self._call("PUT", path, body={"manage_stock": True, "stock_quantity": quantity})
