"""Delivering a batch of outbound messages in order through Twilio, recording each outcome.

Sending is idempotent per outbox row: a row is claimed (queued → sending) by one conditional
UPDATE right before the call to Twilio, so two senders racing on the same batch (two workers, a
worker and the in-process fallback, a job the sweep re-enqueued) never both send it. A row left
in `sending` by a sender that died mid-call is never resent (Twilio has no idempotency key, so it
may have gone out): the sweep fails it as unknown (see outbound.sweep_outbox)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from backend.db import outlasting_restarts
from backend.wiring import Context
from backend.domain.phones import whatsapp_address
from backend.metrics import SENDS
from backend.models import Customer, OutboundMessage, Tenant
from backend.models.base import utcnow
from backend.providers.twilio import SentMessage, TwilioContent, TwilioSender, TwilioSendError
from backend.services.conversations import interactive
from backend.services.conversations.outbound import last_inbound_at

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Pending:
    id: int
    body: str | None
    media_url: str | None
    content_sid: str | None
    content_variables: dict[str, str] | None
    interactive: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Batch:
    tenant_id: str
    sender: TwilioSender
    from_address: str
    to_address: str
    pending: list[_Pending]
    callback_base: str  # + "/<outbound id>": where Twilio posts this message's statuses
    # The Content API when list pickers and reply buttons may go out now, else None.
    content: TwilioContent | None = None


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0


def deliver_batch(ctx: Context, ids: list[int], *, final_attempt: bool) -> DeliveryReport:
    """Send the still-queued messages in position order.

    Twilio refusing a message fails that message and the batch goes on. A transient error
    (Twilio unreachable, 5xx, 429) stops the batch, keeps the rest queued and re-raises so the
    job is retried; on the final attempt it fails the message instead.
    """
    report = DeliveryReport()
    batch = _load(ctx, ids)
    if batch is None:
        return report
    for message in batch.pending:
        claim = _claim(ctx, batch.tenant_id, message.id)
        if claim == "taken":
            break  # another sender is on this batch: it goes on in order, we stop
        if claim == "done":
            continue
        content_sid, variables = _content(ctx, batch, message)
        try:
            try:
                sent = _send(batch, message, content_sid, variables)
            except TwilioSendError as error:
                if error.transient or content_sid == message.content_sid:
                    raise
                # Twilio refused the interactive form (the window closed meanwhile, a content
                # it will not take): the numbered text says the same.
                log.warning("interactive refused, sending the text: %s", error,
                            extra={"outbound_id": message.id})
                sent = _send(batch, message, None, None)
        except TwilioSendError as error:
            if error.transient and not final_attempt:
                _record(ctx, batch.tenant_id, message.id, "queued", error=str(error),
                        error_code=error.code)
                raise
            _record(ctx, batch.tenant_id, message.id, "failed", error=str(error),
                    error_code=error.code)
            report.failed += 1
            continue
        _record(ctx, batch.tenant_id, message.id, "sent", sent=sent)
        report.sent += 1
    return report


def _send(batch: _Batch, message: _Pending, content_sid: str | None,
          variables: dict[str, str] | None) -> SentMessage:
    return batch.sender.send(
        from_=batch.from_address,
        to=batch.to_address,
        body=None if content_sid else message.body,
        media_url=message.media_url,
        content_sid=content_sid,
        content_variables=variables,
        status_callback=f"{batch.callback_base}/{message.id}",
    )


def _load(ctx: Context, ids: list[int]) -> _Batch | None:
    """Read everything needed to send, then close the transaction before any network call."""
    with ctx.db.transaction() as session:
        messages = session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.id.in_(ids))
            .order_by(OutboundMessage.position, OutboundMessage.id)
        ).all()
        if not messages:
            return None
        tenant_ids = {m.tenant_id for m in messages}
        if len(tenant_ids) != 1:
            raise ValueError(f"Outbound batch {ids} spans several tenants")
        tenant = session.get_one(Tenant, tenant_ids.pop())
        token = ctx.crypto.decrypt(tenant.twilio_auth_token_encrypted)
        base_url = ctx.settings.twilio_base_url(sandbox_tenant=tenant.sandbox)
        content = None
        if any(m.interactive for m in messages):
            customer = session.get(Customer, messages[0].customer_id) \
                if messages[0].customer_id else None
            last = last_inbound_at(session, customer) if customer else None
            if interactive.allowed(ctx, tenant, last, utcnow()):
                content = TwilioContent(tenant.twilio_account_sid, token,
                                        ctx.settings.twilio_content_url(tenant.sandbox))
        return _Batch(
            tenant_id=tenant.id,
            sender=TwilioSender(tenant.twilio_account_sid, token, base_url),
            from_address=whatsapp_address(tenant.whatsapp_number),
            to_address=whatsapp_address(ctx.crypto.decrypt(messages[0].to_phone_encrypted)),
            pending=[_Pending(m.id, m.body, m.media_url, m.content_sid, m.content_variables,
                              m.interactive)
                     for m in messages if m.status in ("queued", "sending")],
            callback_base=status_callback_base(ctx, tenant.id),
            content=content,
        )


def _content(ctx: Context, batch: _Batch, message: _Pending
             ) -> tuple[str | None, dict[str, str] | None]:
    """(ContentSid, ContentVariables) to send: a template's, else the interactive form's where
    it may go out, else (None, None) for the numbered text (also when the Content API fails:
    the customer gets the menu as text rather than nothing)."""
    if message.content_sid or not message.interactive or batch.content is None:
        return message.content_sid, message.content_variables
    shape = interactive.shape_of(message.interactive)
    try:
        return interactive.content_sid(ctx, batch.tenant_id, batch.content, shape), shape.values
    except (TwilioSendError, SQLAlchemyError) as error:
        log.warning("interactive content unavailable, sending the text: %s", error,
                    extra={"outbound_id": message.id})
        return None, None


def status_callback_base(ctx: Context, tenant_id: str) -> str:
    """The public URL Twilio posts a tenant's delivery statuses to (api/twilio_status)."""
    return f"{ctx.settings.public_url}/webhooks/twilio/status/{tenant_id}"


