"""The messages the platform sends on its own when something happens to a customer's order or
appointment (one per event), each with its kind and a per-tenant switch
(features.automatic_messages).

Every one goes through the same decision as any business message (domain/messaging.py):
consent of its kind, the 24-hour window (outside it only an approved template named after
the event, in the customer's language), quiet hours, the tier's limits."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from backend.domain.orders import CANCELLED, DELIVERED, FULFILLED, REFUNDED, RETURNED

# event -> (kind, whether it may break quiet hours). The text is kit/texts.yml auto.<event>.
EVENTS: dict[str, tuple[str, bool]] = {
    # An order the merchant placed for the customer (the API); in the chat the assistant says it.
    "order_confirmed": ("transactional", False),
    "order_shipped": ("transactional", False),
    "order_delivered": ("transactional", False),
    "order_returned": ("transactional", False),
    "order_refunded": ("transactional", False),
    "order_cancelled": ("transactional", False),
    "order_expired": ("transactional", False),
    "appointment_booked": ("transactional", False),
    "appointment_rescheduled": ("transactional", False),
    "appointment_cancelled": ("transactional", False),
    # A booking held for its deposit and released unpaid.
    "appointment_released": ("transactional", False),
    "appointment_reminder_24h": ("reminders", False),
    "appointment_reminder_2h": ("reminders", False),
    "appointment_no_show": ("reminders", False),
}
# Reminders go out this long before the appointment starts (none when that moment has passed).
REMINDERS: dict[str, timedelta] = {
    "appointment_reminder_24h": timedelta(hours=24),
    "appointment_reminder_2h": timedelta(hours=2),
}
# Re-engagement (services/conversations/reengagement.py, run by the scheduler's sweep): an
# abandoned cart once per filling, after features.cart_reminder_hours (default 24) without a
# change; a customer silent for SILENT_AFTER gets one nudge (promotional consent), and at
# DORMANT_AFTER is marked dormant and not nudged again until they write.
REENGAGEMENT: dict[str, tuple[str, bool]] = {
    "cart_reminder": ("reminders", False),
    "reengagement_nudge": ("promotional", False),
}
DEFAULT_CART_REMINDER_HOURS = 24
SILENT_AFTER = timedelta(days=7)
DORMANT_AFTER = timedelta(days=14)
# The payment notices (services/payments/notices.py) have their own texts but the same switch.
PAYMENT_EVENTS = ("payment_received", "payment_failed")
SWITCHES = (*EVENTS, *REENGAGEMENT, *PAYMENT_EVENTS)
# Every message the platform composes itself and through the same record: its kind and urgency.
AUTOMATIC_KINDS: dict[str, tuple[str, bool]] = {**EVENTS, **REENGAGEMENT}
# The order status a merchant (or the sweep) moves to, and the event it tells the customer.
ORDER_EVENTS: dict[str, str] = {
    FULFILLED: "order_shipped",
    DELIVERED: "order_delivered",
    RETURNED: "order_returned",
    REFUNDED: "order_refunded",
    CANCELLED: "order_cancelled",
}
# outcome of one event: sent (queued or scheduled), refused (the rules said no; reason kept),
# off (the tenant turned it off).
OUTCOMES = ("sent", "refused", "off")


def cart_reminder_after(features: Mapping[str, Any] | None) -> timedelta:
    """How long a cart stays untouched before its reminder (the tenant's setting, else 24 h)."""
    hours = (features or {}).get("cart_reminder_hours") or DEFAULT_CART_REMINDER_HOURS
    return timedelta(hours=int(hours))


def is_on(features: Mapping[str, Any] | None, event: str) -> bool:
    """Every automatic message is on unless the tenant turned it off."""
    switches = (features or {}).get("automatic_messages") or {}
    return bool(switches.get(event, True))
