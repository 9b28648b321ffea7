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

Then, on the same stack once those figures are taken (so the rate above includes no recovery),
a worker is killed: a second campaign to --kill-customers new customers (default 2,000, tagged,
its segment those alone; 0 skips it). Once about half its messages are sent (counted in
outbound_messages), one of the campaign RQ workers that is inside a send_campaign_batch job is
SIGKILLed (os.kill, no chance to clean up: its threads may be mid-call to the simulator, its
open transaction is rolled back) and a replacement worker is started, as a supervisor would.
The other batches go on; the killed one is recovered the way production recovers it, by the
scheduler's sweeps: start_due_campaigns restarts a campaign left queued/sending without
progress for STALE_AFTER (10 minutes), re-enqueuing its batches, which skip recipients already
planned and send the batch's messages still queued; sweep_outbox re-enqueues outbox rows left
queued (the killed batch may have planned all its recipients, and another batch then marks
the campaign done, so only the outbox sweep picks its queued messages up), and fails rows a
dead sender left in `sending` as unknown (never resent: Twilio has no idempotency key).
Those sweeps are called here in-process, exactly the functions `rq cron backend.jobs.schedule`
runs (scripts/stack.sh), with `now` moved past STALE_AFTER whenever no message has gone out
for STALL_SECONDS, rather than running the cron process: STALE_AFTER is a constant with no
setting, so the real scheduler would make the bench wait 10 minutes to do the same thing.
"recovered" is the time from the kill until every recipient is sent, stale wait skipped.
Reported: sent when killed, that time, customers sent more than once (sandbox_messages by
to_hash, over both campaigns, target 0), customers of the second who received it exactly once
(target all) or not at all, and rows left in `sending`.

    .venv/bin/python scripts/bench_campaigns.py   # TEST_POSTGRES_URL and TEST_REDIS_URL
    .venv/bin/python scripts/bench_campaigns.py --customers 500 --kill-customers 400
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import requests  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from redis import Redis  # noqa: E402
from rq import Worker  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402

from backend.app import create_app  # noqa: E402
from backend.models import Customer, CustomerTag  # noqa: E402
from backend.models.base import utcnow  # noqa: E402
from backend.queueing.names import DEFAULT, MESSAGING, SANDBOX  # noqa: E402
from backend.services.conversations.campaigns import STALE_AFTER, start_due_campaigns  # noqa: E402
from backend.services.conversations.outbound import sweep_outbox  # noqa: E402
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
KILL_TAG = "kill-bench"
# No message went out for this long after the kill: run the scheduler's recovering sweeps.
STALL_SECONDS = 10.0


def prepare(ctx: Context, customers: int) -> None:
    ensure_tenant(ctx, NewTenant(id=TENANT, name="Bench campaigns", whatsapp_number="+254700009902",
                                 twilio_account_sid="AC" + "8" * 32, twilio_auth_token="bench",
                                 tier="enterprise"))
    issue_api_key(ctx, TENANT, API_KEY)
    add_customers(ctx, 0, customers)


def add_customers(ctx: Context, first: int, customers: int, tag: str | None = None) -> None:
    """Customers first..first+customers-1 (distinct phones), each with `tag` when given."""
    now = datetime.now(UTC)
    rows = []
    for n in range(first, first + customers):
        phone = f"+2547{n:08d}"
        rows.append(dict(tenant_id=TENANT, phone_encrypted=ctx.crypto.encrypt(phone),
                         phone_hash=ctx.crypto.keyed_hash(phone), ref=f"c{uuid.uuid4().hex[:24]}",
                         language=("en", "sw", "sheng")[n % 3], consent_transactional=True,
                         consent_reminders=True, consent_promotional=True, created_at=now))
    with ctx.db.transaction() as session:
        for start in range(0, len(rows), 2000):
            session.execute(insert(Customer), rows[start:start + 2000])
        if tag is not None:
            ids = session.scalars(select(Customer.id).where(
                Customer.tenant_id == TENANT,
                Customer.phone_hash.in_([row["phone_hash"] for row in rows]))).all()
            session.execute(insert(CustomerTag), [dict(tenant_id=TENANT, customer_id=customer_id,
                                                       tag=tag) for customer_id in ids])


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


