"""Password reset: a one-time code sent by an RQ job from the platform's own WhatsApp number
(to the Twilio simulator's outbox in sandbox), never inside the request; a code works once,
allows five guesses, and ends every session of the user."""

from __future__ import annotations

import re
import uuid
from typing import Any

from redis import Redis
from rq import Queue
from sqlalchemy import select

from backend.models import PasswordResetCode
from backend.queueing.names import SEND_RESET_CODE
from backend.sandbox.twilio import list_messages
from backend.services.accounts.reset import MAX_ATTEMPTS, send_reset_code
from backend.wiring import Context
from tests.backend.accounts_helpers import PASSWORD, log_in, make_user
from tests.backend.conftest import LiveServer, require_service_env

PHONE = "+254722111222"
NEW = "a-brand-new-passphrase"


def reset_codes(ctx: Context, phone: str = PHONE) -> list[str]:
    """The codes the simulator received for `phone` from the platform's number, in order."""
    platform = f"whatsapp:{ctx.settings.platform_whatsapp_number}"
    return [re.search(r"\b(\d{6})\b", m.body or "").group(1)  # type: ignore[union-attr]
            for m in list_messages(ctx, to=phone) if m.from_address == platform]


def test_a_code_from_the_platform_number_resets_the_password_once(
        live_server: Any, tenants: Context) -> None:
    server: LiveServer = live_server()
    ctx: Context = server.app.extensions["backend"]
    make_user(ctx, "owner@example.com", "owner", phone="0722 111 222")
    browser, other = server.app.test_client(), server.app.test_client()
    log_in(browser, "owner@example.com")
    assert other.post("/v1/auth/password-reset",
                      json={"email": "Owner@example.com"}).status_code == 202
    ctx.jobs.drain(timeout=30)
    codes = reset_codes(ctx)
    assert len(codes) == 1
    [message] = [m for m in list_messages(ctx, to=PHONE)]
    assert message.tenant_id is None  # the platform's number, not a tenant's
    with ctx.db.transaction() as session:  # sent, so no longer kept even encrypted
        assert session.scalar(select(PasswordResetCode.code_encrypted)) is None
    weak = other.post("/v1/auth/password-reset/confirm",
                      json={"email": "owner@example.com", "code": codes[0], "password": "short"})
    assert weak.status_code == 422
    done = other.post("/v1/auth/password-reset/confirm",
                      json={"email": "owner@example.com", "code": codes[0], "password": NEW})
    assert done.status_code == 204
    assert browser.get("/v1/auth/me").status_code == 401  # every session ended
    again = other.post("/v1/auth/password-reset/confirm",
                       json={"email": "owner@example.com", "code": codes[0], "password": NEW})
    assert again.status_code == 400
    assert other.post("/v1/auth/login", json={"email": "owner@example.com",
                                              "password": PASSWORD}).status_code == 401
    log_in(other, "owner@example.com", NEW)


def test_wrong_codes_use_up_the_code_and_unknown_emails_get_the_same_answer(
        live_server: Any, tenants: Context) -> None:
    server: LiveServer = live_server()
    ctx: Context = server.app.extensions["backend"]
    make_user(ctx, "owner@example.com", "owner", phone=PHONE)
    client = server.app.test_client()
    unknown = client.post("/v1/auth/password-reset", json={"email": "nobody@example.com"})
    known = client.post("/v1/auth/password-reset", json={"email": "owner@example.com"})
    assert unknown.status_code == known.status_code == 202
    assert unknown.get_data() == known.get_data()
    ctx.jobs.drain(timeout=30)
    [code] = reset_codes(ctx)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(MAX_ATTEMPTS):
        answer = client.post("/v1/auth/password-reset/confirm",
                             json={"email": "owner@example.com", "code": wrong, "password": NEW})
        assert answer.status_code == 400
    late = client.post("/v1/auth/password-reset/confirm",
                       json={"email": "owner@example.com", "code": code, "password": NEW})
    assert late.status_code == 400  # the right code, but after five wrong guesses
    assert client.post("/v1/auth/password-reset", json={"email": "owner@example.com"}
                       ).status_code == 202  # within a minute: no second code
    ctx.jobs.drain(timeout=30)
    assert len(reset_codes(ctx)) == 1


def test_the_code_is_queued_on_rq_not_sent_in_the_request(
        make_app: Any, live_server: Any) -> None:
    redis_url = require_service_env("TEST_REDIS_URL").rsplit("/", 1)[0] + "/6"
    server: LiveServer = live_server(redis_url=redis_url, jobs_fallback_in_process=False)
    ctx: Context = server.app.extensions["backend"]
    from tests.backend.conftest import (TENANT_ID, TENANT_KEY, TENANT_NUMBER, TENANT_SID,
                                        TENANT_TOKEN, add_tenant)
    add_tenant(ctx, TENANT_ID, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, TENANT_KEY)
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    make_user(ctx, email, "owner", phone=PHONE)
    queue = Queue(SEND_RESET_CODE.queue, connection=Redis.from_url(redis_url))
    queue.empty()
    assert server.app.test_client().post("/v1/auth/password-reset",
                                         json={"email": email}).status_code == 202
    [job] = queue.jobs
    assert job.func_name == SEND_RESET_CODE.path
    assert reset_codes(ctx) == []  # the request only queued it
    assert send_reset_code(ctx, *job.args) == "sent"  # what the worker runs
    assert send_reset_code(ctx, *job.args) == "already sent"  # a retry sends nothing twice
    assert len(reset_codes(ctx)) == 1
    queue.empty()


def test_an_unreachable_twilio_is_retried_then_the_code_is_forgotten(make_app: Any) -> None:
    from datetime import UTC, datetime, timedelta

    import pytest

    from backend.providers.twilio import TwilioSendError
    from tests.backend.conftest import (TENANT_ID, TENANT_KEY, TENANT_NUMBER, TENANT_SID,
                                        TENANT_TOKEN, add_tenant, free_port)

    app = make_app(twilio_sandbox_api_url=f"http://127.0.0.1:{free_port()}/sandbox/twilio")
    ctx: Context = app.extensions["backend"]
    add_tenant(ctx, TENANT_ID, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, TENANT_KEY)
    user_id = make_user(ctx, "owner@example.com", "owner", phone=PHONE)
    with ctx.db.transaction() as session:
        row = PasswordResetCode(user_id=user_id, code_hash="x" * 64, attempts=0,
                                code_encrypted=ctx.crypto.encrypt("123456"),
                                expires_at=datetime.now(UTC) + timedelta(minutes=5))
        session.add(row)
        session.flush()
        code_id = row.id
    with pytest.raises(TwilioSendError):  # a retry may succeed: the job asks for one
        send_reset_code(ctx, code_id, final_attempt=False)
    assert send_reset_code(ctx, code_id, final_attempt=True) == "failed"
    with ctx.db.transaction() as session:
        forgotten = session.get_one(PasswordResetCode, code_id)
        assert forgotten.code_encrypted is None and forgotten.sent_at is None
