"""Fixtures: real Alembic migrations on a fresh SQLite file and a fresh PostgreSQL database."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from backend.app import create_app
from backend.wiring import Context
from backend.migrate import scratch_database, upgrade
from backend.models import Base
from backend.sandbox import models as sandbox_models  # noqa: F401  (emptied like the rest)
from backend.services.platform.auth import issue_api_key
from backend.services.platform.tenants import NewTenant, ensure_tenant
from backend.services.platform.tiers import seed_default_tiers
from backend.settings import Settings

SERVICE_TOKEN = "test-service-token"
HASH_KEY = "test-hash-key"
FERNET_KEY = Fernet.generate_key().decode()
TENANT_ID = "duka-test"
TENANT_NUMBER = "+254700000101"
TENANT_SID = "AC" + "1" * 32
TENANT_TOKEN = "test-twilio-token"
TENANT_KEY = "duka-test-api-key-0001"
OTHER_ID = "other-shop"
OTHER_NUMBER = "+254700000202"
OTHER_SID = "AC" + "2" * 32
OTHER_TOKEN = "other-twilio-token"
OTHER_KEY = "other-shop-api-key-0002"


def require_service_env(name: str) -> str:
    """The URL of a test service; skip without it, unless REQUIRE_SERVICES=1 (then fail loudly)."""
    value = os.environ.get(name, "")
    if not value:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {name} is not set", pytrace=False)
        pytest.skip(f"{name} is not set")
    return value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'backend.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    with scratch_database(require_service_env("TEST_POSTGRES_URL"), "backend_test") as url:
        yield url


_cleaners: dict[str, Engine] = {}


def _empty_tables(url: str) -> None:
    engine = _cleaners.setdefault(url, create_engine(url))
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))
    with Session(engine) as session, session.begin():
        seed_default_tiers(session)  # the migration's seed: tenants reference their tier


@pytest.fixture(scope="session", autouse=True)
def _dispose_cleaners() -> Iterator[None]:
    yield
    for engine in _cleaners.values():
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated database, emptied before each test; every app test runs on both."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    _empty_tables(url)
    return url


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": "",
        "service_token": SERVICE_TOKEN,
        "encryption_keys": (FERNET_KEY,),
        "hash_key": HASH_KEY,
        "sandbox": True,
        # Staff passwords hashed cheaply (argon2id's minimum cost): ~1 ms instead of ~100 ms.
        "password_hash_memory_kib": 64,
        "password_hash_time_cost": 1,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_app(database_url: str) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        app = create_app(make_settings(database_url, **overrides))
        apps.append(app)
        return app

    yield factory
    for app in apps:
        ctx: Context = app.extensions["backend"]
        # In-process jobs, Redis fallbacks and their timers end with the test that started them.
        ctx.jobs.drain(timeout=60)
        ctx.db.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def ctx(app: Flask) -> Context:
    context: Context = app.extensions["backend"]
    return context


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


def add_tenant(
    ctx: Context, tenant_id: str, number: str, sid: str, token: str, api_key: str
) -> None:
    ensure_tenant(
        ctx,
        NewTenant(
            id=tenant_id,
            name=f"{tenant_id} ltd",
            whatsapp_number=number,
            twilio_account_sid=sid,
            twilio_auth_token=token,
        ),
    )
    issue_api_key(ctx, tenant_id, api_key)


@pytest.fixture
def tenants(ctx: Context) -> Context:
    """Two tenants with one API key each; returns the context they live in."""
    add_tenant(ctx, TENANT_ID, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, TENANT_KEY)
    add_tenant(ctx, OTHER_ID, OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, OTHER_KEY)
    return ctx


def service_headers(tenant_id: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
    if tenant_id:
        headers["X-TENANT-ID"] = tenant_id
    return headers


def merchant_headers(tenant_id: str = TENANT_ID, api_key: str = TENANT_KEY) -> dict[str, str]:
    return {"X-TENANT-ID": tenant_id, "X-TENANT-API-KEY": api_key}


class LiveServer:
    """An app served over real HTTP on loopback, so the Twilio library can reach the simulator."""

    def __init__(self, app: Flask, port: int) -> None:
        self.app = app
        self.port = port
        self._server = make_server("127.0.0.1", port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        # Jobs still running (the simulator's status callbacks) finish while the server is up:
        # once it is down they would retry against a closed port until their last attempt.
        try:
            self.app.extensions["backend"].jobs.drain(timeout=30)
        except TimeoutError:
            pass  # make_app's teardown waits for the rest
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()


@pytest.fixture
def live_server(make_app: Callable[..., Flask]) -> Iterator[Callable[..., LiveServer]]:
    """Start an app whose sandbox tenants send to its own simulator over HTTP."""
    started: list[LiveServer] = []

    def start(**overrides: Any) -> LiveServer:
        port = free_port()
        simulator = f"http://127.0.0.1:{port}/sandbox/twilio"
        app = make_app(backend_port=port, twilio_sandbox_api_url=simulator, **overrides)
        server = LiveServer(app, port).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__()
