"""Who a conversation belongs to: tenant and customer, from the sender id `<tenant>:<E.164>`."""
from __future__ import annotations

from typing import Tuple

from rasa_sdk import Tracker


def tenant_and_phone(tracker: Tracker) -> Tuple[str, str]:
    tenant_id = tracker.get_slot("tenant_id")
    phone = tracker.get_slot("customer_phone")
    if tenant_id and phone:
        return tenant_id, phone
    tenant_id, _, phone = (tracker.sender_id or "").partition(":")
    return tenant_id, phone
