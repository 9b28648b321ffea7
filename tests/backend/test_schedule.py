"""The periodic sweeps: one definition run by RQ's cron with Redis and by an in-process loop
without it, and one-shot commands that finish their in-process jobs before exiting (a failed
M-Pesa payment's notice used to die with the interpreter: "cannot schedule new futures after
interpreter shutdown", then "notify_customer failed for good")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler
from sqlalchemy import text

from backend.wiring import Context
from backend.jobs.job_context import context_from_environment
from backend.models.base import utcnow
from backend.settings import REPO_ROOT
from tests.backend.commerce_helpers import PHONE
from tests.backend.conftest import FERNET_KEY, HASH_KEY, SERVICE_TOKEN, require_service_env
from tests.backend.payment_helpers import FakeRasa, place_order, rows, scalar, wait_for
from tests.backend.test_payments import pay, rasa, scenario, shop  # noqa: F401  (fixtures)

SWEEPS = {
    "backend.jobs.orders.expire_unpaid_orders": ("default", 300),
    "backend.jobs.bookings.release_unpaid_bookings": ("default", 60),
    "backend.jobs.payments.sweep_payments": ("default", 60),
    "backend.jobs.messaging.sweep_outbox": ("messaging", 30),
    "backend.jobs.messaging.release_scheduled": ("messaging", 30),
    "backend.jobs.messaging.sweep_template_approvals": ("default", 300),
    "backend.jobs.messaging.redispatch_events": ("default", 60),
    "backend.jobs.messaging.warn_usage": ("default", 300),
    "backend.jobs.messaging.sweep_reengagement": ("default", 600),
    "backend.jobs.campaigns.start_due_campaigns": ("default", 60),
    "backend.jobs.billing.sweep_billing": ("default", 3_600),
    "backend.jobs.analytics.sweep_analytics": ("default", 3_600),
    "backend.jobs.integrations.sweep_integrations": ("default", 300),
    "backend.jobs.integrations.sweep_store_stock": ("default", 30),
}


def command_env(ctx: Context, database_url: str, **extra: str) -> dict[str, str]:
    """What a sweeper or worker process on this test's backend has in its environment."""
    env = {name: value for name, value in os.environ.items() if name != "REDIS_URL"}
    env.update({
        "DATABASE_URL": database_url, "SERVICE_TOKEN": SERVICE_TOKEN,
        "ENCRYPTION_KEY": FERNET_KEY, "HASH_KEY": HASH_KEY,
        "BACKEND_PORT": str(ctx.settings.backend_port),
        "RASA_URL": ctx.settings.rasa_url, "RASA_TOKEN": ctx.settings.rasa_token,
        "PYTHONPATH": str(REPO_ROOT),
    })
    env.update(extra)
    return env


@pytest.fixture
def redis_db() -> Iterator[Redis]:
    """A Redis database of its own, so the cron's jobs meet no other test's."""
    connection = Redis.from_url(require_service_env("TEST_REDIS_URL").rsplit("/", 1)[0] + "/8")
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


def test_one_definition_registers_every_sweep_with_rq_cron() -> None:
    scheduler = CronScheduler(connection=Redis())  # loading connects to nothing
    scheduler.load_config_from_file("backend.jobs.schedule")
    assert {job.func_name: (job.queue_name, job.interval) for job in scheduler.get_jobs()} \
        == SWEEPS


