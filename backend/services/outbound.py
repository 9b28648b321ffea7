"""Queueing a reply: store its messages in order, then hand the batch to one delivery job."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import update

from backend.context import Context
from backend.domain.errors import InvalidInput, Unavailable
from backend.domain.phones import to_e164
from backend.jobs.messaging import deliver_outbound
from backend.jobs.runner import JobQueueUnavailable
from backend.models import OutboundMessage
from backend.services.conversations import current_conversation, in_reply_window
from backend.services.customers import find_customer
from backend.services.limits import check_limit, messages_this_month
from backend.services.tenants import require_tenant

MESSAGING_QUEUE = "messaging"


@dataclass(frozen=True)
class OutgoingMessage:
    body: str | None = None
    media_url: str | None = None


def queue_outbound(
    ctx: Context,
    tenant_id: str,
    to: str,
    messages: Sequence[OutgoingMessage],
    in_reply_to: str | None = None,
) -> list[int]:
    """Store the messages as queued and enqueue their delivery; returns their ids in order."""
    phone = to_e164(to, field="to")
    if not messages or any(not (m.body or m.media_url) for m in messages):
        raise InvalidInput("Every message needs a body or a media_url")
    ids = store_outbound(ctx, tenant_id, phone, messages, in_reply_to)
    try:
        ctx.jobs.enqueue(MESSAGING_QUEUE, deliver_outbound, ids)
    except JobQueueUnavailable as error:
        _fail(ctx, tenant_id, ids, str(error))
        raise Unavailable(
            "The delivery queue is unavailable; the messages were not sent"
        ) from error
    return ids


def store_outbound(
    ctx: Context,
    tenant_id: str,
    phone: str,
    messages: Sequence[OutgoingMessage],
    in_reply_to: str | None = None,
) -> list[int]:
    """Store one batch as queued without enqueuing it (queue_outbound does both); phone is E.164.

    Replies to a customer who wrote in the last 24 h always go out; other messages count
    against the tier's monthly limit (LimitExceeded, nothing stored, when it is spent).
    """
    batch_id = uuid.uuid4().hex
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        customer = find_customer(session, ctx.crypto, tenant_id, phone)
        conversation = None
        if customer is not None:
            conversation = current_conversation(session, customer, inbound=False)
        if not in_reply_window(conversation):
            check_limit(tenant.tier, "messages", messages_this_month(session, tenant), len(messages))
        rows = [
            OutboundMessage(
                tenant_id=tenant_id,
                customer_id=customer.id if customer else None,
                conversation_id=conversation.id if conversation else None,
                to_phone_encrypted=ctx.crypto.encrypt(phone),
                to_phone_hash=ctx.crypto.keyed_hash(phone),
                body=message.body,
                media_url=message.media_url,
                in_reply_to=in_reply_to,
                status="queued",
                batch_id=batch_id,
                position=position,
            )
            for position, message in enumerate(messages)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def _fail(ctx: Context, tenant_id: str, ids: list[int], error: str) -> None:
    with ctx.db.transaction() as session:
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.tenant_id == tenant_id, OutboundMessage.id.in_(ids))
            .values(status="failed", error=error)
        )
