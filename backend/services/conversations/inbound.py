"""Logging inbound WhatsApp messages once per provider sid, upserting the customer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pii.masking import mask_phones

from backend.wiring import Context
from backend.domain.errors import InvalidInput
from backend.domain.phones import to_e164
from backend.models import Customer, InboundMessage
from backend.services.conversations.conversations import current_conversation
from backend.services.platform.customers import upsert_customer
from backend.services.platform.tenants import require_tenant


# Twilio's limit for one WhatsApp body: a longer one is refused, never stored (the channel cuts
# bodies to this length before logging them).
MAX_BODY_CHARS = 4096


@dataclass(frozen=True)
class IncomingMessage:
    tenant_id: str
    from_number: str
    message_sid: str
    body: str = ""
    profile_name: str | None = None
    media: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class InboundResult:
    customer_id: int
    duplicate: bool
    customer_ref: str  # the assistant's name for the customer: Rasa's sender id "<tenant>:<ref>"


def record_inbound(ctx: Context, message: IncomingMessage) -> InboundResult:
    """Store the message unless its sid was seen before for this tenant."""
    if len(message.body) > MAX_BODY_CHARS:
        raise InvalidInput(
            f"body is longer than {MAX_BODY_CHARS} characters (WhatsApp's limit)",
            {"body": [f"Longer than maximum length {MAX_BODY_CHARS}."]},
        )
    phone = to_e164(message.from_number, field="from")
    try:
        return _record(ctx, message, phone)
    except IntegrityError:
        # A concurrent request stored the same sid (or customer) first; a second look finds it.
        return _record(ctx, message, phone)


def _record(ctx: Context, message: IncomingMessage, phone: str) -> InboundResult:
    with ctx.db.transaction() as session:
        require_tenant(session, message.tenant_id)
        seen = session.scalar(
            select(InboundMessage).where(
                InboundMessage.tenant_id == message.tenant_id,
                InboundMessage.provider_sid == message.message_sid,
            )
        )
        if seen is not None:
            known = session.get(Customer, seen.customer_id)
            assert known is not None  # inbound rows go with their customer (ON DELETE CASCADE)
            return InboundResult(customer_id=seen.customer_id, duplicate=True,
                                 customer_ref=known.ref)
        customer = upsert_customer(
            session, ctx.crypto, message.tenant_id, phone, message.profile_name
        )
        conversation = current_conversation(session, customer, inbound=True)
        session.add(
            InboundMessage(
                tenant_id=message.tenant_id,
                customer_id=customer.id,
                conversation_id=conversation.id,
                provider_sid=message.message_sid,
                # A phone the customer types is kept masked: the log holds no phone in clear.
                body=mask_phones(message.body),
                media=list(message.media),
            )
        )
        return InboundResult(customer_id=customer.id, duplicate=False, customer_ref=customer.ref)
