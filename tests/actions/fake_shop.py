"""A fake of the backend's assistant API for tenant "shop": catalog, cart, orders, payments,
answers, handoff, preferences. It keeps state per test like the backend does, and records every
request. `app()` is what tests.actions.loopback serves."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from aiohttp import web

from tests.actions.loopback import SERVICE_TOKEN

PHONE = "+254712345678"
# The customer's opaque reference (the backend issues it; Rasa's sender id is "shop:<REF>").
REF = "c0123456789abcdef01234567"


def product(pid: int, title: str, prices: List[int], stock: int = 5,
            images: Optional[List[str]] = None) -> Dict[str, Any]:
    variants = [{"id": pid * 10 + i, "sku": f"SKU-{pid}-{i}", "price_minor": price,
                 "currency": "KES", "stock": stock, "attributes": {"size": str(40 + i)}}
                for i, price in enumerate(prices)]
    return {"id": pid, "title": title, "description": f"{title} description", "category": "shoes",
            "currency": "KES", "price_min_minor": min(prices), "price_max_minor": max(prices),
            "in_stock": stock > 0, "variants": variants, "images": images or []}


CATALOG = [product(11, "Canvas sneakers", [250000]),
           # A photo WhatsApp cannot fetch (not http) comes before one it can.
           product(12, "Leather boots", [450000, 480000],
                   images=["boots-front.jpg", "https://cdn.example.com/boots.jpg"]),
           product(13, "Sold-out sandals", [90000], stock=0),
           product(14, "Denim jacket", [320000])]


ZONE_KASARANI = {"id": 1, "name": "Kasarani", "areas": ["kasarani", "mwiki"], "radius_m": None,
                 "fee_minor": 20000, "free_above_minor": 1000000, "expected_time": "same day",
                 "position": 0}
ZONE_NEARBY = {"id": 2, "name": "Near the shop", "areas": [], "radius_m": 3000, "fee_minor": 10000,
               "free_above_minor": None, "expected_time": "within 2 hours", "position": 1}
SHOP_PIN = (-1.2210, 36.8900)


# An order line is a cart item without its product, attributes and stock.
ORDER_LINE = ("id", "variant_id", "sku", "title", "quantity", "unit_price_minor",
              "line_total_minor")


class FakeShop:
    def __init__(self) -> None:
        self.products = [dict(p) for p in CATALOG]
        self.cart: List[Dict[str, Any]] = []
        self.orders: List[Dict[str, Any]] = []
        self.payments: List[Dict[str, Any]] = []
        self.asked_phones: List[Optional[str]] = []  # the phone each payment request named
        self.features = {"mpesa_stk": True, "card_payments": True, "rule_based_intents": False,
                         "llm_budget_minor_per_month": 0,
                         "llm_budget_exhausted_action": "fallback_to_rules"}
        self.faq: Optional[Dict[str, Any]] = None
        self.classify: Optional[Dict[str, Any]] = None
        self.preferences: Dict[str, Any] = {"transactional": True, "reminders": True,
                                            "promotional": False}
        self.handoffs: List[Dict[str, Any]] = []
        # Delivery: off unless a test turns it on; one zone by place names and one by a radius.
        self.delivery: Dict[str, Any] = {"offers_pickup": True, "offers_delivery": False,
                                         "fallback": "pickup_only", "last_delivery": None}
        self.zones = [ZONE_KASARANI, ZONE_NEARBY]
        self.fail: Dict[str, int] = {}  # path prefix → status to answer
        self.status: Optional[int] = None  # status to answer every request with
        self.requests: List[Dict[str, Any]] = []

    # helpers -----------------------------------------------------------------------------------
    def variant(self, variant_id: int) -> Optional[Dict[str, Any]]:
        for product in self.products:
            for variant in product["variants"]:
                if variant["id"] == variant_id:
                    return {**variant, "title": product["title"], "product_id": product["id"]}
        return None

    def cart_body(self) -> Dict[str, Any]:
        items = [{"id": i + 1, "variant_id": line["variant_id"], "product_id": line["product_id"],
                  "sku": line["sku"], "title": line["title"], "attributes": line["attributes"],
                  "unit_price_minor": line["price_minor"], "quantity": line["quantity"],
                  "line_total_minor": line["price_minor"] * line["quantity"],
                  "stock": line["stock"]} for i, line in enumerate(self.cart)]
        return {"id": 1, "customer_id": 1, "currency": "KES", "items": items,
                "total_minor": sum(i["line_total_minor"] for i in items)}

    # routing -----------------------------------------------------------------------------------
    def app(self) -> web.Application:
        """The routes in ROUTES behind `guard`; tests/contract checks each against the backend."""
        app = web.Application(middlewares=[self.guard])
        for method, path, handler in ROUTES:
            app.router.add_route(method, path, getattr(self, handler))
        return app

    @web.middleware
    async def guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Records the request, answers a planted failure, checks the service token and tenant."""
        body = await request.json() if request.body_exists else None
        self.requests.append({"method": request.method, "path": request.path,
                              "query": dict(request.query), "json": body,
                              "headers": dict(request.headers)})
        failed = self.status or next(
            (status for prefix, status in self.fail.items() if request.path.startswith(prefix)), None)
        if failed:
            return web.json_response({"code": failed, "description": "planted"}, status=failed)
        if request.headers.get("Authorization") != f"Bearer {SERVICE_TOKEN}":
            return web.json_response({"code": 401}, status=401)
        if request.headers.get("X-TENANT-ID") != "shop" or request.match_info.http_exception:
            return web.json_response({"code": 404}, status=404)
        return await handler(request)

    async def list_products(self, request: web.Request) -> web.Response:
        items = self.products
        if request.query.get("category"):
            items = [p for p in items if p["category"] == request.query["category"]]
        if request.query.get("q"):
            items = [p for p in items if request.query["q"].lower() in p["title"].lower()]
        in_stock = request.query.get("in_stock") == "true"
        budget = int(request.query.get("max_price", 10**12))
        items = [p for p in items if any(
            v["price_minor"] <= budget and (v["stock"] > 0 or not in_stock) for v in p["variants"])]
        return web.json_response({"count": len(items), "next": None, "previous": None,
                                  "results": items[:int(request.query.get("page_size", 50))]})

    async def match_products(self, request: web.Request) -> web.Response:
        text = request.query["text"].lower()
        hits = [p for p in self.products if any(w in p["title"].lower() for w in text.split())]
        return web.json_response({"results": [
            {"product_id": p["id"], "title": p["title"], "score": 0.9, "variant_id": None}
            for p in hits[:int(request.query.get("limit", 5))]]})

    async def get_product(self, request: web.Request) -> web.Response:
        found = [p for p in self.products if p["id"] == int(request.match_info["product_id"])]
        if not found:
            return web.json_response({"code": 404}, status=404)
        return web.json_response(found[0])

    async def get_cart(self, request: web.Request) -> web.Response:
        if request.headers.get("X-CUSTOMER-REF") != REF:
            return web.json_response({"code": 401}, status=401)
        return web.json_response(self.cart_body())

    async def add_to_cart(self, request: web.Request) -> web.Response:
        if request.headers.get("X-CUSTOMER-REF") != REF:
            return web.json_response({"code": 401}, status=401)
        body = await request.json()
        variant = self.variant(body["variant_id"])
        if variant is None:
            return web.json_response({"code": 404}, status=404)
        already = sum(l["quantity"] for l in self.cart if l["variant_id"] == variant["id"])
        if already + body["quantity"] > variant["stock"]:
            return web.json_response({"code": 409, "description": "not enough stock"}, status=409)
        self.cart.append({**variant, "variant_id": variant["id"], "quantity": body["quantity"]})
        return web.json_response(self.cart_body(), status=201)

    async def list_orders(self, request: web.Request) -> web.Response:
        items = [o for o in reversed(self.orders)
                 if request.query.get("status") in (None, o["status"])]
        return web.json_response({"count": len(items), "next": None, "previous": None,
                                  "results": items})

    def quote_for(self, goods: int, address: Optional[str], latitude: Optional[float],
                  longitude: Optional[float]) -> Dict[str, Any]:
        """Like the backend's quote: a zone naming a word of the address, or a pin within a
        zone's radius of the shop (a flat-earth distance is close enough at 3 km)."""
        zone = None
        words = set((address or "").lower().replace(",", " ").split())
        for candidate in self.zones:
            if words & set(candidate["areas"]):
                zone = candidate
                break
        distance = None
        if zone is None and latitude is not None and longitude is not None:
            distance = int(111_320 * ((latitude - SHOP_PIN[0]) ** 2
                                      + (longitude - SHOP_PIN[1]) ** 2) ** 0.5)
            zone = next((z for z in self.zones if z["radius_m"] and distance <= z["radius_m"]),
                        None)
        free = bool(zone and zone["free_above_minor"] is not None
                    and goods >= zone["free_above_minor"])
        fee = 0 if zone is None or free else zone["fee_minor"]
        return {"currency": "KES", "goods_minor": goods, "zone": zone, "fee_minor": fee,
                "free_delivery": free, "expected_time": zone["expected_time"] if zone else None,
                "fallback": None if zone else self.delivery["fallback"],
                "matched_area": None, "distance_m": distance}

    async def delivery_options(self, request: web.Request) -> web.Response:
        return web.json_response(self.delivery)

    async def delivery_quote(self, request: web.Request) -> web.Response:
        body = await request.json()
        goods = body.get("goods_minor")
        if goods is None:
            goods = self.cart_body()["total_minor"]
        place = body
        if body.get("same_as_last"):
            place = self.delivery["last_delivery"]
            if place is None:
                return web.json_response({"code": 422, "description": "no last address"},
                                         status=422)
        if not place.get("address") and place.get("latitude") is None:
            return web.json_response({"code": 422, "description": "no place"}, status=422)
        return web.json_response(self.quote_for(goods, place.get("address"),
                                                place.get("latitude"), place.get("longitude")))

    async def place_order(self, request: web.Request) -> web.Response:
        if not self.cart:
            return web.json_response({"code": 422, "description": "empty cart"}, status=422)
        body = await request.json()
        cart = self.cart_body()
        lines = [{**{key: item[key] for key in ORDER_LINE}, "kind": "product"}
                 for item in cart["items"]]
        total, how = cart["total_minor"], None
        if body.get("fulfilment") == "delivery":
            place = body.get("delivery") or {}
            if place.get("same_as_last"):
                place = self.delivery["last_delivery"] or {}
            found = self.quote_for(total, place.get("address"), place.get("latitude"),
                                   place.get("longitude"))
            if found["zone"] is None and found["fallback"] == "pickup_only":
                return web.json_response({"code": 422, "description": "outside every zone",
                                          "errors": {"address": ["Outside every zone."]}},
                                         status=422)
            if found["zone"] is not None:
                lines.append({"id": 99, "variant_id": None, "sku": "DELIVERY",
                              "title": f"Delivery: {found['zone']['name']}", "quantity": 1,
                              "unit_price_minor": found["fee_minor"],
                              "line_total_minor": found["fee_minor"], "kind": "delivery"})
                total += found["fee_minor"]
            how = {"zone": found["zone"]["name"] if found["zone"] else None,
                   "expected_time": found["expected_time"], "needs_call": found["zone"] is None,
                   "fee_minor": found["fee_minor"], "address": place.get("address"),
                   "latitude": place.get("latitude"), "longitude": place.get("longitude"),
                   "recipient_phone": place.get("recipient_phone")}
            self.delivery["last_delivery"] = {key: place.get(key) for key in (
                "address", "latitude", "longitude", "recipient_phone")}
        order = {"id": 100 + len(self.orders), "customer_id": 1, "status": "pending_payment",
                 "currency": "KES", "total_minor": total,
                 "placed_at": "2026-11-22T08:00:00.000000+00:00",
                 "created_at": "2026-11-22T08:00:00.000000+00:00", "cancel_reason": None,
                 "courier": None, "tracking": None, "lines": lines,
                 "fulfilment": body.get("fulfilment"), "delivery": how}
        self.orders.append(order)
        self.cart = []
        return web.json_response(order, status=201)

    def order(self, request: web.Request) -> Optional[Dict[str, Any]]:
        wanted = int(request.match_info["order_id"])
        return next((o for o in self.orders if o["id"] == wanted), None)

    async def get_order(self, request: web.Request) -> web.Response:
        order = self.order(request)
        return web.json_response(order) if order else web.json_response({"code": 404}, status=404)

    async def transition(self, request: web.Request) -> web.Response:
        order = self.order(request)
        if order is None:
            return web.json_response({"code": 404}, status=404)
        if order["status"] not in ("draft", "pending_payment"):
            return web.json_response({"code": 409, "description": "not allowed"}, status=409)
        order["status"] = (await request.json())["to"]
        return web.json_response(order)

    async def pay(self, request: web.Request) -> web.Response:
        order = self.order(request)
        if order is None:
            return web.json_response({"code": 404}, status=404)
        body = await request.json()
        if order["status"] != "pending_payment":
            return web.json_response({"code": 409, "description": "not payable"}, status=409)
        if body["method"] == "card" and not self.features["card_payments"]:
            return web.json_response({"code": 409, "description": "no cards"}, status=409)
        # Like the backend: no phone means the customer's own; the answer shows it masked.
        stk_phone = body.get("phone") or PHONE
        if body["method"] == "mpesa_stk" and not stk_phone.startswith("+2547"):
            return web.json_response({"code": 422, "description": "bad phone"}, status=422)
        payment = {"id": 500 + len(self.payments), "order_id": order["id"],
                   "method": body["method"], "status": "pending",
                   "amount_minor": order["total_minor"], "currency": "KES",
                   "phone": stk_phone[:7] + "***" + stk_phone[-3:]
                   if body["method"] == "mpesa_stk" else None,
                   "checkout_url": "https://pay.example/c/1" if body["method"] == "card" else None,
                   "instructions": {"paybill": "600100", "account": f"ORD{order['id']}",
                                    "amount_minor": order["total_minor"]}
                   if body["method"] == "mpesa_manual" else None,
                   "receipt": None, "failure_code": None, "failure_reason": None}
        self.payments.append(payment)
        self.asked_phones.append(body.get("phone"))
        return web.json_response(payment, status=201)

    async def get_payment(self, request: web.Request) -> web.Response:
        wanted = int(request.match_info["payment_id"])
        payment = next((p for p in self.payments if p["id"] == wanted), None)
        return web.json_response(payment) if payment else web.json_response({"code": 404},
                                                                              status=404)

    async def tenant(self, request: web.Request) -> web.Response:
        return web.json_response({"id": "shop", "features": self.features})

    async def answer(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.faq is None:
            return web.json_response({"answer": "I'm not sure.", "answered": False,
                                      "language": body.get("language"), "sources": [],
                                      "language_fallback": False, "confidence": 0.1,
                                      "method": "none", "offer_human": True})
        return web.json_response(self.faq)

    async def customer_preferences(self, request: web.Request) -> web.Response:
        if request.method == "PATCH":
            self.preferences.update(await request.json())
        return web.json_response(self.preferences)

    async def handoff(self, request: web.Request) -> web.Response:
        self.handoffs.append(await request.json())
        return web.json_response({"conversation_id": 1, "needs_human": True})

    async def classify_intent(self, request: web.Request) -> web.Response:
        if self.classify is None:
            return web.json_response({"code": 409, "description": "no llm"}, status=409)
        return web.json_response(self.classify)


# The backend's routes this fake answers: (method, path, FakeShop handler). Checked against the
# backend's OpenAPI document by tests/contract.
ROUTES = [
    ("GET", "/v1/products", "list_products"),
    ("GET", "/v1/products/match", "match_products"),
    ("GET", "/v1/products/{product_id}", "get_product"),
    ("GET", "/v1/carts/current", "get_cart"),
    ("POST", "/v1/carts/current/items", "add_to_cart"),
    ("GET", "/v1/orders", "list_orders"),
    ("POST", "/v1/orders", "place_order"),
    ("GET", "/v1/orders/{order_id}", "get_order"),
    ("POST", "/v1/orders/{order_id}/transitions", "transition"),
    ("POST", "/v1/orders/{order_id}/payments", "pay"),
    ("GET", "/v1/payments/{payment_id}", "get_payment"),
    ("GET", "/v1/tenant", "tenant"),
    ("POST", "/v1/faq/answer", "answer"),
    ("GET", "/v1/customers/me/preferences", "customer_preferences"),
    ("PATCH", "/v1/customers/me/preferences", "customer_preferences"),
    ("POST", "/internal/v1/conversations/handoff", "handoff"),
    ("POST", "/internal/v1/nlu/classify", "classify_intent"),
    ("GET", "/internal/v1/delivery/options", "delivery_options"),
    ("POST", "/internal/v1/delivery/quote", "delivery_quote"),
]
