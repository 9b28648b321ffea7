"""Rate limits (Flask-Limiter): failed credentials per client IP, requests per merchant API key by
the tenant's subscription tier; 429 with Retry-After in the one error shape.

Counts live in RATE_LIMIT_STORAGE_URL, else REDIS_URL, shared by every gunicorn worker and
replica; without either they are in memory, per process (each of N workers allows the limit, so
N times it in all). If Redis stops answering, counting falls back to memory instead of failing.

- Failed credentials: a 401, or a payment callback URL whose token is unknown, counts against the
  client's IP (RATE_LIMIT_AUTH_FAILURES); past it, every request from that IP is refused until the
  window moves on, so keys and callback tokens cannot be guessed at speed.
- Merchant API keys (X-TENANT-API-KEY): RATE_LIMIT_<TIER> per key. The service token is the
  platform's own processes and is not limited (a wrong one counts as a failed credential).
- Staff users (a personal access token or a session cookie): the same RATE_LIMIT_<TIER> per user
  per tenant (the token's tenant; a session's X-TENANT-ID or current tenant), so every token
  and session of one user on one tenant share a count and two users have their own. Counted
  by user id once the credential is looked up (the limiter runs before the authentication hooks
  and the lookup is kept for them); a raw token never reaches the storage's keys. A user on no
  tenant yet (their own routes, an operator's) gets the smallest tier's rate. A dead token or
  session is a 401, a failed credential.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time

from flask import Flask, Response, current_app, g, request
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from backend.api.auth import staff_credential
from backend.api.common import context
from backend.domain.errors import DomainError
from backend.errors import error_response
from backend.models import Tenant
from backend.settings import Settings

TIER_CACHE_SECONDS = 60.0


def credential_failed() -> None:
    """Count this request against its IP's failed-credential limit (e.g. an unknown token)."""
    g.credential_failed = True


def _client_ip() -> str:
    return request.remote_addr or "unknown"


def _counts_as_failure(response: Response) -> bool:
    return response.status_code == 401 or bool(g.get("credential_failed"))


def _merchant_key() -> str | None:
    """The merchant credentials this request presents (checked later by the auth hooks)."""
    if request.headers.get("Authorization", "").lower().startswith("bearer "):
        return None
    key = request.headers.get("X-TENANT-API-KEY", "")
    tenant = request.headers.get("X-TENANT-ID", "").strip()
    return f"{tenant}:{hashlib.sha256(key.encode()).hexdigest()[:24]}" if key and tenant else None


def _staff_user() -> tuple[str | None, int] | None:
    """(tenant, user id) of a staff user's token or session (None for other requests, and for a
    dead credential, which the authentication hook answers 401)."""
    try:
        user = staff_credential()
    except (DomainError, SQLAlchemyError):  # never raise here: the limiter would take it for
        return None                         # its storage failing
    if user is None:
        return None
    header = request.headers.get("X-TENANT-ID", "").strip()[:64]
    tenant = user.tenant_id if user.session_id is None else (header or user.tenant_id)
    return tenant, user.user_id


def _staff_key() -> str | None:
    found = _staff_user()
    return None if found is None else f"{found[0] or '-'}:user:{found[1]}"


class TierLimits:
    """The rate of each tier, and each tenant's tier cached a minute per process (a tier change
    applies within the minute; an unknown tenant, or none, gets the smallest tier's rate)."""

    def __init__(self, settings: Settings) -> None:
        self._rates = dict(settings.rate_limit_tiers)
        self._tiers: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _tier(self, tenant_id: str) -> str:
        now = time.monotonic()
        with self._lock:
            cached = self._tiers.get(tenant_id)
        if cached and cached[1] > now:
            return cached[0]
        try:
            with context().db.transaction() as session:
                tier = session.scalar(select(Tenant.tier).where(Tenant.id == tenant_id)) \
                    or "starter"
        except SQLAlchemyError:  # the request itself will answer for the database
            return "starter"
        with self._lock:
            self._tiers[tenant_id] = (tier, now + TIER_CACHE_SECONDS)
        return tier

    def rate(self, tenant_id: str | None) -> str:
        tier = self._tier(tenant_id) if tenant_id else "starter"
        return self._rates.get(tier) or self._rates["starter"]

    # Called for every request (even exempt ones): only a merchant key or a user costs a lookup.
    def for_merchant_key(self) -> str:
        return self.rate(request.headers.get("X-TENANT-ID", "").strip()[:64]
                         if _merchant_key() is not None else None)

    def for_staff_user(self) -> str:
        found = _staff_user()
        return self.rate(found[0] if found is not None else None)


def _too_many(error: RateLimitExceeded) -> Response:
    limiter: Limiter = current_app.extensions["rate_limiter"]
    breached = limiter.current_limit
    wait = breached.reset_at - time.time() if breached is not None else 60
    return error_response(429, error.description or "Too many requests",
                          headers={"Retry-After": str(max(1, math.ceil(wait)))})


def init_rate_limits(app: Flask, settings: Settings) -> Limiter:
    if settings.trusted_proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxy_hops)  # type: ignore[method-assign]
    storage = settings.rate_limit_storage_url or settings.redis_url or "memory://"
    tiers = TierLimits(settings)
    limiter = Limiter(
        _client_ip,
        app=app,
        storage_uri=storage,
        storage_options={"socket_connect_timeout": 1, "socket_timeout": 1}
        if storage.startswith(("redis://", "rediss://")) else {},
        strategy="moving-window",  # no window edge to burst across
        key_prefix="rate",
        in_memory_fallback_enabled=True,
        enabled=settings.rate_limits_enabled,
        application_limits=[
            ApplicationLimit(
                settings.rate_limit_auth_failures, key_function=_client_ip,
                scope="failed-credentials", deduct_when=_counts_as_failure,
                error_message="Too many failed credentials from this address; retry later"),
            ApplicationLimit(
                tiers.for_merchant_key, key_function=lambda: _merchant_key() or "",
                scope="api-key", exempt_when=lambda: _merchant_key() is None,
                error_message="Too many requests for this API key's tier; retry later"),
            ApplicationLimit(
                tiers.for_staff_user, key_function=lambda: _staff_key() or "",
                scope="staff-user", exempt_when=lambda: _staff_key() is None,
                error_message="Too many requests for this user on this tenant's tier; "
                              "retry later"),
        ],
    )
    app.register_error_handler(RateLimitExceeded, _too_many)
    app.extensions["rate_limiter"] = limiter
    return limiter
