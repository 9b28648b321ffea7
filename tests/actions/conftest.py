"""A fake catalog API on loopback for the actions, and trackers built like rasa sends them."""
from __future__ import annotations

import socket
from typing import Any, Dict, List, Optional

import pytest_asyncio
from aiohttp import web
from rasa_sdk import Tracker

from actions import backend as backend_module
from actions.backend import Backend

SERVICE_TOKEN = "test-service-token"


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


class FakeCatalog:
    def __init__(self) -> None:
        self.products = list(CATALOG)
        self.status: Optional[int] = None
        self.requests: List[web.Request] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(request)
        if self.status:
            return web.json_response({"code": self.status}, status=self.status)
        if request.headers.get("Authorization") != f"Bearer {SERVICE_TOKEN}":
            return web.json_response({"code": 401}, status=401)
        if request.headers.get("X-TENANT-ID") != "shop":
            return web.json_response({"code": 404}, status=404)
        if "id" in request.match_info:
            found = [p for p in self.products if p["id"] == int(request.match_info["id"])]
            return web.json_response(found[0]) if found else web.json_response({"code": 404}, status=404)
        items = self.products
        if request.query.get("category"):
            items = [p for p in items if p["category"] == request.query["category"]]
        if request.query.get("q"):
            items = [p for p in items if request.query["q"].lower() in p["title"].lower()]
        in_stock = request.query.get("in_stock") == "true"
        budget = int(request.query.get("max_price", 10**12))
        items = [p for p in items if any(
            v["price_minor"] <= budget and (v["stock"] > 0 or not in_stock) for v in p["variants"])]
        size = int(request.query.get("page_size", 50))
        return web.json_response({"count": len(items), "next": None, "previous": None,
                                  "results": items[:size]})


@pytest_asyncio.fixture
async def catalog(monkeypatch):
    fake = FakeCatalog()
    app = web.Application()
    app.router.add_get("/v1/products", fake.handle)
    app.router.add_get("/v1/products/{id}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    await web.TCPSite(runner, "127.0.0.1", port).start()
    client = Backend(f"http://127.0.0.1:{port}", SERVICE_TOKEN, timeout_seconds=2)
    monkeypatch.setattr(backend_module, "backend", client)
    for module in ("actions.catalog",):
        monkeypatch.setattr(f"{module}.backend", client)
    yield fake
    if client._session:
        await client._session.close()
    await runner.cleanup()


def tracker(intent: str = "browse_products", entities: Optional[List[Dict[str, Any]]] = None,
            slots: Optional[Dict[str, Any]] = None, text: str = "") -> Tracker:
    return Tracker(
        sender_id="shop:+254712345678", slots={"language": "en", **(slots or {})},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9},
                        "entities": entities or []},
        events=[], paused=False, followup_action=None, active_loop={},
        latest_action_name="action_listen")
