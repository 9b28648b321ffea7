"""Provider webhooks: verified on the raw body, stored once per provider event id, acknowledged
at once, applied in a job; bad signatures, stale Stripe events, unknown tokens and sources are
refused; mismatched amounts are flagged without a credit; unknown references acknowledged."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from backend.wiring import Context
from backend.providers.paystack import signature
from backend.sandbox.cards import stripe_signature_header
from backend.services.payments.settings import load_provider_config
from backend.services.platform.tenants import update_settings
from tests.backend.conftest import TENANT_ID, free_port, merchant_headers
from tests.backend.payment_helpers import (
    configure_payments,
    make_payment,
    place_order,
    rows,
    scalar,
    settle_jobs,
    stk_callback,
    wait_for,
)


def quick_app(make_app, **overrides: Any) -> Any:
    """An app whose Rasa and Twilio are closed ports and whose job retries are quick."""
    closed = f"http://127.0.0.1:{free_port()}"
    app = make_app(rasa_url=closed, twilio_sandbox_api_url=closed, **overrides)
    app.extensions["backend"].jobs._intervals = (0.02, 0.02, 0.02)
    return app


@pytest.fixture
def shop(make_app) -> Iterator[tuple[Any, Context]]:
    from tests.backend.conftest import (
        OTHER_ID, OTHER_KEY, OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, TENANT_KEY, TENANT_NUMBER,
        TENANT_SID, TENANT_TOKEN, add_tenant)

    app = quick_app(make_app)
    ctx: Context = app.extensions["backend"]
    add_tenant(ctx, TENANT_ID, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, TENANT_KEY)
    add_tenant(ctx, OTHER_ID, OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, OTHER_KEY)
    configure_payments(ctx)
    update_settings(ctx, TENANT_ID, {"tier": "growth"}, as_operator=True)
    yield app.test_client(), ctx
    settle_jobs(ctx)


def urls(client) -> dict[str, str]:
    body = client.get("/v1/payment-settings", headers=merchant_headers()).get_json()
    return {k: v.split("127.0.0.1:8000", 1)[1] for k, v in body["callback_urls"].items()}


def settle(ctx: Context) -> None:
    settle_jobs(ctx)


def status(ctx: Context, payment_id: int) -> tuple[str, str | None]:
    with ctx.db.engine.connect() as connection:
        from sqlalchemy import text

        row = connection.execute(text("SELECT status, review_reason FROM payments WHERE id = :i"),
                                 {"i": payment_id}).one()
        return row[0], row[1]


def credits(ctx: Context) -> int:
    return int(scalar(ctx, "SELECT count(*) FROM ledger_transactions WHERE kind = 'payment'"))


def paystack_post(client, path: str, body: dict[str, Any], key: str) -> Any:
    raw = json.dumps(body).encode()
    return client.post(path, data=raw, content_type="application/json",
                       headers={"x-paystack-signature": signature(key, raw)})


def test_paystack_signature_checked_on_the_raw_body_and_events_stored_once(shop) -> None:
    client, ctx = shop
    order = place_order(client, ctx)
    payment_id = make_payment(ctx, order["id"], "paystack", "ref-1")
    key = load_provider_config(ctx, TENANT_ID).get("paystack_secret_key")
    event = {"event": "charge.success", "data": {"id": 1, "reference": "ref-1", "status":
                                                 "success", "amount": 180000, "currency": "KES"}}
    forged = paystack_post(client, urls(client)["paystack"], event, "sk_test_wrong")
    assert forged.status_code == 401 and scalar(ctx, "SELECT count(*) FROM payment_events") == 0
    raw = json.dumps(event).encode()
    reformatted = client.post(urls(client)["paystack"], json=event,  # same JSON, other bytes
                              headers={"x-paystack-signature": signature(key, raw + b" ")})
    assert reformatted.status_code == 401
    for _ in range(3):
        assert paystack_post(client, urls(client)["paystack"], event, key).status_code == 200
    settle(ctx)
    assert scalar(ctx, "SELECT count(*) FROM payment_events") == 1
    assert status(ctx, payment_id) == ("succeeded", None) and credits(ctx) == 1


def test_mismatched_amounts_and_currencies_are_flagged_without_a_credit(shop) -> None:
    client, ctx = shop
    order = place_order(client, ctx)
    key = load_provider_config(ctx, TENANT_ID).get("paystack_secret_key")
    short = make_payment(ctx, order["id"], "paystack", "ref-short")
    paystack_post(client, urls(client)["paystack"], {"event": "charge.success", "data": {
        "id": 2, "reference": "ref-short", "status": "success", "amount": 100,
        "currency": "KES"}}, key)
    dollars = make_payment(ctx, order["id"], "paystack", "ref-usd")
    paystack_post(client, urls(client)["paystack"], {"event": "charge.success", "data": {
        "id": 3, "reference": "ref-usd", "status": "success", "amount": 180000,
        "currency": "USD"}}, key)
    stk = make_payment(ctx, order["id"], "daraja", "ws_CO_mismatch")
    client.post(urls(client)["mpesa_stk"], json=stk_callback("ws_CO_mismatch", amount=1.0))
    settle(ctx)
    for payment_id in (short, dollars, stk):
        state, review = status(ctx, payment_id)
        assert state == "pending" and review and "expected KES 1,800.00" in review
    # Amounts as a person reads them (1 shilling, not "100"); the refused receipt is named in
    # the review but never becomes the payment's receipt.
    assert status(ctx, short)[1] == ("Provider reported KES 1.00; expected KES 1,800.00 "
                                     "(provider receipt 2)")
    assert status(ctx, dollars)[1].startswith("Provider reported USD 1,800.00; expected")
    assert status(ctx, stk)[1].startswith("Provider reported KES 1.00; expected KES 1,800.00")
    assert scalar(ctx, "SELECT count(*) FROM payments WHERE receipt IS NOT NULL") == 0
    assert credits(ctx) == 0
    assert scalar(ctx, "SELECT count(*) FROM payment_events WHERE status = 'flagged'") == 3
    assert json_wallet(client)["available_minor"] == 0


def json_wallet(client) -> dict[str, Any]:
    return dict(client.get("/v1/wallet", headers=merchant_headers()).get_json())


def test_stripe_events_need_a_fresh_valid_signature(shop) -> None:
    client, ctx = shop
    order = place_order(client, ctx)
    payment_id = make_payment(ctx, order["id"], "stripe", "cs_test_1")
    secret = str(load_provider_config(ctx, TENANT_ID).get("stripe_webhook_secret"))
    event = {"id": "evt_1", "object": "event", "type": "checkout.session.completed",
             "data": {"object": {"id": "cs_test_1", "object": "checkout.session",
                                 "payment_status": "paid", "amount_total": 180000,
                                 "currency": "kes"}}}
    raw = json.dumps(event).encode()
    path = urls(client)["stripe"]

    def post(header: str) -> Any:
        return client.post(path, data=raw, content_type="application/json",
                           headers={"Stripe-Signature": header})

    stale = post(stripe_signature_header(raw, secret, int(time.time()) - 400))
    assert stale.status_code == 400 and "tolerance" in stale.get_json()["description"]
    assert post(stripe_signature_header(raw, "whsec_wrong")).status_code == 400
    assert post("t=1,v1=deadbeef").status_code == 400
    assert scalar(ctx, "SELECT count(*) FROM payment_events") == 0
    assert post(stripe_signature_header(raw, secret)).status_code == 200
    assert post(stripe_signature_header(raw, secret)).status_code == 200  # redelivery
    settle(ctx)
    assert status(ctx, payment_id) == ("succeeded", None) and credits(ctx) == 1
    assert scalar(ctx, "SELECT count(*) FROM payment_events") == 1


def test_unknown_references_are_acknowledged_and_logged(shop) -> None:
    client, ctx = shop
    ack = client.post(urls(client)["mpesa_stk"], json=stk_callback("ws_CO_nobody"))
    assert ack.status_code == 200 and ack.get_json() == {"ResultCode": 0,
                                                         "ResultDesc": "Accepted"}
    settle(ctx)
    assert scalar(ctx, "SELECT status FROM payment_events") == "unknown_reference"
    assert credits(ctx) == 0


def test_a_callback_overtaking_its_reference_is_applied_on_a_retry(shop) -> None:
    client, ctx = shop
    order = place_order(client, ctx)
    ctx.jobs._intervals = (0.5, 0.5, 0.5)  # type: ignore[attr-defined]
    client.post(urls(client)["mpesa_stk"], json=stk_callback("ws_CO_late"))
    payment_id = make_payment(ctx, order["id"], "daraja", "ws_CO_late")
    settle(ctx)
    assert status(ctx, payment_id) == ("succeeded", None) and credits(ctx) == 1


def test_mpesa_callbacks_need_the_secret_token_and_an_allowed_source(shop, make_app) -> None:
    client, ctx = shop
    assert client.post("/webhooks/mpesa/not-a-token/stk",
                       json=stk_callback("x")).status_code == 404
    assert client.post(urls(client)["mpesa_stk"], data="{nope",
                       content_type="application/json").status_code == 400
    restricted = quick_app(make_app, mpesa_callback_ips=("196.201.214.0/24",)).test_client()
    refused = restricted.post(urls(client)["mpesa_stk"], json=stk_callback("ws_CO_ip"))
    assert refused.status_code == 401
    allowed = quick_app(make_app, mpesa_callback_ips=("196.201.214.0/24", "127.0.0.1")
                        ).test_client()
    assert allowed.post(urls(client)["mpesa_stk"],
                        json=stk_callback("ws_CO_ip")).status_code == 200
    wait_for(lambda: scalar(ctx, "SELECT count(*) FROM payment_events") == 1)
    for app_client in (restricted, allowed):
        settle_jobs(app_client.application.extensions["backend"])


def test_a_failure_callback_fails_the_attempt_once(shop) -> None:
    client, ctx = shop
    order = place_order(client, ctx)
    payment_id = make_payment(ctx, order["id"], "daraja", "ws_CO_cancel")
    client.post(urls(client)["mpesa_stk"], json=stk_callback("ws_CO_cancel", 1032))
    settle(ctx)
    assert status(ctx, payment_id) == ("failed", None)
    assert scalar(ctx, "SELECT failure_code FROM payments WHERE id = :i", i=payment_id) == "1032"


def test_money_after_an_expiry_is_credited_and_the_customer_told_again(shop) -> None:
    from backend.services.payments.payments import fail_payment

    client, ctx = shop
    order = place_order(client, ctx)
    payment_id = make_payment(ctx, order["id"], "daraja", "ws_CO_slow")
    fail_payment(ctx, payment_id, "timeout", "No answer from the phone in time", "expired")
    settle(ctx)
    assert status(ctx, payment_id) == ("expired", None)
    client.post(urls(client)["mpesa_stk"], json=stk_callback("ws_CO_slow"))
    settle(ctx)
    assert status(ctx, payment_id) == ("succeeded", None) and credits(ctx) == 1
    bodies = [row[0] for row in rows(ctx, "SELECT body FROM outbound_messages ORDER BY id")]
    assert len(bodies) == 2
    assert "did not go through" in bodies[0] and bodies[1].startswith("Payment received")
