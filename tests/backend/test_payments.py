"""Paying orders through the real clients against the live simulators: M-Pesa STK success and
each documented failure, expiry of unanswered pushes, paybill instructions and C2B, card links
per tier, idempotency, and the customer told inside their Rasa conversation (or, when Rasa is
down for good, in plain text in their language)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sqlalchemy import select

from backend.wiring import Context
from backend.models import Customer
from backend.models.base import utcnow
from backend.services.payments.payments import expire_stk_payments
from backend.services.platform.tenants import update_settings
from tests.backend.commerce_helpers import OTHER_PHONE, PHONE, acting, json_of
from tests.backend.conftest import TENANT_ID, merchant_headers
from tests.backend.payment_helpers import (
    FakeRasa,
    configure_payments,
    make_payment,
    place_order,
    rows,
    scalar,
    set_features,
    settle_jobs,
    wait_for,
)


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa()
    yield fake
    fake.close()


@pytest.fixture
def shop(live_server, rasa: FakeRasa) -> Iterator[tuple[Any, Context]]:
    """A live backend whose tenant pays through the simulators and whose Rasa is `rasa`."""
    from tests.backend.conftest import (
        OTHER_ID, OTHER_KEY, OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, TENANT_KEY, TENANT_NUMBER,
        TENANT_SID, TENANT_TOKEN, add_tenant)

    server = live_server(rasa_url=rasa.url, rasa_token="rasa-secret")
    ctx: Context = server.app.extensions["backend"]
    ctx.jobs._intervals = (0.05, 0.05, 0.05)  # type: ignore[attr-defined]  # quick retries
    add_tenant(ctx, TENANT_ID, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, TENANT_KEY)
    add_tenant(ctx, OTHER_ID, OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, OTHER_KEY)
    configure_payments(ctx)
    yield server.app.test_client(), ctx
    settle_jobs(ctx)


def base(ctx: Context) -> str:
    return ctx.settings.public_url


def scenario(ctx: Context, phone: str, result: str, **extra: Any) -> None:
    body = {"phone": phone.lstrip("+"), "result": result, **extra}
    url = f"{base(ctx)}/sandbox/daraja/scenarios"
    assert requests.post(url, timeout=5, json=body).status_code == 401  # no credentials
    response = requests.post(url, timeout=5, json=body, headers=merchant_headers())
    assert response.status_code == 200, response.text


def pay(client, order_id: int, headers: dict[str, str] | None = None, **body: Any) -> Any:
    return client.post(f"/v1/orders/{order_id}/payments", json=body,
                       headers=headers or acting())


def settled(client, payment_id: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
    def final() -> dict[str, Any] | None:
        body = client.get(f"/v1/payments/{payment_id}", headers=headers or acting()).get_json()
        return body if body["status"] in ("succeeded", "failed", "expired") else None
    return dict(wait_for(final))


def test_stk_success_pays_the_order_credits_the_wallet_and_tells_the_customer(
        shop, rasa: FakeRasa) -> None:
    client, ctx = shop
    order = place_order(client, ctx)
    created = json_of(pay(client, order["id"], method="mpesa_stk"), 201)
    assert created["status"] == "pending" and created["provider"] == "daraja"
    assert created["phone"] == "+254712***001" and created["amount_minor"] == 180000
    assert created["checkout_url"] is None and created["instructions"] is None
    done = settled(client, created["id"])
    assert done["status"] == "succeeded" and len(done["receipt"]) == 10
    assert done["provider_reference"].startswith("ws_CO_") and done["failure_code"] is None
    order_now = json_of(client.get(f"/v1/orders/{order['id']}", headers=acting()), 200)
    assert order_now["status"] == "paid"
    # starter tier: 3 % fee, rounded half up; the two legs add up to what was paid.
    wallet = json_of(client.get("/v1/wallet", headers=merchant_headers()), 200)
    assert wallet["fees_minor"] == 5400 and wallet["credited_minor"] == 174600
    assert wallet["available_minor"] == 174600 and wallet["held_minor"] == 0
    wait_for(lambda: rasa.calls)
    [call] = rasa.calls
    # Rasa knows the customer by the opaque reference, never by the phone.
    with ctx.db.transaction() as session:
        ref = session.scalar(select(Customer.ref).where(Customer.tenant_id == TENANT_ID,
                                                        Customer.id == order["customer_id"]))
    assert call["path"] == f"/conversations/{TENANT_ID}:{ref}/trigger_intent"
    assert PHONE[1:] not in call["path"]
    assert call["name"] == "EXTERNAL_payment_received" and call["token"] == "rasa-secret"
    # The trigger carries the payment, so the action needs no call back to the backend.
    assert call["entities"] == {
        "payment_id": created["id"], "payment_status": "succeeded",
        "payment_amount_minor": 180000, "payment_currency": "KES",
        "payment_order_id": order["id"], "payment_receipt": done["receipt"],
        "payment_provider_reference": done["provider_reference"]}
    wait_for(lambda: scalar(ctx, "SELECT count(*) FROM outbound_messages WHERE body = :b",
                            b="Asante! Tumepokea malipo."))
    # The action server reads the payment back as the customer; others cannot.
    assert json_of(client.get(f"/v1/payments/{created['id']}", headers=acting()), 200)["receipt"]
    assert client.get(f"/v1/payments/{created['id']}",
                      headers=acting(phone=OTHER_PHONE)).status_code == 404
    # Paid: no second payment.
    again = pay(client, order["id"], method="mpesa_stk")
    assert again.status_code == 409 and "paid" in again.get_json()["description"]
    listed = json_of(client.get(f"/v1/orders/{order['id']}/payments", headers=acting()), 200)
    assert [p["id"] for p in listed["results"]] == [created["id"]]


@pytest.mark.parametrize("code, reason", [
    ("1032", "The customer cancelled the payment"),
    ("1037", "The phone could not be reached"),
    ("2001", "The M-Pesa PIN entered was wrong"),
    ("1", "Insufficient M-Pesa balance"),
])
def test_each_stk_failure_fails_the_attempt_and_allows_a_retry(
        shop, rasa: FakeRasa, code: str, reason: str) -> None:
    client, ctx = shop
    scenario(ctx, PHONE, code, delay_ms=0)
    order = place_order(client, ctx)
    created = json_of(pay(client, order["id"], method="mpesa_stk"), 201)
    done = settled(client, created["id"])
    assert (done["status"], done["failure_code"], done["failure_reason"]) == ("failed", code,
                                                                               reason)
    wait_for(lambda: rasa.calls)
    assert rasa.calls[0]["name"] == "EXTERNAL_payment_failed"
    assert rasa.calls[0]["entities"] == {
        "payment_id": created["id"], "payment_status": "failed", "payment_amount_minor": 180000,
        "payment_currency": "KES", "payment_order_id": order["id"],
        "payment_provider_reference": done["provider_reference"], "payment_failure_code": code}
    order_now = json_of(client.get(f"/v1/orders/{order['id']}", headers=acting()), 200)
    assert order_now["status"] == "pending_payment"
    assert json_of(client.get("/v1/wallet", headers=merchant_headers()), 200)[
        "available_minor"] == 0
    scenario(ctx, PHONE, "0", delay_ms=0)
    retry = json_of(pay(client, order["id"], method="mpesa_stk"), 201)
    assert settled(client, retry["id"])["status"] == "succeeded"


def test_an_unanswered_push_is_queried_then_failed(shop) -> None:
    client, ctx = shop
    scenario(ctx, PHONE, "timeout", delay_ms=0)
    order = place_order(client, ctx)
    created = json_of(pay(client, order["id"], method="mpesa_stk"), 201)
    reference = wait_for(lambda: scalar(
        ctx, "SELECT provider_reference FROM payments WHERE id = :i", i=created["id"]))
    from backend.services.payments.settings import daraja_client, load_provider_config

    daraja = daraja_client(ctx, load_provider_config(ctx, TENANT_ID))
    # The simulated phone gives up (no callback); Daraja's query then knows it.
    wait_for(lambda: not daraja.stk_query(shortcode="174379", passkey=str(load_provider_config(
        ctx, TENANT_ID).get("mpesa_passkey")), checkout_request_id=reference).pending)
    assert expire_stk_payments(ctx) == []  # not yet due
    later = utcnow().replace(year=utcnow().year + 1)
    assert expire_stk_payments(ctx, now=later) == [created["id"]]
    done = json_of(client.get(f"/v1/payments/{created['id']}", headers=acting()), 200)
    # Daraja's query answered 1037 (the phone never answered): its code is kept.
    assert done["status"] == "failed" and done["failure_code"] == "1037"


def test_stk_phone_is_a_kenyan_mobile_number(shop) -> None:
    client, ctx = shop
    order = place_order(client, ctx)
    for bad in ("0202345678", "+12025550123", "07123"):
        refused = pay(client, order["id"], method="mpesa_stk", phone=bad)
        assert refused.status_code == 422, bad
        assert "Kenyan mobile" in refused.get_json()["description"]
    typed = json_of(pay(client, order["id"], method="mpesa_stk", phone="0722 000 111"), 201)
    assert typed["phone"] == "+254722***111"


def answered_callbacks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URL of each callback the Daraja simulator sends, added once the backend answered it."""
    from backend.sandbox import daraja as simulator

    answered: list[str] = []
    send = simulator.post

    def post(url: str, **kwargs: Any) -> None:
        send(url, **kwargs)
        answered.append(url)

    monkeypatch.setattr(simulator, "post", post)
    return answered


