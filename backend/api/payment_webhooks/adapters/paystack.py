"""Paystack: events signed with x-paystack-signature, the HMAC-SHA512 of the raw body under the
tenant's secret key; stored once per event and transaction reference."""

from __future__ import annotations

from collections.abc import Mapping

from backend.api.payment_webhooks.adapters.common import Callback, json_object
from backend.domain.errors import Unauthenticated
from backend.providers.paystack import SIGNATURE_HEADER, valid_signature

ACK = {"status": "ok"}


def verified_event(secret: str, raw: bytes, headers: Mapping[str, str],
                   tenant_id: str) -> Callback:
    if not secret or not valid_signature(secret, raw, headers.get(SIGNATURE_HEADER)):
        raise Unauthenticated("Invalid Paystack signature")
    body = json_object(raw)
    data = body.get("data") or {}
    event_id = f"{body.get('event')}:{data.get('reference')}"
    return Callback("paystack", event_id, str(body.get("event")), body, tenant_id)
