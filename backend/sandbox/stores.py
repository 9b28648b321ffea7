"""WooCommerce and Shopify store simulators (catalog import), under /sandbox/.

WooCommerce REST v3 at `<payments_sandbox_url>/woocommerce/<store>/wp-json/wc/v3/…` (so the
simulated site URL is `…/sandbox/woocommerce/<store>`): consumer key/secret as HTTP Basic or
query parameters (401 otherwise), products paged with page/per_page (≤ 100, else 400) and
X-WP-Total / X-WP-TotalPages, `status` (any: all but trash), `modified_after`, variations,
stock updates, webhooks (product.created/updated/deleted) signed X-WC-Webhook-Signature.

Shopify Admin GraphQL at `<payments_sandbox_url>/shopify/<shop>/admin/api/<version>/graphql.json`:
X-Shopify-Access-Token (401 otherwise), the operations the client sends recognised by their
operation name (Shop, Products, Product, ProductVariants, Webhooks, WebhookCreate,
VariantInventory, InventorySet, InventoryAdjust; anything else is a GraphQL error), cursor
pagination, a query-cost leaky bucket per shop (maximum 1,000 points, restoring
`restore_rate` a second, 50 by default) answered with `extensions.cost` and a THROTTLED
error when empty, webhooks (products/create, products/update, products/delete) signed
X-Shopify-Hmac-Sha256 with the app's secret.

Both: `throttle_next` (answer the next N requests 429 with Retry-After) and `delay_seconds`
(answer that late: a store that times out) set with PATCH /sandbox/stores/<provider>/<store>.
`seed_catalog` adds `count` products of `variants` variants each and MALFORMED_ITEMS broken
ones (no price; a variant with negative stock), as real stores hold; `seed_named_catalog` adds
products given by name, category, description and variants (the demo merchants' catalogs).
"""

from __future__ import annotations

import base64
import json
import math
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import and_, func, insert, or_, select

from backend.api.common import ErrorSchema
from backend.api.fields import BoundedInt
from backend.api.scopes import PUBLIC, requires
from backend.models.base import utcnow
from backend.providers import shopify, woocommerce
from backend.sandbox.common import (
    ProviderReplySchema,
    context,
    json_body,
    later,
    load_in,
    post,
    reply,
    save,
)
from backend.sandbox.models import SandboxStoreProduct
from backend.wiring import Context

blp = Blueprint("store_simulators", __name__, url_prefix="/sandbox",
                description="WooCommerce and Shopify simulators (sandbox only)")

PROVIDERS = ("woocommerce", "shopify")
# The broken items every seeded catalog also holds: they must be skipped and logged.
MALFORMED_ITEMS = 3
SHOPIFY_BUCKET_MAX = 1000.0
SHOPIFY_RESTORE_RATE = 50.0
CATEGORIES = ("Shoes", "Shirts", "Bags", "Phones", "Kitchen")
SIZES = ("S", "M", "L", "XL", "XXL")


def _record(provider: str) -> str:
    return f"store-{provider}"


def store_config(ctx: Context, provider: str, store: str) -> dict[str, Any] | None:
    return load_in(ctx, _record(provider), store)


def create_store(ctx: Context, provider: str, store: str, credentials: dict[str, str],
                 currency: str = "KES", restore_rate: float = SHOPIFY_RESTORE_RATE) -> None:
    """A store with these credentials (WooCommerce: consumer_key, consumer_secret; Shopify:
    access_token, app_secret); creating it again changes its credentials only."""
    save(_record(provider), store, {**credentials, "currency": currency, "webhooks": [],
                                    "throttle_next": 0, "delay_seconds": 0.0,
                                    "restore_rate": restore_rate,
                                    "bucket": SHOPIFY_BUCKET_MAX, "bucket_at": time.time()}, ctx)


def set_scenario(ctx: Context, provider: str, store: str, **scenario: Any) -> None:
    save(_record(provider), store, scenario, ctx)


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _woo_product(pid: int, n: int, variants: int, broken: str | None = None) -> dict[str, Any]:
    price = f"{500 + (n % 50) * 100}.00"
    variations = [{"id": pid * 100 + i + 1, "sku": f"W{pid}-{SIZES[i % len(SIZES)]}",
                   "regular_price": price, "price": price, "manage_stock": True,
                   "stock_quantity": 10 + i, "attributes": [
                       {"name": "Size", "option": SIZES[i % len(SIZES)]}]}
                  for i in range(variants)]
    if broken == "negative_stock":
        variations[-1]["stock_quantity"] = -4
    product: dict[str, Any] = {
        "id": pid, "name": f"Woo product {n}", "status": "publish",
        "sku": f"W{pid}", "short_description": f"Item number {n}", "description": "",
        "categories": [{"id": n % 5 + 1, "name": CATEGORIES[n % 5]}],
        "images": [{"id": pid, "src": f"https://images.example/woo/{pid}.jpg"}],
    }
    if variants > 1 or broken == "negative_stock":
        product.update(type="variable", price=price, variations=[v["id"] for v in variations],
                       _variations=variations)
    else:
        product.update(type="simple", regular_price=price, price=price, manage_stock=True,
                       stock_quantity=10, variations=[])
    if broken == "no_price":
        for target in [product, *product.get("_variations", [])]:
            target.update(regular_price="", price="")
    return product


