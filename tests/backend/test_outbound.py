"""POST /internal/v1/messages/outbound → one delivery job → the simulator got them, in order."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from backend.db import outlasting_restarts
from backend.providers.twilio import TwilioSender, TwilioSendError
from backend.wiring import Context
from backend.jobs.job_context import context_from_environment
from backend.queueing.runner import InProcessRunner, is_final_attempt
from backend.services.conversations.delivery import deliver_batch
from backend.models.base import utcnow
from backend.services.conversations.outbound import (
    SENDING_LEASE,
    OutgoingMessage,
    store_outbound,
    sweep_outbox,
)
from backend.settings import REPO_ROOT
from tests.backend.conftest import (
    FERNET_KEY,
    HASH_KEY,
    SERVICE_TOKEN,
    TENANT_ID,
    TENANT_NUMBER,
    LiveServer,
    free_port,
    require_service_env,
    service_headers,
)
from tests.backend.payment_helpers import wait_for

URL = "/internal/v1/messages/outbound"
CUSTOMER = "+254712345678"
REPLY = {
    "tenant_id": TENANT_ID,
    "to": "0712345678",
    "in_reply_to": "SM0001",
    "messages": [
        {"body": "Tuko na sneakers size 42 👟", "media_url": None},
        {"body": None, "media_url": "https://example.test/sneakers.jpg"},
        {"body": "Reply 1 to order, 2 for more."},
    ],
}


def settled(status: str) -> str:
    """Twilio's status callbacks (the simulator sends them) move a sent message on to delivered
    and read; for these tests each counts as sent."""
    return "sent" if status in ("delivered", "read") else status


def outbound_rows(ctx: Context) -> list:
    with ctx.db.engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT id, status, provider_sid, error, attempts"
                " FROM outbound_messages ORDER BY id"
            )
        ).all()


def simulator_log(server: LiveServer, to: str = CUSTOMER) -> list[dict]:
    client = server.app.test_client()
    response = client.get(
        "/v1/sandbox/messages", query_string={"to": to}, headers=service_headers()
    )
    assert response.status_code == 200
    return response.get_json()["results"]


def assert_delivered_in_order(server: LiveServer, ids: list[int]) -> None:
    received = simulator_log(server)
    assert [(m["body"], m["media_url"]) for m in received] == [
        ("Tuko na sneakers size 42 👟", None),
        (None, "https://example.test/sneakers.jpg"),
        ("Reply 1 to order, 2 for more.", None),
    ]
    assert {m["from"] for m in received} == {f"whatsapp:{TENANT_NUMBER}"}
    assert {m["to"] for m in received} == {f"whatsapp:{CUSTOMER}"}
    rows = outbound_rows(server.app.extensions["backend"])
    assert [row.id for row in rows] == ids
    assert [settled(row.status) for row in rows] == ["sent"] * 3
    assert [row.provider_sid for row in rows] == [m["sid"] for m in received]


def test_in_process_delivery_reaches_the_simulator_in_order(live_server, tenants) -> None:
    server = live_server()
    response = server.app.test_client().post(URL, json=REPLY, headers=service_headers())
    assert response.status_code == 202
    ids = response.get_json()["ids"]
    assert len(ids) == 3 and ids == sorted(ids)
    server.app.extensions["backend"].jobs.join(timeout=30)
    assert_delivered_in_order(server, ids)


def test_a_reply_posted_again_for_the_same_inbound_message_is_sent_once(
    live_server, tenants
) -> None:
    """The channel retrying its POST (or Twilio's retry answered again) stores nothing more."""
    server = live_server()
    client = server.app.test_client()
    first = client.post(URL, json=REPLY, headers=service_headers())
    again = client.post(URL, json={**REPLY, "messages": [{"body": "a second answer"}]},
                        headers=service_headers())
    assert first.status_code == again.status_code == 202
    assert again.get_json()["ids"] == first.get_json()["ids"]
    server.app.extensions["backend"].jobs.drain(timeout=30)
    assert_delivered_in_order(server, first.get_json()["ids"])
    other = client.post(URL, json={**REPLY, "in_reply_to": "SM0002"}, headers=service_headers())
    assert other.status_code == 202 and other.get_json()["ids"][0] > first.get_json()["ids"][-1]
    server.app.extensions["backend"].jobs.drain(timeout=30)  # sent while the simulator is up
    assert len(simulator_log(server)) == 6


def test_outbound_validation(client, tenants) -> None:
    empty = {**REPLY, "messages": []}
    assert client.post(URL, json=empty, headers=service_headers()).status_code == 422
    blank = {**REPLY, "messages": [{"body": "", "media_url": None}]}
    response = client.post(URL, json=blank, headers=service_headers())
    assert response.status_code == 422 and "messages" in response.get_json()["errors"]
    bad_to = client.post(URL, json={**REPLY, "to": "nope"}, headers=service_headers())
    assert bad_to.status_code == 400 and bad_to.get_json()["errors"] == {
        "to": ["Not a valid phone number."]
    }
    unknown = client.post(URL, json={**REPLY, "tenant_id": "nobody"}, headers=service_headers())
    assert unknown.status_code == 404
    assert client.post(URL, json=REPLY).status_code == 401
    assert outbound_rows(tenants) == []



def test_redis_down_the_reply_is_sent_from_the_backend_within_5_s(live_server, tenants) -> None:
    """Nothing listens on the Redis port: the reply is stored, then sent in-process (was 503)."""
    server = live_server(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    response = server.app.test_client().post(URL, json=REPLY, headers=service_headers())
    assert response.status_code == 202
    ids = response.get_json()["ids"]
    wait_for(lambda: len(simulator_log(server)) == 3, timeout=5)
    assert time.monotonic() - started < 5
    wait_for(lambda: [settled(r.status) for r in outbound_rows(server.app.extensions["backend"])]
             == ["sent"] * 3)
    assert_delivered_in_order(server, ids)


def test_without_a_fallback_redis_down_keeps_the_reply_queued_for_the_sweep(
    make_app, tenants
) -> None:
    app = make_app(redis_url=f"redis://127.0.0.1:{free_port()}/0",
                   jobs_fallback_in_process=False)
    response = app.test_client().post(URL, json=REPLY, headers=service_headers())
    assert response.status_code == 202
    rows = outbound_rows(app.extensions["backend"])
    assert [row.status for row in rows] == ["queued"] * 3  # not failed: the sweep sends them


def test_transient_errors_keep_messages_queued_until_the_last_attempt(
    live_server: Callable[..., LiveServer], make_app, tenants
) -> None:
    unreachable = make_app(twilio_sandbox_api_url=f"http://127.0.0.1:{free_port()}/sandbox/twilio")
    ctx = unreachable.extensions["backend"]
    messages = [OutgoingMessage(body="one"), OutgoingMessage(body="two")]
    ids = store_outbound(ctx, TENANT_ID, CUSTOMER, messages, None)

    with pytest.raises(TwilioSendError):
        deliver_batch(ctx, ids, final_attempt=False)
    first, second = outbound_rows(ctx)
    assert (first.status, second.status) == ("queued", "queued")  # stopped at the first one
    assert "unreachable" in first.error and first.attempts == 1 and second.attempts == 0

    report = deliver_batch(ctx, ids, final_attempt=True)
    assert (report.sent, report.failed) == (0, 2)
    assert [row.status for row in outbound_rows(ctx)] == ["failed", "failed"]


class DatabaseOutage:
    """ctx.db.transaction raising what a PostgreSQL restart raises, `failures` times in a row,
    once `start()` is called (e.g. right after the call to Twilio)."""

    def __init__(self, ctx: Context, monkeypatch: pytest.MonkeyPatch, failures: int) -> None:
        self.left = 0
        self.failures = failures
        self.raised = 0
        real = ctx.db.transaction

        @contextmanager
        def transaction():
            if self.left > 0:
                self.left -= 1
                self.raised += 1
                raise OperationalError("UPDATE outbound_messages ...", {}, Exception(
                    "server closed the connection unexpectedly"))
            with real() as session:
                yield session
        monkeypatch.setattr(ctx.db, "transaction", transaction)

    def start(self) -> None:
        self.left = self.failures


@pytest.mark.parametrize("reachable", [True, False], ids=["sent", "twilio-unreachable"])
def test_the_outcome_of_a_send_outlasts_a_database_restart(
    live_server: Callable[..., LiveServer], make_app, tenants, monkeypatch: pytest.MonkeyPatch,
    reachable: bool,
) -> None:
    """The database drops right after the call to Twilio: the outcome is written once it is back,
    so the row is neither left `sending` (failed as unknown by the sweep, never resent) nor sent
    twice."""
    server = live_server()
    app = server.app if reachable else make_app(
        twilio_sandbox_api_url=f"http://127.0.0.1:{free_port()}/sandbox/twilio")
    ctx = app.extensions["backend"]
    ids = store_outbound(ctx, TENANT_ID, CUSTOMER, [OutgoingMessage(body="one")], None)
    outage = DatabaseOutage(ctx, monkeypatch, failures=3)
    real_send = TwilioSender.send

    def send_then_outage(self, **kwargs):
        try:
            return real_send(self, **kwargs)
        finally:
            outage.start()
    monkeypatch.setattr(TwilioSender, "send", send_then_outage)

    if reachable:
        assert deliver_batch(ctx, ids, final_attempt=False).sent == 1
    else:
        with pytest.raises(TwilioSendError):
            deliver_batch(ctx, ids, final_attempt=False)
    assert outage.raised == 3
    (row,) = outbound_rows(ctx)
    if reachable:
        assert settled(row.status) == "sent" and row.provider_sid and row.attempts == 1
        assert [m["body"] for m in simulator_log(server)] == ["one"]
    else:  # known not sent: queued again for the job's retry, not stuck in `sending`
        assert (row.status, row.attempts) == ("queued", 1) and "unreachable" in row.error
        monkeypatch.setattr(TwilioSender, "send", real_send)
        assert deliver_batch(server.app.extensions["backend"], ids, final_attempt=False).sent == 1
        assert [m["body"] for m in simulator_log(server)] == ["one"]


def test_a_database_down_for_longer_than_the_outlast_time_raises(monkeypatch) -> None:
    calls = []

    def work() -> None:
        calls.append(time.monotonic())
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))
    with pytest.raises(OperationalError):
        outlasting_restarts(work, "a write", seconds=1.0)
    assert 3 <= len(calls) <= 6  # 0.2, 0.4, then a 0.8 s wait would pass the deadline
    assert calls[-1] - calls[0] < 1.0


