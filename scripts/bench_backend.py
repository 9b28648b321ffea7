"""Backend latency at scale: catalog search and order creation with 10,000 products, on PostgreSQL.

In-process through the WSGI test client (no network): creates a fresh database, migrates it, seeds
one enterprise-tier tenant in bulk, measures, prints a table, writes
bench/results/backend-<UTC timestamp>.json and drops the database.

    .venv/bin/python scripts/bench_backend.py --database-url postgresql+psycopg://…/postgres
    (or set TEST_POSTGRES_URL)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from backend.app import create_app  # noqa: E402
from bench_common import add_service_options, check_services, stamped, write_result  # noqa: E402
from backend.migrate import scratch_database  # noqa: E402
from backend.wiring import Context  # noqa: E402
from backend.models import Product, ProductVariant  # noqa: E402
from backend.services.platform.auth import issue_api_key  # noqa: E402
from backend.services.platform.customers import acting_customer  # noqa: E402
from backend.services.platform.tenants import NewTenant, ensure_tenant  # noqa: E402
from backend.settings import Settings  # noqa: E402

TENANT = "bench-enterprise"
API_KEY = "bench-enterprise-api-key"
TARGETS_MS = {"search": 20.0, "order": 30.0}
NOUNS = ["sneakers", "boots", "sandals", "shirt", "dress", "jacket", "jeans", "kitenge", "kikoi",
         "bag", "belt", "cap", "scarf", "socks", "phone", "charger", "earbuds", "cable", "case",
         "lotion", "wig", "braids", "serum", "watch", "speaker", "blanket", "mug", "bottle"]
ADJECTIVES = ["classic", "leather", "canvas", "cotton", "denim", "woven", "beaded", "slim",
              "premium", "kids", "ladies", "mens", "sport", "travel", "rugged", "soft", "bright"]
COLOURS = ["black", "white", "brown", "red", "blue", "green", "grey", "navy", "maroon", "yellow"]
PLACES = ["Nairobi", "Mombasa", "Kisumu", "Nakuru", "Eldoret", "Kariokor", "Gikomba", "Thika"]
CATEGORIES = ["shoes", "clothing", "accessories", "electronics", "beauty", "home"]


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(samples: list[float]) -> dict[str, float]:
    return {"n": len(samples), "p50_ms": round(percentile(samples, 50), 2),
            "p95_ms": round(percentile(samples, 95), 2), "max_ms": round(max(samples), 2),
            "mean_ms": round(statistics.fmean(samples), 2)}


def bulk_catalog(ctx: Context, count: int, rng: random.Random) -> list[int]:
    """`count` products with two variants each, in batches; returns the variant ids."""
    with ctx.db.engine.begin() as connection:
        for start in range(0, count, 1000):
            rows = []
            for n in range(start, min(count, start + 1000)):
                noun, adjective = rng.choice(NOUNS), rng.choice(ADJECTIVES)
                rows.append({
                    "tenant_id": TENANT, "title": f"{adjective.title()} {noun.title()} {n}",
                    "description": f"{adjective} {noun} made in {rng.choice(PLACES)}, "
                                   f"{rng.choice(COLOURS)} and {rng.choice(COLOURS)}",
                    "category": rng.choice(CATEGORIES), "images": [], "active": True,
                    "created_at": datetime.now(UTC),
                })
            ids = connection.execute(insert(Product).returning(Product.id), rows).scalars().all()
            variants = []
            for product_id in ids:
                for size in ("M", "L"):
                    variants.append({
                        "tenant_id": TENANT, "product_id": product_id,
                        "sku": f"B{product_id}-{size}", "currency": "KES",
                        "price_minor": rng.randrange(100, 20_000) * 100,
                        "stock": rng.choice([0, 5, 1000, 1000, 1000]),
                        "attributes": {"size": size, "colour": rng.choice(COLOURS)},
                    })
            connection.execute(insert(ProductVariant), variants)
        connection.execute(text("ANALYZE products"))
        connection.execute(text("ANALYZE product_variants"))
        return list(connection.execute(text(
            "SELECT id FROM product_variants WHERE tenant_id = :t AND stock >= 1000"),
            {"t": TENANT}).scalars())


def timed(call: Callable[[], Any], expect: int) -> float:
    started = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != expect:
        raise SystemExit(f"unexpected {response.status_code}: {response.get_data(as_text=True)}")
    return elapsed


def search_queries(rng: random.Random, n: int) -> list[dict[str, Any]]:
    queries: list[dict[str, Any]] = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            queries.append({"q": rng.choice(NOUNS + COLOURS + PLACES)})
        elif kind == 1:
            queries.append({"q": f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}",
                            "in_stock": "true"})
        elif kind == 2:
            queries.append({"category": rng.choice(CATEGORIES),
                            "max_price": rng.randrange(5_000, 50_000) * 100})
        else:
            low = rng.randrange(100, 10_000) * 100
            queries.append({"category": rng.choice(CATEGORIES), "min_price": low,
                            "max_price": low + 200_000, "in_stock": "true"})
    return queries


def run(database_url: str, products: int, searches: int, orders: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    settings = Settings(database_url=database_url, service_token="bench-token",
                        encryption_keys=(Fernet.generate_key().decode(),), hash_key="bench",
                        sandbox=False)
    app = create_app(settings)
    ctx: Context = app.extensions["backend"]
    try:
        ensure_tenant(ctx, NewTenant(TENANT, "Bench Enterprise", "+254700009999",
                                     "AC" + "9" * 32, "bench-token", tier="enterprise"))
        issue_api_key(ctx, TENANT, API_KEY)
        started = time.perf_counter()
        variants = bulk_catalog(ctx, products, rng)
        seeded_s = time.perf_counter() - started
        customers = [acting_customer(ctx, TENANT, f"+2547200{n:05d}") for n in range(50)]
        client = app.test_client()
        headers = {"X-TENANT-ID": TENANT, "X-TENANT-API-KEY": API_KEY}
        service = {"Authorization": "Bearer bench-token", "X-TENANT-ID": TENANT}
        for query in search_queries(rng, 20):  # warm-up: pools, caches, plans
            timed(lambda q=query: client.get("/v1/products", query_string=q, headers=headers), 200)
        queries = search_queries(rng, searches)
        search = [timed(lambda q=q: client.get("/v1/products", query_string=q, headers=headers),
                        200) for q in queries]
        # The assistant asks for one WhatsApp menu at a time (actions/catalog.py: page_size 10).
        assistant = [timed(lambda q=q: client.get("/v1/products",
                                                  query_string={**q, "page_size": 10},
                                                  headers=service), 200) for q in queries]
        kinds = ("text", "text+in_stock", "category+max_price", "category+price range+in_stock")
        by_kind: dict[str, list[float]] = {kind: [] for kind in kinds}
        for i, sample in enumerate(search):
            by_kind[list(by_kind)[i % 4]].append(sample)
        phrases = [f"the {rng.choice(COLOURS)} {rng.choice(NOUNS)}" for _ in range(50)]
        matching = [timed(lambda t=t: client.get("/v1/products/match", query_string={"text": t},
                                                 headers=service), 200) for t in phrases]
        order_samples = []
        for n in range(orders + 10):
            items = [{"variant_id": v, "quantity": rng.randint(1, 3)}
                     for v in rng.sample(variants, rng.randint(1, 3))]
            body = {"customer_id": rng.choice(customers), "items": items}
            elapsed = timed(lambda b=body: client.post("/v1/orders", json=b, headers=headers), 201)
            if n >= 10:  # the first ten warm up
                order_samples.append(elapsed)
    finally:
        ctx.jobs.drain(timeout=120)  # e.g. the order-confirmed notices, before the database goes
        ctx.db.dispose()
    return {
        "products": products, "variants": products * 2, "seed_seconds": round(seeded_s, 2),
        "search": summary(search), "search_assistant_page_size_10": summary(assistant),
        "search_by_kind": {k: summary(v) for k, v in by_kind.items()},
        "order_creation": summary(order_samples), "fuzzy_match": summary(matching), "targets_p95_ms": TARGETS_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_service_options(parser, redis=False)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--searches", type=int, default=400)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    check_services(args)
    with scratch_database(args.database_url, "backend_bench") as url:
        result = stamped(run(url, args.products, args.searches, args.orders, args.seed))
    print(f"{'measure':<34} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'target':>8}")
    rows = [("search, merchant (page_size 50)", result["search"], TARGETS_MS["search"])]
    rows += [(f"  {k}", v, None) for k, v in result["search_by_kind"].items()]
    rows.append(("search, assistant (page_size 10)", result["search_assistant_page_size_10"],
                 TARGETS_MS["search"]))
    rows.append(("order creation", result["order_creation"], TARGETS_MS["order"]))
    rows.append(("fuzzy match (no target)", result["fuzzy_match"], None))
    for label, row, target in rows:
        goal = f"≤{target:.0f}" if target else ""
        print(f"{label:<34} {row['n']:>5} {row['p50_ms']:>8} {row['p95_ms']:>8} "
              f"{row['max_ms']:>8} {goal:>8}")
    write_result("backend", result)


if __name__ == "__main__":
    main()