def _shopify_product(pid: int, n: int, variants: int, broken: str | None = None
                     ) -> dict[str, Any]:
    price = f"{500 + (n % 50) * 100}.00"
    rows = [{"id": pid * 100 + i + 1, "sku": f"S{pid}-{SIZES[i % len(SIZES)]}", "price": price,
             "inventoryQuantity": 10 + i, "options": {"Size": SIZES[i % len(SIZES)]}}
            for i in range(max(variants, 1))]
    if broken == "no_price":
        rows[0]["price"] = None
    if broken == "negative_stock":
        rows[-1]["inventoryQuantity"] = -4
    return {"title": f"Shopify product {n}", "description": f"Item number {n}",
            "productType": CATEGORIES[n % 5], "status": "ACTIVE",
            "images": [f"https://images.example/shopify/{pid}.jpg"], "variants": rows}


def seed_catalog(ctx: Context, provider: str, store: str, count: int, variants: int = 3,
                 malformed: bool = True, first_id: int = 1000) -> list[int]:
    """Add `count` products (and MALFORMED_ITEMS broken ones) in bulk: their ids."""
    build = _woo_product if provider == "woocommerce" else _shopify_product
    kinds: list[str | None] = [None] * count
    if malformed:
        kinds += ["no_price", "negative_stock", "no_price"]
    now = utcnow()
    ids = []
    rows = []
    for n, broken in enumerate(kinds):
        pid = first_id + n
        ids.append(pid)
        # Edited over time, as a real catalog is: one product a second, the last one now.
        rows.append({"provider": provider, "store": store, "product_id": pid, "deleted": False,
                     "data": build(pid, n, variants if broken != "negative_stock" else 2, broken),
                     "modified_at": now - timedelta(seconds=len(kinds) - 1 - n)})
    with ctx.db.transaction() as session:
        for start in range(0, len(rows), 2000):
            session.execute(insert(SandboxStoreProduct), rows[start:start + 2000])
    return ids


@dataclass(frozen=True)
class NamedVariant:
    """One variant of a named product: its options (e.g. {"Size": "M"}), price in major
    units as a string ("2500" or "2500.00", never a float), stock and SKU."""

    sku: str
    price: str
    stock: int
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NamedProduct:
    """A product as a merchant would list it: one variant without options is a simple
    product (WooCommerce `simple`; Shopify's single "Default Title" variant)."""

    title: str
    category: str
    description: str
    variants: tuple[NamedVariant, ...]


def _price(kes: str) -> str:
    major, _, minor = kes.partition(".")
    return f"{major}.{(minor or '00'):0<2}"


def _named_woo(pid: int, product: NamedProduct) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": pid, "name": product.title, "status": "publish", "sku": f"W{pid}",
        "short_description": product.description, "description": "",
        "categories": [{"id": sum(map(ord, product.category)), "name": product.category}],
        "images": [{"id": pid, "src": f"https://images.example/woo/{pid}.jpg"}],
    }
    variants = product.variants
    if len(variants) == 1 and not variants[0].options:
        price = _price(variants[0].price)
        data.update(type="simple", sku=variants[0].sku, regular_price=price, price=price,
                    manage_stock=True, stock_quantity=variants[0].stock, variations=[])
        return data
    rows = [{"id": pid * 100 + i + 1, "sku": v.sku, "regular_price": _price(v.price),
             "price": _price(v.price), "manage_stock": True, "stock_quantity": v.stock,
             "attributes": [{"name": k, "option": o} for k, o in v.options.items()]}
            for i, v in enumerate(variants)]
    data.update(type="variable", price=min((r["price"] for r in rows), key=float),
                variations=[r["id"] for r in rows], _variations=rows)
    return data


