"""Analytics on a tenant with a year of history (targets: a tenant-day roll-up in at most 1 s,
GET /v1/analytics/overview in at most 150 ms at p95).

Seeds one tenant with the history of `python -m backend.seed --history` (100,000 messages,
10,000 orders; bulk inserts, the year rolled up) in a fresh SQLite database (no services
needed; or --database-url, e.g. the test PostgreSQL), then times the roll-up of the busiest days
and the overview endpoint through the real app (an API key, every hook). Prints one JSON line and
writes bench/results/analytics.json (analytics-postgresql.json on PostgreSQL).

    .venv/bin/python scripts/bench_analytics.py [--messages 100000] [--orders 10000]
        [--database-url URL]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.app import create_app  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.models.analytics import DailyRollup  # noqa: E402
from backend.seed.history import seed_history  # noqa: E402
from backend.services.analytics.rollup import rollup_day  # noqa: E402
from backend.services.platform.auth import issue_api_key  # noqa: E402
from backend.services.platform.tenants import NewTenant, ensure_tenant  # noqa: E402
from backend.settings import Settings  # noqa: E402
from backend.wiring import Context  # noqa: E402

ROLLUP_TARGET_S = 1.0
OVERVIEW_TARGET_MS = 150.0
TENANT, KEY = "bench-shop", "bench-shop-api-key-000001"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    upgrade(url)
    app = create_app(Settings(database_url=url, redis_url="", service_token="bench-token",
                              encryption_keys=(Fernet.generate_key().decode(),),
                              hash_key="bench", sandbox=True))
    ctx: Context = app.extensions["backend"]
    app.extensions["rate_limiter"].enabled = False  # timing the endpoint, not the tier's rate
    ensure_tenant(ctx, NewTenant(id=TENANT, name="Bench Shop", whatsapp_number="+254700009999",
                                 twilio_account_sid="AC" + "9" * 32,
                                 twilio_auth_token="bench-token", tier="enterprise"))
    issue_api_key(ctx, TENANT, KEY)
    history = seed_history(ctx, TENANT, args.messages, args.orders)

    # The roll-up: the ten busiest days of the year (by messages in), each three times.
    with ctx.db.transaction() as session:
        busiest = list(session.scalars(select(DailyRollup.day).where(
            DailyRollup.tenant_id == TENANT).order_by(DailyRollup.messages_in.desc()).limit(10)))
    rollup_s = []
    for day in busiest * 3:
        started = time.perf_counter()
        rollup_day(ctx, TENANT, day)
        rollup_s.append(time.perf_counter() - started)

    client = app.test_client()
    headers = {"X-TENANT-ID": TENANT, "X-TENANT-API-KEY": KEY}
    for _ in range(5):  # warm up
        assert client.get("/v1/analytics/overview", headers=headers).status_code == 200
    overview_ms = []
    for _ in range(args.requests):
        started = time.perf_counter()
        response = client.get("/v1/analytics/overview", headers=headers)
        overview_ms.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.get_json()
    month = response.get_json()["last_30_days"]

    result = {
        "history": {"messages": history.messages, "orders": history.orders,
                    "conversations": history.conversations, "customers": history.customers,
                    "days_rolled_up": history.days_rolled_up,
                    "seed_seconds": history.seconds},
        "rollup_day_seconds": {"median": round(statistics.median(rollup_s), 4),
                               "max": round(max(rollup_s), 4), "runs": len(rollup_s)},
        "rollup_target_seconds": ROLLUP_TARGET_S,
        "overview_ms": {"p50": round(statistics.median(overview_ms), 2),
                        "p95": round(p95(overview_ms), 2), "requests": len(overview_ms)},
        "overview_target_ms_p95": OVERVIEW_TARGET_MS,
        "last_30_days": {"messages_in": month["messages_in"], "orders": month["orders"],
                         "revenue_minor": month["revenue_minor"]},
        "database": url.split(":", 1)[0].split("+", 1)[0],
    }
    result["met"] = (max(rollup_s) <= ROLLUP_TARGET_S
                     and result["overview_ms"]["p95"] <= OVERVIEW_TARGET_MS)
    out = ROOT / "bench" / "results" / (
        "analytics.json" if result["database"] == "sqlite"
        else f"analytics-{result['database']}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    ctx.db.dispose()
    if not result["met"]:
        sys.exit("analytics bench: a target was missed (see bench/results/analytics.json)")


if __name__ == "__main__":
    main()
