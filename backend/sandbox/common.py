"""What the simulators share: their state rows, and callbacks sent later on a thread."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests
from flask import Response, current_app, jsonify, request
from marshmallow import Schema, fields
from sqlalchemy import select

from backend.wiring import Context
from backend.log_redaction import redact
from backend.sandbox.models import SandboxPaymentRecord

log = logging.getLogger(__name__)
CALLBACK_TIMEOUT_SECONDS = 10


class ProviderReplySchema(Schema):
    """The provider's own JSON reply (its documented shape; see docs/internal-api.md)."""

    class Meta:
        unknown = "include"

    reply = fields.Dict(metadata={"description": "Fields as the real provider names them"})


def context() -> Context:
    ctx: Context = current_app.extensions["backend"]
    return ctx


def reply(body: Any, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def base_url() -> str:
    """Where this simulator is served, as its clients reach it (the configured sandbox URL)."""
    return context().settings.payments_sandbox_url


def new_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:20]}"


def load(provider: str, reference: str) -> dict[str, Any] | None:
    return load_in(context(), provider, reference)


def save(provider: str, reference: str, data: dict[str, Any], ctx: Context | None = None) -> None:
    with (ctx or context()).db.transaction() as session:
        row = session.scalar(select(SandboxPaymentRecord).where(
            SandboxPaymentRecord.provider == provider, SandboxPaymentRecord.reference == reference
        ).with_for_update())
        if row is None:
            session.add(SandboxPaymentRecord(provider=provider, reference=reference, data=data))
        else:
            row.data = {**row.data, **data}


def change(provider: str, reference: str,
           update: Callable[[dict[str, Any]], dict[str, Any] | str]) -> dict[str, Any] | str | None:
    """Read and change one record under a row lock (two requests at once: one after the
    other): `update` answers the fields to change, or a refusal (a str) that changes nothing;
    None when there is no such record."""
    with context().db.transaction() as session:
        row = session.scalar(select(SandboxPaymentRecord).where(
            SandboxPaymentRecord.provider == provider, SandboxPaymentRecord.reference == reference
        ).with_for_update())
        if row is None:
            return None
        answer = update(dict(row.data))
        if isinstance(answer, dict):
            row.data = {**row.data, **answer}
        return answer


def load_in(ctx: Context, provider: str, reference: str) -> dict[str, Any] | None:
    with ctx.db.transaction() as session:
        row = session.scalar(select(SandboxPaymentRecord).where(
            SandboxPaymentRecord.provider == provider, SandboxPaymentRecord.reference == reference))
        return dict(row.data) if row else None


def json_body() -> dict[str, Any] | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


def bearer() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def later(delay_seconds: float, work: Callable[[], None]) -> None:
    """Run `work` on a daemon thread after a delay (a provider calling back on its own time)."""

    def run() -> None:
        time.sleep(max(delay_seconds, 0))
        try:
            work()
        except Exception:  # a simulator must not take the process down
            log.exception("simulated provider callback failed")

    threading.Thread(target=run, daemon=True, name="provider-simulator").start()


def post(url: str, **kwargs: Any) -> None:
    try:
        response = requests.post(url, timeout=CALLBACK_TIMEOUT_SECONDS, **kwargs)
        log.info("simulator callback %s → %s", redact(url), response.status_code)
    except requests.RequestException as error:
        log.warning("simulator callback %s failed: %s", redact(url), redact(str(error)))
