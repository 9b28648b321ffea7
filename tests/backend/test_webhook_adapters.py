"""The provider adapters alone (no app, no database): the event id each callback is stored
once under, its kind, and what each refuses; the routes around them are test_payment_webhooks'."""

from __future__ import annotations

import json
import time

import pytest

from backend.api.payment_webhooks.adapters import mpesa, paystack, pesapal, stripe
from backend.domain.errors import InvalidInput, Unauthenticated
from backend.providers.paystack import signature
from backend.sandbox.cards import stripe_signature_header


def test_mpesa_callbacks_are_keyed_by_their_daraja_ids() -> None:
    stk = mpesa.stk_result({"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1"}}}, "tok")
    c2b = mpesa.c2b_confirmation({"TransID": "RKT1"}, "tok")
    b2c = mpesa.b2c_result({"Result": {"OriginatorConversationID": "wd-7", "ResultCode": 0}})
    assert (stk.event_id, stk.kind, stk.token, stk.tenant_id) == (
        "stk:ws_CO_1", "stk_callback", "tok", None)
    assert (c2b.event_id, c2b.kind) == ("c2b:RKT1", "c2b_confirmation")
    assert (b2c.event_id, b2c.kind, b2c.token) == ("b2c:wd-7", "b2c_result", None)


def test_a_b2c_timeout_is_stored_as_a_failed_result_of_the_same_payout() -> None:
    timeout = mpesa.b2c_timeout({"Result": {"OriginatorConversationID": "wd-7"}})
    assert timeout.event_id == "b2c:wd-7" and timeout.kind == "b2c_result"
    assert timeout.payload["Result"]["ResultCode"] == "timeout"


@pytest.mark.parametrize("parse, body", [
    (lambda body: mpesa.stk_result(body, "tok"), {"Body": {}}),
    (lambda body: mpesa.c2b_confirmation(body, "tok"), {"TransID": ""}),
    (mpesa.b2c_result, {"Result": None}),
    (mpesa.b2c_timeout, {}),
    (lambda body: pesapal.notification(body, "shop"), {"OrderNotificationType": "IPNCHANGE"}),
])
def test_a_callback_without_its_id_is_refused(parse, body) -> None:
    with pytest.raises(InvalidInput):
        parse(body)


def test_mpesa_sources_outside_the_allow_list_are_refused() -> None:
    mpesa.check_source((), "203.0.113.9")  # no list: any source
    mpesa.check_source(("196.201.214.0/24",), "196.201.214.200")
    for source in ("203.0.113.9", None):
        with pytest.raises(Unauthenticated):
            mpesa.check_source(("196.201.214.0/24",), source)


def test_paystack_events_need_the_tenants_signature_on_the_raw_body() -> None:
    raw = json.dumps({"event": "charge.success", "data": {"reference": "R1"}}).encode()
    event = paystack.verified_event("sk_1", raw, {"x-paystack-signature": signature("sk_1", raw)},
                                    "shop")
    assert (event.event_id, event.kind, event.tenant_id) == ("charge.success:R1",
                                                             "charge.success", "shop")
    for secret, header in (("sk_1", signature("sk_2", raw)), ("", signature("", raw))):
        with pytest.raises(Unauthenticated):
            paystack.verified_event(secret, raw, {"x-paystack-signature": header}, "shop")


def test_stripe_events_need_a_fresh_signature_of_the_endpoint_secret() -> None:
    raw = json.dumps({"id": "evt_1", "object": "event", "type": "checkout.session.completed",
                      "data": {"object": {}}}).encode()
    fresh = {"Stripe-Signature": stripe_signature_header(raw, "whsec_1")}
    event = stripe.verified_event("whsec_1", raw, fresh, "shop")
    assert (event.event_id, event.kind) == ("evt_1", "checkout.session.completed")
    stale = {"Stripe-Signature": stripe_signature_header(raw, "whsec_1", int(time.time()) - 600)}
    for secret, headers in (("whsec_2", fresh), ("whsec_1", stale), ("whsec_1", {})):
        with pytest.raises(InvalidInput):
            stripe.verified_event(secret, raw, headers, "shop")


def test_pesapal_notifications_are_echoed_back() -> None:
    ipn = pesapal.notification({"OrderTrackingId": "T1", "OrderMerchantReference": "O-9"},
                               "shop")
    assert (ipn.event_id, ipn.kind) == ("T1:IPNCHANGE", "IPNCHANGE")
    assert pesapal.ack(ipn) == {"orderNotificationType": "IPNCHANGE", "orderTrackingId": "T1",
                                "orderMerchantReference": "O-9", "status": 200}