def test_a_retry_sends_only_what_is_still_queued(live_server, tenants) -> None:
    server = live_server()
    ctx = server.app.extensions["backend"]
    ids = store_outbound(
        ctx, TENANT_ID, CUSTOMER, [OutgoingMessage(body="a"), OutgoingMessage(body="b")], None
    )
    assert deliver_batch(ctx, ids, final_attempt=False).sent == 2
    assert deliver_batch(ctx, ids, final_attempt=False).sent == 0  # nothing left to send
    assert [m["body"] for m in simulator_log(server)] == ["a", "b"]


def test_a_refused_message_fails_and_the_batch_goes_on(live_server, tenants) -> None:
    server = live_server()
    ctx = server.app.extensions["backend"]
    batch = [
        OutgoingMessage(body="first"),
        OutgoingMessage(body="empty"),
        OutgoingMessage(body="last"),
    ]
    ids = store_outbound(ctx, TENANT_ID, CUSTOMER, batch)
    with ctx.db.engine.begin() as connection:  # bypass validation: Twilio refuses an empty message
        connection.execute(
            text("UPDATE outbound_messages SET body = NULL WHERE id = :id"), {"id": ids[1]}
        )
    report = deliver_batch(ctx, ids, final_attempt=False)
    assert (report.sent, report.failed) == (2, 1)
    rows = outbound_rows(ctx)
    assert [settled(row.status) for row in rows] == ["sent", "failed", "sent"]
    assert "21602" in rows[1].error and rows[1].provider_sid is None
    assert [m["body"] for m in simulator_log(server)] == ["first", "last"]


