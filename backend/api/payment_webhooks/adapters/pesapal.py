"""Pesapal: an unsigned IPN (GET query or POST JSON) naming an order tracking id; nothing in it
is trusted until GetTransactionStatus confirms it. Stored once per tracking id and kind."""

from __future__ import annotations

from typing import Any

from backend.api.payment_webhooks.adapters.common import Callback
from backend.domain.errors import InvalidInput


def notification(params: dict[str, Any], tenant_id: str) -> Callback:
    tracking = str(params.get("OrderTrackingId") or "")
    if not tracking:
        raise InvalidInput("OrderTrackingId is required")
    kind = str(params.get("OrderNotificationType") or "IPNCHANGE")
    payload = {"OrderTrackingId": tracking, "OrderNotificationType": kind,
               "OrderMerchantReference": str(params.get("OrderMerchantReference") or "")}
    return Callback("pesapal", f"{tracking}:{kind}", kind, payload, tenant_id)


def ack(callback: Callback) -> dict[str, Any]:
    """Pesapal expects its notification echoed back with status 200."""
    return {"orderNotificationType": callback.kind,
            "orderTrackingId": callback.payload["OrderTrackingId"],
            "orderMerchantReference": callback.payload["OrderMerchantReference"],
            "status": 200}
