"""The channel's Prometheus metrics (the rasa server process), served by the channel's blueprint
at /webhooks/whatsapp/metrics behind METRICS_TOKEN or the service token (METRICS_PUBLIC=1: open)."""
from __future__ import annotations

import hmac
import os
from typing import Optional

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

WEBHOOKS = Counter("whatsapp_webhooks", "Twilio webhooks, by outcome", ["outcome"])
TURN_SECONDS = Histogram(
    "whatsapp_turn_seconds", "Webhook received to replies queued at the backend (answered turns)",
    buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0))
OUTCOME_BY_STATUS = {200: "answered", 400: "bad_request", 403: "forbidden",
                     404: "unknown_tenant", 503: "unavailable"}


def outcome_of(status: int, said: Optional[str] = None) -> str:
    """What happened to a webhook: what the handler said (e.g. "duplicate"), else by status."""
    return said or OUTCOME_BY_STATUS.get(status, "error" if status >= 500 else f"http_{status}")


def record(outcome: str, seconds: float) -> None:
    WEBHOOKS.labels(outcome=outcome).inc()
    if outcome == "answered":
        TURN_SECONDS.observe(seconds)


def authorized(request: Request, service_token: str) -> bool:
    if os.environ.get("METRICS_PUBLIC", "0").strip().lower() in {"1", "true", "yes", "on"}:
        return True
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    allowed = [t for t in (os.environ.get("METRICS_TOKEN", "").strip(), service_token) if t]
    return scheme.lower() == "bearer" and any(
        hmac.compare_digest(token.strip().encode(), t.encode()) for t in allowed)


def exposition() -> HTTPResponse:
    return response.raw(generate_latest(), content_type=CONTENT_TYPE_LATEST)