def busy_batch_worker(redis: Redis, pids: set[int]) -> tuple[int, tuple[Any, ...]] | None:
    """(pid, job args) of one of these RQ workers while it runs a campaign batch, else None."""
    for worker in Worker.all(connection=redis):
        if worker.pid not in pids:
            continue
        job = worker.get_current_job()
        if job is not None and job.func_name.endswith("send_campaign_batch"):
            return worker.pid, tuple(job.args)
    return None


def kill_phase(ctx: Context, connection: Any, http: requests.Session, base: str,
               headers: dict[str, str], first: int, customers: int, redis_url: str,
               procs: list[subprocess.Popen[bytes]],
               worker: Any) -> dict[str, Any]:
    """A second campaign to `customers` new customers (tagged, so the segment is them alone):
    SIGKILL a campaign worker in the middle of a batch once about half are sent, start a
    replacement, let the scheduler's sweeps recover it, and count who got what."""
    add_customers(ctx, first, customers, tag=KILL_TAG)
    created = http.post(f"{base}/v1/campaigns", headers=headers, timeout=60, json={
        "name": "Bench kill", "segment": {"tags": [KILL_TAG]}, "variants": [
            {"template": "december_sale", "variables": {"offer": "25% off"}}]})
    assert created.status_code == 202, created.text
    campaign = int(created.json()["id"])
    ours = (f"FROM outbound_messages o JOIN campaign_recipients r ON r.outbound_id = o.id "
            f"WHERE r.campaign_id = {campaign}")
    sent_sql = f"SELECT count(*) {ours} AND o.status IN ('sent', 'delivered', 'read')"
    redis = Redis.from_url(redis_url)
    deadline = time.monotonic() + 600
    # 1. About half sent, then kill a worker that is inside a campaign batch (it is sending:
    # the batch's messages go out from its threads).
    while True:
        sent = count(connection, sent_sql)
        busy = busy_batch_worker(redis, {p.pid for p in procs[:-2]}) \
            if sent >= customers // 2 else None
        if busy is not None:
            break
        if sent >= customers:
            raise SystemExit("every message went out before a worker could be killed")
        if time.monotonic() > deadline:
            raise SystemExit(f"only {sent} of {customers} sent within 10 minutes")
        time.sleep(0.05)
    pid, job_args = busy
    os.kill(pid, signal.SIGKILL)
    killed = time.perf_counter()
    killed_at = count(connection, sent_sql)
    victim = next(p for p in procs if p.pid == pid)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL, victim.returncode
    procs.insert(0, worker(DEFAULT))  # the replacement (a supervisor's restart, in production)
    sending_after_kill = count(connection, f"SELECT count(*) {ours} AND o.status = 'sending'")
    # 2. Until every recipient is sent: whenever nothing moved for STALL_SECONDS, run the
    # scheduler's two recovering sweeps as they would run once their stale intervals passed.
    sweeps: list[dict[str, Any]] = []
    last, moved = killed_at, time.monotonic()
    sending_at_sweep: int | None = None
    while True:
        sent = count(connection, sent_sql)
        if sent >= customers:
            recovered = time.perf_counter() - killed
            break
        if sent != last:
            last, moved = sent, time.monotonic()
        elif time.monotonic() - moved > STALL_SECONDS:
            if sending_at_sweep is None:
                sending_at_sweep = count(connection, f"SELECT count(*) {ours} "
                                         "AND o.status = 'sending'")
            later = utcnow() + STALE_AFTER + timedelta(seconds=1)
            outbox = sweep_outbox(ctx, now=later)
            sweeps.append({**start_due_campaigns(ctx, now=later),
                           "outbox_requeued": len(outbox.requeued),
                           "outbox_unknown": len(outbox.unknown),
                           "outbox_given_up": len(outbox.given_up)})
            moved = time.monotonic()
        if time.monotonic() > deadline:
            recovered = None
            break
        time.sleep(0.25)
    statuses = dict(connection.execute(text(
        f"SELECT o.status, count(*) {ours} GROUP BY o.status")).all())
    recipients = dict(connection.execute(text(
        f"SELECT status, count(*) FROM campaign_recipients WHERE campaign_id = {campaign} "
        "GROUP BY status")).all())
    connection.commit()
    # What the customers got (the simulator stores every message it accepted).
    received = dict(connection.execute(text(
        "SELECT got, count(*) FROM (SELECT c.id, count(s.id) AS got FROM customers c "
        "JOIN customer_tags t ON t.customer_id = c.id AND t.tag = :tag "
        "LEFT JOIN sandbox_messages s ON s.to_hash = c.phone_hash GROUP BY c.id) x "
        "GROUP BY got"), {"tag": KILL_TAG}).all())
    connection.commit()
    return {"customers": customers, "killed_job": {"campaign": job_args[0], "batch": job_args[1]},
            "killed_at_sent": killed_at,
            "recovered_seconds": round(recovered, 2) if recovered is not None else None,
            "scheduler_sweeps": sweeps, "sending_after_kill": sending_after_kill,
            "sending_at_first_sweep": sending_at_sweep,
            "received_exactly_once": int(received.get(1, 0)),
            "received_none": int(received.get(0, 0)),
            "received_more_than_once": sum(int(n) for got, n in received.items() if got > 1),
            "left_sending": int(statuses.get("sending", 0)),
            "message_statuses": {k: int(v) for k, v in statuses.items()},
            "recipient_statuses": {k: int(v) for k, v in recipients.items()}}


