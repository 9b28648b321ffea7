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
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kit import texts

from backend.wiring import Context
from backend.domain.errors import InvalidInput, LimitExceeded, NotFound
from backend.domain.messaging import MessageRefused, TemplateChoice
from backend.domain.notifications import AUTOMATIC_KINDS, EVENTS, REMINDERS, is_on
from backend.domain.payments import order_reference
from backend.models import (
    Appointment,
    AutomaticMessage,
    Customer,
    MessageTemplate,
    Order,
    OutboundMessage,
    Service,
    Tenant,
)
from backend.models.base import utcnow
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


# A noted event whose job has not handled it this long after is queued again by the sweep (its job
# was never queued, Redis being down, or was lost); older than a day it is left as it is, pending.
PENDING_GRACE = timedelta(minutes=2)
PENDING_HORIZON = timedelta(days=1)
REDISPATCH_BATCH = 500


@dataclass(frozen=True)
class NotedEvent:
    """An event recorded with the change that made it, to hand to the job after the commit."""
    tenant_id: str
    event: str
    subject_id: int
    version: str | None = None


def subject_of(event: str, subject_id: int, version: str | None = None) -> str:
    base = f"order:{subject_id}" if event.startswith("order_") else f"appointment:{subject_id}"
    return base + (f"@{version}" if version else "")


def parse_subject(subject: str) -> tuple[int, str | None]:
    """(subject id, version) of a subject_of() string."""
    reference, _, version = subject.partition(":")[2].partition("@")
    return int(reference), version or None


def note_event(session: Session, tenant_id: str, event: str, subject_id: int,
               customer_id: int | None, version: str | None = None) -> NotedEvent:
    """Record the event as pending in the caller's transaction (an outbox): it commits with the
    change itself, so an event whose job is never queued or is lost is queued again by the
    sweep (redispatch_pending) instead of being forgotten."""
    if event not in EVENTS:
        raise InvalidInput(f"Unknown automatic message {event!r}")
    subject = subject_of(event, subject_id, version)
    if session.scalar(select(AutomaticMessage.id).where(
            AutomaticMessage.tenant_id == tenant_id, AutomaticMessage.event == event,
            AutomaticMessage.subject == subject)) is None:
        session.add(AutomaticMessage(tenant_id=tenant_id, event=event, subject=subject,
                                     customer_id=customer_id, outcome="pending",
                                     outbound_ids=[]))
        session.flush()
    return NotedEvent(tenant_id, event, subject_id, version)


def queue_event(ctx: Context, noted: NotedEvent) -> None:
    """Hand a noted event to the NOTIFY_EVENT job; call after the change committed. `version`
    tells apart events that may happen more than once to the same subject (each reschedule)."""
    try:
        ctx.jobs.enqueue(NOTIFY_EVENT, noted.tenant_id, noted.event, noted.subject_id,
                         noted.version)
    except JobQueueUnavailable as error:
        log.warning("automatic message %s for %s not queued now (the sweep queues it): %s",
                    noted.event, noted.subject_id, error)


def redispatch_pending(ctx: Context, now: datetime | None = None) -> int:
    """Queue again each event noted more than PENDING_GRACE ago and still pending (less than
    PENDING_HORIZON old); the job handles each once however often it is queued. Returns how
    many were queued; with the queue still down it raises, and the next sweep tries again."""
    moment = now or utcnow()
    with ctx.db.transaction() as session:
        rows = session.execute(
            select(AutomaticMessage.tenant_id, AutomaticMessage.event, AutomaticMessage.subject)
            .where(AutomaticMessage.outcome == "pending",
                   AutomaticMessage.created_at < moment - PENDING_GRACE,
                   AutomaticMessage.created_at >= moment - PENDING_HORIZON)
            .order_by(AutomaticMessage.id).limit(REDISPATCH_BATCH)).all()
    for tenant_id, event, subject in rows:
        subject_id, version = parse_subject(subject)
        ctx.jobs.enqueue(NOTIFY_EVENT, tenant_id, event, subject_id, version)
    return len(rows)


def notify_event(ctx: Context, tenant_id: str, event: str, subject_id: int,
                 version: str | None = None, now: datetime | None = None) -> str:
    """Send (or refuse, or skip) the event's message once, and an appointment's reminders;
    returns the outcome, or "duplicate" when this event was already handled."""
    if event not in EVENTS:
        raise InvalidInput(f"Unknown automatic message {event!r}")
    moment = now or utcnow()
    try:
        with ctx.db.transaction() as session:
            if event.startswith("order_"):
                outcome, ids = _order_event(session, ctx, tenant_id, event, subject_id)
            else:
                outcome, ids = _appointment_event(session, ctx, tenant_id, event, subject_id,
                                                  version, moment)
    except IntegrityError:
        return "duplicate"  # a second run of the job recorded it at the same moment
    if ids:
        enqueue_delivery(ctx, ids)
    return outcome


