"""A campaign to 10,000 customers through the Twilio simulator, on PostgreSQL and Redis: how long
the request takes to queue it (target ≤ 10 s), how long until every recipient is stored, and how
many messages a second go out (target ≥ 50/s), with every customer sent exactly one.

Creates a fresh database, migrates it, serves the backend with gunicorn on a spare loopback port
(as `make up` does; it also serves the simulator and its signed status callbacks), starts RQ
workers (SimpleWorker: --workers on the default queue, where campaign batches run, and one on
the messaging and sandbox queues, where the simulator's status callbacks run — Twilio's own, in
production),
creates the customers (promotional consent, none of them inside the 24-hour window, so every
message is the approved template by its ContentSid), posts the campaign over HTTP, waits until
every message is sent, prints a table, writes bench/results/campaigns-<UTC>.json and drops the
database. The tenant is on the enterprise tier (no daily limit) so that the whole campaign goes
out today; on a smaller tier the rest waits for the next days (tests/backend/test_campaigns.py).

    .venv/bin/python scripts/bench_campaigns.py   # TEST_POSTGRES_URL and TEST_REDIS_URL
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import requests  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from redis import Redis  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from backend.app import create_app  # noqa: E402
from backend.models import Customer  # noqa: E402
from backend.queueing.names import DEFAULT, MESSAGING, SANDBOX  # noqa: E402
from backend.services.platform.auth import issue_api_key  # noqa: E402
from backend.services.platform.tenants import NewTenant, ensure_tenant  # noqa: E402
from backend.settings import Settings  # noqa: E402
from backend.wiring import Context  # noqa: E402
from bench_common import add_service_options, check_services, stamped, write_result  # noqa: E402
from backend.migrate import scratch_database  # noqa: E402
from bench_payments import free_port, wait_healthy  # noqa: E402

TENANT = "bench-campaigns"
API_KEY = "bench-campaigns-api-key"
TARGETS = {"queue_seconds": 10.0, "messages_per_second": 50.0}


def prepare(ctx: Context, customers: int) -> None:
    ensure_tenant(ctx, NewTenant(id=TENANT, name="Bench campaigns", whatsapp_number="+254700009902",
                                 twilio_account_sid="AC" + "8" * 32, twilio_auth_token="bench",
                                 tier="enterprise"))
    issue_api_key(ctx, TENANT, API_KEY)
    now = datetime.now(UTC)
    rows = []
    for n in range(customers):
        phone = f"+2547{n:08d}"
        rows.append(dict(tenant_id=TENANT, phone_encrypted=ctx.crypto.encrypt(phone),
                         phone_hash=ctx.crypto.keyed_hash(phone), ref=f"c{uuid.uuid4().hex[:24]}",
                         language=("en", "sw", "sheng")[n % 3], consent_transactional=True,
                         consent_reminders=True, consent_promotional=True, created_at=now))
    with ctx.db.transaction() as session:
        for start in range(0, len(rows), 2000):
            session.execute(insert(Customer), rows[start:start + 2000])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live children (gunicorn's workers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def count(connection: Any, sql: str) -> int:
    value = connection.execute(text(sql)).scalar()
    connection.commit()
    return int(value or 0)


def run(database_url: str, redis_url: str, customers: int, workers: int) -> dict[str, Any]:
    port = free_port()
    keys = {"SERVICE_TOKEN": "bench-service-token", "ENCRYPTION_KEY": Fernet.generate_key()
            .decode(), "HASH_KEY": "bench-hash-key"}
    settings = Settings(database_url=database_url, redis_url=redis_url,
                        service_token=keys["SERVICE_TOKEN"],
                        encryption_keys=(keys["ENCRYPTION_KEY"],), hash_key=keys["HASH_KEY"],
                        backend_port=port, sandbox=True)
    app = create_app(settings)
    ctx: Context = app.extensions["backend"]
    prepare(ctx, customers)
    env = {**os.environ, **keys, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "SANDBOX": "1", "BACKEND_PORT": str(port), "PYTHONPATH": str(REPO),
           "LOG_LEVEL": "WARNING"}
    rq = str(Path(sys.executable).parent / "rq")

    def worker(*queues: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([rq, "worker", *queues, "--url", redis_url, "--worker-class",
                                 "rq.SimpleWorker", "--quiet"], env=env, cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    procs = [worker(DEFAULT) for _ in range(workers)] + [worker(MESSAGING, SANDBOX)]
    procs.append(subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "4", "-c", "python:backend.gunicorn_conf",
         "backend.wsgi:app"], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL))
    base = f"http://127.0.0.1:{port}"
    headers = {"X-TENANT-ID": TENANT, "X-TENANT-API-KEY": API_KEY}
    try:
        wait_healthy(f"{base}/v1/health")
        with requests.Session() as http, ctx.db.engine.connect() as connection:
            made = http.post(f"{base}/v1/message-templates", headers=headers, timeout=30, json={
                "name": "december_sale", "category": "marketing", "placeholders": ["offer"],
                "sample_values": {"offer": "20% off"},
                "variants": {"en": "Karibu! {{offer}} on everything this week.",
                             "sw": "Karibu! {{offer}} kwa kila kitu wiki hii.",
                             "sheng": "Niaje! {{offer}} kwa kila kitu wiki hii."}})
            assert made.status_code == 201, made.text
            deadline = time.monotonic() + 120
            while count(connection, "SELECT count(*) FROM message_template_variants "
                        "WHERE approval = 'approved'") < 3:
                if time.monotonic() > deadline:
                    raise SystemExit("the template was not approved within 2 minutes")
                time.sleep(0.2)
            for _ in range(10):  # warm up connections and code paths
                http.get(f"{base}/v1/health", timeout=10)
            preview_started = time.perf_counter()
            preview = http.post(f"{base}/v1/campaigns/preview", headers=headers, timeout=60,
                                json={"variants": [{"template": "december_sale",
                                                    "variables": {"offer": "20% off"}}]})
            preview_seconds = time.perf_counter() - preview_started
            assert preview.status_code == 200 and preview.json()["reach"] == customers, \
                preview.text
            started = time.perf_counter()
            created = http.post(f"{base}/v1/campaigns", headers=headers, timeout=60, json={
                "name": "Bench", "variants": [
                    {"template": "december_sale", "variables": {"offer": "20% off"}},
                    {"template": "december_sale", "variables": {"offer": "30% off"}}]})
            queue_seconds = time.perf_counter() - started
            assert created.status_code == 202, created.text
            campaign = created.json()["id"]
            materialised = first_sent = None
            deadline = time.monotonic() + 1800
            while True:
                now = time.perf_counter()
                if materialised is None and count(
                        connection, "SELECT count(*) FROM campaign_recipients") >= customers:
                    materialised = now - started
                sent = count(connection, "SELECT count(*) FROM outbound_messages WHERE status "
                             "IN ('sent', 'delivered', 'read')")
                if first_sent is None and sent:
                    first_sent = now - started
                if sent >= customers:
                    all_sent = now - started
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"only {sent} of {customers} sent within 30 minutes")
                time.sleep(0.25)
            while count(connection, "SELECT count(*) FROM outbound_messages "
                        "WHERE status = 'read'") < customers:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.25)
            callbacks_done = time.perf_counter() - started
            roles = {"campaign workers": procs[:workers], "status callback worker":
                     procs[workers:workers + 1], "gunicorn (API, simulator, callbacks)":
                     procs[workers + 1:]}
            cpu = {role: round(sum(cpu_seconds(p.pid) for p in group) * 1000 / customers, 2)
                   for role, group in roles.items()}
            twice = count(connection, "SELECT count(*) FROM (SELECT to_hash FROM "
                          "sandbox_messages GROUP BY to_hash HAVING count(*) > 1) t")
            received = count(connection, "SELECT count(*) FROM sandbox_messages")
            report = http.get(f"{base}/v1/campaigns/{campaign}/report", headers=headers,
                              timeout=60).json()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        ctx.db.dispose()
    # CPU the backend's processes used (PostgreSQL aside), per message: what a message costs
    # whatever else the machine runs.
    return {"customers": customers, "workers": workers,
            "load_average_1min": round(os.getloadavg()[0], 2),
            "backend_cpu_ms_per_message": round(sum(cpu.values()), 2),
            "cpu_ms_per_message": cpu,
            "preview_seconds": round(preview_seconds, 3),
            "queue_seconds": round(queue_seconds, 3),
            "materialised_seconds": round(materialised or 0, 2),
            "first_sent_seconds": round(first_sent or 0, 2),
            "all_sent_seconds": round(all_sent, 2),
            "messages_per_second": round(customers / all_sent, 1),
            "all_read_seconds": round(callbacks_done, 2),
            "simulator_received": received, "customers_sent_twice": twice,
            "variants": [{k: v[k] for k in ("variant", "recipients", "sent", "delivered", "read")}
                         for v in report["variants"]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_service_options(parser)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    check_services(args)
    redis_url = args.redis_url.rsplit("/", 1)[0] + "/13"
    Redis.from_url(redis_url).flushdb()
    try:
        with scratch_database(args.database_url, "campaigns_bench") as url:
            result = stamped(run(url, redis_url, args.customers, args.workers))
    finally:
        Redis.from_url(redis_url).flushdb()
    print(f"{'measure':<44} {'value':>10} {'target':>8}")
    for label, value, target in (
            ("POST /v1/campaigns (queued), s", result["queue_seconds"],
             f"≤{TARGETS['queue_seconds']:.0f}"),
            ("preview of the reach, s", result["preview_seconds"], ""),
            ("every recipient stored, s", result["materialised_seconds"], ""),
            ("every message sent, s", result["all_sent_seconds"], ""),
            ("messages sent per second", result["messages_per_second"],
             f"≥{TARGETS['messages_per_second']:.0f}"),
            ("every status callback (read) recorded, s", result["all_read_seconds"], ""),
            ("backend CPU per message (PostgreSQL aside), ms",
             result["backend_cpu_ms_per_message"], ""),
            *((f"  {role}, ms", value, "") for role, value in result["cpu_ms_per_message"]
              .items()),
            ("machine load average (1 min) at the end", result["load_average_1min"], ""),
            ("customers sent more than one", result["customers_sent_twice"], "0")):
        print(f"{label:<44} {value:>10} {target:>8}")
    write_result("campaigns", result)

if __name__ == "__main__":
    main()