def run(database_url: str, redis_url: str, customers: int, workers: int,
        kill_customers: int) -> dict[str, Any]:
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
            killing = kill_phase(ctx, connection, http, base, headers, customers,
                                 kill_customers, redis_url, procs, worker) \
                if kill_customers else None
            if killing is not None:  # over both campaigns
                killing["customers_sent_twice"] = count(
                    connection, "SELECT count(*) FROM (SELECT to_hash FROM sandbox_messages "
                    "GROUP BY to_hash HAVING count(*) > 1) t")
    finally:
        for proc in procs:
            if proc.poll() is None:
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
                         for v in report["variants"]],
            "worker_killed": killing}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_service_options(parser)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-customers", type=int, default=2_000,
                        help="customers of the second campaign, whose worker is killed halfway "
                             "(0: skip it)")
    args = parser.parse_args()
    check_services(args)
    redis_url = args.redis_url.rsplit("/", 1)[0] + "/13"
    Redis.from_url(redis_url).flushdb()
    try:
        with scratch_database(args.database_url, "campaigns_bench") as url:
            result = stamped(run(url, redis_url, args.customers, args.workers,
                                     args.kill_customers))
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
    killing = result["worker_killed"]
    if killing is not None:
        print(f"worker SIGKILLed halfway through a second campaign to {killing['customers']:,}:")
        for label, value, target in (
                ("  killed at, messages sent", killing["killed_at_sent"], ""),
                ("  every recipient sent, s after the kill", killing["recovered_seconds"], ""),
                ("  scheduler sweeps run (stale time skipped)", len(killing["scheduler_sweeps"]),
                 ""),
                ("  customers sent more than once (both)", killing["customers_sent_twice"],
                 "0"),
                ("  customers who received it exactly once", killing["received_exactly_once"],
                 f"{killing['customers']}"),
                ("  customers who received nothing", killing["received_none"], "0"),
                ("  rows left in sending", killing["left_sending"], "0")):
            print(f"{label:<44} {value!s:>10} {target:>8}")
    write_result("campaigns", result)

if __name__ == "__main__":
    main()
