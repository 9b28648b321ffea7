"""Tier limits: a clear 403 when a tier is full; replies to a customer are never dropped."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from backend.wiring import Context
from backend.domain.errors import InvalidInput, LimitExceeded
from backend.models import OutboundMessage
from backend.services.platform.limits import check_limit, month_start_utc
from backend.services.conversations.outbound import OutgoingMessage, store_outbound
from backend.services.platform.tenants import update_settings
from tests.backend.conftest import TENANT_ID, merchant_headers, service_headers

CUSTOMER = "+254711000077"


def test_check_limit_explains_the_limit(ctx: Context) -> None:
    with ctx.db.transaction() as session:
        _explains(session)


def _explains(session: Session) -> None:
    check_limit(session, "starter", "products", 99)
    with pytest.raises(LimitExceeded) as error:
        check_limit(session, "starter", "products", 100)
    assert str(error.value) == (
        "The starter tier allows 100 products; you have 100. Upgrade to add more."
    )
    with pytest.raises(LimitExceeded, match="The growth tier allows 50 services; you have 48"):
        check_limit(session, "growth", "services", 48, adding=3)
    with pytest.raises(LimitExceeded, match="2,000 messages a month; you have 1,999"):
        check_limit(session, "starter", "messages", 1999, adding=2)
    check_limit(session, "starter", "messages", 1999, adding=1)
    for resource in ("products", "services", "messages"):
        check_limit(session, "enterprise", resource, 10_000_000, adding=1000)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        check_limit(session, "platinum", "products", 0)


def test_month_starts_in_the_tenants_timezone() -> None:
    # 30 Nov 22:30 UTC is already 1 December in Nairobi (UTC+3).
    now = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)
    assert month_start_utc("Africa/Nairobi", now) == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
    assert month_start_utc("UTC", now) == datetime(2026, 11, 1, tzinfo=UTC)


def fill_month(ctx: Context, count: int, when: datetime | None = None) -> None:
    """`count` outbound messages already sent this month (bulk, as the delivery log has them)."""
    when = when or datetime.now(UTC)
    batch = uuid.uuid4().hex
    rows = [
        dict(tenant_id=TENANT_ID, to_phone_encrypted="x", to_phone_hash="h", body="old",
             status="sent", attempts=1, batch_id=batch, position=n, created_at=when, due_at=when,
             updated_at=when)
        for n in range(count)
    ]
    with ctx.db.transaction() as session:
        session.execute(insert(OutboundMessage), rows)


def outreach(client, bodies: int = 1):
    return client.post(
        "/internal/v1/messages/outbound",
        json={"tenant_id": TENANT_ID, "to": CUSTOMER, "in_reply_to": None,
              "messages": [{"body": f"Offer {n}"} for n in range(bodies)]},
        headers=service_headers(),
    )


def test_outreach_past_the_monthly_limit_is_403_and_stores_nothing(client, tenants) -> None:
    fill_month(tenants, 1999)
    refused = outreach(client, bodies=2)
    assert refused.status_code == 403
    assert refused.get_json()["description"] == (
        "The starter tier allows 2,000 messages a month; you have 1,999. "
        "Upgrade to send more this month."
    )
    usage = client.get("/v1/tenant", headers=merchant_headers()).get_json()["usage"]
    assert usage["messages_this_month"] == 1999  # nothing stored
    # One message still fits; then the month is full.
    assert store_outbound(tenants, TENANT_ID, CUSTOMER, [OutgoingMessage(body="Last one")])
    with pytest.raises(LimitExceeded):
        store_outbound(tenants, TENANT_ID, CUSTOMER, [OutgoingMessage(body="One more")])


def test_replies_within_24_hours_go_out_past_the_limit(client, tenants: Context) -> None:
    fill_month(tenants, 2000)
    response = client.post(
        "/internal/v1/messages/inbound",
        json={"tenant_id": TENANT_ID, "from": CUSTOMER, "message_sid": "SM9", "body": "Bei?"},
        headers=service_headers(),
    )
    assert response.status_code == 201
    ids = store_outbound(
        tenants, TENANT_ID, CUSTOMER, [OutgoingMessage(body="KES 1,800"), OutgoingMessage(body="?")],
        "SM9",
    )
    assert len(ids) == 2
    usage = client.get("/v1/tenant", headers=merchant_headers()).get_json()["usage"]
    assert usage["messages_this_month"] == 2002  # counted, even though past the limit


def test_last_months_messages_do_not_count(client, tenants: Context) -> None:
    fill_month(tenants, 2000, when=month_start_utc("Africa/Nairobi") - timedelta(seconds=1))
    assert store_outbound(tenants, TENANT_ID, CUSTOMER, [OutgoingMessage(body="New month")])


def test_a_bigger_tier_lifts_the_limit(client, tenants: Context) -> None:
    fill_month(tenants, 2000)
    assert outreach(client).status_code == 403
    update_settings(tenants, TENANT_ID, {"tier": "enterprise"}, as_operator=True)
    stored = store_outbound(tenants, TENANT_ID, CUSTOMER, [OutgoingMessage(body="Karibu")])
    assert len(stored) == 1