def test_duplicate_callbacks_credit_once(shop, monkeypatch: pytest.MonkeyPatch) -> None:
    client, ctx = shop
    answered = answered_callbacks(monkeypatch)
    scenario(ctx, PHONE, "0", duplicates=4, delay_ms=0)
    order = place_order(client, ctx)
    created = json_of(pay(client, order["id"], method="mpesa_stk"), 201)
    settled(client, created["id"])
    wait_for(lambda: len(answered) == 5)  # the first callback and its four repeats
    settle_jobs(ctx)
    assert scalar(ctx, "SELECT count(*) FROM payment_events") == 1
    assert scalar(ctx, "SELECT count(*) FROM ledger_transactions WHERE payment_id = :p",
                  p=created["id"]) == 1


def test_idempotency_key_answers_the_same_payment(shop) -> None:
    client, ctx = shop
    order = place_order(client, ctx)
    headers = acting(**{"Idempotency-Key": "pay-1"})
    first = pay(client, order["id"], headers, method="mpesa_manual")
    second = pay(client, order["id"], headers, method="mpesa_manual")
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert pay(client, order["id"], headers, method="mpesa_stk").status_code == 422


def test_paybill_instructions_then_a_c2b_payment_pays_the_order(shop) -> None:
    client, ctx = shop
    order = place_order(client, ctx)
    manual = json_of(pay(client, order["id"], method="mpesa_manual"), 201)
    assert manual["provider"] == "manual" and manual["status"] == "awaiting_customer"
    assert manual["instructions"] == {"paybill": "174379", "account": f"ORD{order['id']}",
                                      "amount_minor": 180000}
    from backend.services.payments.settings import daraja_client, load_provider_config

    config = load_provider_config(ctx, TENANT_ID)
    urls = json_of(client.get("/v1/payment-settings", headers=merchant_headers()),
                   200)["callback_urls"]
    client_d = daraja_client(ctx, config)
    client_d.register_c2b_urls(shortcode="174379", confirmation_url=urls[
        "mpesa_c2b_confirmation"], validation_url=urls["mpesa_c2b_validation"])
    answer = client_d._post("/mpesa/c2b/v1/simulate", {
        "ShortCode": "174379", "CommandID": "CustomerPayBillOnline", "Amount": 1800,
        "Msisdn": "254712000001", "BillRefNumber": f"ORD{order['id']}"})
    assert answer[0] == 200
    done = settled(client, manual["id"])
    assert done["status"] == "succeeded" and done["receipt"]
    # Validation refuses a wrong amount or an unknown account.
    check = requests.post(urls["mpesa_c2b_validation"], timeout=5, json={
        "TransID": "X1", "TransAmount": "10.00", "BillRefNumber": "ORD999999"}).json()
    assert check["ResultCode"] == "C2B00012"


