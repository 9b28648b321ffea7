"""The 80 % usage warning pushed to the merchant: each owner and admin with a WhatsApp phone gets
it once from the platform's number (the Twilio simulator's outbox in sandbox), in the tenant's
first language; a job run twice or by two workers sends nothing more; viewers and users without
a phone are never messaged."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from backend.models import OutboundMessage, Tenant, UsageWarning, UsageWarningNotice, User
from backend.models.base import utcnow
from backend.queueing.names import NOTIFY_USAGE_WARNING
from backend.sandbox.twilio import list_messages
from backend.services.conversations.outbound import check_usage
from backend.services.conversations.usage_notices import requeue_stale_notices, send_notices
from backend.wiring import Context
from tests.backend.accounts_helpers import make_user
from tests.backend.conftest import OTHER_ID, TENANT_ID, LiveServer, merchant_headers
from tests.backend.test_messaging import customer

OWNER_PHONE = "+254722100001"
ADMIN_PHONE = "+254722100002"
VIEWER_PHONE = "+254722100003"
OTHER_OWNER_PHONE = "+254722100004"


def put_messages(ctx: Context, count: int, at: datetime, tenant_id: str) -> None:
    """`count` messages already sent by the tenant (its usage), without sending anything."""
    batch = uuid.uuid4().hex
    with ctx.db.transaction() as session:
        session.execute(insert(OutboundMessage), [
            dict(tenant_id=tenant_id, to_phone_encrypted="x", to_phone_hash="h", body="old",
                 status="sent", kind="reply", urgent=False, attempts=1, batch_id=batch,
                 position=n, created_at=at, updated_at=at, due_at=at)
            for n in range(count)])


def from_platform(ctx: Context, phone: str) -> list[str]:
    platform = f"whatsapp:{ctx.settings.platform_whatsapp_number}"
    return [m.body or "" for m in list_messages(ctx, to=phone) if m.from_address == platform]


def staff(ctx: Context) -> None:
    make_user(ctx, "owner@example.com", "owner", phone="0722 100 001")
    make_user(ctx, "admin@example.com", "admin", phone=ADMIN_PHONE)
    make_user(ctx, "nophone@example.com", "admin")
    make_user(ctx, "viewer@example.com", "viewer", phone=VIEWER_PHONE)
    make_user(ctx, "support@example.com", "support_agent", phone="+254722100005")
    make_user(ctx, "other@example.com", "owner", tenant_id=OTHER_ID, phone=OTHER_OWNER_PHONE)


def notices(ctx: Context) -> list[tuple[int, str]]:
    with ctx.db.transaction() as session:
        return [(row.user_id, row.status) for row in session.scalars(
            select(UsageWarningNotice).order_by(UsageWarningNotice.id))]


def test_crossing_80_percent_tells_each_owner_and_admin_with_a_phone_once(
        live_server: Any, tenants: Context) -> None:
    server: LiveServer = live_server()
    ctx: Context = server.app.extensions["backend"]
    staff(ctx)
    now = utcnow()
    put_messages(ctx, 159, now, TENANT_ID)  # starter: 200 a day, 2,000 a month
    assert check_usage(ctx, now=now) == {}
    ctx.jobs.drain(timeout=30)
    assert from_platform(ctx, OWNER_PHONE) == []  # 79.5 %: nothing yet
    put_messages(ctx, 1, now, TENANT_ID)
    assert list(check_usage(ctx, now=now)) == [TENANT_ID]
    ctx.jobs.drain(timeout=30)
    [owner_message] = from_platform(ctx, OWNER_PHONE)
    [admin_message] = from_platform(ctx, ADMIN_PHONE)
    assert owner_message == admin_message
    assert "80 % of today's messages" in owner_message and "160 of the 200" in owner_message
    assert "wait until tomorrow" in owner_message  # what happens at 100 %
    assert from_platform(ctx, VIEWER_PHONE) == []  # a viewer is never told
    assert from_platform(ctx, OTHER_OWNER_PHONE) == []  # another tenant's owner neither
    assert sorted(status for _, status in notices(ctx)) == ["sent", "sent"]  # no phone: no row
    [message] = list_messages(ctx, to=OWNER_PHONE)
    assert message.tenant_id is None  # the platform's number, not the tenant's

    # The job again (a retry, a second worker, the sweep): nobody hears it twice.
    with ctx.db.transaction() as session:
        warning_id = session.scalar(select(UsageWarning.id))
    assert send_notices(ctx, warning_id) == {}
    ctx.jobs.enqueue(NOTIFY_USAGE_WARNING, warning_id)
    ctx.jobs.drain(timeout=30)
    assert check_usage(ctx, now=now) == {}  # the period was warned already
    ctx.jobs.drain(timeout=30)
    assert len(from_platform(ctx, OWNER_PHONE)) == len(from_platform(ctx, ADMIN_PHONE)) == 1

    usage = server.app.test_client().get("/v1/messages/usage",
                                         headers=merchant_headers()).get_json()
    assert [(w["period"], w["notices"]) for w in usage["warnings"]] == [("day", {"sent": 2})]


def test_the_month_is_told_in_the_tenants_swahili(live_server: Any, tenants: Context) -> None:
    server: LiveServer = live_server()
    ctx: Context = server.app.extensions["backend"]
    staff(ctx)
    with ctx.db.transaction() as session:
        session.execute(update(Tenant).where(Tenant.id == TENANT_ID)
                        .values(primary_language="sw"))
    now = utcnow()
    put_messages(ctx, 1_700, now, TENANT_ID)  # past 80 % of the day and of the month
    check_usage(ctx, now=now)
    ctx.jobs.drain(timeout=30)
    told = from_platform(ctx, OWNER_PHONE)
    assert len(told) == 2, (told, notices(ctx))  # the day's warning and the month's, one each
    month = next(body for body in told if "mwezi" in body)
    assert "asilimia 85" in month and "1,700 kati ya 2,000" in month
    assert "zitakataliwa" in month or "utakataliwa" in month  # refused at 100 %


def test_two_workers_at_once_send_each_notice_once(live_server: Any, tenants: Context) -> None:
    server: LiveServer = live_server()
    ctx: Context = server.app.extensions["backend"]
    staff(ctx)
    now = utcnow()
    put_messages(ctx, 170, now, TENANT_ID)
    # The warning and its notices as recorded by a process whose job was then lost.
    with ctx.db.transaction() as session:
        warning = UsageWarning(tenant_id=TENANT_ID, period="day", period_start=now, used=170,
                               allowed=200)
        session.add(warning)
        session.flush()
        for user_id in session.scalars(select(User.id).where(
                User.email.in_(["owner@example.com", "admin@example.com"]))):
            session.add(UsageWarningNotice(usage_warning_id=warning.id, user_id=user_id,
                                           status="queued"))
        warning_id = warning.id
    barrier = threading.Barrier(3)
    outcomes: list[dict[str, int]] = []

    def worker() -> None:
        barrier.wait()
        outcomes.append(send_notices(ctx, warning_id))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(outcome.get("sent", 0) for outcome in outcomes) == 2, outcomes
    assert len(from_platform(ctx, OWNER_PHONE)) == len(from_platform(ctx, ADMIN_PHONE)) == 1
    # The sweep finds nothing left queued to enqueue again.
    assert requeue_stale_notices(ctx) == 0


def test_a_send_that_crosses_80_percent_tells_them_after_its_commit(
        live_server: Any, tenants: Context) -> None:
    server: LiveServer = live_server()
    ctx: Context = server.app.extensions["backend"]
    staff(ctx)
    who = customer(ctx, wrote_hours_ago=1)
    put_messages(ctx, 159, utcnow(), TENANT_ID)
    client = server.app.test_client()
    sent = client.post("/v1/messages/send", headers=merchant_headers(),
                       json={"customer_id": who, "kind": "transactional", "text": "Ready"})
    assert sent.status_code in (200, 201, 202), sent.get_json()
    assert len(sent.get_json()["warnings"]) == 1
    ctx.jobs.drain(timeout=60)
    [told] = from_platform(ctx, OWNER_PHONE)
    assert "80 % of today's messages" in told
    assert len(from_platform(ctx, ADMIN_PHONE)) == 1 and from_platform(ctx, VIEWER_PHONE) == []
