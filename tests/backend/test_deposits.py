"""Appointment deposits: a service's deposit rule (validated), a booking that holds its seat
pending payment through an order with one deposit line, the payment confirming it, the hold
released unpaid (an injected clock), a late payment refunded once, a merchant's cancellation
refunded by M-Pesa B2C and by Paystack through the simulators with ledger entries, and a
no-show or the customer's own cancellation keeping the deposit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select

from backend.domain.deposits import FIXED, FULL, NONE, PERCENT, DepositRule, deposit_due, \
    validate_rule
from backend.domain.errors import InvalidInput
from backend.models import Payment, Refund
from backend.models.base import utcnow
from backend.services.bookings.appointments import mark_no_show, release_unpaid_holds
from backend.services.payments.payments import succeed_locked
from backend.services.payments.refunds import finish_refund, pending_refunds, queue_refund, \
    send_refund
from backend.services.platform.tenants import update_settings
from backend.wiring import Context
from tests.backend.commerce_helpers import OTHER_PHONE, PHONE, acting, json_of, merchant, \
    next_weekday
from tests.backend.conftest import TENANT_ID, merchant_headers
from tests.backend.payment_helpers import configure_payments, scalar, settle_jobs, wait_for

MANICURE = {
    "name": "Gel manicure",
    "variants": [{"name": "Standard", "duration_minutes": 60, "price_minor": 200000}],
    # Mondays 09:00–11:00 local, one technician.
    "windows": [{"weekday": 0, "start": "09:00", "end": "11:00", "capacity": 1}],
    "deposit_kind": "fixed", "deposit_value": 50000,
}


# --- the rule ---------------------------------------------------------------------------------

def test_the_deposit_due_rounds_half_up_and_never_exceeds_the_price() -> None:
    assert deposit_due(DepositRule(NONE), 200000) == 0
    assert deposit_due(DepositRule(FULL), 200000) == 200000
    assert deposit_due(DepositRule(FIXED, 50000), 200000) == 50000
    assert deposit_due(DepositRule(FIXED, 50000), 30000) == 30000
    assert deposit_due(DepositRule(PERCENT, 25), 200000) == 50000
    assert deposit_due(DepositRule(PERCENT, 33), 150) == 50  # 49.5 → 50
    assert deposit_due(DepositRule(PERCENT, 10), 0) == 0
    for bad in (DepositRule("half"), DepositRule(PERCENT, 0), DepositRule(PERCENT, 101),
                DepositRule(PERCENT), DepositRule(FIXED, 0), DepositRule(FIXED, 300000),
                DepositRule(FULL, 10), DepositRule(NONE, hold_minutes=0)):
        with pytest.raises(InvalidInput):
            validate_rule(bad, [200000, 250000])


def test_deposit_settings_are_validated_on_the_service_api(client, tenants) -> None:
    def create(**deposit: Any) -> Any:
        return client.post("/v1/services", json={**MANICURE, **deposit}, headers=merchant())

    too_much = create(deposit_value=200001)
    assert too_much.status_code == 400
    assert "deposit_value" in too_much.get_json()["errors"]
    assert create(deposit_kind="percent", deposit_value=101).status_code == 400
    assert create(deposit_kind="percent", deposit_value=None).status_code == 400
    assert create(deposit_kind="full", deposit_value=5).status_code == 400
    assert create(deposit_kind="half").status_code == 422
    assert create(hold_minutes=0).status_code == 422
    made = json_of(create(hold_minutes=20), 201)
    assert (made["deposit_kind"], made["deposit_value"], made["hold_minutes"]) == (
        "fixed", 50000, 20)
    url = f"/v1/services/{made['id']}"
    # A new kind drops the old value; a percentage needs its own.
    assert client.patch(url, json={"deposit_kind": "percent"},
                        headers=merchant()).status_code == 400
    percent = json_of(client.patch(url, json={"deposit_kind": "percent", "deposit_value": 25},
                                   headers=merchant()), 200)
    assert (percent["deposit_kind"], percent["deposit_value"]) == ("percent", 25)
    full = json_of(client.patch(url, json={"deposit_kind": "full"}, headers=merchant()), 200)
    assert (full["deposit_kind"], full["deposit_value"], full["hold_minutes"]) == (
        "full", None, 20)
    json_of(client.patch(url, json={"deposit_kind": "fixed", "deposit_value": 50000},
                         headers=merchant()), 200)
    # A variant may not cost less than a fixed deposit.
    variant = made["variants"][0]["id"]
    assert client.patch(f"/v1/service-variants/{variant}", json={"price_minor": 40000},
                        headers=merchant()).status_code == 400
    none = json_of(client.patch(url, json={"deposit_kind": "none"}, headers=merchant()), 200)
    assert (none["deposit_kind"], none["deposit_value"]) == ("none", None)


# --- holding the seat -------------------------------------------------------------------------

def start_local() -> str:
    return f"{next_weekday(0).isoformat()}T09:00:00"


def told(ctx: Context, event: str) -> list[str]:
    """The subjects an automatic message of this event was recorded for (once each)."""
    from sqlalchemy import select

    from backend.models import AutomaticMessage
    with ctx.db.transaction() as session:
        return sorted(session.scalars(select(AutomaticMessage.subject).where(
            AutomaticMessage.event == event)))


def book(client, service: dict, phone: str = PHONE) -> Any:
    return client.post("/v1/appointments", json={
        "service_variant_id": service["variants"][0]["id"], "starts_at": start_local()},
        headers=acting(phone=phone))


def held(client, service: dict, phone: str = PHONE) -> dict:
    made = json_of(book(client, service, phone), 201)
    assert made["status"] == "pending_payment" and made["deposit_minor"] == 50000
    assert made["order_id"] and made["hold_until"]
    return dict(made)


def appointment(client, appointment_id: int) -> dict:
    return dict(json_of(client.get(f"/v1/appointments/{appointment_id}",
                                   headers=merchant()), 200))


def test_an_unpaid_hold_takes_the_seat_until_released_by_the_clock(client, tenants) -> None:
    ctx: Context = tenants
    service = json_of(client.post("/v1/services", json=MANICURE, headers=merchant()), 201)
    first = held(client, service)
    order = json_of(client.get(f"/v1/orders/{first['order_id']}", headers=acting()), 200)
    assert order["status"] == "pending_payment" and order["total_minor"] == 50000
    [line] = order["lines"]
    assert (line["kind"], line["variant_id"], line["line_total_minor"]) == ("deposit", None,
                                                                           50000)
    # Nobody else takes the held seat.
    taken = book(client, service, OTHER_PHONE)
    assert taken.status_code == 409 and "fully booked" in taken.get_json()["description"]
    booked_at = datetime.fromisoformat(first["hold_until"]) - timedelta(minutes=15)
    # Not before its 15 minutes (DEPOSIT_HOLD_MINUTES) are up; then released once.
    assert release_unpaid_holds(ctx, now=booked_at + timedelta(minutes=14)) == []
    assert appointment(client, first["id"])["status"] == "pending_payment"
    assert release_unpaid_holds(ctx, now=booked_at + timedelta(minutes=16)) == [first["id"]]
    assert release_unpaid_holds(ctx, now=booked_at + timedelta(minutes=17)) == []
    released = appointment(client, first["id"])
    assert released["status"] == "released" and released["hold_until"] is None
    # The customer is told once that the time is free again.
    assert told(ctx, "appointment_released") == [f"appointment:{first['id']}"]
    order = json_of(client.get(f"/v1/orders/{first['order_id']}", headers=acting()), 200)
    assert order["status"] == "cancelled" and order["cancel_reason"] == "deposit not paid in time"
    # The seat is free again; the order sweep leaves deposit orders to their hold.
    second = held(client, service, OTHER_PHONE)
    assert second["id"] != first["id"]
    # The service's own hold minutes win over the default.
    json_of(client.patch(f"/v1/services/{service['id']}", json={"hold_minutes": 5},
                         headers=merchant()), 200)
    assert release_unpaid_holds(ctx, now=utcnow() + timedelta(minutes=6)) == []  # booked at 15
    assert release_unpaid_holds(ctx, now=utcnow() + timedelta(minutes=16)) == [second["id"]]
    # The customer may cancel a hold: its order goes with it.
    third = held(client, service)
    cancelled = json_of(client.post(f"/v1/appointments/{third['id']}/cancel",
                                    headers=acting()), 200)
    assert cancelled["status"] == "cancelled"
    order = json_of(client.get(f"/v1/orders/{third['order_id']}", headers=acting()), 200)
    assert order["status"] == "cancelled"
    # A service without a deposit books directly, as before.
    json_of(client.patch(f"/v1/services/{service['id']}", json={"deposit_kind": "none"},
                         headers=merchant()), 200)
    plain = json_of(book(client, service), 201)
    assert (plain["status"], plain["deposit_minor"], plain["order_id"]) == ("booked", 0, None)


# --- paying, refunding (a live backend: the Daraja and Paystack simulators) -------------------

@pytest.fixture
def salon(live_server) -> Iterator[tuple[Any, Context, dict]]:
    from tests.backend.conftest import (
        OTHER_ID, OTHER_KEY, OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, TENANT_KEY, TENANT_NUMBER,
        TENANT_SID, TENANT_TOKEN, add_tenant, free_port)

    server = live_server(rasa_url=f"http://127.0.0.1:{free_port()}")
    ctx: Context = server.app.extensions["backend"]
    ctx.jobs._intervals = (0.05, 0.05, 0.05)  # type: ignore[attr-defined]
    add_tenant(ctx, TENANT_ID, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, TENANT_KEY)
    add_tenant(ctx, OTHER_ID, OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, OTHER_KEY)
    configure_payments(ctx)
    client = server.app.test_client()
    service = json_of(client.post("/v1/services", json=MANICURE, headers=merchant()), 201)
    yield client, ctx, service
    settle_jobs(ctx)


def wallet(client) -> dict:
    return dict(json_of(client.get("/v1/wallet", headers=merchant_headers()), 200))


def settled(client, payment_id: int) -> dict:
    def final() -> dict | None:
        body = client.get(f"/v1/payments/{payment_id}", headers=acting()).get_json()
        return body if body["status"] in ("succeeded", "failed", "expired") else None
    return dict(wait_for(final))


def pay_by_stk(client, order_id: int) -> dict:
    created = json_of(client.post(f"/v1/orders/{order_id}/payments",
                                  json={"method": "mpesa_stk"}, headers=acting()), 201)
    assert created["amount_minor"] == 50000
    done = settled(client, created["id"])
    assert done["status"] == "succeeded"
    return done


def refund_of(ctx: Context, payment_id: int) -> Refund | None:
    with ctx.db.transaction() as session:
        row = session.scalar(select(Refund).where(Refund.payment_id == payment_id))
        if row is not None:
            session.expunge(row)
        return row


def refund_done(ctx: Context, payment_id: int) -> Refund:
    return wait_for(lambda: (r := refund_of(ctx, payment_id)) is not None
                    and r.status in ("succeeded", "failed") and r)


def refund_payment_reference(ctx: Context, payment_id: int) -> str | None:
    with ctx.db.transaction() as session:
        payment = session.get(Payment, payment_id)
        return payment.provider_reference if payment is not None else None


def ledger_kinds(ctx: Context, payment_id: int) -> list[str]:
    with ctx.db.engine.connect() as connection:
        from sqlalchemy import text
        return [r[0] for r in connection.execute(text(
            "SELECT kind FROM ledger_transactions WHERE payment_id = :p ORDER BY id"),
            {"p": payment_id})]


def unbalanced(ctx: Context) -> int:
    return int(scalar(ctx, "SELECT count(*) FROM (SELECT transaction_id FROM ledger_entries "
                           "GROUP BY transaction_id HAVING sum(amount_minor) <> 0) AS u"))


def test_a_salon_customer_pays_a_deposit_by_stk_and_the_booking_is_confirmed(salon) -> None:
    client, ctx, service = salon
    made = held(client, service)
    paid = pay_by_stk(client, made["order_id"])
    confirmed = appointment(client, made["id"])
    assert confirmed["status"] == "booked" and confirmed["hold_until"] is None
    order = json_of(client.get(f"/v1/orders/{made['order_id']}", headers=acting()), 200)
    assert order["status"] == "paid"
    # The merchant's wallet is credited like any order (starter: 3 % fee).
    assert wallet(client)["available_minor"] == 48500
    # The confirmation (and its reminders) go through the automatic messages, once paid.
    assert scalar(ctx, "SELECT count(*) FROM automatic_messages WHERE event = "
                       "'appointment_booked' AND subject LIKE :s",
                  s=f"appointment:{made['id']}%") == 1
    # A paid booking is never released, whatever the clock says.
    assert release_unpaid_holds(ctx, now=utcnow() + timedelta(days=1)) == []
    assert appointment(client, made["id"])["status"] == "booked"
    assert refund_of(ctx, paid["id"]) is None


def test_merchant_cancellation_refunds_the_deposit_by_b2c_once(salon) -> None:
    client, ctx, service = salon
    made = held(client, service)
    paid = pay_by_stk(client, made["order_id"])
    assert wallet(client)["available_minor"] == 48500
    cancelled = json_of(client.post(f"/v1/appointments/{made['id']}/cancel",
                                    headers=merchant()), 200)
    assert cancelled["status"] == "cancelled"
    refund = refund_done(ctx, paid["id"])
    assert refund.status == "succeeded", refund.failure_reason
    assert refund.amount_minor == 50000 and refund.provider == "daraja"
    assert refund.conversation_id and refund.provider_reference  # B2C's TransactionID
    # The ledger: the credit and the platform's fee reversed; the wallet back to nothing.
    assert ledger_kinds(ctx, paid["id"]) == ["payment", "refund"]
    assert wallet(client)["available_minor"] == 0 and unbalanced(ctx) == 0
    [reversal] = json_of(client.get("/v1/wallet/transactions", query_string={"type": "refund"},
                                    headers=merchant_headers()), 200)["results"]
    assert (reversal["amount_minor"], reversal["fee_minor"], reversal["payment_id"]) == (
        -48500, -1500, paid["id"])
    order = json_of(client.get(f"/v1/orders/{made['order_id']}", headers=acting()), 200)
    assert order["status"] == "refunded"
    # Once: the job again, the sweep, a duplicated B2C result change nothing.
    assert send_refund(ctx, refund.id, final_attempt=True) == "skipped"
    assert pending_refunds(ctx) == []
    assert finish_refund(ctx, refund.originator_conversation_id, True, "again") == "duplicate"
    result = {"Result": {"ResultType": 0, "ResultCode": 0, "ResultDesc": "ok",
                         "OriginatorConversationID": refund.originator_conversation_id,
                         "ConversationID": refund.conversation_id,
                         "TransactionID": refund.provider_reference}}
    from backend.services.payments.settings import payout_token
    again = requests.post(f"{ctx.settings.public_url}/webhooks/mpesa/payouts/"
                          f"{payout_token(ctx)}/result", json=result, timeout=5)
    assert again.status_code == 200
    settle_jobs(ctx)
    assert ledger_kinds(ctx, paid["id"]) == ["payment", "refund"]
    assert scalar(ctx, "SELECT count(*) FROM refunds") == 1
    # The customer is told once that the money is back.
    assert told(ctx, "order_refunded") == [f"order:{made['order_id']}"]
    # Cancelling again is refused.
    assert client.post(f"/v1/appointments/{made['id']}/cancel",
                       headers=merchant()).status_code == 409


@pytest.mark.parametrize("provider", ["paystack", "stripe"])
def test_merchant_cancellation_refunds_a_card_deposit_through_the_provider(
        salon, provider: str) -> None:
    client, ctx, service = salon
    update_settings(ctx, TENANT_ID, {"tier": "growth"}, as_operator=True)
    configure_payments(ctx, card_provider=provider)
    made = held(client, service)
    card = json_of(client.post(f"/v1/orders/{made['order_id']}/payments",
                               json={"method": "card"}, headers=acting()), 201)
    assert card["provider"] == provider
    page = card["checkout_url"] + ("/pay" if provider == "paystack" else "")  # the page's form
    paid = requests.post(page, json={"outcome": "success"}, timeout=5)
    assert paid.status_code == 200, paid.text
    assert settled(client, card["id"])["status"] == "succeeded"
    wait_for(lambda: appointment(client, made["id"])["status"] == "booked")
    assert wallet(client)["available_minor"] == 49000  # growth: 2 %
    json_of(client.post(f"/v1/appointments/{made['id']}/cancel", headers=merchant()), 200)
    refund = refund_done(ctx, card["id"])
    assert refund.status == "succeeded", refund.failure_reason
    assert refund.provider == provider and refund.provider_reference
    assert ledger_kinds(ctx, card["id"]) == ["payment", "refund"]
    assert wallet(client)["available_minor"] == 0 and unbalanced(ctx) == 0
    # The job queued twice sends once: the claim is taken.
    queue_refund(ctx, refund.id)
    settle_jobs(ctx)
    assert send_refund(ctx, refund.id, final_attempt=True) == "skipped"
    assert ledger_kinds(ctx, card["id"]) == ["payment", "refund"]
    if provider == "stripe":  # the simulator refuses a second refund of the same payment
        from backend.providers import stripe_checkout
        from backend.services.payments.settings import base_url, load_provider_config

        config = load_provider_config(ctx, TENANT_ID)
        with pytest.raises(stripe_checkout.StripeAlreadyRefunded):
            stripe_checkout.refund_session(
                secret_key=str(config.get("stripe_secret_key")),
                base_url=base_url(ctx.settings, config, "stripe"),
                session_id=str(refund_payment_reference(ctx, card["id"])), amount_minor=100)


def credit_deposit(ctx: Context, order_id: int, reference: str, provider: str = "daraja") -> int:
    """The deposit's payment succeeding as a provider's callback would apply it."""
    with ctx.db.transaction() as session:
        from backend.models import Order

        order = session.get(Order, order_id)
        assert order is not None
        payment = Payment(tenant_id=order.tenant_id, order_id=order.id,
                          customer_id=order.customer_id,
                          method="mpesa_stk" if provider == "daraja" else "card",
                          provider=provider,
                          status="pending", currency="KES", amount_minor=order.total_minor,
                          provider_reference=reference)
        session.add(payment)
        session.flush()
        payment_id = payment.id
    for expected in ("succeeded", "duplicate"):  # the callback delivered twice
        with ctx.db.transaction() as session:
            locked = session.get(Payment, payment_id, with_for_update=True)
            assert locked is not None
            assert succeed_locked(session, locked, None, None, f"R{reference}").result \
                == expected
    return payment_id


def test_a_payment_after_the_hold_was_released_is_refunded_once(salon) -> None:
    client, ctx, service = salon
    made = held(client, service)
    assert release_unpaid_holds(ctx, now=utcnow() + timedelta(minutes=16)) == [made["id"]]
    payment_id = credit_deposit(ctx, made["order_id"], "ws_CO_late")
    assert appointment(client, made["id"])["status"] == "released"  # not confirmed
    assert scalar(ctx, "SELECT count(*) FROM refunds") == 1
    assert pending_refunds(ctx) != []
    with ctx.db.transaction() as session:
        flagged = session.get(Payment, payment_id)
        assert flagged is not None and "refunded" in (flagged.review_reason or "")
    # The payment sweep queues it (twice here: a second sweep before the first job ran).
    for refund_id in pending_refunds(ctx) * 2:
        queue_refund(ctx, refund_id)
    refund = refund_done(ctx, payment_id)
    assert refund.status == "succeeded", refund.failure_reason
    settle_jobs(ctx)
    assert ledger_kinds(ctx, payment_id) == ["payment", "refund"]
    assert wallet(client)["available_minor"] == 0 and unbalanced(ctx) == 0
    assert scalar(ctx, "SELECT count(*) FROM refunds") == 1


def test_a_no_show_or_the_customers_own_cancellation_keeps_the_deposit(salon) -> None:
    client, ctx, service = salon
    first = held(client, service)
    first_payment = credit_deposit(ctx, first["order_id"], "ws_CO_noshow")
    assert appointment(client, first["id"])["status"] == "booked"
    starts = datetime.fromisoformat(first["starts_at"])
    shown = mark_no_show(ctx, TENANT_ID, first["id"], now=starts + timedelta(minutes=30))
    assert shown.status == "no_show"
    # The customer cancels their own paid booking: kept (no cancellation policy).
    json_of(client.patch(f"/v1/services/{service['id']}", json={"deposit_kind": "fixed",
                                                                "deposit_value": 50000},
                         headers=merchant()), 200)
    second = held(client, service, OTHER_PHONE)
    second_payment = credit_deposit(ctx, second["order_id"], "ws_CO_own")
    json_of(client.post(f"/v1/appointments/{second['id']}/cancel",
                        headers=acting(phone=OTHER_PHONE)), 200)
    settle_jobs(ctx)
    assert scalar(ctx, "SELECT count(*) FROM refunds") == 0
    assert ledger_kinds(ctx, first_payment) == ["payment"]
    assert ledger_kinds(ctx, second_payment) == ["payment"]
    assert wallet(client)["available_minor"] == 2 * 48500


def test_a_pesapal_deposit_is_flagged_for_a_refund_by_hand(salon) -> None:
    client, ctx, service = salon
    made = held(client, service)
    payment_id = credit_deposit(ctx, made["order_id"], "pp-deposit", provider="pesapal")
    json_of(client.post(f"/v1/appointments/{made['id']}/cancel", headers=merchant()), 200)
    refund = refund_done(ctx, payment_id)
    assert refund.status == "failed" and "by hand" in (refund.failure_reason or "")
    with ctx.db.transaction() as session:
        flagged = session.get(Payment, payment_id)
        assert flagged is not None and "Refund" in (flagged.review_reason or "")
    # Nothing left the platform: the ledger keeps the credit.
    assert ledger_kinds(ctx, payment_id) == ["payment"]
    assert wallet(client)["available_minor"] == 48500


def test_parallel_bookings_for_the_last_seat_hold_it_once(make_app, tenants) -> None:
    """Ten customers at once for a one-seat slot of a deposit service: one hold, nine full."""
    import dataclasses
    from datetime import time

    from backend.db import Database
    from backend.domain.money import Money
    from backend.services.bookings.appointments import SlotFull, book as book_now
    from backend.services.bookings.services import NewService, NewServiceVariant, NewWindow, \
        create_service
    from tests.backend.commerce_helpers import customer
    from tests.backend.test_commerce_concurrency import run_together

    ctx: Context = tenants
    made = create_service(ctx, TENANT_ID, NewService(
        "Pedicure", variants=[NewServiceVariant("Classic", 60, Money(100000, "KES"))],
        windows=[NewWindow(time(10, 0), time(11, 0), capacity=1, weekday=2)],
        deposit=DepositRule(PERCENT, 30)))
    starts_at = datetime.combine(next_weekday(2), time(10, 0))
    buyers = [customer(ctx, f"+2547140001{n:02d}") for n in range(10)]
    databases: list[Database] = []
    calls = []
    for buyer in buyers:
        database = Database(ctx.db.url)
        databases.append(database)
        own = dataclasses.replace(ctx, db=database)
        calls.append(lambda own=own, buyer=buyer: book_now(own, TENANT_ID, buyer,
                                                           made.variants[0].id, starts_at))
    try:
        results, errors = run_together(calls)
    finally:
        for database in databases:
            database.dispose()
    assert len(results) == 1, errors[:3]
    assert len(errors) == 9 and all(isinstance(e, SlotFull) for e in errors), errors[:3]
    [held_one] = results
    assert held_one.appointment.status == "pending_payment"
    assert held_one.appointment.deposit_minor == 30000
    assert scalar(ctx, "SELECT count(*) FROM orders") == 1  # the losers left no order behind


def test_the_order_sweep_leaves_a_deposit_order_to_its_hold(client, tenants) -> None:
    from backend.services.orders.orders import expire_unpaid

    ctx: Context = tenants
    service = json_of(client.post("/v1/services", json={**MANICURE, "hold_minutes": 60},
                                  headers=merchant()), 201)
    made = held(client, service)
    # Past ORDER_PAYMENT_TIMEOUT_MINUTES (30) but inside the service's hour: still held.
    assert expire_unpaid(ctx, timedelta(minutes=30), now=utcnow() + timedelta(minutes=45)) == []
    order = json_of(client.get(f"/v1/orders/{made['order_id']}", headers=acting()), 200)
    assert order["status"] == "pending_payment"
    assert release_unpaid_holds(ctx, now=utcnow() + timedelta(minutes=45)) == []
    assert release_unpaid_holds(ctx, now=utcnow() + timedelta(minutes=61)) == [made["id"]]