def test_card_payments_follow_the_tier(shop) -> None:
    client, ctx = shop
    order = place_order(client, ctx)
    set_features(ctx, card_payments=False)
    assert pay(client, order["id"], method="card").status_code == 409
    set_features(ctx, card_payments=True)
    # starter: no payment facilitation, so the merchant's own link.
    link = json_of(pay(client, order["id"], method="card"), 201)
    assert link["provider"] == "merchant_link" and link["status"] == "awaiting_customer"
    assert link["checkout_url"] == f"https://pay.{TENANT_ID}.example/checkout"
    update_settings(ctx, TENANT_ID, {"tier": "growth"}, as_operator=True)
    card = json_of(pay(client, order["id"], method="card"), 201)
    assert card["provider"] == "paystack" and card["status"] == "pending"
    assert card["checkout_url"].startswith(f"{base(ctx)}/sandbox/paystack/checkout/")
    access = card["checkout_url"].rsplit("/", 1)[1]
    paid = requests.post(f"{base(ctx)}/sandbox/paystack/checkout/{access}/pay",
                         json={"outcome": "success"}, timeout=5)
    assert paid.status_code == 200
    assert settled(client, card["id"])["status"] == "succeeded"
    wallet = json_of(client.get("/v1/wallet", headers=merchant_headers()), 200)
    assert wallet["fees_minor"] == 3600  # growth: 2 %


@pytest.mark.parametrize("provider", ["stripe", "pesapal"])
def test_stripe_and_pesapal_checkouts_pay_through_their_webhooks(shop, provider: str) -> None:
    client, ctx = shop
    update_settings(ctx, TENANT_ID, {"tier": "enterprise"}, as_operator=True)
    configure_payments(ctx, card_provider=provider)
    order = place_order(client, ctx)
    card = json_of(pay(client, order["id"], method="card"), 201)
    assert card["provider"] == provider and card["checkout_url"]
    paid = requests.post(card["checkout_url"], json={"outcome": "success"}, timeout=5)
    assert paid.status_code == 200, paid.text
    assert settled(client, card["id"])["status"] == "succeeded"
    assert json_of(client.get("/v1/wallet", headers=merchant_headers()), 200)[
        "fees_minor"] == 1800  # enterprise: 1 %