def _named_shopify(pid: int, product: NamedProduct) -> dict[str, Any]:
    return {"title": product.title, "description": product.description,
            "productType": product.category, "status": "ACTIVE",
            "images": [f"https://images.example/shopify/{pid}.jpg"],
            "variants": [{"id": pid * 100 + i + 1, "sku": v.sku, "price": _price(v.price),
                          "inventoryQuantity": v.stock,
                          "options": dict(v.options) or {"Title": "Default Title"}}
                         for i, v in enumerate(product.variants)]}


def seed_named_catalog(ctx: Context, provider: str, store: str,
                       products: list[NamedProduct] | tuple[NamedProduct, ...],
                       first_id: int = 1000) -> list[int]:
    """Add these products (a demo merchant's real-looking catalog) with ids from `first_id`,
    each stamped as edited a second after the one before: their ids."""
    build = _named_woo if provider == "woocommerce" else _named_shopify
    now = utcnow()
    rows = [{"provider": provider, "store": store, "product_id": first_id + n, "deleted": False,
             "data": build(first_id + n, product),
             "modified_at": now - timedelta(seconds=len(products) - 1 - n)}
            for n, product in enumerate(products)]
    with ctx.db.transaction() as session:
        if rows:
            session.execute(insert(SandboxStoreProduct), rows)
    return [row["product_id"] for row in rows]


def store_product_count(ctx: Context, provider: str, store: str) -> int:
    """Products the simulated store holds (deleted ones included)."""
    with ctx.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(SandboxStoreProduct).where(
            SandboxStoreProduct.provider == provider, SandboxStoreProduct.store == store)) or 0)


def _row(session: Any, provider: str, store: str, pid: int) -> SandboxStoreProduct | None:
    return session.scalar(select(SandboxStoreProduct).where(
        SandboxStoreProduct.provider == provider, SandboxStoreProduct.store == store,
        SandboxStoreProduct.product_id == pid))


def change_products(ctx: Context, provider: str, store: str, ids: list[int], *,
                    price: str | None = None, stock: int | None = None,
                    title: str | None = None, notify: bool = True) -> None:
    """Edit products upstream (every variant's price/stock); their webhooks follow."""
    now = utcnow()
    with ctx.db.transaction() as session:
        rows = session.scalars(select(SandboxStoreProduct).where(
            SandboxStoreProduct.provider == provider, SandboxStoreProduct.store == store,
            SandboxStoreProduct.product_id.in_(ids))).all()
        for row in rows:
            data = json.loads(json.dumps(row.data))
            if provider == "woocommerce":
                targets = data.get("_variations") or [data]
                for target in targets:
                    if price is not None:
                        target.update(regular_price=price, price=price)
                    if stock is not None:
                        target.update(stock_quantity=stock, manage_stock=True)
                if title is not None:
                    data["name"] = title
            else:
                for variant in data["variants"]:
                    if price is not None:
                        variant["price"] = price
                    if stock is not None:
                        variant["inventoryQuantity"] = stock
                if title is not None:
                    data["title"] = title
            row.data, row.modified_at = data, now
        changed = [(row.product_id, row.data) for row in rows]
    if notify:
        for pid, data in changed:
            _notify(ctx, provider, store, "updated", pid, data, now)


def delete_product(ctx: Context, provider: str, store: str, pid: int, notify: bool = True
                   ) -> None:
    """WooCommerce moves it to the trash; Shopify deletes it. The delete webhook follows."""
    now = utcnow()
    with ctx.db.transaction() as session:
        row = _row(session, provider, store, pid)
        if row is None:
            return
        row.deleted, row.modified_at = True, now
        if provider == "woocommerce":
            row.data = {**row.data, "status": "trash"}
    if notify:
        _notify(ctx, provider, store, "deleted", pid, None, now)


def _notify(ctx: Context, provider: str, store: str, event: str, pid: int,
            data: dict[str, Any] | None, when: datetime) -> None:
    config = store_config(ctx, provider, store) or {}
    if provider == "woocommerce":
        topic = f"product.{event}"
        body = {"id": pid} if data is None else _woo_view(pid, data, when)
        raw = json.dumps(body).encode()
        for hook in config.get("webhooks", []):
            if hook["topic"] == topic:
                headers = {"Content-Type": "application/json", "X-WC-Webhook-Topic": topic,
                           "X-WC-Webhook-Resource": "product", "X-WC-Webhook-Event": event,
                           "X-WC-Webhook-ID": str(hook["id"]),
                           woocommerce.SIGNATURE_HEADER: woocommerce.signature(hook["secret"], raw)}
                later(0, lambda url=hook["delivery_url"], h=headers: post(url, data=raw, headers=h))
    else:
        topic = {"updated": "PRODUCTS_UPDATE", "deleted": "PRODUCTS_DELETE",
                 "created": "PRODUCTS_CREATE"}[event]
        body = {"id": pid} if data is None else {
            "id": pid, "title": data["title"], "updated_at": when.isoformat(),
            "variants": [{"id": v["id"], "price": v["price"],
                          "inventory_quantity": v["inventoryQuantity"]} for v in data["variants"]]}
        raw = json.dumps(body).encode()
        headers = {"Content-Type": "application/json",
                   "X-Shopify-Topic": topic.lower().replace("products_", "products/"),
                   "X-Shopify-Shop-Domain": store, "X-Shopify-API-Version": shopify.API_VERSION,
                   shopify.SIGNATURE_HEADER: shopify.signature(config.get("app_secret", ""), raw)}
        for hook in config.get("webhooks", []):
            if hook["topic"] == topic:
                later(0, lambda url=hook["callbackUrl"]: post(url, data=raw, headers=headers))


