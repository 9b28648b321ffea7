"""Twilio's delivery status callbacks: checked with the tenant's auth token, stored once per
(message sid, status), applied only forward, and a failure Twilio's code says may pass later is
sent again (a few times, spaced out).

Each message's StatusCallback URL names its outbox row (services/conversations/delivery.py),
so a callback that overtakes our own record of the send still finds its message. Callbacks
arrive in any order and more than once: "delivered" is never overwritten by a late "sent", and a
repeated callback changes nothing. A callback for an earlier attempt of a message sent again
(another MessageSid) is kept as an event but moves nothing."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from twilio.request_validator import RequestValidator

from backend.wiring import Context
from backend.domain.errors import InvalidInput, NotFound, Unauthenticated
from backend.models import MessageStatusEvent, OutboundMessage, Tenant
from backend.models.base import utcnow
from backend.providers.twilio import RETRYABLE_ERROR_CODES

log = logging.getLogger(__name__)
# How far along each status is; a callback only ever moves a message to a higher rank.
RANK = {"scheduled": 0, "queued": 1, "accepted": 1, "sending": 2, "sent": 3, "failed": 4,
        "undelivered": 4, "delivered": 5, "read": 6}
CALLBACK_STATUSES = ("queued", "accepted", "sending", "sent", "delivered", "read", "failed",
                     "undelivered")
# A failed send is tried this many times in all when its error code allows a retry.
MAX_SEND_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class StatusOutcome:
    outcome: str  # applied | duplicate | stale | earlier_attempt | retry_scheduled
    status: str  # the message's status afterwards


def verify_signature(
    ctx: Context, tenant_id: str, url: str, params: Mapping[str, str], signature: str
) -> None:
    """X-Twilio-Signature over the public URL and every form field, with the tenant's token
    (the real twilio RequestValidator); Unauthenticated when it does not match."""
    with ctx.db.transaction() as session:
        tenant = session.get(Tenant, tenant_id)
        token = ctx.crypto.decrypt(tenant.twilio_auth_token_encrypted) if tenant else None
    if token is None or not signature or not RequestValidator(token).validate(
            url, dict(params), signature):
        raise Unauthenticated("X-Twilio-Signature does not match this request")


def record_status(
    ctx: Context, tenant_id: str, outbound_id: int, params: Mapping[str, str]
) -> StatusOutcome:
    """Apply one verified callback (MessageSid, MessageStatus, ErrorCode) to its message."""
    sid = (params.get("MessageSid") or params.get("SmsSid") or "").strip()
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").strip().lower()
    if not sid or status not in CALLBACK_STATUSES:
        raise InvalidInput("A status callback needs MessageSid and a known MessageStatus")
    error_code = _code(params.get("ErrorCode"))
    try:
        with ctx.db.transaction() as session:
            message = session.scalar(
                select(OutboundMessage).where(OutboundMessage.tenant_id == tenant_id,
                                              OutboundMessage.id == outbound_id).with_for_update())
            if message is None:
                raise NotFound("No message of this tenant has that id")
            session.add(MessageStatusEvent(tenant_id=tenant_id, outbound_id=message.id,
                                           provider_sid=sid, status=status,
                                           error_code=error_code))
            session.flush()
            return _apply(message, sid, status, error_code)
    except IntegrityError:
        with ctx.db.transaction() as session:
            current = session.scalar(select(OutboundMessage.status).where(
                OutboundMessage.tenant_id == tenant_id, OutboundMessage.id == outbound_id))
        return StatusOutcome("duplicate", current or "unknown")


def _apply(message: OutboundMessage, sid: str, status: str,
           error_code: int | None) -> StatusOutcome:
    if message.provider_sid is not None and message.provider_sid != sid:
        return StatusOutcome("earlier_attempt", message.status)
    if message.status == "cancelled" or RANK[status] <= RANK.get(message.status, 0):
        return StatusOutcome("stale", message.status)
    message.provider_sid = sid
    if status in ("failed", "undelivered"):
        message.error_code = error_code
        message.error = f"Twilio {status}" + (f" (error {error_code})" if error_code else "")
        if error_code in RETRYABLE_ERROR_CODES and message.attempts < MAX_SEND_ATTEMPTS:
            # Sent again by the scheduler's release sweep, after the rules are checked again.
            message.status = "scheduled"
            message.due_at = utcnow() + RETRY_AFTER * message.attempts
            log.warning("whatsapp %s (code %s): outbound %s sent again at %s", status,
                        error_code, message.id, message.due_at)
            return StatusOutcome("retry_scheduled", message.status)
    message.status = status
    return StatusOutcome("applied", status)


def _code(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None
