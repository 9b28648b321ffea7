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


def product(pid: int, title: str, prices: List[int], stock: int = 5) -> Dict[str, Any]:
    variants = [{"id": pid * 10 + i, "sku": f"SKU-{pid}-{i}", "price_minor": price,
                 "currency": "KES", "stock": stock, "attributes": {"size": str(40 + i)}}
                for i, price in enumerate(prices)]
    return {"id": pid, "title": title, "description": f"{title} description", "category": "shoes",
            "currency": "KES", "price_min_minor": min(prices), "price_max_minor": max(prices),
            "in_stock": stock > 0, "variants": variants}


CATALOG = [product(11, "Canvas sneakers", [250000]),
           product(12, "Leather boots", [450000, 480000]),
           product(13, "Sold-out sandals", [90000], stock=0),
           product(14, "Denim jacket", [320000])]


class FakeShop:
    def __init__(self) -> None:
        self.products = [dict(p) for p in CATALOG]
        self.cart: List[Dict[str, Any]] = []
        self.orders: List[Dict[str, Any]] = []
        self.payments: List[Dict[str, Any]] = []
        self.features = {"mpesa_stk": True, "card_payments": True}
        self.faq: Optional[Dict[str, Any]] = None
        self.classify: Optional[Dict[str, Any]] = None
        self.preferences: Dict[str, Any] = {"transactional": True, "reminders": True,
                                            "promotional": False}
        self.handoffs: List[Dict[str, Any]] = []
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
        app = web.Application()
        app.router.add_route("*", "/v1/{route}", self.handle)
        app.router.add_route("*", "/v1/{route}/{rest:.*}", self.handle)
        app.router.add_route("*", "/{route:internal}/{rest:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        self.requests.append({"method": request.method, "path": request.path,
                              "query": dict(request.query), "json": body,
                              "headers": dict(request.headers)})
        failed = self.status or next(
            (status for prefix, status in self.fail.items() if request.path.startswith(prefix)), None)
        if failed:
            return web.json_response({"code": failed, "description": "planted"}, status=failed)
        if request.headers.get("Authorization") != f"Bearer {SERVICE_TOKEN}":
            return web.json_response({"code": 401}, status=401)
        if request.headers.get("X-TENANT-ID") != "shop":
            return web.json_response({"code": 404}, status=404)
        route = getattr(self, "route_" + request.match_info["route"].replace("-", "_"), None)
        return await route(request, body) if route else web.json_response({"code": 404}, status=404)

    async def route_products(self, request: web.Request, body: Any) -> web.Response:
        parts = request.path.strip("/").split("/")
        if parts[-1] == "match":
            text = request.query["text"].lower()
            hits = [p for p in self.products if any(w in p["title"].lower() for w in text.split())]
            return web.json_response({"results": [
                {"product_id": p["id"], "title": p["title"], "score": 0.9, "variant_id": None}
                for p in hits[:int(request.query.get("limit", 5))]]})
        if len(parts) == 3:
            found = [p for p in self.products if p["id"] == int(parts[2])]
            return web.json_response(found[0]) if found else web.json_response({"code": 404},
                                                                               status=404)
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

    async def route_carts(self, request: web.Request, body: Any) -> web.Response:
        if request.headers.get("X-CUSTOMER-REF") != REF:
            return web.json_response({"code": 401}, status=401)
        if request.method == "POST":
            variant = self.variant(body["variant_id"])
            if variant is None:
                return web.json_response({"code": 404}, status=404)
            already = sum(l["quantity"] for l in self.cart if l["variant_id"] == variant["id"])
            if already + body["quantity"] > variant["stock"]:
                return web.json_response({"code": 409, "description": "not enough stock"},
                                         status=409)
            self.cart.append({**variant, "variant_id": variant["id"],
                              "quantity": body["quantity"]})
            return web.json_response(self.cart_body(), status=201)
        return web.json_response(self.cart_body())

    async def route_orders(self, request: web.Request, body: Any) -> web.Response:
        parts = request.path.strip("/").split("/")
        if request.method == "GET" and len(parts) == 2:
            items = [o for o in reversed(self.orders)
                     if request.query.get("status") in (None, o["status"])]
            return web.json_response({"count": len(items), "next": None, "previous": None,
                                      "results": items})
        if request.method == "POST" and len(parts) == 2:
            if not self.cart:
                return web.json_response({"code": 422, "description": "empty cart"}, status=422)
            cart = self.cart_body()
            order = {"id": 100 + len(self.orders), "customer_id": 1, "status": "pending_payment",
                     "currency": "KES", "total_minor": cart["total_minor"],
                     "placed_at": "2026-11-22T08:00:00.000000+00:00",
                     "created_at": "2026-11-22T08:00:00.000000+00:00", "cancel_reason": None,
                     "lines": cart["items"]}
            self.orders.append(order)
            self.cart = []
            return web.json_response(order, status=201)
        order = next((o for o in self.orders if o["id"] == int(parts[2])), None)
        if order is None:
            return web.json_response({"code": 404}, status=404)
        if parts[-1] == "transitions":
            if order["status"] not in ("draft", "pending_payment"):
                return web.json_response({"code": 409, "description": "not allowed"}, status=409)
            order["status"] = body["to"]
            return web.json_response(order)
        if parts[-1] == "payments":
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
                       "asked_phone": body.get("phone"),
                       "checkout_url": "https://pay.example/c/1" if body["method"] == "card"
                       else None,
                       "instructions": {"paybill": "600100", "account": f"ORD{order['id']}",
                                        "amount_minor": order["total_minor"]}
                       if body["method"] == "mpesa_manual" else None,
                       "receipt": None, "failure_code": None, "failure_reason": None}
            self.payments.append(payment)
            return web.json_response(payment, status=201)
        return web.json_response(order)

    async def route_payments(self, request: web.Request, body: Any) -> web.Response:
        wanted = int(request.path.strip("/").split("/")[2])
        payment = next((p for p in self.payments if p["id"] == wanted), None)
        return web.json_response(payment) if payment else web.json_response({"code": 404},
                                                                              status=404)

    async def route_tenant(self, request: web.Request, body: Any) -> web.Response:
        return web.json_response({"id": "shop", "features": self.features})

    async def route_faq(self, request: web.Request, body: Any) -> web.Response:
        if self.faq is None:
            return web.json_response({"answer": "I'm not sure.", "answered": False,
                                      "language": body.get("language"), "sources": [],
                                      "language_fallback": False, "confidence": 0.1,
                                      "method": "none", "offer_human": True})
        return web.json_response(self.faq)

    async def route_customers(self, request: web.Request, body: Any) -> web.Response:
        if request.method == "PATCH":
            self.preferences.update(body)
        return web.json_response(self.preferences)

    async def route_internal(self, request: web.Request, body: Any) -> web.Response:
        if request.path.endswith("/handoff"):
            self.handoffs.append(body)
            return web.json_response({"conversation_id": 1, "needs_human": True})
        if request.path.endswith("/classify"):
            if self.classify is None:
                return web.json_response({"code": 409, "description": "no llm"}, status=409)
            return web.json_response(self.classify)
        return web.json_response({"code": 404}, status=404)