# --- what every simulated request goes through ------------------------------------------------

def _gate(provider: str, store: str, authorised: Any) -> tuple[dict[str, Any] | None,
                                                                 Response | None]:
    """The store, after its scenario (late answer, 429) and the credentials check."""
    ctx = context()
    config = store_config(ctx, provider, store)
    if config is None:
        return None, reply({"code": "rest_no_route", "message": "No such store"}, 404)
    if config.get("delay_seconds"):
        time.sleep(float(config["delay_seconds"]))
    if int(config.get("throttle_next") or 0) > 0:
        save(_record(provider), store, {"throttle_next": int(config["throttle_next"]) - 1}, ctx)
        answer = reply({"errors": "Exceeded 2 calls per second for api client. "
                                  "Reduce request rates to resume uninterrupted service."}, 429)
        answer.headers["Retry-After"] = "0.2"
        return None, answer
    if not authorised(config):
        if provider == "woocommerce":
            return None, reply({"code": "woocommerce_rest_cannot_view",
                                "message": "Sorry, you cannot list resources.",
                                "data": {"status": 401}}, 401)
        return None, reply({"errors": "[API] Invalid API key or access token "
                                      "(unrecognized login or wrong password)"}, 401)
    return config, None


# --- WooCommerce ------------------------------------------------------------------------------

def _woo_authorised(config: dict[str, Any]) -> bool:
    key, secret = request.args.get("consumer_key"), request.args.get("consumer_secret")
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            key, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
    return bool(key) and key == config.get("consumer_key") and \
        secret == config.get("consumer_secret")


def _woo_view(pid: int, data: dict[str, Any], modified: datetime) -> dict[str, Any]:
    view = {k: v for k, v in data.items() if not k.startswith("_")}
    view["id"] = pid
    view["date_modified_gmt"] = _stamp(modified)
    return view


def _woo_error(status: int, code: str, message: str) -> Response:
    return reply({"code": code, "message": message, "data": {"status": status}}, status)


def _page_args() -> tuple[int, int] | Response:
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", 10))
    except ValueError:
        return _woo_error(400, "rest_invalid_param", "Invalid parameter(s): page, per_page")
    if page < 1 or not 1 <= per_page <= 100:
        return _woo_error(400, "rest_invalid_param",
                          "Invalid parameter(s): per_page must be between 1 (inclusive) "
                          "and 100 (inclusive)")
    return page, per_page


def _paged(items: list[dict[str, Any]], total: int, per_page: int) -> Response:
    answer = reply(items)
    answer.headers["X-WP-Total"] = str(total)
    answer.headers["X-WP-TotalPages"] = str(max(math.ceil(total / per_page), 1) if total else 0)
    return answer