def test_in_process_runner_retries_with_the_rq_schedule() -> None:
    calls: list[bool] = []
    waits: list[float] = []

    def flaky() -> str:
        calls.append(is_final_attempt())
        if len(calls) < 3:
            raise RuntimeError("try again")
        return "done"

    runner = InProcessRunner(max_workers=1, sleep=waits.append)
    runner.bind(object())  # type: ignore[arg-type]  # flaky() does not use the context
    runner.submit(flaky)
    runner.join(timeout=10)
    assert calls == [False, False, False]
    assert waits == [2, 10]

    always: list[bool] = []
    runner.submit(lambda: always.append(is_final_attempt()) or 1 / 0)
    runner.join(timeout=10)
    assert always == [False, False, False, True]  # 1 try + 3 retries, the last one is final
    assert waits == [2, 10, 2, 10, 30]


def test_a_job_enqueued_once_the_pool_is_shut_down_runs_inline_and_drain_waits_for_nested_jobs(
) -> None:
    """At interpreter shutdown the pool refuses new work; a job enqueued by a job then runs in
    the caller's thread instead of being lost, and drain() waits for jobs that jobs enqueue."""
    runner = InProcessRunner(max_workers=2, sleep=lambda _: None)
    runner.bind(object())  # type: ignore[arg-type]  # the jobs below do not use the context
    done: list[str] = []
    runner.submit(lambda: runner.submit(done.append, "nested"))
    runner.drain(timeout=10)
    assert done == ["nested"]
    assert runner._executor is not None
    runner._executor.shutdown(wait=True)  # what interpreter shutdown does to every pool
    runner.submit(done.append, "after shutdown")
    assert done == ["nested", "after shutdown"]  # ran here and now


