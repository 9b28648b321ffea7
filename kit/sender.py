"""Rasa's conversation (sender) id for a tenant's customer: `<tenant>:<customer ref>`.

One customer writing to two merchants has two conversations. The reference is the opaque one the
backend's inbound log issues, so Rasa's tracker never holds the phone; ids from before customer
references carry the E.164 number instead (`demo-shop:+254712345678`).
"""
from __future__ import annotations

from typing import Optional, Tuple

SEPARATOR = ":"


def sender_id(tenant_id: str, customer_ref: str) -> str:
    """The conversation id the channel opens and the backend triggers intents in."""
    return f"{tenant_id}{SEPARATOR}{customer_ref}"


def split_sender(sender: Optional[str]) -> Tuple[str, str]:
    """(tenant id, customer ref); ("", "") parts when the id has none (a test's "default")."""
    tenant_id, _, customer_ref = (sender or "").partition(SEPARATOR)
    return tenant_id, customer_ref


def sender_tenant(sender: Optional[str]) -> Optional[str]:
    """The tenant an id names, or None when it is not `<tenant>:<ref>`."""
    return split_sender(sender)[0] if sender and SEPARATOR in sender else None
