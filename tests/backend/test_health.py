"""GET /v1/health: a real database query, a Redis PING, RQ workers, queue lag and the outbox;
503 only when the backend cannot serve (database down, or Redis down without the fallback)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis
from rq import Queue, Worker

from backend.app import create_app
from tests.backend.conftest import free_port, make_settings, require_service_env
from tests.backend.payment_helpers import wait_for



def test_healthy_without_redis(client) -> None:
    """The embedded mode: jobs run in the backend; no worker is expected."""
    response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "disabled"},
        "problems": [],
        "jobs": "in_process",
        "workers": None,
        "queues": {},
        "outbox": {"depth": 0, "oldest_seconds": None},
    }


def test_redis_down_with_the_fallback_is_degraded_but_serving(
    make_app: Callable[..., Flask]
) -> None:
    app = make_app(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    response = app.test_client().get("/v1/health")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["checks"]) == ("degraded", {"database": "ok", "redis": "down"})
    assert body["jobs"] == "in_process_fallback" and body["problems"] == ["redis unreachable"]


def test_redis_down_without_the_fallback_is_503(make_app: Callable[..., Flask]) -> None:
    app = make_app(redis_url=f"redis://127.0.0.1:{free_port()}/0", jobs_fallback_in_process=False)
    response = app.test_client().get("/v1/health")
    assert response.status_code == 503
    assert response.get_json()["status"] == "down"


@pytest.fixture
def redis_db() -> Iterator[str]:
    """A Redis database of its own (no other test's workers or queues)."""
    url = require_service_env("TEST_REDIS_URL").rsplit("/", 1)[0] + "/7"
    connection = Redis.from_url(url)
    connection.flushdb()
    yield url
    connection.flushdb()
    connection.close()


def test_no_worker_is_degraded_and_reports_queue_lag(
    make_app: Callable[..., Flask], redis_db: str
) -> None:
    app = make_app(redis_url=redis_db, health_queue_lag_seconds=1)
    client = app.test_client()
    body = client.get("/v1/health").get_json()
    assert body["status"] == "degraded" and body["problems"] == ["no RQ worker"]
    assert body["workers"] == {"count": 0, "last_heartbeat": None}
    assert body["queues"] == {"messaging": {"depth": 0, "oldest_seconds": None},
                              "default": {"depth": 0, "oldest_seconds": None},
                              "sandbox": {"depth": 0, "oldest_seconds": None}}

    connection = Redis.from_url(redis_db)
    Queue("default", connection=connection).enqueue("backend.jobs.orders.expire_unpaid_orders")
    Queue("default", connection=connection).enqueue("backend.jobs.orders.expire_unpaid_orders")

    def lagging() -> dict | None:
        found = client.get("/v1/health").get_json()
        oldest = found["queues"]["default"]["oldest_seconds"]
        return found if oldest is not None and oldest > 1 else None

    body = wait_for(lagging, timeout=10)
    assert body["queues"]["default"]["depth"] == 2
    assert body["queues"]["messaging"] == {"depth": 0, "oldest_seconds": None}
    assert any(p.startswith("default lag") for p in body["problems"])
    assert client.get("/v1/health").status_code == 200  # degraded, still serving

    worker = Worker(["default"], connection=connection, name=f"health-test-{free_port()}")
    worker.register_birth()
    worker.heartbeat()
    try:
        body = client.get("/v1/health").get_json()
        assert body["workers"]["count"] == 1 and body["workers"]["last_heartbeat"]
        assert "no RQ worker" not in body["problems"]
    finally:
        worker.register_death()
    connection.close()


def test_redis_up_with_a_worker_and_nothing_waiting_is_ok(
    make_app: Callable[..., Flask], redis_db: str
) -> None:
    connection = Redis.from_url(redis_db)
    worker = Worker(["messaging", "default"], connection=connection, name=f"ok-{free_port()}")
    worker.register_birth()
    try:
        app = make_app(redis_url=redis_db)
        response = app.test_client().get("/v1/health")
        assert response.status_code == 200
        body = response.get_json()
        assert (body["status"], body["jobs"]) == ("ok", "rq")
        assert body["checks"] == {"database": "ok", "redis": "ok"}
    finally:
        worker.register_death()
        connection.close()


def test_an_outbox_reply_left_unsent_makes_the_embedded_backend_degraded(
    make_app: Callable[..., Flask], tenants
) -> None:
    from backend.services.conversations.outbound import OutgoingMessage, store_outbound
    from tests.backend.conftest import TENANT_ID

    app = make_app(health_queue_lag_seconds=1)
    ctx = app.extensions["backend"]
    store_outbound(ctx, TENANT_ID, "+254712345678", [OutgoingMessage(body="hi")])

    def lagging() -> dict | None:
        found = app.test_client().get("/v1/health").get_json()
        oldest = found["outbox"]["oldest_seconds"]
        return found if oldest is not None and oldest > 1 else None

    body = wait_for(lagging, timeout=10)
    assert body["status"] == "degraded" and body["outbox"]["depth"] == 1
    assert body["problems"][0].startswith("outbox lag")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_database_down_is_503(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}"  # a directory cannot be opened as a database file
    else:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    app = create_app(make_settings(url))
    try:
        response = app.test_client().get("/v1/health")
    finally:
        app.extensions["backend"].db.dispose()
    assert response.status_code == 503
    body = response.get_json()
    assert (body["status"], body["checks"]) == ("down", {"database": "down", "redis": "disabled"})
