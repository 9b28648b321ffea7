"""Operability of the backend: JSON log lines carrying the request's id, tenant and conversation
(into jobs and the RQ worker), Sentry reports, and /metrics."""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sentry_sdk
from flask import Flask
from redis import Redis
from rq import Queue

from backend.settings import REPO_ROOT
from observability.logs import json_formatter
from tests.backend.conftest import (
    SERVICE_TOKEN,
    TENANT_ID,
    LiveServer,
    require_service_env,
    service_headers,
)
from tests.backend.test_outbound import CUSTOMER, REPLY, URL, assert_delivered_in_order

REQUEST_ID = "req-0123456789abcdef"
CONVERSATION = f"{TENANT_ID}:{CUSTOMER}"
TRACED = {**service_headers(TENANT_ID), "X-Request-ID": REQUEST_ID,
          "X-Conversation-ID": CONVERSATION}


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_line_is_json_with_the_request_context_into_the_delivery_job(
    live_server: Callable[..., LiveServer], tenants
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter("backend"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    try:
        server = live_server()
        response = server.app.test_client().post(URL, json=REPLY, headers=TRACED)
        assert response.status_code == 202
        assert response.headers["X-Request-ID"] == REQUEST_ID
        server.app.extensions["backend"].jobs.join(timeout=30)  # the in-process delivery job
    finally:
        logging.getLogger().removeHandler(handler)
    lines = _lines(stream)
    assert lines, "nothing was logged"
    for line in lines:
        assert {"timestamp", "level", "logger", "message", "service", "request_id", "tenant",
                "conversation"} <= line.keys()
    sends = [line for line in lines if line["message"] == "whatsapp send sent"]
    assert len(sends) == 3
    for line in sends:
        assert line["request_id"] == REQUEST_ID and line["tenant"] == TENANT_ID
        assert line["conversation"] == f"{TENANT_ID}:+2547****678"  # the phone is masked
        assert line["provider_sid"].startswith("SM")
    assert CUSTOMER not in stream.getvalue() and SERVICE_TOKEN not in stream.getvalue()


def test_a_request_id_is_made_when_none_or_a_bad_one_comes(client) -> None:
    made = client.get("/v1/health").headers["X-Request-ID"]
    assert len(made) == 32 and made != client.get("/v1/health").headers["X-Request-ID"]
    kept = client.get("/v1/health", headers={"X-Request-ID": REQUEST_ID})
    assert kept.headers["X-Request-ID"] == REQUEST_ID
    bad = client.get("/v1/health", headers={"X-Request-ID": "a b;<script>"}).headers["X-Request-ID"]
    assert len(bad) == 32 and " " not in bad


@pytest.fixture
def redis_queue() -> Iterator[Queue]:
    connection = Redis.from_url(require_service_env("TEST_REDIS_URL"))
    queue = Queue("messaging", connection=connection)
    queue.empty()
    yield queue
    queue.empty()
    connection.close()


def test_the_rq_worker_logs_the_send_with_the_webhook_request_id(
    live_server, tenants, redis_queue: Queue, database_url: str, tmp_path: Path
) -> None:
    """The job's RQ meta carries the context; `rq worker` (as the stack runs it) logs JSON with
    it and writes its counters where the backend's /metrics reads them."""
    redis_url = require_service_env("TEST_REDIS_URL")
    # No in-process fallback: on a loaded machine the worker below may start after its 2 s, and
    # this test is about what the worker logs (the fallback has its own tests).
    server = live_server(redis_url=redis_url, outbox_in_process_after_seconds=0)
    response = server.app.test_client().post(URL, json=REPLY, headers=TRACED)
    assert response.status_code == 202
    [job] = redis_queue.get_jobs()
    assert job.meta == {"request_id": REQUEST_ID, "tenant": TENANT_ID,
                        "conversation": CONVERSATION}
    env = {
        **os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
        "SERVICE_TOKEN": SERVICE_TOKEN, "ENCRYPTION_KEY": server.app.extensions[
            "backend"].settings.encryption_keys[0],
        "HASH_KEY": server.app.extensions["backend"].settings.hash_key,
        "TWILIO_SANDBOX_API_URL": f"http://127.0.0.1:{server.port}/sandbox/twilio",
        "VAR_DIR": str(tmp_path), "PYTHONPATH": str(REPO_ROOT),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    rq = Path(sys.executable).parent / "rq"
    command = [str(rq), "worker", "messaging", "--url", redis_url,
               "--worker-class", "rq.SimpleWorker", "--burst"]
    done = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr
    assert_delivered_in_order(server, response.get_json()["ids"])
    output = done.stdout + done.stderr
    sends = [json.loads(line) for line in output.splitlines()
             if line.startswith("{") and "whatsapp send sent" in line]
    assert [(s["request_id"], s["tenant"], s["service"]) for s in sends] == [
        (REQUEST_ID, TENANT_ID, "worker")] * 3
    assert CUSTOMER not in output
    # The worker's counters are in VAR_DIR/metrics, summed by a scrape of the backend.
    scrape = subprocess.run(
        [sys.executable, "-c", "from backend.metrics import render; print(render('')[0].decode())"],
        env={**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}, cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=240)
    assert scrape.returncode == 0, scrape.stderr
    assert 'whatsapp_sends_total{status="sent"} 3.0' in scrape.stdout


def test_with_the_rq_settings_module_every_worker_line_is_json(tmp_path: Path) -> None:
    env = {**os.environ, "VAR_DIR": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    rq = Path(sys.executable).parent / "rq"
    command = [str(rq), "worker", "observability-test", "--url", require_service_env(
        "TEST_REDIS_URL"), "-c", "backend.rq_settings", "--worker-class", "rq.SimpleWorker",
        "--burst"]
    done = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert lines and all(json.loads(line)["service"] == "worker" for line in lines), lines
    assert (tmp_path / "metrics").is_dir()


def test_metrics_need_a_token(make_app: Callable[..., Flask]) -> None:
    client = make_app(metrics_token="scrape-token").test_client()
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.get_json()["code"] == 401 and refused.get_json()["message"]
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    for token in ("scrape-token", SERVICE_TOKEN):
        answer = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and answer.mimetype == "text/plain"
    assert make_app(metrics_public=True).test_client().get("/metrics").status_code == 200


def _sample(text: str, name: str) -> float:
    """The value of one sample (`name` with its labels, as exposed), 0 when absent."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_sends_by_status_and_show_queue_depth_and_lag(
    live_server: Callable[..., LiveServer], make_app: Callable[..., Flask], tenants,
    redis_queue: Queue
) -> None:
    server = live_server()
    headers = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
    before = server.app.test_client().get("/metrics", headers=headers).get_data(as_text=True)
    assert server.app.test_client().post(URL, json=REPLY, headers=TRACED).status_code == 202
    server.app.extensions["backend"].jobs.join(timeout=30)
    after = server.app.test_client().get("/metrics", headers=headers).get_data(as_text=True)
    sent = 'whatsapp_sends_total{status="sent"}'
    assert _sample(after, sent) - _sample(before, sent) == 3
    for name in ("llm_calls_total", "llm_spend_micros_total"):
        assert f"# TYPE {name} counter" in after

    queued = make_app(redis_url=require_service_env("TEST_REDIS_URL"))
    assert queued.test_client().post(URL, json=REPLY, headers=TRACED).status_code == 202
    time.sleep(0.05)  # the job has now waited at least this long
    text = queued.test_client().get("/metrics", headers=headers).get_data(as_text=True)
    assert _sample(text, 'job_queue_depth{queue="messaging"}') == 1
    assert _sample(text, 'job_queue_lag_seconds{queue="messaging"}') >= 0.05
    assert _sample(text, "job_queue_up") == 1


class _Capture(BaseHTTPRequestHandler):
    """Sentry's ingest endpoint on loopback: keeps every envelope it is sent."""

    envelopes: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 — http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":
            import brotli  # type: ignore[import-not-found]

            body = brotli.decompress(body)
        self.envelopes.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def sentry_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    _Capture.envelopes = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("SENTRY_DSN", f"http://public@127.0.0.1:{server.server_port}/1")
    yield _Capture.envelopes
    sentry_sdk.get_client().close(timeout=5)  # sends what is pending while the endpoint is up
    sentry_sdk.init()  # no DSN: reporting off again for the tests that follow
    server.shutdown()
    server.server_close()


def test_an_exception_in_a_route_reaches_sentry_with_the_request_id_and_no_phone(
    make_app: Callable[..., Flask], sentry_endpoint: list[bytes]
) -> None:
    app = make_app()

    def broken() -> str:
        raise RuntimeError(f"could not reach {CUSTOMER} with Bearer {SERVICE_TOKEN}")

    # Outside /v1: a /v1 route that no blueprint serves declares no scope and is refused (403).
    app.add_url_rule("/test-only/broken", "broken", broken)
    response = app.test_client().get(
        "/test-only/broken", headers={**TRACED, "X-CUSTOMER-PHONE": CUSTOMER})
    assert response.status_code == 500
    sentry_sdk.flush(timeout=10)
    deadline = time.monotonic() + 10
    while not sentry_endpoint and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sentry_endpoint, "no envelope reached the capture endpoint"
    raw = b"".join(sentry_endpoint).decode()
    events = [json.loads(line) for line in raw.splitlines()
              if line.startswith("{") and '"exception"' in line]
    [event] = events
    assert event["tags"]["request_id"] == REQUEST_ID and event["tags"]["tenant"] == TENANT_ID
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert "+2547****678" in event["exception"]["values"][-1]["value"]
    assert CUSTOMER not in raw and SERVICE_TOKEN not in raw and "X-Customer-Phone" not in raw


def test_a_jobs_error_tags_stay_with_the_job_and_the_bound_context_wins() -> None:
    from backend.observability import _job_error_scope
    from observability.errors import before_send
    from observability.logs import bound

    with _job_error_scope({"request_id": "req-job-one", "tenant": TENANT_ID,
                           "conversation": None}):
        inside = sentry_sdk.get_isolation_scope()._tags
        assert inside["request_id"] == "req-job-one" and "conversation" not in inside
    # The next job in the same process (rq's SimpleWorker) starts with no tag of the first.
    assert "request_id" not in sentry_sdk.get_isolation_scope()._tags
    # A stale tag on the event gives way to the context bound where the error happened.
    with bound(request_id="req-now", tenant=TENANT_ID):
        event = before_send({"tags": {"request_id": "req-earlier"}}, {})
    assert event["tags"]["request_id"] == "req-now" and event["tags"]["tenant"] == TENANT_ID