@blp.route("/woocommerce/<string:store>/wp-json/wc/v3/<path:resource>")
class WooCommerceApi(MethodView):
    def _handle(self, store: str, resource: str) -> Response:
        config, refused = _gate("woocommerce", store, _woo_authorised)
        if refused is not None:
            return refused
        assert config is not None
        parts = resource.strip("/").split("/")
        method = request.method
        if parts == ["settings", "general", "woocommerce_currency"] and method == "GET":
            return reply({"id": "woocommerce_currency", "value": config["currency"]})
        if parts == ["products"] and method == "GET":
            return self._products(store)
        if parts[0] == "products" and len(parts) >= 2 and parts[1].isdigit():
            return self._product(store, int(parts[1]), parts[2:], method)
        if parts == ["webhooks"]:
            return self._webhooks(store, config, method)
        return _woo_error(404, "rest_no_route", "No route was found matching the URL and "
                                                "request method.")

    def _products(self, store: str) -> Response:
        paging = _page_args()
        if isinstance(paging, Response):
            return paging
        page, per_page = paging
        status = request.args.get("status", "any")
        where = [SandboxStoreProduct.provider == "woocommerce", SandboxStoreProduct.store == store]
        where.append(SandboxStoreProduct.deleted.is_(status == "trash"))
        after = request.args.get("modified_after")
        if after:
            try:
                since = datetime.fromisoformat(after.replace("Z", "+00:00"))
            except ValueError:
                return _woo_error(400, "rest_invalid_param", "Invalid parameter(s): modified_after")
            where.append(SandboxStoreProduct.modified_at > (
                since if since.tzinfo else since.replace(tzinfo=UTC)))
        order = ((SandboxStoreProduct.modified_at, SandboxStoreProduct.product_id)
                 if request.args.get("orderby") == "modified" else
                 (SandboxStoreProduct.product_id,))
        with context().db.transaction() as session:
            total = session.scalar(select(func.count()).select_from(SandboxStoreProduct)
                                   .where(*where)) or 0
            rows = session.execute(select(SandboxStoreProduct.product_id,
                                          SandboxStoreProduct.data,
                                          SandboxStoreProduct.modified_at)
                                   .where(*where).order_by(*order)
                                   .offset((page - 1) * per_page).limit(per_page)).all()
        return _paged([_woo_view(pid, data, when) for pid, data, when in rows], total, per_page)

    def _product(self, store: str, pid: int, rest: list[str], method: str) -> Response:
        ctx = context()
        with ctx.db.transaction() as session:
            row = _row(session, "woocommerce", store, pid)
            if row is None:
                return _woo_error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            data, modified = json.loads(json.dumps(row.data)), row.modified_at
            if not rest and method == "GET":
                return reply(_woo_view(pid, data, modified))
            if rest == ["variations"] and method == "GET":
                paging = _page_args()
                if isinstance(paging, Response):
                    return paging
                page, per_page = paging
                variations = data.get("_variations", [])
                chunk = variations[(page - 1) * per_page: page * per_page]
                return _paged(chunk, len(variations), per_page)
            if len(rest) == 2 and rest[0] == "variations" and method == "GET":
                found = [v for v in data.get("_variations", []) if str(v["id"]) == rest[1]]
                return reply(found[0]) if found else _woo_error(
                    404, "woocommerce_rest_invalid_id", "Invalid ID.")
            body = json_body() or {}
            if method == "PUT" and "stock_quantity" in body:
                if not rest:
                    target = data
                elif len(rest) == 2 and rest[0] == "variations":
                    found = [v for v in data.get("_variations", []) if str(v["id"]) == rest[1]]
                    if not found:
                        return _woo_error(404, "woocommerce_rest_invalid_id", "Invalid ID.")
                    target = found[0]
                else:
                    return _woo_error(404, "rest_no_route", "No route")
                target.update(stock_quantity=int(body["stock_quantity"]), manage_stock=True)
                row.data, row.modified_at = data, utcnow()
                return reply(target)
        return _woo_error(404, "rest_no_route", "No route was found matching the URL and "
                                                "request method.")

    def _webhooks(self, store: str, config: dict[str, Any], method: str) -> Response:
        hooks = list(config.get("webhooks", []))
        if method == "GET":
            return _paged(hooks, len(hooks), 100)
        body = json_body() or {}
        if body.get("topic") not in woocommerce.WEBHOOK_TOPICS or not re.match(
                r"^https?://", str(body.get("delivery_url", ""))):
            return _woo_error(400, "rest_invalid_param", "Invalid parameter(s): topic, "
                                                          "delivery_url")
        hook = {"id": len(hooks) + 1, "name": body.get("name", ""), "topic": body["topic"],
                "delivery_url": body["delivery_url"], "secret": str(body.get("secret", "")),
                "status": "active"}
        save(_record("woocommerce"), store, {"webhooks": [*hooks, hook]})
        return reply({k: v for k, v in hook.items() if k != "secret"}, 201)

    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(401, schema=ProviderReplySchema, description="Wrong consumer key/secret")
    @blp.alt_response(429, schema=ProviderReplySchema, description="Rate limited (Retry-After)")
    def get(self, store: str, resource: str) -> Response:
        """WooCommerce REST v3: currency, products (paged), a product, its variations, webhooks"""
        return self._handle(store, resource)

    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(401, schema=ProviderReplySchema, description="Wrong consumer key/secret")
    def post(self, store: str, resource: str) -> Response:
        """WooCommerce REST v3: create a webhook"""
        return self._handle(store, resource)

    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(401, schema=ProviderReplySchema, description="Wrong consumer key/secret")
    def put(self, store: str, resource: str) -> Response:
        """WooCommerce REST v3: set a product's or variation's stock"""
        return self._handle(store, resource)


