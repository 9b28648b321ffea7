"""Business-initiated messages: a merchant (or the platform) sends or schedules a message to a
customer; scheduled and deferred messages are released by the scheduler when they come due.

Everything passes the one decision in outbound.plan_outbound (consent by kind, the 24-hour
window, quiet hours, the tier's limits): a refusal is raised with its reason and stores nothing;
an accepted message is queued now or scheduled, and a worker job sends it. When a message comes
due the rules are checked again (the customer may have said STOP, the window may have closed):
a message they now refuse is cancelled with the reason, never sent."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.wiring import Context
from backend.domain.errors import Conflict, InvalidInput
from backend.domain.messaging import (
    BUSINESS_KINDS,
    WARN_AT,
    Consents,
    MessageRefused,
    TemplateChoice,
    check_allowed,
    day_bounds,
    month_bounds,
    quiet_end,
    waits_for_quiet_hours,
)
from backend.services.platform.tiers import get_tier
from backend.models import (
    Customer,
    MessageTemplate,
    MessageTemplateVariant,
    OutboundMessage,
    UsageWarning,
)
from backend.models.base import utcnow
from backend.services.conversations.conversations import current_conversation
from backend.services.conversations.outbound import (
    Delivery,
    OutgoingMessage,
    Planned,
    enqueue_delivery,
    last_inbound_at,
    plan_outbound,
)
from backend.services.conversations.templates import render_for
from backend.services.conversations.usage_notices import notice_counts
from backend.services.platform.limits import messages_between
from backend.services.platform.pages import Page, check_page, fetch_page
from backend.services.platform.scoped import tenant_row
from backend.services.platform.tenants import require_tenant

log = logging.getLogger(__name__)
# How many due messages one release sweep takes (the next sweep takes the rest).
RELEASE_BATCH = 500


@dataclass(frozen=True)
class SendRequest:
    customer_id: int
    kind: str
    text: str | None = None
    media_url: str | None = None
    template: str | None = None  # a template's name
    variables: dict[str, str] | None = None
    urgent: bool = False
    send_at: datetime | None = None


@dataclass(frozen=True)
class SendResult:
    ids: list[int]
    status: str
    due_at: datetime
    deferred: list[str]
    warnings: list[str]
    language: str


@dataclass(frozen=True)
class OutboundView:
    id: int
    customer_id: int | None
    kind: str
    status: str
    body: str | None
    template_id: int | None
    language: str | None
    urgent: bool
    due_at: datetime
    provider_sid: str | None
    error: str | None
    error_code: int | None
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class ReleaseReport:
    released: int
    waiting: int  # moved to the end of quiet hours
    cancelled: int  # refused by the rules when they came due


def send_message(ctx: Context, tenant_id: str, request: SendRequest) -> SendResult:
    """Decide and store the message (queued, or scheduled when it must wait), then hand what is
    due now to a delivery job. MessageRefused / LimitExceeded / InvalidInput: nothing stored."""
    if request.kind not in BUSINESS_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(BUSINESS_KINDS)}")
    if request.send_at is not None and request.send_at.tzinfo is None:
        raise InvalidInput("send_at needs a timezone (e.g. 2026-12-24T09:00:00+03:00)")
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        customer = session.scalar(select(Customer).where(
            Customer.tenant_id == tenant_id, Customer.id == request.customer_id))
        if customer is None:
            raise MessageRefused("unknown_customer")
        language = customer.language or tenant.primary_language or "en"
        message, delivery = _compose(session, tenant_id, request, language)
        phone = ctx.crypto.decrypt(customer.phone_encrypted)
        planned: Planned = plan_outbound(session, ctx, tenant_id, phone, [message],
                                         delivery=delivery)
        if request.template is not None and delivery.template_id is not None:
            template = session.get(MessageTemplate, delivery.template_id)
            assert template is not None
            template.usage_count += 1
    if planned.status == "queued":
        enqueue_delivery(ctx, planned.ids)
    return SendResult(planned.ids, planned.status, planned.due_at, planned.deferred,
                      planned.warnings, delivery.language or language)


def _compose(session: Session, tenant_id: str, request: SendRequest,
             language: str) -> tuple[OutgoingMessage, Delivery]:
    """The message and how it goes: free text, or the template's variant in the customer's
    language rendered with the variables (sent by ContentSid once WhatsApp approved it)."""
    if (request.template is None) == (request.text is None and request.media_url is None):
        raise InvalidInput("Send either text (and/or media_url) or a template, not both")
    base = Delivery(kind=request.kind, urgent=request.urgent, send_at=request.send_at,
                    language=language)
    if request.template is None:
        return OutgoingMessage(body=request.text, media_url=request.media_url), base
    rendered = render_for(session, tenant_id, request.template, language,
                          request.variables or {})
    approved = rendered.approval == "approved" and rendered.content_sid is not None
    message = OutgoingMessage(
        body=rendered.text,
        content_sid=rendered.content_sid if approved else None,
        content_variables=rendered.content_variables,
    )
    choice = TemplateChoice(request.template, rendered.language, rendered.approval)
    return message, Delivery(kind=request.kind, urgent=request.urgent, send_at=request.send_at,
                             template_id=rendered.template_id, template=choice,
                             language=rendered.language)


def list_messages(
    ctx: Context, tenant_id: str, *, status: str | None = None, customer_id: int | None = None,
    page: int = 1, page_size: int = 50,
) -> Page[OutboundView]:
    """The tenant's outbound messages, newest first; `status=scheduled` lists what waits."""
    check_page(page, page_size)
    query = select(OutboundMessage).where(OutboundMessage.tenant_id == tenant_id)
    if status is not None:
        query = query.where(OutboundMessage.status == status)
    if customer_id is not None:
        query = query.where(OutboundMessage.customer_id == customer_id)
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        count, rows = fetch_page(session, query, page, page_size,
                                 OutboundMessage.id.desc())
        return Page(count, page, page_size, [_view(row) for row in rows])


