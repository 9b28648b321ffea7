"""Stripe: Stripe-Signature checked by the stripe library (300 s tolerance) with the endpoint's
signing secret; stored once per event id."""

from __future__ import annotations

from collections.abc import Mapping

import stripe

from backend.api.payment_webhooks.adapters.common import Callback
from backend.domain.errors import InvalidInput
from backend.providers.stripe_checkout import SIGNATURE_HEADER, verified_event as stripe_event

ACK = {"received": True}


def verified_event(secret: str, raw: bytes, headers: Mapping[str, str],
                   tenant_id: str) -> Callback:
    try:
        event = stripe_event(raw, headers.get(SIGNATURE_HEADER), secret)
    except (stripe.SignatureVerificationError, ValueError) as error:
        raise InvalidInput(f"Invalid Stripe signature: {error}") from None
    return Callback("stripe", str(event["id"]), str(event.get("type")), event, tenant_id)