def _order_event(session: Session, ctx: Context, tenant_id: str, event: str,
                 order_id: int) -> tuple[str, list[int]]:
    order = session.scalar(select(Order).where(Order.tenant_id == tenant_id,
                                               Order.id == order_id))
    if order is None:
        raise NotFound(f"No order {order_id}")
    tenant = session.get_one(Tenant, tenant_id)
    customer = session.get_one(Customer, order.customer_id)
    language = customer_language(tenant, customer)
    return announce(session, ctx, tenant, customer, event, f"order:{order_id}",
                     _order_values(tenant, order, language), language)


def _appointment_event(session: Session, ctx: Context, tenant_id: str, event: str,
                       appointment_id: int, version: str | None,
                       now: datetime) -> tuple[str, list[int]]:
    """The event's message; while the appointment stays booked, its reminders (scheduled for
    its current time; a move or a cancellation cancels them, cancel_reminders)."""
    # Locked: a cancellation waits for this job, so no reminder outlives its appointment.
    appointment = session.scalar(select(Appointment).where(
        Appointment.tenant_id == tenant_id, Appointment.id == appointment_id).with_for_update())
    if appointment is None:
        raise NotFound(f"No appointment {appointment_id}")
    tenant = session.get_one(Tenant, tenant_id)
    customer = session.get_one(Customer, appointment.customer_id)
    language = customer_language(tenant, customer)
    values = _appointment_values(session, tenant, appointment)
    subject = subject_of(event, appointment_id, version)
    outcome, ids = announce(session, ctx, tenant, customer, event, subject, values, language)
    if appointment.status == "booked":
        for reminder, before in REMINDERS.items():
            send_at = appointment.starts_at - before
            if send_at <= now:
                continue  # booked too late for this one
            _, more = announce(session, ctx, tenant, customer, reminder,
                                _reminder_subject(appointment), values, language, send_at)
            ids += more
    return outcome, ids


def _reminder_subject(appointment: Appointment) -> str:
    return f"appointment:{appointment.id}@{appointment.starts_at.astimezone(UTC).isoformat()}"


