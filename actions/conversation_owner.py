"""Who a conversation belongs to: tenant and customer, from the sender id `<tenant>:<customer ref>`.

The customer reference is opaque (issued by the backend's inbound log, sent back as
X-CUSTOMER-REF): the actions never see the customer's phone, and Rasa's tracker never holds it.
"""
from __future__ import annotations

from typing import Optional, Tuple

from rasa_sdk import Tracker

from actions.common import metadata
from kit.sender import split_sender


def tenant_and_customer(tracker: Tracker) -> Tuple[str, str]:
    """(tenant id, customer reference); the tenant slot wins over the sender id's prefix."""
    prefix, ref = split_sender(tracker.sender_id)
    return tracker.get_slot("tenant_id") or prefix, ref


def phone_hint(tracker: Tracker) -> Optional[str]:
    """The customer's own number, masked as the channel shows it to them ("0712 *** 678")."""
    hint = metadata(tracker).get("phone_hint")
    return str(hint) if hint else None