def _claim(ctx: Context, tenant_id: str, message_id: int) -> str:
    """queued → sending for this sender only: "claimed", "taken" (another sender is sending it)
    or "done" (sent or failed already)."""
    with ctx.db.transaction() as session:
        claimed = session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.tenant_id == tenant_id,
                OutboundMessage.id == message_id,
                OutboundMessage.status == "queued",
            )
            .values(status="sending", updated_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed == 1:
            return "claimed"
        status = session.scalar(
            select(OutboundMessage.status).where(
                OutboundMessage.tenant_id == tenant_id, OutboundMessage.id == message_id
            )
        )
    return "taken" if status == "sending" else "done"


def _record(
    ctx: Context,
    tenant_id: str,
    message_id: int,
    status: str,
    *,
    sent: SentMessage | None = None,
    error: str | None = None,
    error_code: int | None = None,
) -> None:
    """Record what the call to Twilio did. The row stays claimed (`sending`) until this lands, so
    it outlasts a database restart: otherwise a message known sent would end as unknown, and one
    known not sent would never be sent again."""
    outlasting_restarts(
        lambda: _write_outcome(ctx, tenant_id, message_id, status, sent, error, error_code),
        f"recording outbound {message_id} as {status}")
    outcome = "retry" if status == "queued" else status
    SENDS.labels(status=outcome).inc()
    log.log(
        logging.INFO if status == "sent" else logging.WARNING,
        "whatsapp send %s",
        outcome,
        extra={"outbound_id": message_id, "provider_sid": sent.sid if sent else None,
               "error": error},
    )


def _write_outcome(ctx: Context, tenant_id: str, message_id: int, status: str,
                   sent: SentMessage | None, error: str | None, error_code: int | None) -> None:
    with ctx.db.transaction() as session:
        # A status callback may have landed while the call was still open: never move back. One
        # conditional UPDATE, so it holds on SQLite too (whose SELECT takes no lock: a status
        # read first could be stale by the time it is written, turning "read" back into "sent").
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.tenant_id == tenant_id, OutboundMessage.id == message_id,
                   OutboundMessage.status == "sending")
            .values(status=status)
            .execution_options(synchronize_session=False)
        )
        message = session.scalars(
            select(OutboundMessage).where(
                OutboundMessage.tenant_id == tenant_id, OutboundMessage.id == message_id
            )
        ).one()
        message.attempts += 1
        message.error = error
        message.error_code = error_code
        if sent is not None:
            message.provider_sid = sent.sid
