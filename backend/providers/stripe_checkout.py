"""Stripe through the official library: Checkout Sessions, and webhook events checked with
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


def verified_event(raw_body: bytes, header: str | None, webhook_secret: str,
                   tolerance: int = TOLERANCE_SECONDS) -> dict[str, Any]:
    """The event as a dict; stripe.SignatureVerificationError or ValueError when not genuine."""
    event = stripe.Webhook.construct_event(raw_body, header, webhook_secret, tolerance=tolerance)
    return dict(event.to_dict())
