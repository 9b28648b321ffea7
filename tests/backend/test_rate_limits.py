"""Rate limits: failed credentials per IP (API keys, service token, payment callback tokens),
requests per merchant API key by tier, 429 with Retry-After in the one error shape; counts shared
through Redis by every process, and requests still answered when Redis is gone."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis

from backend.services.accounts.members import add_member
from backend.services.accounts.sessions import create_token
from backend.services.platform.tenants import update_settings
from backend.settings import ConfigurationError, Settings
from tests.backend.accounts_helpers import log_in, make_user
from tests.backend.conftest import (
    OTHER_ID,
    OTHER_KEY,
    TENANT_ID,
    free_port,
    merchant_headers,
    require_service_env,
    service_headers,
)

TIERS = (("starter", "3/minute"), ("growth", "5/minute"), ("enterprise", "1000/minute"))


def from_ip(ip: str) -> dict[str, Any]:
    return {"environ_base": {"REMOTE_ADDR": ip}}


def unique_ip() -> str:
    """An address no earlier run used (Redis keeps counts between runs for a minute)."""
    raw = uuid.uuid4().bytes
    return f"10.{raw[0]}.{raw[1]}.{raw[2] or 1}"


def assert_429(response: Any) -> None:
    assert response.status_code == 429, response.get_data()
    body = response.get_json()
    assert body["code"] == 429 and body["message"] == "Too Many Requests" and body["description"]
    assert 1 <= int(response.headers["Retry-After"]) <= 61  # the minute's window, rounded up


def test_wrong_keys_from_one_ip_are_refused_after_the_limit(make_app, tenants) -> None:
    client = make_app(rate_limit_auth_failures="5/minute").test_client()
    wrong = merchant_headers(api_key="not-the-key-0000000")
    statuses = [client.get("/v1/products", headers=wrong).status_code for _ in range(5)]
    assert statuses == [401] * 5
    assert_429(client.get("/v1/products", headers=wrong))
    # The address is refused whatever it sends now: guessing cannot go on with a found key.
    assert_429(client.get("/v1/products", headers=merchant_headers()))
    assert_429(client.post("/internal/v1/payments/sweep", headers={"Authorization": "Bearer x"}))
    # Another address is not affected, and successes never count.
    for _ in range(8):
        assert client.get("/v1/products", headers=merchant_headers(),
                          **from_ip("192.0.2.7")).status_code == 200


def test_wrong_service_tokens_count_as_failures(make_app) -> None:
    client = make_app(rate_limit_auth_failures="3/minute").test_client()
    bad = {"Authorization": "Bearer wrong-token"}
    assert [client.post("/internal/v1/payments/sweep", headers=bad).status_code
            for _ in range(3)] == [401] * 3
    assert_429(client.post("/internal/v1/payments/sweep", headers=bad))


def test_guessed_payment_callback_tokens_are_limited(make_app) -> None:
    client = make_app(rate_limit_auth_failures="4/minute").test_client()
    body = {"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1"}}}
    guesses = [client.post(f"/webhooks/mpesa/guess{n}/stk", json=body).status_code
               for n in range(4)]
    assert guesses == [404] * 4
    assert_429(client.post("/webhooks/mpesa/guess5/stk", json=body))
    assert_429(client.get("/webhooks/pesapal/guess6?OrderTrackingId=x"))


def test_merchant_keys_are_limited_by_their_tenants_tier(make_app, tenants) -> None:
    update_settings(tenants, OTHER_ID, {"tier": "growth"}, as_operator=True)
    client = make_app(rate_limit_tiers=TIERS).test_client()
    starter = [client.get("/v1/products", headers=merchant_headers()).status_code
               for _ in range(3)]
    assert starter == [200] * 3
    assert_429(client.get("/v1/products", headers=merchant_headers()))
    growth = [client.get("/v1/products", headers=merchant_headers(OTHER_ID, OTHER_KEY))
              .status_code for _ in range(5)]
    assert growth == [200] * 5  # its own key, its own tier's rate
    assert_429(client.get("/v1/products", headers=merchant_headers(OTHER_ID, OTHER_KEY)))
    # The platform's own processes (service token) are not limited per key.
    for _ in range(10):
        assert client.get("/v1/products", headers=service_headers(TENANT_ID)).status_code == 200


def pat_headers(ctx: Any, user_id: int, tenant_id: str = TENANT_ID) -> dict[str, str]:
    raw = create_token(ctx, user_id, tenant_id, "script").raw_token
    return {"Authorization": f"Bearer {raw}"}


def test_personal_access_tokens_are_limited_per_user_and_tenant_by_tier(make_app, tenants) -> None:
    app = make_app(rate_limit_tiers=TIERS)
    ctx, client = app.extensions["backend"], app.test_client()
    ada, bea = make_user(ctx, "ada@example.com"), make_user(ctx, "bea@example.com")
    ada_tokens = [pat_headers(ctx, ada), pat_headers(ctx, ada)]
    # Two tokens of one user on one tenant share the count: the starter tier's 3.
    statuses = [client.get("/v1/products", headers=ada_tokens[n % 2]).status_code
                for n in range(3)]
    assert statuses == [200] * 3
    assert_429(client.get("/v1/products", headers=ada_tokens[0]))
    assert_429(client.get("/v1/products", headers=ada_tokens[1]))
    # Another user of the same tenant has their own count, and so does the tenant's API key.
    bea_token = pat_headers(ctx, bea)
    assert [client.get("/v1/products", headers=bea_token).status_code
            for _ in range(3)] == [200] * 3
    assert_429(client.get("/v1/products", headers=bea_token))
    assert client.get("/v1/products", headers=merchant_headers()).status_code == 200
    # The same user on a growth tenant is counted there at that tier's rate.
    update_settings(tenants, OTHER_ID, {"tier": "growth"}, as_operator=True)
    with ctx.db.transaction() as session:
        add_member(session, OTHER_ID, ada, "owner")
    other = pat_headers(ctx, ada, OTHER_ID)
    assert [client.get("/v1/products", headers=other).status_code
            for _ in range(5)] == [200] * 5
    assert_429(client.get("/v1/products", headers=other))
    # The service token is the platform's own processes: never limited.
    for _ in range(10):
        assert client.get("/v1/products", headers=service_headers(TENANT_ID)).status_code == 200


def test_a_session_is_limited_like_the_users_tokens(make_app, tenants) -> None:
    app = make_app(rate_limit_tiers=TIERS)
    ctx = app.extensions["backend"]
    ada = make_user(ctx, "ada@example.com")
    browser = app.test_client()
    csrf = log_in(browser, "ada@example.com")  # logging in is not a counted user request
    assert browser.get("/v1/products").status_code == 200
    assert browser.post("/v1/auth/switch", headers=csrf,
                        json={"tenant_id": TENANT_ID}).status_code == 200
    # A token of the same user on the same tenant shares the session's count.
    assert client_get(app, pat_headers(ctx, ada)) == 200
    assert_429(browser.get("/v1/products"))
    assert_429(browser.get("/v1/auth/me"))  # on the session's tenant, whatever the route
    # Another browser of another user is not affected.
    make_user(ctx, "bea@example.com", role="viewer")
    other = app.test_client()
    log_in(other, "bea@example.com")
    assert other.get("/v1/products").status_code == 200


def client_get(app: Any, headers: dict[str, str]) -> int:
    return app.test_client().get("/v1/products", headers=headers).status_code


def test_dead_personal_tokens_and_sessions_count_as_failed_credentials(make_app, tenants) -> None:
    app = make_app(rate_limit_auth_failures="4/minute")
    client = app.test_client()
    guessed = {"Authorization": "Bearer wcpat_" + "x" * 43}
    assert [client.get("/v1/products", headers=guessed).status_code
            for _ in range(2)] == [401, 401]
    client.set_cookie("wca_session", "not-a-session")
    assert [client.get("/v1/products").status_code for _ in range(2)] == [401, 401]
    client.delete_cookie("wca_session")
    assert_429(client.get("/v1/products", headers=merchant_headers()))  # this address is done


def test_limiter_storage_keys_hold_user_ids_never_raw_tokens(make_app, tenants) -> None:
    redis_url = require_service_env("TEST_REDIS_URL")
    app = make_app(rate_limit_storage_url=redis_url)  # (the default rates: counts outlive runs)
    ctx, client = app.extensions["backend"], app.test_client()
    ada = make_user(ctx, f"ada-{uuid.uuid4().hex[:8]}@example.com")
    headers = pat_headers(ctx, ada)
    raw = headers["Authorization"].removeprefix("Bearer ")
    assert client.get("/v1/products", headers=headers).status_code == 200
    keys = [key.decode() for key in redis.Redis.from_url(redis_url).keys("*")]
    assert any(f"{TENANT_ID}:user:{ada}" in key for key in keys), keys
    assert not any(raw in key or raw[:12] in key for key in keys)


def test_counts_are_shared_through_redis_by_every_process(make_app) -> None:
    redis_url = require_service_env("TEST_REDIS_URL")
    workers = [make_app(rate_limit_storage_url=redis_url, rate_limit_auth_failures="4/minute")
               .test_client() for _ in range(2)]
    ip = unique_ip()
    bad = {"Authorization": "Bearer wrong-token"}
    for n in range(4):  # alternate between the two "gunicorn workers"
        assert workers[n % 2].post("/internal/v1/payments/sweep", headers=bad,
                                   **from_ip(ip)).status_code == 401
    for worker in workers:
        assert_429(worker.post("/internal/v1/payments/sweep", headers=bad, **from_ip(ip)))


def test_requests_are_answered_when_the_limit_storage_is_down(make_app) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    client = make_app(rate_limit_storage_url=closed, rate_limit_auth_failures="2/minute"
                      ).test_client()
    assert client.get("/v1/health").status_code == 200
    bad = {"Authorization": "Bearer wrong-token"}
    assert [client.post("/internal/v1/payments/sweep", headers=bad).status_code
            for _ in range(2)] == [401, 401]
    assert_429(client.post("/internal/v1/payments/sweep", headers=bad))  # counted in memory


def test_limits_are_configured_from_the_environment() -> None:
    settings = Settings.from_env({"RATE_LIMIT_AUTH_FAILURES": "7/minute",
                                  "RATE_LIMIT_GROWTH": "50 per hour", "TRUSTED_PROXY_HOPS": "1"})
    assert settings.rate_limit_auth_failures == "7/minute"
    assert dict(settings.rate_limit_tiers) == {"starter": "300/minute", "growth": "50 per hour",
                                               "enterprise": "6000/minute"}
    assert settings.trusted_proxy_hops == 1 and settings.rate_limits_enabled
    assert not Settings.from_env({"RATE_LIMITS_ENABLED": "0"}).rate_limits_enabled
    for bad in ({"RATE_LIMIT_STARTER": "lots"}, {"TRUSTED_PROXY_HOPS": "-1"}):
        with pytest.raises(ConfigurationError):
            Settings.from_env(bad)


def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(make_app) -> None:
    client = make_app(rate_limit_auth_failures="2/minute", trusted_proxy_hops=1).test_client()
    bad = {"Authorization": "Bearer wrong-token"}

    def sweep(client_ip: str) -> int:
        return client.post("/internal/v1/payments/sweep",
                           headers={**bad, "X-Forwarded-For": client_ip}).status_code

    assert [sweep("198.51.100.1"), sweep("198.51.100.1"), sweep("198.51.100.1")] == [401, 401, 429]
    assert sweep("198.51.100.2") == 401  # another client behind the same proxy
