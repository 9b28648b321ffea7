"""The backend calls of each assistant turn, for the simulator's debug view (backend/call_log.py):
a service-token request carrying the turn's X-Request-ID for a sandbox tenant is kept in Redis
under that id (method, the route with its ids, status, ms, when), never its query string, body,
headers or a phone number; a production tenant's, a merchant key's or an id-less request is not
kept; with Redis down the request answers as usual and the failure is logged once; the simulator's
debug JSON lists each turn's calls. SQLite and PostgreSQL, a real Redis."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis import Redis

from backend.call_log import KEY_PREFIX, MAX_CALLS, TTL_SECONDS, CallLog
from backend.models import Tenant
from backend.wiring import Context
from tests.backend.accounts_helpers import make_user
from tests.backend.conftest import (
    OTHER_ID,
    SERVICE_TOKEN,
    TENANT_ID,
    add_tenant,
    free_port,
    merchant_headers,
    require_service_env,
    service_headers,
)
from tests.backend.test_simulator_pages import DESIGNER, FakeChannel, _sign_in, _start

PHONE = "+254712345678"
CUSTOMER_REF = "cus_opaque_ref_123"
SHOES = {"title": "Sandals", "category": "shoes", "variants": [{"sku": "SDL-1", "price_minor": 90000, "stock": 4}]}


@pytest.fixture
def redis_url() -> Iterator[str]:
    url = require_service_env("TEST_REDIS_URL").rsplit("/", 1)[0] + "/9"
    connection = Redis.from_url(url)
    connection.flushdb()
    yield url
    connection.flushdb()
    connection.close()


@pytest.fixture
def channel() -> Iterator[FakeChannel]:
    fake = FakeChannel()
    yield fake
    fake.stop()


@pytest.fixture
def recording(make_app: Any, redis_url: str) -> tuple[Any, Context, Redis]:
    """An app in sandbox mode with Redis, the two tenants: duka-test a sandbox tenant (the
    default), other-shop a production one."""
    app = make_app(redis_url=redis_url)
    ctx: Context = app.extensions["backend"]
    add_tenant(ctx, TENANT_ID, "+254700000101", "AC" + "1" * 32, "token-1", "key-1-" + "x" * 20)
    add_tenant(ctx, OTHER_ID, "+254700000202", "AC" + "2" * 32, "token-2", "key-2-" + "x" * 20)
    with ctx.db.transaction() as session:
        session.get(Tenant, OTHER_ID).sandbox = False
    return app, ctx, Redis.from_url(redis_url)


def _assistant(tenant: str, request_id: str) -> dict[str, str]:
    """The headers the action server sends for a turn (actions/backend.py)."""
    return {**service_headers(tenant), "X-Request-ID": request_id,
            "X-CUSTOMER-REF": CUSTOMER_REF, "X-Conversation-ID": f"{tenant}:{CUSTOMER_REF}"}


def _kept(redis: Redis, request_id: str) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in redis.lrange(KEY_PREFIX + request_id, 0, -1)]


def test_the_assistants_calls_for_a_sandbox_tenant_are_kept_under_the_request_id(
        recording: tuple[Any, Context, Redis]) -> None:
    app, _, redis = recording
    client = app.test_client()
    made = client.post("/v1/products", json=SHOES, headers=merchant_headers(
        TENANT_ID, "key-1-" + "x" * 20))
    assert made.status_code == 201, made.get_json()
    product_id = made.get_json()["id"]
    turn = uuid.uuid4().hex
    before = datetime.now(UTC) - timedelta(seconds=1)

    listed = client.get(f"/v1/products?q={PHONE}&page_size=5", headers=_assistant(TENANT_ID, turn))
    assert listed.status_code == 200 and listed.headers["X-Request-ID"] == turn
    one = client.get(f"/v1/products/{product_id}", headers=_assistant(TENANT_ID, turn))
    assert one.status_code == 200
    missing = client.get("/v1/products/987654", headers=_assistant(TENANT_ID, turn))
    assert missing.status_code == 404
    refused = client.post("/v1/products", json={"title": PHONE, "variants": "x"},
                          headers=_assistant(TENANT_ID, turn))
    assert refused.status_code == 422

    kept = _kept(redis, turn)
    assert [(c["method"], c["path"], c["status"]) for c in kept] == [
        ("GET", "/v1/products", 200), ("GET", f"/v1/products/{product_id}", 200),
        ("GET", "/v1/products/987654", 404), ("POST", "/v1/products", 422)]
    for call in kept:
        assert set(call) == {"method", "path", "status", "ms", "at"}
        assert isinstance(call["ms"], int) and 0 <= call["ms"] < 60_000
        at = datetime.fromisoformat(call["at"])
        assert before <= at <= datetime.now(UTC)
    # No query string, body, header or phone number is stored.
    raw = b"".join(redis.lrange(KEY_PREFIX + turn, 0, -1)).decode()
    for never in (PHONE, PHONE.lstrip("+"), "712345678", "q=", "page_size", CUSTOMER_REF,
                  SERVICE_TOKEN, TENANT_ID, "Sandals"):
        assert never not in raw, never
    assert 0 < redis.ttl(KEY_PREFIX + turn) <= TTL_SECONDS


def test_only_the_assistants_calls_for_sandbox_tenants_under_a_given_id(
        recording: tuple[Any, Context, Redis]) -> None:
    app, _, redis = recording
    client = app.test_client()
    production, merchant, control = (uuid.uuid4().hex for _ in range(3))
    # A production tenant's turn: answered, never recorded.
    assert client.get("/v1/products", headers=_assistant(OTHER_ID, production)).status_code == 200
    # A merchant's own key with a request id of its choosing: not the assistant.
    assert client.get("/v1/products", headers={
        **merchant_headers(TENANT_ID, "key-1-" + "x" * 20),
        "X-Request-ID": merchant}).status_code == 200
    # The assistant without a request id (the backend makes one up): nothing to file it under.
    assert client.get("/v1/products", headers=service_headers(TENANT_ID)).status_code == 200
    # A wrong service token: no principal, nothing recorded.
    assert client.get("/v1/products", headers={
        "Authorization": "Bearer wrong", "X-TENANT-ID": TENANT_ID,
        "X-Request-ID": merchant}).status_code == 401
    # The control: the same call for the sandbox tenant is recorded (synchronously, before the
    # answer), so the others' absence is not a matter of timing.
    assert client.get("/v1/products", headers=_assistant(TENANT_ID, control)).status_code == 200
    assert [c["path"] for c in _kept(redis, control)] == ["/v1/products"]
    assert sorted(k.decode() for k in redis.scan_iter(KEY_PREFIX + "*")) == [KEY_PREFIX + control]


def test_a_service_route_without_a_tenant_in_its_principal_uses_the_tenant_header(
        recording: tuple[Any, Context, Redis]) -> None:
    """The channel's own calls (/internal/v1/..., the service token alone) name the tenant in
    X-TENANT-ID: the sandbox tenant's are kept, the production tenant's are not."""
    app, _, redis = recording
    client = app.test_client()
    sandbox, production = uuid.uuid4().hex, uuid.uuid4().hex
    path = "/internal/v1/tenants/resolve?number=whatsapp:%2B254700000101"
    assert client.get(path, headers=_assistant(TENANT_ID, sandbox)).status_code == 200
    assert client.get(path, headers=_assistant(OTHER_ID, production)).status_code == 200
    assert [(c["method"], c["path"], c["status"]) for c in _kept(redis, sandbox)] == [
        ("GET", "/internal/v1/tenants/resolve", 200)]
    assert _kept(redis, production) == []


def test_a_request_ids_calls_are_capped(recording: tuple[Any, Context, Redis]) -> None:
    app, _, redis = recording
    client = app.test_client()
    turn = uuid.uuid4().hex
    for _ in range(MAX_CALLS + 3):
        assert client.get("/v1/products", headers=_assistant(TENANT_ID, turn)).status_code == 200
    assert redis.llen(KEY_PREFIX + turn) == MAX_CALLS


def test_with_redis_down_the_request_answers_and_the_failure_is_logged_once(
        make_app: Any, caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(redis_url=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    ctx: Context = app.extensions["backend"]
    add_tenant(ctx, TENANT_ID, "+254700000101", "AC" + "1" * 32, "token-1", "key-1-" + "x" * 20)
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="backend.call_log"):
        for _ in range(3):
            answer = client.get("/v1/products", headers=_assistant(TENANT_ID, uuid.uuid4().hex))
            assert answer.status_code == 200 and answer.get_json()["results"] == []
    warnings = [r for r in caplog.records if r.name == "backend.call_log"]
    assert len(warnings) == 1 and "not recorded" in warnings[0].getMessage()


def test_nothing_is_kept_outside_sandbox_mode_or_without_redis(make_app: Any,
                                                               redis_url: str) -> None:
    for app in (make_app(redis_url=redis_url, sandbox=False), make_app()):
        assert "call_log" not in app.extensions
    redis = Redis.from_url(redis_url)
    assert list(redis.scan_iter(KEY_PREFIX + "*")) == []


def test_the_debug_view_lists_each_turns_backend_calls(
        live_server: Any, channel: FakeChannel, redis_url: str) -> None:
    server = live_server(rasa_url=channel.url, rasa_token="rasa-secret",
                         session_cookie_secure=False, redis_url=redis_url)
    ctx: Context = server.app.extensions["backend"]
    add_tenant(ctx, TENANT_ID, "+254700000101", "AC" + "1" * 32, "token-1", "key-1-" + "x" * 20)
    make_user(ctx, DESIGNER, role="designer")
    client = server.app.test_client()
    csrf = _sign_in(client, DESIGNER)
    handle = _start(client, csrf)
    # The recorded tracker's second turn ("what do you sell?") ran under this request id.
    turn_id = "1575bd98d0bd46a48d9a919389a6673d"
    assert client.get("/v1/products?page_size=10",
                      headers=_assistant(TENANT_ID, turn_id)).status_code == 200

    debug = client.get(f"/app/simulator/debug?s={handle}").get_json()
    assert debug["backend_calls_recorded"] is True
    by_text = {t["text"]: t for t in debug["turns"]}
    second = by_text["what do you sell?"]
    assert second["request_id"] == turn_id
    [call] = second["backend_calls"]
    assert (call["method"], call["path"], call["status"]) == ("GET", "/v1/products", 200)
    assert isinstance(call["ms"], int)
    assert all(t["backend_calls"] == [] for t in debug["turns"] if t["request_id"] != turn_id)


def test_reading_with_redis_down_says_so() -> None:
    """The debug view's `backend_calls_recorded: false`: the reader answers None, not []."""
    log = CallLog(f"redis://127.0.0.1:{free_port()}/0", lambda _: True)
    assert log.calls(["a", "b"]) is None
    assert log.calls([]) == {}
