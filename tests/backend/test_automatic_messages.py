"""Automatic order messages: one per event in the customer's language, through the same rules as
every business message (consent, the 24-hour window, a per-tenant switch), recorded once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from kit import texts
from backend.domain.payments import order_reference
from backend.models import Appointment, AutomaticMessage, OutboundMessage
from backend.models.base import utcnow
from backend.services.bookings.appointments import mark_no_show
from backend.queueing.runner import JobQueueUnavailable
from backend.services.conversations.automatic import (
    PENDING_GRACE,
    PENDING_HORIZON,
    notify_event,
    parse_subject,
    redispatch_pending,
    subject_of,
)
from backend.services.conversations.messaging import release_due
from backend.services.orders.orders import expire_unpaid
from backend.wiring import Context
from tests.backend.commerce_helpers import acting, json_of, merchant, next_weekday, seed_catalog
from tests.backend.conftest import TENANT_ID
from tests.backend.test_messaging import PHONE, approve, customer, jobs  # noqa: F401

# The order statuses a merchant moves through to reach each event.
PATHS = {
    "order_shipped": ["paid", "fulfilled"],
    "order_delivered": ["paid", "fulfilled", "delivered"],
    "order_returned": ["paid", "fulfilled", "returned"],
    "order_refunded": ["paid", "refunded"],
    "order_cancelled": ["cancelled"],
}


def order_for(client: Any, tenants: Context, buyer: int, by_merchant: bool = False
              ) -> dict[str, Any]:
    """An order placed in the chat (the assistant acts for the customer; `buyer` has PHONE), or
    by the merchant for the customer (which tells the customer: order_confirmed)."""
    variant = seed_catalog(tenants)["KTG-M"]
    items = [{"variant_id": variant, "quantity": 1}]
    if by_merchant:
        return json_of(client.post("/v1/orders", headers=merchant(), json={
            "customer_id": buyer, "items": items}), 201)
    return json_of(client.post("/v1/orders", headers=acting(phone=PHONE),
                               json={"items": items}), 201)


def move(client: Any, order_id: int, to: str, **extra: Any) -> None:
    json_of(client.post(f"/v1/orders/{order_id}/transitions", headers=merchant(),
                        json={"to": to, **extra}), 200)


def run_notices(tenants: Context, recorded: list[tuple[str, tuple[Any, ...]]]) -> list[str]:
    """Run the notify_event jobs the services enqueued, each twice (a retried job)."""
    outcomes = []
    for name, args in list(recorded):
        if name == "notify_event":
            outcomes.append(notify_event(tenants, *args))
            outcomes.append(notify_event(tenants, *args))
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
        amount="2,500.50", **{"reason": "", "shipping": "", **values})


@pytest.mark.parametrize("event,language", [
    ("order_shipped", "sw"), ("order_delivered", "sheng"), ("order_refunded", "en"),
    ("order_cancelled", "sheng"), ("order_returned", "sw"),
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


def test_shipped_says_the_courier_and_tracking_number_when_given(client, tenants, jobs) -> None:
    buyer = customer(tenants, wrote_hours_ago=1, language="sw")
    order = order_for(client, tenants, buyer)
    move(client, order["id"], "paid")
    wrong = client.post(f"/v1/orders/{order['id']}/transitions", headers=merchant(),
                        json={"to": "refunded", "tracking": "X1"})
    assert wrong.status_code == 400
    shipped = json_of(client.post(f"/v1/orders/{order['id']}/transitions", headers=merchant(),
                                  json={"to": "fulfilled", "courier": "G4S",
                                        "tracking": "G4S-778812"}), 200)
    assert (shipped["courier"], shipped["tracking"]) == ("G4S", "G4S-778812")
    run_notices(tenants, jobs)
    assert [row.body for row in sent_to(tenants, buyer)] == [expected_text(
        "order_shipped", "sw", order,
        shipping=" Msafirishaji: G4S, namba ya ufuatiliaji G4S-778812.")]


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
    jobs[:] = [job for job in jobs if job[1][1:3] == ("order_delivered", order["id"])]
    assert run_notices(tenants, jobs) == ["sent", "duplicate"]
    [row] = sent_to(tenants, buyer)
    assert row.content_sid == f"HX{made['id']:032d}" and row.template_id == made["id"]
    assert row.body == f"Oda {order_reference(order['id'])} kutoka {TENANT_ID} ltd imefika. Asante!"


# Appointments: confirmations, and reminders that move and go with the appointment.
BRAIDS = {
    "name": "Box braids", "description": "Medium box braids", "category": "hair",
    "variants": [{"name": "Shoulder length", "duration_minutes": 60, "price_minor": 250000}],
    # Mondays 09:00–12:00 local (Africa/Nairobi, UTC+3).
    "windows": [{"weekday": 0, "start": "09:00", "end": "12:00", "capacity": 2}],
}
REMINDER_EVENTS = ("appointment_reminder_24h", "appointment_reminder_2h")


def braids(client: Any) -> int:
    made = json_of(client.post("/v1/services", json=BRAIDS, headers=merchant()), 201)
    return int(made["variants"][0]["id"])


def reminder_templates(client: Any, tenants: Context) -> None:
    """Reminders go out long after the customer last wrote: only an approved template may."""
    for event in REMINDER_EVENTS:
        made = json_of(client.post("/v1/message-templates", headers=merchant(), json={
            "name": event, "category": "utility", "placeholders": ["service", "when"],
            "sample_values": {"service": "Braids", "when": "01/01/2027 09:00"},
            "variants": {"en": "Reminder: {{service}} on {{when}}.",
                         "sw": "Kumbusho: {{service}} tarehe {{when}}."}}), 201)
        approve(tenants, made["id"])


def book_at(client: Any, variant: int, local: str, headers: dict[str, str]) -> datetime:
    made = json_of(client.post("/v1/appointments", headers=headers, json={
        "service_variant_id": variant, "starts_at": local}), 201)
    return datetime.fromisoformat(made["starts_at"])


def appointment_id(tenants: Context) -> int:
    with tenants.db.transaction() as session:
        return int(session.scalars(select(Appointment.id).order_by(Appointment.id.desc())).first())


def said(event: str, language: str, local: datetime) -> str:
    return texts.text(f"auto.{event}", language).format(
        shop=f"{TENANT_ID} ltd", service="Box braids", when=local.strftime("%d/%m/%Y %H:%M"))


def test_reminders_are_scheduled_move_with_the_appointment_and_go_with_it(
        client, tenants, jobs) -> None:
    buyer = customer(tenants, wrote_hours_ago=1, language="sw")
    reminder_templates(client, tenants)
    variant = braids(client)
    day = next_weekday(0)
    # Booked from the chat (the assistant acts for the customer).
    starts = book_at(client, variant, f"{day.isoformat()}T09:00:00", acting(phone=PHONE))
    assert run_notices(tenants, jobs) == ["sent", "duplicate"]
    booked, *reminders = sent_to(tenants, buyer)
    nairobi = ZoneInfo("Africa/Nairobi")
    assert booked.body == said("appointment_booked", "sw", starts.astimezone(nairobi))
    assert booked.status == "queued" and booked.kind == "transactional"
    assert [(r.status, r.kind, r.due_at) for r in reminders] == [
        ("scheduled", "reminders", starts - timedelta(hours=24)),
        ("scheduled", "reminders", starts - timedelta(hours=2))]
    assert all(r.content_sid and r.body.startswith("Kumbusho: Box braids") for r in reminders)
    # Moved by the merchant (the API): the old reminders are cancelled, new ones scheduled.
    jobs.clear()
    json_of(client.post(f"/v1/appointments/{appointment_id(tenants)}/reschedule",
                        headers=merchant(), json={"starts_at": f"{day.isoformat()}T11:00:00"}),
            200)
    moved_to = starts + timedelta(hours=2)
    assert run_notices(tenants, jobs) == ["sent", "duplicate"]
    rows = sent_to(tenants, buyer)
    assert [r.status for r in rows[1:3]] == ["cancelled", "cancelled"]
    moved, *new = rows[3:]
    assert moved.body == said("appointment_rescheduled", "sw", moved_to.astimezone(nairobi))
    assert [(r.status, r.due_at) for r in new] == [
        ("scheduled", moved_to - timedelta(hours=24)), ("scheduled", moved_to - timedelta(hours=2))]
    # Moved back: its reminders are scheduled afresh (and the move is said again).
    jobs.clear()
    json_of(client.post(f"/v1/appointments/{appointment_id(tenants)}/reschedule",
                        headers=merchant(), json={"starts_at": f"{day.isoformat()}T09:00:00"}),
            200)
    assert run_notices(tenants, jobs) == ["sent", "duplicate"]
    assert [r.status for r in sent_to(tenants, buyer)].count("scheduled") == 2
    # Cancelled: no reminder is left to go out, and the customer is told.
    jobs.clear()
    json_of(client.post(f"/v1/appointments/{appointment_id(tenants)}/cancel",
                        headers=acting(phone=PHONE)), 200)
    assert run_notices(tenants, jobs) == ["sent", "duplicate"]
    rows = sent_to(tenants, buyer)
    assert [r.status for r in rows].count("scheduled") == 0
    assert rows[-1].body == said("appointment_cancelled", "sw", starts.astimezone(nairobi))
    assert release_due(tenants, now=starts).released == 0


def test_reminders_without_a_template_are_refused_with_the_reason_and_can_be_off(
        client, tenants, jobs) -> None:
    buyer = customer(tenants, wrote_hours_ago=1, language="en")
    variant = braids(client)
    day = next_weekday(0)
    book_at(client, variant, f"{day.isoformat()}T09:00:00", acting(phone=PHONE))
    assert run_notices(tenants, jobs) == ["sent", "duplicate"]
    outcomes = {r.event: (r.outcome, (r.reason or "").split(":")[0]) for r in records(tenants)}
    assert outcomes == {"appointment_booked": ("sent", ""),
                        "appointment_reminder_24h": ("refused", "outside_window"),
                        "appointment_reminder_2h": ("refused", "outside_window")}
    assert [r.kind for r in sent_to(tenants, buyer)] == ["transactional"]
    # Turned off: the next booking schedules none.
    json_of(client.patch("/v1/tenant", headers=merchant(), json={"features": {
        "automatic_messages": {event: False for event in REMINDER_EVENTS}}}), 200)
    reminder_templates(client, tenants)
    jobs.clear()
    book_at(client, variant, f"{day.isoformat()}T10:00:00", acting(phone=PHONE))
    run_notices(tenants, jobs)
    latest = [r for r in records(tenants) if r.event in REMINDER_EVENTS][-2:]
    assert [r.outcome for r in latest] == ["off", "off"]
    assert [r.kind for r in sent_to(tenants, buyer)] == ["transactional", "transactional"]


@pytest.mark.parametrize("status,switch", [("succeeded", "payment_received"),
                                           ("failed", "payment_failed")])
def test_a_payment_notice_turned_off_is_not_sent(make_app, status, switch) -> None:
    """The receipt and the failure notice (with its retry offer) have the same switches."""
    from backend.models import Payment
    from backend.services.payments.notices import notify_customer
    from backend.services.platform.tenants import update_settings
    from tests.backend.conftest import (TENANT_KEY, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN,
                                        add_tenant)
    from tests.backend.payment_helpers import (FakeRasa, configure_payments, make_payment,
                                               place_order)

    rasa = FakeRasa()
    try:
        app = make_app(rasa_url=rasa.url)
        ctx = app.extensions["backend"]
        add_tenant(ctx, TENANT_ID, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, TENANT_KEY)
        configure_payments(ctx)
        order = place_order(app.test_client(), ctx)
        first = make_payment(ctx, order["id"], "daraja", "ws_CO_first")
        second = make_payment(ctx, order["id"], "daraja", "ws_CO_second")
        with ctx.db.transaction() as session:
            for payment_id in (first, second):
                session.get_one(Payment, payment_id).status = status
        ctx.jobs.enqueue = lambda job, *args: None  # delivery is another test's subject
        update_settings(ctx, TENANT_ID, {"features": {"automatic_messages": {switch: False}}})
        assert notify_customer(ctx, first, final_attempt=True) == "off"
        assert notify_customer(ctx, first, final_attempt=True) == "skipped"
        update_settings(ctx, TENANT_ID, {"features": {"automatic_messages": {switch: True}}})
        assert notify_customer(ctx, second, final_attempt=True) == "rasa"
        with ctx.db.transaction() as session:
            assert session.scalars(select(OutboundMessage.kind)).all() == ["transactional"]
    finally:
        rasa.close()


def test_a_no_show_gets_one_follow_up_and_only_the_merchant_records_it(
        client, tenants, jobs) -> None:
    buyer = customer(tenants, wrote_hours_ago=1, language="sheng")
    variant = braids(client)
    day = next_weekday(0)
    starts = book_at(client, variant, f"{day.isoformat()}T09:00:00", acting(phone=PHONE))
    booking = appointment_id(tenants)
    too_early = client.post(f"/v1/appointments/{booking}/no-show", headers=merchant())
    assert too_early.status_code == 409 and "not started" in too_early.get_json()["description"]
    assert client.post(f"/v1/appointments/{booking}/no-show",
                       headers=acting(phone=PHONE)).status_code == 400
    jobs.clear()
    view = mark_no_show(tenants, TENANT_ID, booking, now=starts + timedelta(minutes=30))
    assert view.status == "no_show"
    assert run_notices(tenants, jobs) == ["sent", "duplicate"]
    follow_up = sent_to(tenants, buyer)[-1]
    assert follow_up.body == said("appointment_no_show", "sheng",
                                  starts.astimezone(ZoneInfo("Africa/Nairobi")))
    assert follow_up.kind == "reminders" and follow_up.status == "queued"
    assert client.post(f"/v1/appointments/{booking}/no-show",
                       headers=merchant()).status_code == 409


def test_an_event_noted_while_the_queue_was_down_is_queued_by_the_sweep_and_sent_once(
        client, tenants, jobs, monkeypatch) -> None:
    buyer = customer(tenants, wrote_hours_ago=1, language="en")
    order = order_for(client, tenants, buyer)

    def queue_down(job: Any, *args: Any) -> None:
        raise JobQueueUnavailable("redis: connection refused")

    monkeypatch.setattr(tenants.jobs, "enqueue", queue_down)
    move(client, order["id"], "cancelled", reason="out of stock")
    # The change committed and the event with it, pending; nothing was sent.
    assert [(r.event, r.outcome) for r in records(tenants)] == [("order_cancelled", "pending")]
    assert sent_to(tenants, buyer) == []
    # While the queue is down the sweep fails (and runs again); within the grace it waits.
    with pytest.raises(JobQueueUnavailable):
        redispatch_pending(tenants, now=utcnow() + PENDING_GRACE + timedelta(seconds=1))
    monkeypatch.setattr(tenants.jobs, "enqueue", lambda job, *args: jobs.append(
        (job.path.rsplit(".", 1)[-1], args)))
    assert redispatch_pending(tenants) == 0 and jobs == []
    assert redispatch_pending(tenants, now=utcnow() + PENDING_HORIZON + timedelta(minutes=1)) == 0
    later = utcnow() + PENDING_GRACE + timedelta(seconds=1)
    assert redispatch_pending(tenants, now=later) == 1
    assert jobs == [("notify_event", (TENANT_ID, "order_cancelled", order["id"], None))]
    assert run_notices(tenants, jobs) == ["sent", "duplicate"]
    assert [row.body for row in sent_to(tenants, buyer)] == [expected_text(
        "order_cancelled", "en", order, reason=" Reason: out of stock.")]
    assert [(r.event, r.outcome) for r in records(tenants)] == [("order_cancelled", "sent")]
    assert redispatch_pending(tenants, now=later) == 0


def test_a_rescheduled_appointments_version_survives_the_outbox() -> None:
    subject = subject_of("appointment_rescheduled", 7, "2026-12-06T10:00:00+00:00")
    assert subject == "appointment:7@2026-12-06T10:00:00+00:00"
    assert parse_subject(subject) == (7, "2026-12-06T10:00:00+00:00")
    assert parse_subject(subject_of("order_shipped", 12)) == (12, None)


def test_an_order_the_merchant_places_is_confirmed_once_and_a_chat_or_draft_order_is_not(
        client, tenants, jobs) -> None:
    buyer = customer(tenants, wrote_hours_ago=1, language="sheng")
    chat = order_for(client, tenants, buyer)  # in the chat: the assistant says it itself
    json_of(client.post(f"/v1/orders/{chat['id']}/transitions", headers=acting(phone=PHONE),
                        json={"to": "cancelled"}), 200)  # the customer's own: not echoed
    variant = seed_catalog(tenants)["KTG-M"]
    json_of(client.post("/v1/orders", headers=merchant(), json={
        "customer_id": buyer, "items": [{"variant_id": variant, "quantity": 1}],
        "draft": True}), 201)  # a quote: nothing to tell yet
    assert run_notices(tenants, jobs) == []
    order = order_for(client, tenants, buyer, by_merchant=True)
    assert run_notices(tenants, jobs) == ["sent", "duplicate"]
    assert [row.body for row in sent_to(tenants, buyer)] == [
        expected_text("order_confirmed", "sheng", order)]
    assert [(r.event, r.outcome) for r in records(tenants)] == [("order_confirmed", "sent")]
