"""Payment webhooks at speed, on PostgreSQL and Redis: how fast a Daraja STK callback is
acknowledged (HTTP over loopback, stored once, job enqueued), and how fast RQ worker processes
turn it into a credited payment.

Creates a fresh database, migrates it, serves the backend with gunicorn on a spare loopback
port (as `make up` does), starts RQ workers (SimpleWorker, as many as --workers, warmed up) and
a stand-in Rasa that answers the payment notices, posts one callback per payment (plus
duplicates) one after the other, waits until every payment is credited, prints a table, writes
bench/results/payments-<UTC>.json and drops the database.

    .venv/bin/python scripts/bench_payments.py   # TEST_POSTGRES_URL and TEST_REDIS_URL
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import requests  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from redis import Redis  # noqa: E402
from rq import Queue  # noqa: E402
from rq.job import Job  # noqa: E402
from rq.registry import FinishedJobRegistry  # noqa: E402
from sqlalchemy import text  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402
from werkzeug.wrappers import Response  # noqa: E402

from backend.app import create_app  # noqa: E402
from bench_common import add_service_options, check_services, stamped, write_result  # noqa: E402
from backend.migrate import scratch_database  # noqa: E402
from backend.wiring import Context  # noqa: E402
from backend.domain.money import Money  # noqa: E402
from backend.models import Order, Payment  # noqa: E402
from backend.queueing.names import DEFAULT, PROCESS_PAYMENT_EVENT, QUEUES  # noqa: E402
from backend.seed.payments import seed_payments  # noqa: E402
from backend.services.platform.auth import issue_api_key  # noqa: E402
from backend.services.catalog.listing import NewProduct, NewVariant, add_products  # noqa: E402
from backend.services.platform.customers import acting_customer  # noqa: E402
from backend.services.payments.settings import get_payment_settings  # noqa: E402
from backend.services.platform.tenants import NewTenant, ensure_tenant  # noqa: E402
from backend.settings import Settings  # noqa: E402

TENANT = "bench-payments"
TARGETS_MS = {"ack": 20.0, "credited": 50.0}
PRICE_MINOR = 150_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(samples: list[float]) -> dict[str, float]:
    return {"n": len(samples), "p50_ms": round(percentile(samples, 50), 2),
            "p95_ms": round(percentile(samples, 95), 2),
            "p99_ms": round(percentile(samples, 99), 2), "max_ms": round(max(samples), 2),
            "mean_ms": round(statistics.fmean(samples), 2)}


class Server:
    def __init__(self, app: Any, port: int) -> None:
        self._server = make_server("127.0.0.1", port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def fake_rasa(environ: Any, start_response: Any) -> Any:
    body = json.dumps({"messages": [{"text": "Payment received, thank you!"}]})
    return Response(body, 200, mimetype="application/json")(environ, start_response)


def callback(reference: str, receipt: str) -> dict[str, Any]:
    return {"Body": {"stkCallback": {
        "MerchantRequestID": "1-1-1", "CheckoutRequestID": reference, "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": [
            {"Name": "Amount", "Value": PRICE_MINOR / 100},
            {"Name": "MpesaReceiptNumber", "Value": receipt}, {"Name": "Balance"},
            {"Name": "TransactionDate", "Value": 20261122101010},
            {"Name": "PhoneNumber", "Value": 254712000001}]}}}}


def prepare(ctx: Context, payments: int) -> list[str]:
    ensure_tenant(ctx, NewTenant(id=TENANT, name="Bench payments", whatsapp_number="+254700009901",
                                 twilio_account_sid="AC" + "9" * 32, twilio_auth_token="bench",
                                 tier="growth"))
    issue_api_key(ctx, TENANT, "bench-payments-api-key")
    seed_payments(ctx, TENANT)
    add_products(ctx, TENANT, [NewProduct("Bench item", "", "misc", [
        NewVariant("BENCH-1", Money(PRICE_MINOR, "KES"), 10**6, {})])])
    customer = acting_customer(ctx, TENANT, "+254712000001")
    references = []
    with ctx.db.transaction() as session:
        for n in range(payments):
            order = Order(tenant_id=TENANT, customer_id=customer, status="pending_payment",
                          currency="KES", total_minor=PRICE_MINOR, placed_at=datetime.now(UTC))
            session.add(order)
            session.flush()
            reference = f"ws_CO_bench_{n:06d}"
            session.add(Payment(tenant_id=TENANT, order_id=order.id, customer_id=customer,
                                method="mpesa_stk", provider="daraja", status="pending",
                                amount_minor=PRICE_MINOR, currency="KES",
                                provider_reference=reference))
            references.append(reference)
    return references


def wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the backend did not answer {url}")


def warm_up(redis_url: str, workers: int) -> None:
    """Steady state: every worker has imported the job modules and built its context (the
    first job of a worker pays about a second for that)."""
    queue = Queue(DEFAULT, connection=Redis.from_url(redis_url))
    jobs = [queue.enqueue("backend.jobs.payments.sweep_payments") for _ in range(workers * 3)]
    deadline = time.monotonic() + 120
    while not all(job.get_status(refresh=True) == "finished" for job in jobs):
        if time.monotonic() > deadline:
            raise SystemExit("the RQ workers did not start")
        time.sleep(0.2)


def run(database_url: str, redis_url: str, payments: int, duplicates: int,
        workers: int, interval_ms: int) -> dict[str, Any]:
    port, rasa_port = free_port(), free_port()
    keys = {"SERVICE_TOKEN": "bench-service-token", "ENCRYPTION_KEY": Fernet.generate_key()
            .decode(), "HASH_KEY": "bench-hash-key"}
    settings = Settings(database_url=database_url, redis_url=redis_url,
                        service_token=keys["SERVICE_TOKEN"],
                        encryption_keys=(keys["ENCRYPTION_KEY"],), hash_key=keys["HASH_KEY"],
                        backend_port=port, rasa_url=f"http://127.0.0.1:{rasa_port}")
    app = create_app(settings)
    ctx: Context = app.extensions["backend"]
    references = prepare(ctx, payments)
    url = get_payment_settings(ctx, TENANT).callback_urls["mpesa_stk"]
    env = {**os.environ, **keys, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "SANDBOX": "1", "BACKEND_PORT": str(port), "RASA_URL": settings.rasa_url,
           "PYTHONPATH": str(REPO)}
    rq = str(Path(sys.executable).parent / "rq")
    procs = [subprocess.Popen([rq, "worker", *QUEUES, "--url", redis_url,
                               "--worker-class", "rq.SimpleWorker", "--with-scheduler",
                               "--quiet"], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(workers)]
    servers = [Server(fake_rasa, rasa_port)]
    # The backend as `make up` runs it: gunicorn, 2 workers × 4 threads.
    backend = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "4", "-c", "python:backend.gunicorn_conf", "backend.wsgi:app"], env=env, cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(backend)
    acks: list[float] = []
    try:
        wait_healthy(f"http://127.0.0.1:{port}/v1/health")
        warm_up(redis_url, workers)
        with requests.Session() as http:
            for _ in range(20):  # warm up connections and code paths
                http.get(f"http://127.0.0.1:{port}/v1/health", timeout=10)
            for n, reference in enumerate(references):
                body = callback(reference, f"BENCH{n:05d}")
                for _ in range(1 + duplicates):
                    started = time.perf_counter()
                    response = http.post(url, json=body, timeout=10)
                    acks.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.text
                time.sleep(interval_ms / 1000)  # spread out, as from many phones
        deadline = time.monotonic() + 300
        with ctx.db.engine.connect() as connection:
            while connection.execute(text(
                    "SELECT count(*) FROM ledger_transactions")).scalar() < payments:
                if time.monotonic() > deadline:
                    raise SystemExit("payments were not all credited within 5 minutes")
                time.sleep(0.2)
                connection.commit()
            credited = [float(row[0]) * 1000 for row in connection.execute(text(
                "SELECT EXTRACT(EPOCH FROM (t.created_at - e.received_at)) FROM "
                "ledger_transactions t JOIN payment_events e ON e.payment_id = t.payment_id"))]
        connection_redis = Redis.from_url(redis_url)
        queue = Queue(DEFAULT, connection=connection_redis)
        ids = FinishedJobRegistry(queue=queue).get_job_ids()
        jobs = [j for j in Job.fetch_many(ids, connection=connection_redis) if j]
        in_worker = [(j.ended_at - j.started_at).total_seconds() * 1000 for j in jobs
                     if j.func_name == PROCESS_PAYMENT_EVENT.path
                     and j.started_at and j.ended_at]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        for server in servers:
            server.close()
        ctx.db.dispose()
    return {"payments": payments, "callbacks": len(acks), "workers": workers,
            "interval_ms": interval_ms,
            "webhook_ack": summary(acks), "callback_to_credited": summary(credited),
            "process_event_job": summary(in_worker) if in_worker else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_service_options(parser)
    parser.add_argument("--payments", type=int, default=300)
    parser.add_argument("--duplicates", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--interval-ms", type=int, default=50,
                        help="pause between payments (their callbacks arrive spread out)")
    args = parser.parse_args()
    check_services(args)
    redis_url = args.redis_url.rsplit("/", 1)[0] + "/12"
    Redis.from_url(redis_url).flushdb()
    try:
        with scratch_database(args.database_url, "payments_bench") as url:
            result = stamped(run(url, redis_url, args.payments, args.duplicates, args.workers,
                                 args.interval_ms))
    finally:
        Redis.from_url(redis_url).flushdb()
    print(f"{'measure':<38} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'target':>8}")
    rows = [("webhook acknowledgement (HTTP)", result["webhook_ack"], TARGETS_MS["ack"]),
            ("callback received → credited", result["callback_to_credited"],
             TARGETS_MS["credited"])]
    if result["process_event_job"]:
        rows.append(("  process_event job in the worker", result["process_event_job"], None))
    for label, row, target in rows:
        goal = f"≤{target:.0f}" if target else ""
        print(f"{label:<38} {row['n']:>5} {row['p50_ms']:>8} {row['p95_ms']:>8} "
              f"{row['p99_ms']:>8} {goal:>8}")
    write_result("payments", result)


if __name__ == "__main__":
    main()