# --- Shopify ----------------------------------------------------------------------------------

def _shopify_authorised(config: dict[str, Any]) -> bool:
    token = request.headers.get("X-Shopify-Access-Token", "")
    return bool(token) and token == config.get("access_token")


def _node(pid: int, data: dict[str, Any], modified: datetime, variants_first: int,
          after: int = 0) -> dict[str, Any]:
    rows = data["variants"][after:after + variants_first]
    return {
        "id": shopify.gid("Product", str(pid)), "legacyResourceId": str(pid),
        "title": data["title"], "description": data["description"],
        "productType": data["productType"], "status": data["status"],
        "updatedAt": modified.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "images": {"nodes": [{"url": url} for url in data["images"][:5]]},
        "variants": {"pageInfo": {"hasNextPage": after + variants_first < len(data["variants"]),
                                  "endCursor": str(after + len(rows))},
                     "nodes": [{"id": shopify.gid("ProductVariant", str(v["id"])),
                                "legacyResourceId": str(v["id"]), "sku": v["sku"],
                                "price": v["price"], "inventoryQuantity": v["inventoryQuantity"],
                                "selectedOptions": [{"name": k, "value": o}
                                                    for k, o in v["options"].items()]}
                               for v in rows]}}


def _first(query: str, connection: str, default: int) -> int:
    found = re.search(connection + r"\(first:\s*(\d+)", query)
    return int(found.group(1)) if found else default


def _legacy(gid: Any) -> int | None:
    found = re.match(r"^gid://shopify/\w+/(\d+)$", str(gid or ""))
    return int(found.group(1)) if found else None


class _Throttled(Exception):
    pass


