"""Automatic messages: telling a customer, on the platform's own initiative, what happened to
their order (backend/domain/notifications.py lists the events).

A service that changes an order enqueues NOTIFY_EVENT after its commit; this job composes the
text in the customer's language (kit/texts.yml auto.<event>) and passes it through the one
decision every business message passes (outbound.plan_outbound: consent by kind, the 24-hour
window, quiet hours, the tier's limits). Outside the window it sends the tenant's template named
after the event when WhatsApp approved it. Each (tenant, event, subject) is recorded once, with
its outcome: sent, refused (the reason kept) or off (the tenant turned it off), so a job or a
sweep running twice sends one message, and a refusal is never lost silently."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kit import texts

from backend.wiring import Context
from backend.domain.errors import InvalidInput, LimitExceeded, NotFound
from backend.domain.messaging import MessageRefused, TemplateChoice
from backend.domain.notifications import EVENTS, is_on
from backend.domain.payments import order_reference
from backend.models import AutomaticMessage, Customer, MessageTemplate, Order, Tenant
from backend.queueing.names import NOTIFY_EVENT
from backend.queueing.runner import JobQueueUnavailable
from backend.services.conversations.outbound import (
    Delivery,
    OutgoingMessage,
    enqueue_delivery,
    plan_outbound,
)
from backend.services.conversations.templates import render_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Composed:
    message: OutgoingMessage
    delivery: Delivery


def queue_event(ctx: Context, tenant_id: str, event: str, order_id: int) -> None:
    """Hand an order event to the NOTIFY_EVENT job; call after the change committed."""
    try:
        ctx.jobs.enqueue(NOTIFY_EVENT, tenant_id, event, order_id)
    except JobQueueUnavailable as error:
        log.warning("automatic message %s for order %s not queued: %s", event, order_id, error)


def notify_order_event(ctx: Context, tenant_id: str, event: str, order_id: int) -> str:
    """Send (or refuse, or skip) the event's message once; returns the outcome, or "duplicate"
    when this event was already handled."""
    if event not in EVENTS:
        raise InvalidInput(f"Unknown automatic message {event!r}")
    subject = f"order:{order_id}"
    try:
        with ctx.db.transaction() as session:
            if _recorded(session, tenant_id, event, subject):
                return "duplicate"
            record, ids = _decide(session, ctx, tenant_id, event, order_id, subject)
            session.add(record)
            session.flush()
            outcome = record.outcome
    except IntegrityError:
        return "duplicate"  # a second run of the job recorded it at the same moment
    if ids:
        enqueue_delivery(ctx, ids)
    return outcome


def _recorded(session: Session, tenant_id: str, event: str, subject: str) -> bool:
    return session.scalar(select(AutomaticMessage.id).where(
        AutomaticMessage.tenant_id == tenant_id, AutomaticMessage.event == event,
        AutomaticMessage.subject == subject)) is not None


def _decide(session: Session, ctx: Context, tenant_id: str, event: str, order_id: int,
            subject: str) -> tuple[AutomaticMessage, list[int]]:
    order = session.scalar(select(Order).where(Order.tenant_id == tenant_id,
                                               Order.id == order_id))
    if order is None:
        raise NotFound(f"No order {order_id}")
    tenant = session.get_one(Tenant, tenant_id)
    customer = session.get_one(Customer, order.customer_id)
    record = AutomaticMessage(tenant_id=tenant_id, event=event, subject=subject,
                              customer_id=customer.id, outbound_ids=[])
    if not is_on(tenant.features, event):
        record.outcome = "off"
        return record, []
    language = texts.reply_language(customer.language or tenant.primary_language)
    phone = ctx.crypto.decrypt(customer.phone_encrypted)
    free_text = _compose_text(session, tenant, order, event, language)
    try:
        return _plan(session, ctx, record, tenant, order, phone, free_text, language)
    except LimitExceeded as error:  # the month's messages are spent: said, not retried
        log.warning("automatic message %s (%s) over the limit", event, subject)
        record.outcome = "refused"
        record.reason = f"limit: {error.description}"
        return record, []


def _plan(session: Session, ctx: Context, record: AutomaticMessage, tenant: Tenant,
          order: Order, phone: str, free_text: Composed,
          language: str) -> tuple[AutomaticMessage, list[int]]:
    """The free text through the rules; outside the window the event's template instead."""
    event, tenant_id = record.event, tenant.id
    try:
        with session.begin_nested():
            planned = plan_outbound(session, ctx, tenant_id, phone, [free_text.message],
                                    delivery=free_text.delivery)
    except MessageRefused as refusal:
        if refusal.reason != "outside_window":
            return _refused(record, refusal), []
        try:
            template = _compose_template(session, tenant, order, event, language)
            if template is None:
                raise refusal
            with session.begin_nested():
                planned = plan_outbound(session, ctx, tenant_id, phone, [template.message],
                                        delivery=template.delivery)
        except MessageRefused as final:
            return _refused(record, final), []
    record.outcome = "sent"
    record.outbound_ids = planned.ids
    return record, planned.ids if planned.status == "queued" else []


def _refused(record: AutomaticMessage, refusal: MessageRefused) -> AutomaticMessage:
    log.warning("automatic message %s (%s) refused: %s", record.event, record.subject,
                refusal.reason)
    record.outcome = "refused"
    record.reason = f"{refusal.reason}: {refusal.description}"
    return record


def _values(tenant: Tenant, order: Order, language: str) -> dict[str, str]:
    reason = ""
    if order.cancel_reason:
        reason = texts.text("auto.cancel_reason", language).format(reason=order.cancel_reason)
    return {"shop": tenant.name, "reference": order_reference(order.id),
            "currency": order.currency, "amount": f"{order.total_minor / 100:,.2f}",
            "reason": reason}


def _compose_text(session: Session, tenant: Tenant, order: Order, event: str,
                  language: str) -> Composed:
    kind, urgent = EVENTS[event]
    body = texts.text(f"auto.{event}", language).format(**_values(tenant, order, language))
    return Composed(OutgoingMessage(body=body),
                    Delivery(kind=kind, urgent=urgent, language=language))


def _compose_template(session: Session, tenant: Tenant, order: Order, event: str,
                      language: str) -> Composed | None:
    """The tenant's template named after the event, filled with the values it names (None when
    the tenant has none: the refusal stays outside_window)."""
    template = session.scalar(select(MessageTemplate).where(
        MessageTemplate.tenant_id == tenant.id, MessageTemplate.name == event))
    if template is None:
        return None
    values = {name: value for name, value in _values(tenant, order, language).items()
              if name in template.placeholders and value.strip()}
    try:
        rendered = render_for(session, tenant.id, event, language, values)
    except InvalidInput as error:  # it names a value this event does not have
        log.warning("template %r cannot carry %s: %s", event, order_reference(order.id), error)
        return None
    kind, urgent = EVENTS[event]
    approved = rendered.approval == "approved" and rendered.content_sid is not None
    message = OutgoingMessage(body=rendered.text,
                              content_sid=rendered.content_sid if approved else None,
                              content_variables=rendered.content_variables)
    return Composed(message, Delivery(kind=kind, urgent=urgent, template_id=rendered.template_id,
                                      template=TemplateChoice(event, language, rendered.approval),
                                      language=language))