def test_methods_turned_off_or_orders_not_pending_are_refused(shop) -> None:
    client, ctx = shop
    order = place_order(client, ctx)
    set_features(ctx, mpesa_stk=False)
    refused = pay(client, order["id"], method="mpesa_stk")
    assert refused.status_code == 409 and "turned off" in refused.get_json()["description"]
    client.post(f"/v1/orders/{order['id']}/transitions", json={"to": "cancelled"},
                headers=acting())
    assert pay(client, order["id"], method="mpesa_manual").status_code == 409
    assert pay(client, 999999, method="mpesa_manual").status_code == 404


def test_rasa_down_for_good_sends_a_plain_receipt_in_swahili(shop, rasa: FakeRasa) -> None:
    client, ctx = shop
    rasa.status = 500
    update_settings(ctx, TENANT_ID, {"primary_language": "sw"})
    order = place_order(client, ctx)
    created = json_of(pay(client, order["id"], method="mpesa_stk"), 201)
    done = settled(client, created["id"])
    body = wait_for(lambda: scalar(
        ctx, "SELECT body FROM outbound_messages WHERE body LIKE 'Malipo yamepokelewa%'"))
    assert f"ORD{order['id']}" in body and done["receipt"] in body and "KES 1,800.00" in body
    assert len(rasa.calls) == 4  # the first try and three retries
    # notified_at is set just after the receipt is queued: poll for it, do not race it.
    wait_for(lambda: rows(ctx, "SELECT notified_at FROM payments WHERE id = :i",
                          i=created["id"])[0][0])


def test_a_pesapal_ipn_before_the_outcome_does_not_swallow_the_next(shop) -> None:
    client, ctx = shop
    update_settings(ctx, TENANT_ID, {"tier": "growth"}, as_operator=True)
    configure_payments(ctx, card_provider="pesapal")
    order = place_order(client, ctx)
    card = json_of(pay(client, order["id"], method="card"), 201)
    ipn = json_of(client.get("/v1/payment-settings", headers=merchant_headers()),
                  200)["callback_urls"]["pesapal"]
    params = {"OrderTrackingId": card["provider_reference"], "OrderNotificationType": "IPNCHANGE",
              "OrderMerchantReference": f"ORD{order['id']}-P{card['id']}"}
    early = requests.get(ipn, params=params, timeout=5)
    assert early.status_code == 200 and early.json()["status"] == 200
    wait_for(lambda: scalar(ctx, "SELECT status FROM payment_events") == "ignored")
    assert json_of(client.get(f"/v1/payments/{card['id']}", headers=acting()),
                   200)["status"] == "pending"
    requests.post(card["checkout_url"], json={"outcome": "success"}, timeout=5)
    assert settled(client, card["id"])["status"] == "succeeded"


def test_a_forged_pesapal_ipn_is_refused_and_an_order_pesapal_lacks_is_not_retried(
        shop, caplog: pytest.LogCaptureFixture) -> None:
    client, ctx = shop
    update_settings(ctx, TENANT_ID, {"tier": "growth"}, as_operator=True)
    configure_payments(ctx, card_provider="pesapal")
    ipn = json_of(client.get("/v1/payment-settings", headers=merchant_headers()),
                  200)["callback_urls"]["pesapal"]
    # An IPN naming an order this shop never submitted: refused at once, nothing stored.
    forged = requests.get(ipn, params={"OrderTrackingId": "forged-0001",
                                       "OrderNotificationType": "IPNCHANGE"}, timeout=5)
    assert forged.status_code == 404 and forged.json()["code"] == 404
    assert requests.post(ipn, json={"OrderTrackingId": "forged-0002"}, timeout=5
                         ).status_code == 404
    assert scalar(ctx, "SELECT count(*) FROM payment_events") == 0
    # A known payment whose tracking id Pesapal answers is INVALID: settled after one question,
    # as Pesapal documents INVALID (no such order), instead of retries with tracebacks.
    order = place_order(client, ctx)
    payment_id = make_payment(ctx, order["id"], "pesapal", "trk-pesapal-never-saw")
    with caplog.at_level(logging.WARNING):
        assert requests.get(ipn, params={"OrderTrackingId": "trk-pesapal-never-saw"},
                            timeout=5).status_code == 200
        wait_for(lambda: scalar(ctx, "SELECT status FROM payment_events") == "unknown_reference")
        settle_jobs(ctx)
    assert not [r for r in caplog.records if r.name == "backend.queueing.runner"], caplog.text
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    assert json_of(client.get(f"/v1/payments/{payment_id}", headers=acting()),
                   200)["status"] == "pending"