def get_message(ctx: Context, tenant_id: str, message_id: int) -> OutboundView:
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        return _view(tenant_row(session, OutboundMessage, message_id, tenant_id, "message"))


def cancel_message(ctx: Context, tenant_id: str, message_id: int) -> OutboundView:
    """Cancel a message still waiting (scheduled); one already queued or sent cannot be."""
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        row = tenant_row(session, OutboundMessage, message_id, tenant_id, "message")
        if row.status != "scheduled":
            raise Conflict(f"Only a scheduled message can be cancelled; this one is {row.status}")
        row.status = "cancelled"
        row.error = "cancelled by the merchant"
        session.flush()
        return _view(row)


def release_due(ctx: Context, now: datetime | None = None) -> ReleaseReport:
    """The scheduler's sweep: scheduled messages whose time came are checked against the rules
    again and queued (or wait for quiet hours, or are cancelled with the reason)."""
    moment = now or utcnow()
    released: list[list[int]] = []
    waiting = cancelled = 0
    with ctx.db.transaction() as session:
        rows = session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.status == "scheduled", OutboundMessage.due_at <= moment)
            .order_by(OutboundMessage.due_at, OutboundMessage.batch_id, OutboundMessage.position)
            .limit(RELEASE_BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        batches: dict[str, list[OutboundMessage]] = {}
        for row in rows:
            batches.setdefault(row.batch_id, []).append(row)
        for batch in batches.values():
            outcome = _release(session, batch, moment)
            if outcome == "queued":
                released.append([row.id for row in batch])
            elif outcome == "waiting":
                waiting += len(batch)
            else:
                cancelled += len(batch)
    for ids in released:
        enqueue_delivery(ctx, ids)
    if released or cancelled:
        log.info("released %d scheduled batch(es); %d cancelled by the rules",
                 len(released), cancelled)
    return ReleaseReport(sum(len(ids) for ids in released), waiting, cancelled)


def _release(session: Session, batch: Sequence[OutboundMessage], now: datetime) -> str:
    first = batch[0]
    tenant = require_tenant(session, first.tenant_id)
    customer = session.get(Customer, first.customer_id) if first.customer_id else None
    if first.kind != "reply":
        if waits_for_quiet_hours(first.kind, first.urgent):
            ends = quiet_end(tenant.quiet_hours, tenant.timezone, now)
            if ends != now:
                for row in batch:
                    row.due_at = ends
                return "waiting"
        choice = _template_now(session, first)
        try:
            consents = (Consents(customer.consent_transactional, customer.consent_reminders,
                                 customer.consent_promotional) if customer else None)
            check_allowed(first.kind, consents,
                          last_inbound_at(session, customer) if customer else None, choice, now)
        except MessageRefused as refusal:
            for row in batch:
                row.status = "cancelled"
                row.error = f"refused when due ({refusal.reason}): {refusal.description}"
            return "cancelled"
    conversation = current_conversation(session, customer, inbound=False, now=now) \
        if customer else None
    for row in batch:
        row.status = "queued"
        row.updated_at = now
        if conversation is not None:
            row.conversation_id = conversation.id
    return "queued"


def _template_now(session: Session, row: OutboundMessage) -> TemplateChoice | None:
    """The template's approval as it stands now; a variant approved since it was scheduled is
    sent by its ContentSid."""
    if row.template_id is None:
        return None
    variant = session.scalar(select(MessageTemplateVariant).where(
        MessageTemplateVariant.template_id == row.template_id,
        MessageTemplateVariant.language == row.language))
    template = session.get(MessageTemplate, row.template_id)
    if variant is None or template is None:
        return TemplateChoice("(deleted)", row.language or "", "rejected")
    if variant.approval == "approved" and variant.content_sid and row.content_sid is None:
        row.content_sid = variant.content_sid
    return TemplateChoice(template.name, variant.language, variant.approval)


def _view(row: OutboundMessage) -> OutboundView:
    return OutboundView(
        id=row.id, customer_id=row.customer_id, kind=row.kind, status=row.status, body=row.body,
        template_id=row.template_id, language=row.language, urgent=row.urgent,
        due_at=row.due_at, provider_sid=row.provider_sid, error=row.error,
        error_code=row.error_code, attempts=row.attempts, created_at=row.created_at)



def message_usage(ctx: Context, tenant_id: str, now: datetime | None = None) -> dict[str, Any]:
    """Today's and this month's messages against the tier's limits, and the warnings given."""
    moment = now or utcnow()
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        tier = get_tier(session, tenant.tier)
        periods: dict[str, Any] = {}
        for period, limit, (start, end) in (
            ("day", tier.max_messages_per_day, day_bounds(tenant.timezone, moment)),
            ("month", tier.max_messages_per_month, month_bounds(tenant.timezone, moment)),
        ):
            used = messages_between(session, tenant_id, start, end)
            periods[period] = {"used": used, "limit": limit,
                               "warning": bool(limit) and used >= WARN_AT * limit}
        warnings = session.scalars(select(UsageWarning).where(
            UsageWarning.tenant_id == tenant_id).order_by(UsageWarning.id.desc()).limit(20)).all()
        notices = notice_counts(session, [w.id for w in warnings])
        periods["warnings"] = [
            {"period": w.period, "period_start": w.period_start.isoformat(), "used": w.used,
             "allowed": w.allowed, "created_at": w.created_at.isoformat(),
             "notices": notices[w.id]} for w in warnings]
        return periods
