"""Automatic order messages: one per event in the customer's language, through the same rules as
every business message (consent, the 24-hour window, a per-tenant switch), recorded once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from kit import texts
from backend.domain.payments import order_reference
from backend.models import AutomaticMessage, OutboundMessage
from backend.models.base import utcnow
from backend.services.conversations.automatic import notify_order_event
from backend.services.orders.orders import expire_unpaid
from backend.wiring import Context
from tests.backend.commerce_helpers import acting, json_of, merchant, seed_catalog
from tests.backend.conftest import TENANT_ID
from tests.backend.test_messaging import PHONE, approve, customer, jobs  # noqa: F401

# The order statuses a merchant moves through to reach each event.
PATHS = {
    "order_shipped": ["paid", "fulfilled"],
    "order_delivered": ["paid", "fulfilled", "delivered"],
    "order_refunded": ["paid", "refunded"],
    "order_cancelled": ["cancelled"],
}


def order_for(client: Any, tenants: Context, buyer: int) -> dict[str, Any]:
    variant = seed_catalog(tenants)["KTG-M"]
    return json_of(client.post("/v1/orders", headers=merchant(), json={
        "customer_id": buyer, "items": [{"variant_id": variant, "quantity": 1}]}), 201)


def move(client: Any, order_id: int, to: str, **extra: Any) -> None:
    json_of(client.post(f"/v1/orders/{order_id}/transitions", headers=merchant(),
                        json={"to": to, **extra}), 200)


def run_notices(tenants: Context, recorded: list[tuple[str, tuple[Any, ...]]]) -> list[str]:
    """Run the notify_event jobs the services enqueued, each twice (a retried job)."""
    outcomes = []
    for name, args in list(recorded):
        if name == "notify_event":
            outcomes.append(notify_order_event(tenants, *args))
            outcomes.append(notify_order_event(tenants, *args))
    return outcomes


def sent_to(tenants: Context, buyer: int) -> list[OutboundMessage]:
    with tenants.db.transaction() as session:
        return list(session.scalars(select(OutboundMessage).where(
            OutboundMessage.customer_id == buyer).order_by(OutboundMessage.id)))


def records(tenants: Context) -> list[AutomaticMessage]:
    with tenants.db.transaction() as session:
        return list(session.scalars(select(AutomaticMessage).where(
            AutomaticMessage.tenant_id == TENANT_ID).order_by(AutomaticMessage.id)))


def expected_text(event: str, language: str, order: dict[str, Any], **values: str) -> str:
    return texts.text(f"auto.{event}", language).format(
        shop=f"{TENANT_ID} ltd", reference=order_reference(order["id"]), currency="KES",
        amount="2,500.50", **{"reason": "", **values})


@pytest.mark.parametrize("event,language", [
    ("order_shipped", "sw"), ("order_delivered", "sheng"), ("order_refunded", "en"),
    ("order_cancelled", "sheng"),
])
def test_each_order_event_sends_one_message_in_the_customers_language(
        client, tenants, jobs, event, language) -> None:
    buyer = customer(tenants, wrote_hours_ago=1, language=language)
    order = order_for(client, tenants, buyer)
    for status in PATHS[event]:
        move(client, order["id"], status)
    outcomes = run_notices(tenants, jobs)
    # One event per step (delivered also passed shipped), each sent once; the rerun is a no-op.
    assert outcomes == ["sent", "duplicate"] * (len(outcomes) // 2)
    rows = sent_to(tenants, buyer)
    assert rows[-1].body == expected_text(event, language, order)
    assert [r.event for r in records(tenants)][-1] == event
    assert len(rows) == len(records(tenants)) == len(outcomes) // 2
    assert all(row.kind == "transactional" and row.language == language for row in rows)
    delivered = [args[0] for name, args in jobs if name == "deliver_outbound"]
    assert sorted(i for ids in delivered for i in ids) == [row.id for row in rows]


def test_the_merchants_reason_is_said_and_a_customers_own_cancel_is_not_echoed(
        client, tenants, jobs) -> None:
    buyer = customer(tenants, wrote_hours_ago=1, language="en")
    order = order_for(client, tenants, buyer)
    move(client, order["id"], "cancelled", reason="out of stock")
    run_notices(tenants, jobs)
    assert [row.body for row in sent_to(tenants, buyer)] == [expected_text(
        "order_cancelled", "en", order, reason=" Reason: out of stock.")]
    jobs.clear()
    own = order_for(client, tenants, buyer)
    json_of(client.post(f"/v1/orders/{own['id']}/transitions", headers=acting(phone=PHONE),
                        json={"to": "cancelled"}), 200)
    assert run_notices(tenants, jobs) == [] and len(sent_to(tenants, buyer)) == 1


def test_an_expired_unpaid_order_is_told_once_even_when_the_sweep_runs_twice(
        client, tenants, jobs) -> None:
    buyer = customer(tenants, wrote_hours_ago=1, language="sw")
    order = order_for(client, tenants, buyer)
    later = utcnow() + timedelta(hours=1)
    assert expire_unpaid(tenants, timedelta(minutes=30), now=later) == [order["id"]]
    assert expire_unpaid(tenants, timedelta(minutes=30), now=later) == []
    assert run_notices(tenants, jobs) == ["sent", "duplicate"]
    assert [row.body for row in sent_to(tenants, buyer)] == [
        expected_text("order_expired", "sw", order)]


def test_a_message_turned_off_is_not_sent_and_the_others_stay_on(client, tenants, jobs) -> None:
    answer = json_of(client.patch("/v1/tenant", headers=merchant(), json={
        "features": {"automatic_messages": {"order_shipped": False}}}), 200)
    assert answer["features"]["automatic_messages"] == {"order_shipped": False}
    json_of(client.patch("/v1/tenant", headers=merchant(), json={
        "features": {"automatic_messages": {"order_refunded": True}}}), 200)
    bad = client.patch("/v1/tenant", headers=merchant(), json={
        "features": {"automatic_messages": {"order_teleported": False}}})
    assert bad.status_code in (400, 422)
    buyer = customer(tenants, wrote_hours_ago=1)
    order = order_for(client, tenants, buyer)
    for status in PATHS["order_delivered"]:
        move(client, order["id"], status)
    assert run_notices(tenants, jobs) == ["off", "duplicate", "sent", "duplicate"]
    assert [row.body for row in sent_to(tenants, buyer)] == [
        expected_text("order_delivered", "en", order)]


def test_a_customer_who_said_stop_gets_none_and_the_refusal_is_kept(client, tenants, jobs) -> None:
    buyer = customer(tenants, wrote_hours_ago=1, consents={"transactional": False})
    order = order_for(client, tenants, buyer)
    move(client, order["id"], "cancelled")
    assert run_notices(tenants, jobs) == ["refused", "duplicate"]
    assert sent_to(tenants, buyer) == []
    [record] = records(tenants)
    assert record.outcome == "refused" and record.reason.startswith("no_consent: ")


def test_outside_the_window_only_the_events_approved_template_goes(client, tenants, jobs) -> None:
    buyer = customer(tenants, wrote_hours_ago=30, language="sw")
    order = order_for(client, tenants, buyer)
    move(client, order["id"], "paid")
    move(client, order["id"], "fulfilled")
    assert run_notices(tenants, jobs) == ["refused", "duplicate"]
    assert sent_to(tenants, buyer) == []
    assert records(tenants)[0].reason.startswith("outside_window: ")
    # With the tenant's template named after the event (approved), the next event goes.
    made = json_of(client.post("/v1/message-templates", headers=merchant(), json={
        "name": "order_delivered", "category": "utility", "placeholders": ["reference", "shop"],
        "sample_values": {"reference": "ORD12", "shop": "Duka"},
        "variants": {"en": "Order {{reference}} from {{shop}} was delivered. Thanks!",
                     "sw": "Oda {{reference}} kutoka {{shop}} imefika. Asante!"}}), 201)
    approve(tenants, made["id"])
    move(client, order["id"], "delivered")
    jobs[:] = [job for job in jobs if job[1][1:] == ("order_delivered", order["id"])]
    assert run_notices(tenants, jobs) == ["sent", "duplicate"]
    [row] = sent_to(tenants, buyer)
    assert row.content_sid == f"HX{made['id']:032d}" and row.template_id == made["id"]
    assert row.body == f"Oda {order_reference(order['id'])} kutoka {TENANT_ID} ltd imefika. Asante!"