def cancel_reminders(session: Session, tenant_id: str, appointment_id: int) -> int:
    """Cancel the appointment's reminders not sent yet, and forget them, so the reminders of its
    new time are scheduled afresh (even when it moves back); returns how many were cancelled.
    Called in the transaction that moves or cancels the appointment."""
    records = list(session.scalars(select(AutomaticMessage).where(
        AutomaticMessage.tenant_id == tenant_id,
        AutomaticMessage.event.in_(tuple(REMINDERS)),
        AutomaticMessage.subject.startswith(f"appointment:{appointment_id}@"),
    ).with_for_update()))
    ids = [i for record in records for i in record.outbound_ids]
    cancelled = 0
    if ids:
        cancelled = session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.tenant_id == tenant_id, OutboundMessage.id.in_(ids),
                   OutboundMessage.status == "scheduled")
            .values(status="cancelled", error="the appointment was moved or cancelled",
                    updated_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
    for record in records:
        session.delete(record)
    session.flush()
    return cancelled


def customer_language(tenant: Tenant, customer: Customer) -> str:
    return texts.reply_language(customer.language or tenant.primary_language)


def announce(session: Session, ctx: Context, tenant: Tenant, customer: Customer, event: str,
              subject: str, values: dict[str, str], language: str,
              send_at: datetime | None = None,
              now: datetime | None = None) -> tuple[str, list[int]]:
    """One event's message through the rules, recorded once; (outcome, ids to enqueue now).
    `now`: the moment the rules are judged at (the sweep's clock; default the real one). An
    event noted as pending (note_event) is locked, so a second job waits and finds it done."""
    record = session.scalar(select(AutomaticMessage).where(
        AutomaticMessage.tenant_id == tenant.id, AutomaticMessage.event == event,
        AutomaticMessage.subject == subject).with_for_update())
    if record is not None and record.outcome != "pending":
        return "duplicate", []
    if record is None:
        record = AutomaticMessage(tenant_id=tenant.id, event=event, subject=subject,
                                  customer_id=customer.id, outbound_ids=[])
    ids: list[int] = []
    if not is_on(tenant.features, event):
        record.outcome = "off"
    else:
        record, ids = _decide(session, ctx, record, tenant, customer, values, language, send_at,
                              now)
    session.add(record)
    session.flush()
    return record.outcome, ids


def _decide(session: Session, ctx: Context, record: AutomaticMessage, tenant: Tenant,
            customer: Customer, values: dict[str, str], language: str,
            send_at: datetime | None, now: datetime | None) -> tuple[AutomaticMessage, list[int]]:
    phone = ctx.crypto.decrypt(customer.phone_encrypted)
    kind, urgent = AUTOMATIC_KINDS[record.event]
    body = texts.text(f"auto.{record.event}", language).format(**values)
    free_text = Composed(OutgoingMessage(body=body),
                         Delivery(kind=kind, urgent=urgent, send_at=send_at, language=language))
    try:
        return _plan(session, ctx, record, tenant, phone, free_text, values, language, send_at,
                     now)
    except LimitExceeded as error:  # the month's messages are spent: said, not retried
        log.warning("automatic message %s (%s) over the limit", record.event, record.subject)
        record.outcome = "refused"
        record.reason = f"limit: {error.description}"
        return record, []


def _plan(session: Session, ctx: Context, record: AutomaticMessage, tenant: Tenant,
          phone: str, free_text: Composed, values: dict[str, str], language: str,
          send_at: datetime | None, now: datetime | None) -> tuple[AutomaticMessage, list[int]]:
    """The free text through the rules; outside the window the event's template instead."""
    try:
        with session.begin_nested():
            planned = plan_outbound(session, ctx, tenant.id, phone, [free_text.message],
                                    delivery=free_text.delivery, now=now)
    except MessageRefused as refusal:
        if refusal.reason != "outside_window":
            return _refused(record, refusal), []
        try:
            template = _compose_template(session, tenant, record.event, values, language,
                                         send_at)
            if template is None:
                raise refusal
            with session.begin_nested():
                planned = plan_outbound(session, ctx, tenant.id, phone, [template.message],
                                        delivery=template.delivery, now=now)
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


def _order_values(tenant: Tenant, order: Order, language: str) -> dict[str, str]:
    reason = ""
    if order.cancel_reason:
        reason = texts.text("auto.cancel_reason", language).format(reason=order.cancel_reason)
    shipping = ""
    if order.courier or order.tracking:
        shipping = texts.text("auto.shipping", language).format(
            courier=order.courier or "-", tracking=order.tracking or "-")
    return {"shop": tenant.name, "reference": order_reference(order.id),
            "currency": order.currency, "amount": f"{order.total_minor / 100:,.2f}",
            "reason": reason, "shipping": shipping, "courier": order.courier or "",
            "tracking": order.tracking or ""}


def _appointment_values(session: Session, tenant: Tenant,
                        appointment: Appointment) -> dict[str, str]:
    service = session.get_one(Service, appointment.service_id)
    local = appointment.starts_at.astimezone(ZoneInfo(tenant.timezone))
    return {"shop": tenant.name, "service": service.name,
            "when": local.strftime("%d/%m/%Y %H:%M")}


def _compose_template(session: Session, tenant: Tenant, event: str, values: dict[str, str],
                      language: str, send_at: datetime | None) -> Composed | None:
    """The tenant's template named after the event, filled with the values it names (None when
    the tenant has none: the refusal stays outside_window)."""
    template = session.scalar(select(MessageTemplate).where(
        MessageTemplate.tenant_id == tenant.id, MessageTemplate.name == event))
    if template is None:
        return None
    chosen = {name: value for name, value in values.items()
              if name in template.placeholders and value.strip()}
    try:
        rendered = render_for(session, tenant.id, event, language, chosen)
    except InvalidInput as error:  # it names a value this event does not have
        log.warning("template %r cannot be filled: %s", event, error)
        return None
    kind, urgent = AUTOMATIC_KINDS[event]
    approved = rendered.approval == "approved" and rendered.content_sid is not None
    message = OutgoingMessage(body=rendered.text,
                              content_sid=rendered.content_sid if approved else None,
                              content_variables=rendered.content_variables)
    return Composed(message, Delivery(kind=kind, urgent=urgent, send_at=send_at,
                                      template_id=rendered.template_id,
                                      template=TemplateChoice(event, rendered.language,
                                                              rendered.approval),
                                      language=rendered.language))
