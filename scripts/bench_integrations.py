"""Store integration at scale, on PostgreSQL: the initial import of 10,000 WooCommerce
products × 3 variants from the simulator (target ≤ 60 s), then an incremental sync of 100
upstream changes (target ≤ 5 s).

The simulator is served by its own gunicorn process (2 threaded workers) over loopback, as a
real store would be reached; the run is the real job function (`run_sync`) with the real
client (REST v3 pages of 100, variations 8 products at a time). Creates a fresh database,
migrates it, seeds an enterprise-tier tenant and the simulated store in bulk, measures,
prints the figures with the load average, writes bench/results/integrations-<UTC>.json.

    .venv/bin/python scripts/bench_integrations.py --database-url postgresql+psycopg://…/postgres
    (or set TEST_POSTGRES_URL)
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cryptography.fernet import Fernet  # noqa: E402

from backend.migrate import scratch_database  # noqa: E402
from backend.sandbox.stores import (  # noqa: E402
    MALFORMED_ITEMS,
    change_products,
    create_store,
    seed_catalog,
)
from backend.services.integrations.connections import connect, queue_run  # noqa: E402
from backend.services.integrations.sync import run_sync  # noqa: E402
from backend.services.platform.tenants import NewTenant, ensure_tenant  # noqa: E402
from backend.settings import Settings  # noqa: E402
from backend.wiring import build_context  # noqa: E402
from bench_common import add_service_options, check_services, stamped, write_result  # noqa: E402

TARGET_IMPORT_S, TARGET_SYNC_S = 60.0, 5.0
TENANT, STORE = "bench-stores", "bench-woo"
KEYS = {"consumer_key": "ck_" + "1" * 40, "consumer_secret": "cs_" + "2" * 40}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(url: str, port: int, secrets: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, **secrets, "DATABASE_URL": url, "BACKEND_PORT": str(port),
           "SANDBOX": "1", "REDIS_URL": "", "RATE_LIMITS_ENABLED": "0", "LOG_LEVEL": "WARNING",
           "PUBLIC_URL": f"http://127.0.0.1:{port}"}
    process = subprocess.Popen(
        [str(REPO / ".venv/bin/gunicorn"), "-b", f"127.0.0.1:{port}", "-w", "2",
         "-k", "gthread", "--threads", "4", "--log-level", "warning", "backend.wsgi:app"],
        cwd=REPO, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/v1/health/live", timeout=2)
            return process
        except requests.RequestException:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("the simulator did not start")


def run(url: str, products: int, variants: int, changes: int) -> dict[str, Any]:
    port = free_port()
    secrets = {"ENCRYPTION_KEY": Fernet.generate_key().decode(), "HASH_KEY": "bench-hash",
               "SERVICE_TOKEN": "bench-service-token"}
    settings = Settings(database_url=url, redis_url="", service_token=secrets["SERVICE_TOKEN"],
                        encryption_keys=(secrets["ENCRYPTION_KEY"],), hash_key="bench-hash",
                        sandbox=True, backend_port=port)
    ctx = build_context(settings)
    ensure_tenant(ctx, NewTenant(TENANT, "Bench Stores", "+254700009998", "AC" + "8" * 32,
                                 "bench-token", tier="enterprise"))
    create_store(ctx, "woocommerce", STORE, KEYS)
    started = time.perf_counter()
    seed_catalog(ctx, "woocommerce", STORE, products, variants)
    seeded_s = time.perf_counter() - started
    server = serve(url, port, secrets)
    try:
        connect(ctx, TENANT, "woocommerce", {
            "site_url": f"{settings.payments_sandbox_url}/woocommerce/{STORE}", **KEYS})
        started = time.perf_counter()
        first = queue_run(ctx, TENANT, "woocommerce")
        ctx.jobs.drain(3600)  # the in-process runner ran it (no Redis): wait for it
        run_sync(ctx, first.id)  # "skipped" when the job already did it
        import_s = time.perf_counter() - started
        imported = _run(ctx, first.id)
        ids = list(range(1000, 1000 + products, max(products // changes, 1)))[:changes]
        change_products(ctx, "woocommerce", STORE, ids, price="777.00", stock=5, notify=False)
        started = time.perf_counter()
        second = queue_run(ctx, TENANT, "woocommerce")
        ctx.jobs.drain(600)
        run_sync(ctx, second.id)
        sync_s = time.perf_counter() - started
        synced = _run(ctx, second.id)
    finally:
        server.terminate()
        server.wait(timeout=30)
        ctx.db.dispose()
    load = os.getloadavg()
    return {"products": products, "variants_each": variants, "malformed": MALFORMED_ITEMS,
            "seed_s": round(seeded_s, 2),
            "import": {"seconds": round(import_s, 2), "target_s": TARGET_IMPORT_S, **imported},
            "incremental": {"changes": len(ids), "seconds": round(sync_s, 2),
                            "target_s": TARGET_SYNC_S, **synced},
            "load_average": [round(x, 2) for x in load], "cpus": os.cpu_count()}


def _run(ctx: Any, run_id: int) -> dict[str, Any]:
    from backend.models import IntegrationRun

    with ctx.db.transaction() as session:
        row = session.get(IntegrationRun, run_id)
        return {"status": row.status, "created": row.created, "updated": row.updated,
                "deactivated": row.deactivated, "failed": row.failed, "error": row.error}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_service_options(parser, redis=False)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--variants", type=int, default=3)
    parser.add_argument("--changes", type=int, default=100)
    args = parser.parse_args()
    check_services(args)
    with scratch_database(args.database_url, "integrations_bench") as url:
        result = stamped(run(url, args.products, args.variants, args.changes))
    for name, target in (("import", TARGET_IMPORT_S), ("incremental", TARGET_SYNC_S)):
        row = result[name]
        verdict = "ok" if row["seconds"] <= target and row["status"] == "succeeded" else "OVER"
        print(f"{name:<12} {row['seconds']:>8.2f} s (target ≤ {target:.0f} s) {verdict}: "
              f"{row['status']}, {row['created']} created, {row['updated']} updated, "
              f"{row['failed']} failed")
    print(f"load average {result['load_average']} on {result['cpus']} CPUs")
    write_result("integrations", result)


if __name__ == "__main__":
    main()
