"""GET /v1/health: a real database query and a Redis PING; 503 when either is down."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from backend.app import create_app
from tests.backend.conftest import free_port, make_settings, require_service_env


def test_healthy_without_redis(client) -> None:
    response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "disabled"},
    }


def test_redis_down_is_503(make_app: Callable[..., Flask]) -> None:
    app = make_app(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    response = app.test_client().get("/v1/health")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "degraded",
        "checks": {"database": "ok", "redis": "down"},
    }


def test_redis_up_is_ok(make_app: Callable[..., Flask]) -> None:
    app = make_app(redis_url=require_service_env("TEST_REDIS_URL"))
    response = app.test_client().get("/v1/health")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "redis": "ok"}


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
    assert response.get_json() == {
        "status": "degraded",
        "checks": {"database": "down", "redis": "disabled"},
    }