def _shopify_products(store: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    first = int(variables.get("first") or 0)
    if not 1 <= first <= 250:
        raise ValueError("first must be between 1 and 250")
    vfirst = _first(query, "variants", 20)
    after = int(variables.get("after") or 0)
    where = [SandboxStoreProduct.provider == "shopify", SandboxStoreProduct.store == store,
             SandboxStoreProduct.deleted.is_(False)]
    search = variables.get("query") or ""
    found = re.match(r"^updated_at:>'([^']+)'$", search)
    if search and not found:
        raise ValueError(f"unsupported query {search!r}")
    if found:
        where.append(SandboxStoreProduct.modified_at > datetime.fromisoformat(
            found.group(1).replace("Z", "+00:00")))
    # The cursor is the (updated, id) position of the last product: an index seek.
    if after:
        with context().db.transaction() as session:
            last = session.scalar(select(SandboxStoreProduct.modified_at).where(
                SandboxStoreProduct.id == after))
        if last is not None:
            where.append(or_(SandboxStoreProduct.modified_at > last, and_(
                SandboxStoreProduct.modified_at == last, SandboxStoreProduct.id > after)))
    with context().db.transaction() as session:
        rows = session.execute(select(SandboxStoreProduct.id, SandboxStoreProduct.product_id,
                                      SandboxStoreProduct.data, SandboxStoreProduct.modified_at)
                               .where(*where)
                               .order_by(SandboxStoreProduct.modified_at, SandboxStoreProduct.id)
                               .limit(first + 1)).all()
    page = rows[:first]
    return {"products": {
        "pageInfo": {"hasNextPage": len(rows) > first,
                     "endCursor": str(page[-1][0]) if page else None},
        "nodes": [_node(pid, data, when, vfirst) for _, pid, data, when in page]}}


def _shopify_operation(store: str, config: dict[str, Any], name: str, query: str,
                       variables: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """The data for one operation and its actual cost."""
    ctx = context()
    if name == "Shop":
        with ctx.db.transaction() as session:
            count = session.scalar(select(func.count()).select_from(SandboxStoreProduct).where(
                SandboxStoreProduct.provider == "shopify", SandboxStoreProduct.store == store,
                SandboxStoreProduct.deleted.is_(False))) or 0
        return {"shop": {"name": store, "currencyCode": config["currency"]},
                "productsCount": {"count": count}}, 2
    if name == "Products":
        data = _shopify_products(store, query, variables)
        nodes = data["products"]["nodes"]
        return data, 2 + sum(2 + len(n["variants"]["nodes"]) for n in nodes)
    if name in ("Product", "ProductVariants"):
        pid = _legacy(variables.get("id"))
        with ctx.db.transaction() as session:
            row = _row(session, "shopify", store, pid or 0)
            found = None if row is None or row.deleted else (row.data, row.modified_at)
        if found is None:
            return {"product": None}, 1
        if name == "Product":
            node = _node(pid or 0, found[0], found[1], _first(query, "variants", 20))
            return {"product": node}, 2 + len(node["variants"]["nodes"])
        node = _node(pid or 0, found[0], found[1], 100, int(variables.get("after") or 0))
        return {"product": {"variants": node["variants"]}}, 2 + len(node["variants"]["nodes"])
    if name == "Webhooks":
        return {"webhookSubscriptions": {"nodes": [
            {"topic": h["topic"], "endpoint": {"callbackUrl": h["callbackUrl"]}}
            for h in config.get("webhooks", [])]}}, 1
    if name == "WebhookCreate":
        topic, url = variables.get("topic"), str(variables.get("url") or "")
        if topic not in shopify.WEBHOOK_TOPICS or not re.match(r"^https?://", url):
            return {"webhookSubscriptionCreate": {"webhookSubscription": None, "userErrors": [
                {"field": ["webhookSubscription"], "message": "Address is invalid"}]}}, 10
        hooks = list(config.get("webhooks", []))
        hook = {"id": f"gid://shopify/WebhookSubscription/{len(hooks) + 1}", "topic": topic,
                "callbackUrl": url}
        save(_record("shopify"), store, {"webhooks": [*hooks, hook]})
        return {"webhookSubscriptionCreate": {"webhookSubscription": {"id": hook["id"]},
                                              "userErrors": []}}, 10
    if name == "VariantInventory":
        vid = _legacy(variables.get("id")) or 0
        return {"productVariant": {"inventoryItem": {
            "id": shopify.gid("InventoryItem", str(vid)),
            "inventoryLevels": {"nodes": [{"location": {"id": "gid://shopify/Location/1"}}]}}}}, 3
    if name in ("InventorySet", "InventoryAdjust"):
        errors = []
        key = "inventorySetQuantities" if name == "InventorySet" else "inventoryAdjustQuantities"
        changes = (variables.get("input") or {}).get(
            "quantities" if name == "InventorySet" else "changes", [])
        for quantity in changes:
            vid = _legacy(quantity.get("inventoryItemId")) or 0
            with ctx.db.transaction() as session:
                row = _row(session, "shopify", store, vid // 100)
                rows = [] if row is None else [v for v in row.data["variants"] if v["id"] == vid]
                if not rows:
                    errors.append({"field": ["input"], "message": "Inventory item not found"})
                    continue
                data = json.loads(json.dumps(row.data))  # type: ignore[union-attr]
                for variant in data["variants"]:
                    if variant["id"] == vid:
                        variant["inventoryQuantity"] = (
                            int(quantity["quantity"]) if name == "InventorySet"
                            else variant["inventoryQuantity"] + int(quantity["delta"]))
                row.data = data  # type: ignore[union-attr]
                row.modified_at = utcnow()
        return {key: {"userErrors": errors}}, 10
    raise ValueError(f"Field '{name}' doesn't exist on type 'QueryRoot'")


def _requested_cost(name: str, query: str, variables: dict[str, Any]) -> float:
    if name == "Products":
        return 2 + int(variables.get("first") or 0) * (2 + _first(query, "variants", 20))
    if name in ("Product", "ProductVariants"):
        return 2 + _first(query, "variants", 100)
    return 10 if name in ("WebhookCreate", "InventorySet", "InventoryAdjust") else 2


@blp.route("/shopify/<string:shop>/admin/api/<string:version>/graphql.json")
class ShopifyGraphql(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(401, schema=ProviderReplySchema, description="Wrong access token")
    @blp.alt_response(429, schema=ProviderReplySchema, description="Rate limited (Retry-After)")
    def post(self, shop: str, version: str) -> Response:
        """Shopify Admin GraphQL: the client's operations, with query cost and throttling"""
        config, refused = _gate("shopify", shop, _shopify_authorised)
        if refused is not None:
            return refused
        assert config is not None
        body = json_body() or {}
        query, variables = str(body.get("query") or ""), body.get("variables") or {}
        found = re.match(r"^\s*(query|mutation)\s+(\w+)", query)
        if not found:
            return reply({"errors": [{"message": "Parse error: an operation name is required"}]})
        name = found.group(2)
        requested = _requested_cost(name, query, variables)
        restore = float(config.get("restore_rate") or SHOPIFY_RESTORE_RATE)
        now = time.time()
        bucket = min(SHOPIFY_BUCKET_MAX, float(config.get("bucket", SHOPIFY_BUCKET_MAX))
                     + (now - float(config.get("bucket_at", now))) * restore)
        status = {"maximumAvailable": SHOPIFY_BUCKET_MAX, "restoreRate": restore}
        if requested > SHOPIFY_BUCKET_MAX:
            return reply({"errors": [{"message": f"Query cost is {requested:g}, which exceeds "
                                                 f"the single query max cost limit (1000)."}]})
        if requested > bucket:
            save(_record("shopify"), shop, {"bucket": bucket, "bucket_at": now})
            return reply({"errors": [{"message": "Throttled",
                                      "extensions": {"code": "THROTTLED"}}],
                          "extensions": {"cost": {
                              "requestedQueryCost": requested, "actualQueryCost": None,
                              "throttleStatus": {**status, "currentlyAvailable": bucket}}}})
        try:
            data, actual = _shopify_operation(shop, config, name, query, variables)
        except ValueError as error:
            return reply({"errors": [{"message": str(error)}]})
        bucket -= actual
        save(_record("shopify"), shop, {"bucket": bucket, "bucket_at": now})
        return reply({"data": data, "extensions": {"cost": {
            "requestedQueryCost": requested, "actualQueryCost": actual,
            "throttleStatus": {**status, "currentlyAvailable": bucket}}}})


# --- managing the simulated stores (the demo and the tests) -----------------------------------

class NewStoreSchema(Schema):
    credentials = fields.Dict(keys=fields.Str(), values=fields.Str(), required=True, metadata={
        "description": "WooCommerce: consumer_key, consumer_secret; Shopify: access_token, "
                       "app_secret"})
    currency = fields.Str(load_default="KES", validate=validate.Length(equal=3))
    products = BoundedInt(load_default=20, validate=validate.Range(min=0, max=20_000))
    variants = BoundedInt(load_default=3, validate=validate.Range(min=1, max=50))
    malformed = fields.Bool(load_default=True)


class StoreScenarioSchema(Schema):
    throttle_next = BoundedInt(validate=validate.Range(min=0, max=100),
                               metadata={"description": "Answer the next N requests 429"})
    delay_seconds = fields.Float(validate=validate.Range(min=0, max=120),
                                 metadata={"description": "Answer every request this late"})


class ChangeSchema(Schema):
    price = fields.Str(validate=validate.Regexp(r"^\d+(\.\d{1,2})?$"))
    stock = BoundedInt(validate=validate.Range(min=-1000, max=1_000_000))
    title = fields.Str(validate=validate.Length(min=1, max=200))


def _provider(provider: str) -> Response | None:
    return None if provider in PROVIDERS else reply({"message": "Unknown store provider"}, 404)


@blp.route("/stores/<string:provider>/<string:store>")
class SimulatedStore(MethodView):
    @requires(PUBLIC)
    @blp.arguments(NewStoreSchema)
    @blp.response(201, ProviderReplySchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown provider")
    def post(self, payload: dict[str, Any], provider: str, store: str) -> Response:
        """Create a simulated store with credentials and a seeded catalog"""
        unknown = _provider(provider)
        if unknown is not None:
            return unknown
        ctx = context()
        fresh = store_config(ctx, provider, store) is None
        create_store(ctx, provider, store, payload["credentials"], payload["currency"])
        ids = seed_catalog(ctx, provider, store, payload["products"], payload["variants"],
                           payload["malformed"]) if fresh else []
        return reply({"store": store, "products": len(ids)}, 201)

    @requires(PUBLIC)
    @blp.arguments(StoreScenarioSchema)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown store")
    def patch(self, payload: dict[str, Any], provider: str, store: str) -> Response:
        """Rate-limit the next requests, or answer late (a store that times out)"""
        if _provider(provider) or store_config(context(), provider, store) is None:
            return reply({"message": "Unknown store"}, 404)
        set_scenario(context(), provider, store, **payload)
        return reply(payload)


@blp.route("/stores/<string:provider>/<string:store>/products/<int:product_id>")
class SimulatedStoreProduct(MethodView):
    @requires(PUBLIC)
    @blp.arguments(ChangeSchema)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown store")
    def patch(self, payload: dict[str, Any], provider: str, store: str,
              product_id: int) -> Response:
        """Edit a product upstream (price, stock, title): its webhook follows"""
        if _provider(provider) or store_config(context(), provider, store) is None:
            return reply({"message": "Unknown store"}, 404)
        change_products(context(), provider, store, [product_id], **payload)
        return reply({"id": product_id})

    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown store")
    def delete(self, provider: str, store: str, product_id: int) -> Response:
        """Delete a product upstream: its webhook follows"""
        if _provider(provider) or store_config(context(), provider, store) is None:
            return reply({"message": "Unknown store"}, 404)
        delete_product(context(), provider, store, product_id)
        return reply({"id": product_id})
