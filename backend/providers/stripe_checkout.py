"""Stripe through the official library: Checkout Sessions (payment, or setup: saving a card to
a Customer), a saved card's PaymentMethod (brand, last 4), off-session PaymentIntents charging a
saved card, and webhook events checked with
Stripe-Signature (HMAC-SHA256 over "t.body", 300 s tolerance) by stripe.Webhook."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe

BASE_URL = "https://api.stripe.com"
TOLERANCE_SECONDS = 300
SIGNATURE_HEADER = "Stripe-Signature"


class StripeCheckoutError(Exception):
    pass


class StripeRefundRefused(Exception):
    """Stripe refused the refund as asked (nothing to refund, too much…): not worth a retry."""


class StripeAlreadyRefunded(StripeRefundRefused):
    """Refunded in full already (an earlier call went through; its answer was lost)."""


@dataclass(frozen=True)
class StripeSession:
    id: str
    url: str
    payment_status: str


def _client(secret_key: str, base_url: str) -> stripe.StripeClient:
    return stripe.StripeClient(secret_key, base_addresses={"api": base_url.rstrip("/")},
                               max_network_retries=0)


def create_session(*, secret_key: str, base_url: str = BASE_URL, amount_minor: int,
                   currency: str, name: str, reference: str, success_url: str,
                   cancel_url: str | None = None, metadata: dict[str, str] | None = None
                   ) -> StripeSession:
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [{
            "quantity": 1,
            "price_data": {"currency": currency.lower(), "unit_amount": amount_minor,
                           "product_data": {"name": name}},
        }],
        "success_url": success_url,
        "client_reference_id": reference,
        "metadata": metadata or {},
    }
    if cancel_url:
        params["cancel_url"] = cancel_url
    try:
        session = _client(secret_key, base_url).v1.checkout.sessions.create(params=params)
    except stripe.StripeError as error:
        raise StripeCheckoutError(f"Stripe refused the checkout session: {error}") from error
    return StripeSession(session.id, session.url or "", session.payment_status or "unpaid")


@dataclass(frozen=True)
class StripeCharge:
    """An off-session PaymentIntent: `status` "succeeded", or "declined" with the reason."""

    payment_intent: str | None
    status: str
    reason: str = ""


def create_customer(*, secret_key: str, base_url: str = BASE_URL, email: str,
                    metadata: dict[str, str] | None = None) -> str:
    try:
        customer = _client(secret_key, base_url).v1.customers.create(
            params={"email": email, "metadata": metadata or {}})
    except stripe.StripeError as error:
        raise StripeCheckoutError(f"Stripe refused the customer: {error}") from error
    return str(customer.id)


def create_setup_session(*, secret_key: str, base_url: str = BASE_URL, customer: str,
                         reference: str, success_url: str, cancel_url: str | None = None,
                         metadata: dict[str, str] | None = None) -> StripeSession:
    """A Checkout Session in setup mode: the customer enters a card that is saved to
    `customer` for later off-session charges; setup_intent.succeeded carries the payment
    method (the SetupIntent's metadata is `metadata` too)."""
    params: dict[str, Any] = {
        "mode": "setup", "customer": customer, "payment_method_types": ["card"],
        "success_url": success_url, "client_reference_id": reference,
        "metadata": metadata or {}, "setup_intent_data": {"metadata": metadata or {}},
    }
    if cancel_url:
        params["cancel_url"] = cancel_url
    try:
        session = _client(secret_key, base_url).v1.checkout.sessions.create(params=params)
    except stripe.StripeError as error:
        raise StripeCheckoutError(f"Stripe refused the setup session: {error}") from error
    return StripeSession(session.id, session.url or "",
                         session.payment_status or "no_payment_required")


@dataclass(frozen=True)
class StripeCard:
    brand: str
    last4: str


def card_of(*, secret_key: str, base_url: str = BASE_URL, payment_method: str) -> StripeCard:
    """The card behind a PaymentMethod (GET /v1/payment_methods/<id>): its brand and last 4
    digits, for the label the owner sees."""
    try:
        method = _client(secret_key, base_url).v1.payment_methods.retrieve(payment_method)
    except stripe.StripeError as error:
        raise StripeCheckoutError(f"Stripe did not answer the payment method: {error}") \
            from error
    card = method.card
    if card is None:
        raise StripeCheckoutError(f"Payment method {payment_method} is not a card")
    return StripeCard(str(card.brand), str(card.last4))


def charge_saved_card(*, secret_key: str, base_url: str = BASE_URL, customer: str,
                      payment_method: str, amount_minor: int, currency: str,
                      idempotency_key: str, description: str,
                      metadata: dict[str, str] | None = None) -> StripeCharge:
    """Charge a saved card without the customer (off_session, confirm): the same
    idempotency key never charges twice. A decline (HTTP 402, card_error) or a refused request
    is a result, not an error; StripeCheckoutError when Stripe cannot be reached or fails (the
    outcome unknown)."""
    params: dict[str, Any] = {
        "amount": amount_minor, "currency": currency.lower(), "customer": customer,
        "payment_method": payment_method, "off_session": True, "confirm": True,
        "description": description, "metadata": metadata or {},
    }
    try:
        intent = _client(secret_key, base_url).v1.payment_intents.create(
            params=params, options={"idempotency_key": idempotency_key})
    except stripe.CardError as error:
        detail = error.error
        intent_id = None
        if detail is not None and detail.payment_intent is not None:
            intent_id = str(detail.payment_intent.get("id") or "") or None
        reason = (detail.decline_code if detail is not None and detail.decline_code else
                  error.code) or "card_declined"
        message = error.user_message or ""
        return StripeCharge(intent_id, "declined", f"{reason}: {message}" if message else reason)
    except (stripe.InvalidRequestError, stripe.AuthenticationError,
            stripe.PermissionError) as error:  # refused as sent: charging nothing
        return StripeCharge(None, "declined", f"Stripe refused the charge: {error}")
    except stripe.StripeError as error:  # unreachable or failing: the outcome is unknown
        raise StripeCheckoutError(f"Stripe did not answer the charge: {error}") from error
    if intent.status == "succeeded":
        return StripeCharge(str(intent.id), "succeeded")
    if intent.status in ("processing",):
        return StripeCharge(str(intent.id), "processing")
    return StripeCharge(str(intent.id), "declined", f"payment {intent.status}")


def verified_event(raw_body: bytes, header: str | None, webhook_secret: str,
                   tolerance: int = TOLERANCE_SECONDS) -> dict[str, Any]:
    """The event as a dict; stripe.SignatureVerificationError or ValueError when not genuine."""
    event = stripe.Webhook.construct_event(raw_body, header, webhook_secret, tolerance=tolerance)
    return dict(event.to_dict())


def refund_session(*, secret_key: str, base_url: str = BASE_URL, session_id: str,
                   amount_minor: int) -> str:
    """Refund `amount_minor` of a paid Checkout Session (its PaymentIntent); the refund's id.
    StripeAlreadyRefunded / StripeRefundRefused when refused; StripeCheckoutError when Stripe
    cannot be reached or fails (retry)."""
    client = _client(secret_key, base_url)
    try:
        session = client.v1.checkout.sessions.retrieve(session_id)
        intent = session.payment_intent
        if not intent:
            raise StripeRefundRefused(f"Checkout session {session_id} has no payment to refund")
        intent_id = intent if isinstance(intent, str) else str(intent.id)
        refund = client.v1.refunds.create(params={"payment_intent": intent_id,
                                                  "amount": amount_minor})
    except (stripe.InvalidRequestError, stripe.AuthenticationError,
            stripe.PermissionError) as error:
        if error.code == "charge_already_refunded":
            raise StripeAlreadyRefunded(str(error)) from error
        raise StripeRefundRefused(f"Stripe refused the refund: {error}") from error
    except stripe.StripeError as error:
        raise StripeCheckoutError(f"Stripe did not answer the refund: {error}") from error
    return str(refund.id)