def test_rq_cron_enqueues_the_sweeps_and_a_worker_runs_them(
        shop, database_url: str, redis_db: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    _, ctx = shop
    url = redis_db.connection_pool.connection_kwargs
    redis_url = f"redis://{url['host']}:{url['port']}/{url['db']}"
    env = command_env(ctx, database_url, REDIS_URL=redis_url)
    rq = os.path.join(os.path.dirname(sys.executable), "rq")
    cron = subprocess.Popen([rq, "cron", "backend.jobs.schedule", "--url", redis_url], env=env,
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        queues = {name: Queue(name, connection=redis_db) for name in ("default", "messaging")}
        # Interval jobs run as soon as the scheduler starts, then every interval.
        wait_for(lambda: sorted(job.func_name for q in queues.values() for job in q.get_jobs())
                 == sorted(SWEEPS), timeout=30)
    finally:
        cron.send_signal(signal.SIGTERM)
        output, _ = cron.communicate(timeout=30)
    assert "Registered" in output and f"{len(SWEEPS)} cron jobs" in output, output
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    context_from_environment.cache_clear()
    try:
        worker = SimpleWorker(list(queues.values()), connection=redis_db)
        assert worker.work(burst=True)
    finally:
        if context_from_environment.cache_info().currsize:
            context_from_environment().db.dispose()
        context_from_environment.cache_clear()
    finished = [queue.fetch_job(job_id) for queue in queues.values()
                for job_id in queue.finished_job_registry.get_job_ids()]
    assert sorted(job.func_name for job in finished) == sorted(SWEEPS)
    assert not any(queue.failed_job_registry.count for queue in queues.values())


def _expired_failed_push(client: Any, ctx: Context) -> int:
    """An STK push the customer never answered; Daraja's query says 1037; it is past due."""
    from backend.services.payments.settings import daraja_client, load_provider_config

    scenario(ctx, PHONE, "timeout", delay_ms=0)
    order = place_order(client, ctx)
    response = pay(client, order["id"], method="mpesa_stk")
    assert response.status_code == 201, response.get_json()
    payment_id = int(response.get_json()["id"])
    reference = wait_for(lambda: scalar(
        ctx, "SELECT provider_reference FROM payments WHERE id = :i", i=payment_id))
    config = load_provider_config(ctx, "duka-test")
    daraja = daraja_client(ctx, config)
    wait_for(lambda: not daraja.stk_query(
        shortcode="174379", passkey=str(config.get("mpesa_passkey")),
        checkout_request_id=reference).pending)
    with ctx.db.engine.begin() as connection:
        connection.execute(text("UPDATE payments SET expires_at = :t WHERE id = :i"),
                           {"t": utcnow().replace(year=2000), "i": payment_id})
    return payment_id


@pytest.mark.parametrize("command", [
    ["-m", "backend.jobs.payments"],  # what `make up` ran in a loop without Redis
    ["-m", "backend.jobs.schedule"],  # the one definition, run once in this process
])
def test_a_one_shot_sweep_without_redis_tells_the_customer_before_exiting(
        shop, rasa: FakeRasa, database_url: str, command: list[str]) -> None:
    client, ctx = shop
    payment_id = _expired_failed_push(client, ctx)
    done = subprocess.run([sys.executable, *command], env=command_env(ctx, database_url),
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "cannot schedule new futures" not in done.stderr
    assert "failed for good" not in done.stderr
    # By the time the command has exited, the customer has been told (no waiting here).
    payment = rows(ctx, "SELECT status, failure_code, notified_at FROM payments WHERE id = :i",
                   i=payment_id)[0]
    assert (payment.status, payment.failure_code) == ("failed", "1037")
    assert payment.notified_at is not None
    assert [call["name"] for call in rasa.calls] == ["EXTERNAL_payment_failed"]
    sent = rows(ctx, "SELECT status, body FROM outbound_messages ORDER BY id")
    assert [(row.status in ("sent", "delivered", "read"), row.body) for row in sent] == [
        (True, "Asante! Tumepokea malipo.")]


def test_job_settings_are_read_from_the_environment_with_safe_defaults() -> None:
    from backend.settings import ConfigurationError, Settings

    default = Settings.from_env({})
    assert (default.jobs_fallback_in_process, default.outbox_in_process_after_seconds,
            default.outbox_stale_seconds, default.outbox_give_up_hours,
            default.health_queue_lag_seconds) == (True, 2.0, 60, 24, 60)
    chosen = Settings.from_env({
        "JOBS_FALLBACK_IN_PROCESS": "0", "OUTBOX_IN_PROCESS_AFTER_SECONDS": "0",
        "OUTBOX_STALE_SECONDS": "120", "OUTBOX_GIVE_UP_HOURS": "6",
        "HEALTH_QUEUE_LAG_SECONDS": "30"})
    assert (chosen.jobs_fallback_in_process, chosen.outbox_in_process_after_seconds,
            chosen.outbox_stale_seconds, chosen.outbox_give_up_hours,
            chosen.health_queue_lag_seconds) == (False, 0.0, 120, 6, 30)
    for name, value in [("OUTBOX_IN_PROCESS_AFTER_SECONDS", "-1"),
                        ("OUTBOX_IN_PROCESS_AFTER_SECONDS", "soon"),
                        ("OUTBOX_STALE_SECONDS", "0")]:
        with pytest.raises(ConfigurationError, match=name):
            Settings.from_env({name: value})