@pytest.fixture
def redis_queue() -> Iterator[Queue]:
    connection = Redis.from_url(require_service_env("TEST_REDIS_URL"))
    queue = Queue("messaging", connection=connection)
    queue.empty()
    yield queue
    queue.empty()
    connection.close()


@pytest.fixture
def worker_environment(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> Callable[[LiveServer], dict]:
    """The environment an `rq worker` process would have for this test's database and server."""

    def build(server: LiveServer) -> dict[str, str]:
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": require_service_env("TEST_REDIS_URL"),
            "SERVICE_TOKEN": SERVICE_TOKEN,
            "ENCRYPTION_KEY": FERNET_KEY,
            "HASH_KEY": HASH_KEY,
            "TWILIO_SANDBOX_API_URL": f"http://127.0.0.1:{server.port}/sandbox/twilio",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return env

    return build


def _enqueue_reply(server: LiveServer, redis_queue: Queue) -> list[int]:
    response = server.app.test_client().post(URL, json=REPLY, headers=service_headers())
    assert response.status_code == 202
    ids = response.get_json()["ids"]
    [job] = redis_queue.get_jobs()
    assert job.func_name == "backend.jobs.messaging.deliver_outbound"
    assert job.args == (ids,)
    assert job.retries_left == 3 and job.retry_intervals == [2, 10, 30]
    assert outbound_rows(server.app.extensions["backend"])[0].status == "queued"
    return ids


def test_rq_worker_delivers_the_enqueued_batch(
    live_server, tenants, redis_queue: Queue, worker_environment
) -> None:
    # The worker path alone: without it, a worker started more than the 2 s grace after the
    # enqueue (a loaded machine) races the backend's own in-process run of the same job.
    server = live_server(redis_url=require_service_env("TEST_REDIS_URL"),
                         jobs_fallback_in_process=False)
    ids = _enqueue_reply(server, redis_queue)
    worker_environment(server)
    context_from_environment.cache_clear()  # the worker builds its context from the environment
    try:
        worker = SimpleWorker([redis_queue], connection=redis_queue.connection)
        assert worker.work(burst=True)
    finally:
        if context_from_environment.cache_info().currsize:
            context_from_environment().db.dispose()
        context_from_environment.cache_clear()
    assert_delivered_in_order(server, ids)


def test_the_rq_cli_worker_runs_the_job(
    live_server, tenants, redis_queue: Queue, worker_environment
) -> None:
    server = live_server(redis_url=require_service_env("TEST_REDIS_URL"),
                         jobs_fallback_in_process=False)  # the worker's run alone (above)
    ids = _enqueue_reply(server, redis_queue)
    env = {**os.environ, **worker_environment(server)}
    rq = Path(sys.executable).parent / "rq"
    command = [str(rq), "worker", "messaging", "default", "--url", env["REDIS_URL"]]
    command += ["--worker-class", "rq.SimpleWorker", "--burst"]
    done = subprocess.run(
        command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert_delivered_in_order(server, ids)


def test_racing_senders_send_each_row_once_and_in_order(live_server, tenants) -> None:
    """Four senders on one batch at once (two workers, the fallback, a re-enqueued job)."""
    server = live_server()
    ctx = server.app.extensions["backend"]
    ids = store_outbound(ctx, TENANT_ID, CUSTOMER,
                         [OutgoingMessage(body=m["body"], media_url=m.get("media_url"))
                          for m in REPLY["messages"]], None)
    start = threading.Barrier(4)

    def sender() -> None:
        start.wait()
        deliver_batch(ctx, ids, final_attempt=False)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert_delivered_in_order(server, ids)  # exactly three messages reached the simulator
    assert [row.attempts for row in outbound_rows(ctx)] == [1, 1, 1]


def test_a_row_left_sending_is_never_resent_and_the_sweep_settles_the_batch(
    live_server, tenants
) -> None:
    server = live_server()
    ctx = server.app.extensions["backend"]
    ids = store_outbound(ctx, TENANT_ID, CUSTOMER,
                         [OutgoingMessage(body="first"), OutgoingMessage(body="second")], None)
    with ctx.db.engine.begin() as connection:  # a sender died during the call to Twilio
        connection.execute(text("UPDATE outbound_messages SET status = 'sending' WHERE id = :id"),
                           {"id": ids[0]})
    report = deliver_batch(ctx, ids, final_attempt=False)
    assert (report.sent, report.failed) == (0, 0)  # stops there: the batch keeps its order
    assert simulator_log(server) == []

    assert sweep_outbox(ctx).unknown == []  # within the lease: the sender may still be alive
    later = utcnow() + SENDING_LEASE + timedelta(seconds=1)
    swept = sweep_outbox(ctx, now=later)
    assert swept.unknown == [ids[0]] and swept.requeued == [ids[1]]
    ctx.jobs.drain(timeout=30)
    first, second = outbound_rows(ctx)
    assert first.status == "failed" and "outcome unknown" in first.error
    assert settled(second.status) == "sent"
    assert [m["body"] for m in simulator_log(server)] == ["second"]


def test_the_sweep_re_enqueues_a_reply_whose_job_redis_lost(
    live_server, tenants, redis_queue: Queue, worker_environment
) -> None:
    """Redis restarted without persistence after the reply was enqueued: the job is gone,
    the outbox row is not; the sweep enqueues it again (once per stale period) and it goes out."""
    server = live_server(redis_url=require_service_env("TEST_REDIS_URL"),
                         outbox_in_process_after_seconds=0)
    ids = _enqueue_reply(server, redis_queue)
    redis_queue.empty()  # the job is lost
    ctx = server.app.extensions["backend"]
    assert sweep_outbox(ctx).requeued == []  # not stale yet
    later = utcnow() + timedelta(seconds=ctx.settings.outbox_stale_seconds + 1)
    assert sweep_outbox(ctx, now=later).requeued == [ids[0]]
    assert sweep_outbox(ctx, now=later).requeued == []  # touched: not enqueued again at once
    [job] = redis_queue.get_jobs()
    assert job.args == (ids,)
    worker_environment(server)
    context_from_environment.cache_clear()
    try:
        assert SimpleWorker([redis_queue], connection=redis_queue.connection).work(burst=True)
    finally:
        if context_from_environment.cache_info().currsize:
            context_from_environment().db.dispose()
        context_from_environment.cache_clear()
    assert_delivered_in_order(server, ids)


def test_worker_down_the_backend_sends_the_reply_and_the_worker_later_sends_nothing(
    live_server, tenants, redis_queue: Queue, worker_environment
) -> None:
    server = live_server(redis_url=require_service_env("TEST_REDIS_URL"),
                         outbox_in_process_after_seconds=1)
    started = time.monotonic()
    ids = _enqueue_reply(server, redis_queue)  # on Redis; no worker runs
    wait_for(lambda: len(simulator_log(server)) == 3, timeout=5)
    assert time.monotonic() - started < 5
    wait_for(lambda: [settled(r.status) for r in outbound_rows(server.app.extensions["backend"])]
             == ["sent"] * 3)
    worker_environment(server)  # the worker comes back and runs the job it was given
    context_from_environment.cache_clear()
    try:
        assert SimpleWorker([redis_queue], connection=redis_queue.connection).work(burst=True)
        finished = [redis_queue.fetch_job(job_id)
                    for job_id in redis_queue.finished_job_registry.get_job_ids()]
        # (the simulator's status callbacks are jobs on the same queue)
        result = [job.return_value() for job in finished
                  if job.func_name.endswith(".deliver_outbound")][-1]
    finally:
        if context_from_environment.cache_info().currsize:
            context_from_environment().db.dispose()
        context_from_environment.cache_clear()
    assert result == {"sent": 0, "failed": 0}
    assert_delivered_in_order(server, ids)  # still exactly three


def test_a_payment_notice_interrupted_after_storing_is_neither_lost_nor_doubled(
    live_server, tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notice's messages and notified_at commit together: when the job dies right after
    (here: handing the delivery over raises), its retry queues nothing more, and the sweep
    sends what was stored. Before, the retry stored the notice a second time."""
    from backend.services.payments.notices import notify_customer
    from tests.backend.commerce_helpers import PHONE
    from tests.backend.payment_helpers import (
        FakeRasa,
        configure_payments,
        make_payment,
        place_order,
    )

    rasa = FakeRasa(reply=[])
    try:
        server = live_server(rasa_url=rasa.url)
        ctx = server.app.extensions["backend"]
        client = server.app.test_client()
        configure_payments(ctx)
        order = place_order(client, ctx)
        payment_id = make_payment(ctx, order["id"], "daraja", "ws_CO_1")
        with ctx.db.engine.begin() as connection:
            connection.execute(text("UPDATE payments SET status = 'failed', failure_code = '1037'"
                                    " WHERE id = :id"), {"id": payment_id})
        with monkeypatch.context() as patch:
            patch.setattr(ctx.jobs, "enqueue", _raise_once(ctx.jobs.enqueue))
            with pytest.raises(RuntimeError, match="process died"):
                notify_customer(ctx, payment_id, final_attempt=True)
            assert notify_customer(ctx, payment_id, final_attempt=True) == "skipped"
        later = utcnow() + timedelta(seconds=ctx.settings.outbox_stale_seconds + 1)
        sweep_outbox(ctx, now=later)
        ctx.jobs.join(timeout=30)
        [row] = outbound_rows(ctx)
        assert settled(row.status) == "sent"
        [message] = simulator_log(server, to=PHONE)
        assert "did not go through" in message["body"]
    finally:
        rasa.close()


def _raise_once(enqueue: Callable[..., None]) -> Callable[..., None]:
    calls: list[int] = []

    def patched(*args: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("process died")
        enqueue(*args)

    return patched


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen]]:
    """A redis-server of this test's own (no persistence, like `make up`'s), to stop mid-test."""
    port = free_port()
    started: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(server)
        wait_for(lambda: _pings(port), timeout=10)
        return server

    start.url = f"redis://127.0.0.1:{port}/0"  # type: ignore[attr-defined]
    yield start
    for server in started:
        server.kill()
        server.wait(timeout=10)


def _pings(port: int) -> bool:
    try:
        return bool(Redis(port=port, socket_connect_timeout=0.2).ping())
    except Exception:
        return False


def test_redis_dying_mid_conversation_loses_no_reply(live_server, tenants, own_redis) -> None:
    """One reply goes to Redis (no worker yet), then Redis dies with it: the next reply is sent
    from the backend at once, and the one Redis lost is sent too (no worker, no Redis)."""
    redis = own_redis()
    server = live_server(redis_url=own_redis.url, outbox_in_process_after_seconds=1)
    client = server.app.test_client()
    ctx = server.app.extensions["backend"]
    first = client.post(URL, json=REPLY, headers=service_headers())
    assert first.status_code == 202
    assert Queue("messaging", connection=Redis.from_url(own_redis.url)).count == 1
    redis.kill()
    redis.wait(timeout=10)
    started = time.monotonic()
    second = client.post(URL, json={**REPLY, "in_reply_to": "SM0002"}, headers=service_headers())
    assert second.status_code == 202
    wait_for(lambda: len(simulator_log(server)) == 6, timeout=5)
    assert time.monotonic() - started < 5
    wait_for(lambda: [settled(r.status) for r in outbound_rows(ctx)] == ["sent"] * 6)
    # Both replies whole (the lost one, sent here after a second, may overlap the second reply
    # on a slow machine, so their messages may interleave).
    assert sorted((m["body"] for m in simulator_log(server)), key=str) == sorted(
        [m["body"] for m in REPLY["messages"]] * 2, key=str)
