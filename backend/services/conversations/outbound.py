"""Queueing a reply: store its messages in order (the outbox), then hand the batch to one
delivery job by id.

The rows are committed before anything is enqueued, so nothing depends on Redis keeping a job:
when Redis is unreachable the job runs in this process (queueing/runner.py); when it was enqueued but
no worker takes it within OUTBOX_IN_PROCESS_AFTER_SECONDS, this process sends it too; and the
sweep re-enqueues rows left queued (worker down, Redis lost its data). Sending claims each row,
so however many of these paths run, a row goes out once (services/conversations/delivery.py)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from datetime import UTC

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.wiring import Context
from backend.domain.errors import InvalidInput, LimitExceeded
from backend.domain.messaging import (
    REPLY,
    Consents,
    TemplateChoice,
    check_allowed,
    day_bounds,
    month_bounds,
    quiet_end,
    reaches_warning,
    waits_for_quiet_hours,
)
from backend.domain.phones import to_e164
from backend.services.platform.tiers import get_tier
from backend.queueing.names import DELIVER_OUTBOUND
from backend.queueing.runner import JobQueueUnavailable, RQRunner
from backend.models import Conversation, Customer, OutboundMessage, Tenant, UsageWarning
from backend.models.base import utcnow
from backend.services.conversations.conversations import current_conversation, in_reply_window
from backend.services.conversations.usage_notices import record_notices
from backend.services.platform.customers import find_customer
from backend.services.platform.limits import check_limit, messages_between, messages_this_month
from backend.services.platform.tenants import require_tenant

log = logging.getLogger(__name__)
# A sender holds a row in `sending` for one Twilio call (15 s timeout); after this long it died.
SENDING_LEASE = timedelta(minutes=5)
UNKNOWN_OUTCOME = (
    "outcome unknown: the sender stopped during the call to Twilio; not resent, so that the "
    "customer never gets it twice"
)


@dataclass(frozen=True)
class OutgoingMessage:
    body: str | None = None
    media_url: str | None = None
    # An approved template, sent through Twilio's Content API (body: its rendered text).
    content_sid: str | None = None
    content_variables: dict[str, str] | None = None
    # The same message as a list picker or reply buttons (kit/interactive.py), where it can go.
    interactive: dict[str, Any] | None = None


@dataclass(frozen=True)
class Delivery:
    """How a batch goes out: its kind (backend/domain/messaging.py), whether it may break quiet
    hours, when it should go (None: now) and the template it uses, if any."""

    kind: str = REPLY
    urgent: bool = False
    send_at: datetime | None = None
    template_id: int | None = None
    template: TemplateChoice | None = None
    language: str | None = None


@dataclass(frozen=True)
class Planned:
    ids: list[int]
    status: str  # queued (goes out now) | scheduled (waits for due_at)
    due_at: datetime
    deferred: list[str]  # why it waits: scheduled, quiet_hours, daily_limit
    warnings: list[str]  # the tier's limits at 80 % (said once per period)


@dataclass(frozen=True)
class SweepReport:
    requeued: list[int]  # outbox ids re-enqueued (first id of each batch's pending rows)
    unknown: list[int]  # left in `sending` by a sender that died: failed, never resent
    given_up: list[int]  # still queued after OUTBOX_GIVE_UP_HOURS: failed


def queue_outbound(
    ctx: Context,
    tenant_id: str,
    to: str,
    messages: Sequence[OutgoingMessage],
    in_reply_to: str | None = None,
) -> list[int]:
    """Store a reply's messages as queued and enqueue their delivery; returns their ids in
    order. A reply to an inbound message already answered returns the stored reply's ids."""
    phone = to_e164(to, field="to")
    ids = store_outbound(ctx, tenant_id, phone, messages, in_reply_to)
    enqueue_delivery(ctx, ids)
    return ids


def enqueue_delivery(ctx: Context, ids: list[int]) -> None:
    """Hand stored rows to a delivery job. Never raises for a missing queue: the rows are safe in
    the database and the sweep re-enqueues them."""
    try:
        ctx.jobs.enqueue(DELIVER_OUTBOUND, ids)
    except JobQueueUnavailable as error:  # no in-process fallback configured
        log.warning("outbound %s stays queued for the sweep: %s", ids, error)
        return
    _send_here_unless_taken(ctx, ids)


def _send_here_unless_taken(ctx: Context, ids: list[int]) -> None:
    """Enqueued on RQ: if no worker has taken the batch after OUTBOX_IN_PROCESS_AFTER_SECONDS
    (worker down or backed up), deliver it from this process as well; the claims make the
    second sender a no-op when the worker was first."""
    delay = ctx.settings.outbox_in_process_after_seconds
    if delay > 0 and isinstance(ctx.jobs, RQRunner):
        ctx.jobs.in_process_later(delay, DELIVER_OUTBOUND, ids,
                                  unless=lambda: not still_queued(ctx, ids))


def still_queued(ctx: Context, ids: list[int]) -> bool:
    with ctx.db.transaction() as session:
        return session.scalar(
            select(OutboundMessage.id)
            .where(OutboundMessage.id.in_(ids), OutboundMessage.status == "queued")
            .limit(1)
        ) is not None


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
    try:
        with ctx.db.transaction() as session:
            return add_outbound(session, ctx, tenant_id, phone, messages, in_reply_to)
    except IntegrityError:
        # The same reply posted twice at once: the other request stored it first.
        if in_reply_to is None:
            raise
        with ctx.db.transaction() as session:
            existing = reply_to(session, tenant_id, in_reply_to)
        if not existing:
            raise
        return existing


def reply_to(session: Session, tenant_id: str, in_reply_to: str) -> list[int]:
    """The ids already stored in reply to this inbound message, in order (none: [])."""
    return list(session.scalars(
        select(OutboundMessage.id)
        .where(OutboundMessage.tenant_id == tenant_id, OutboundMessage.in_reply_to == in_reply_to)
        .order_by(OutboundMessage.position, OutboundMessage.id)
    ))


def add_outbound(
    session: Session,
    ctx: Context,
    tenant_id: str,
    phone: str,
    messages: Sequence[OutgoingMessage],
    in_reply_to: str | None = None,
    delivery: Delivery = Delivery(),
) -> list[int]:
    """store_outbound inside the caller's transaction (so that the caller's own change, e.g. a
    payment marked notified, commits with the messages or not at all)."""
    return plan_outbound(session, ctx, tenant_id, phone, messages, in_reply_to, delivery).ids


def plan_outbound(
    session: Session,
    ctx: Context,
    tenant_id: str,
    phone: str,
    messages: Sequence[OutgoingMessage],
    in_reply_to: str | None = None,
    delivery: Delivery = Delivery(),
    now: datetime | None = None,
) -> Planned:
    """The one decision every outbound message passes (backend/domain/messaging.py): consent by
    kind, the 24-hour window, quiet hours, the tier's daily and monthly limits. Stores the batch
    as queued (due now) or scheduled (due later), or raises MessageRefused / LimitExceeded with
    nothing stored. The caller enqueues queued rows after its commit (enqueue_delivery)."""
    if not messages or any(not (m.body or m.media_url or m.content_sid) for m in messages):
        raise InvalidInput("Every message needs a body or a media_url")
    moment = now or utcnow()
    tenant = require_tenant(session, tenant_id)
    if in_reply_to is not None:
        existing = reply_to(session, tenant_id, in_reply_to)
        if existing:  # a retry of a reply already stored: answered once, whatever it says now
            return Planned(existing, "queued", moment, [], [])
    customer = find_customer(session, ctx.crypto, tenant_id, phone)
    due, deferred = _due_time(session, tenant, delivery, len(messages), moment)
    if delivery.kind != REPLY:
        check_allowed(delivery.kind, _consents(customer),
                      last_inbound_at(session, customer) if customer else None,
                      delivery.template, due)
    conversation = None
    if customer is not None and not deferred:
        conversation = current_conversation(session, customer, inbound=False, now=moment)
    if delivery.kind == REPLY and not in_reply_window(conversation, moment):
        check_limit(session, tenant.tier, "messages", messages_this_month(session, tenant, moment),
                    len(messages))
    status = "scheduled" if deferred else "queued"
    batch_id = uuid.uuid4().hex
    rows = [
        OutboundMessage(
            tenant_id=tenant_id,
            customer_id=customer.id if customer else None,
            conversation_id=conversation.id if conversation else None,
            to_phone_encrypted=ctx.crypto.encrypt(phone),
            to_phone_hash=ctx.crypto.keyed_hash(phone),
            body=message.body,
            media_url=message.media_url,
            content_sid=message.content_sid,
            content_variables=message.content_variables,
            interactive=message.interactive,
            in_reply_to=in_reply_to,
            status=status,
            kind=delivery.kind,
            urgent=delivery.urgent,
            due_at=due,
            template_id=delivery.template_id,
            language=delivery.language,
            batch_id=batch_id,
            position=position,
        )
        for position, message in enumerate(messages)
    ]
    session.add_all(rows)
    session.flush()
    warnings = usage_warnings(session, ctx, tenant, due) if delivery.kind != REPLY else []
    return Planned([row.id for row in rows], status, due, deferred, warnings)


def _consents(customer: Customer | None) -> Consents | None:
    if customer is None:
        return None
    return Consents(customer.consent_transactional, customer.consent_reminders,
                    customer.consent_promotional)


def last_inbound_at(session: Session, customer: Customer) -> datetime | None:
    """When the customer last wrote to the tenant (the 24-hour window starts there)."""
    latest: datetime | None = session.scalar(
        select(func.max(Conversation.last_inbound_at)).where(
            Conversation.tenant_id == customer.tenant_id, Conversation.customer_id == customer.id)
    )
    if latest is not None and latest.tzinfo is None:  # SQLite's max() returns the raw value
        latest = latest.replace(tzinfo=UTC)
    return latest


# A business message is never pushed further out than this by quiet hours and full days.
MAX_DEFERRAL_DAYS = 31


def _due_time(
    session: Session, tenant: Tenant, delivery: Delivery, count: int, now: datetime
) -> tuple[datetime, list[str]]:
    """When the batch may go out and why it waits: the requested time, then (business kinds)
    the end of quiet hours and the first day whose limit has room for it; a month without room
    is LimitExceeded."""
    due = max(delivery.send_at or now, now)
    deferred = ["scheduled"] if due > now else []
    if delivery.kind == REPLY:
        return due, deferred
    day_limit = get_tier(session, tenant.tier).max_messages_per_day
    for _ in range(2 * MAX_DEFERRAL_DAYS):
        if waits_for_quiet_hours(delivery.kind, delivery.urgent):
            after_quiet = quiet_end(tenant.quiet_hours, tenant.timezone, due)
            if after_quiet != due:
                due = after_quiet
                _add(deferred, "quiet_hours")
        if day_limit is None:
            break
        start, end = day_bounds(tenant.timezone, due)
        if count > day_limit:
            raise LimitExceeded(f"The {tenant.tier} tier allows {day_limit:,} messages a day; "
                                f"this batch has {count:,}.")
        if messages_between(session, tenant.id, start, end) + count <= day_limit:
            break
        due = end
        _add(deferred, "daily_limit")
    else:
        raise LimitExceeded(f"No day in the next {MAX_DEFERRAL_DAYS} has room for these messages")
    check_limit(session, tenant.tier, "messages", messages_this_month(session, tenant, due), count)
    return due, deferred


def _add(reasons: list[str], reason: str) -> None:
    if reason not in reasons:
        reasons.append(reason)


def usage_warnings(session: Session, ctx: Context, tenant: Tenant, due: datetime) -> list[str]:
    """Warn the merchant once per day and per month when messages reach 80 % of the tier's
    limit: recorded (GET /v1/messages/usage lists them), logged, said to the caller, and sent
    to the tenant's owners and admins on WhatsApp after the commit (usage_notices).
    Checked after each business batch is stored (its day may be a later one) and by the
    scheduler's sweep (check_usage), which catches a period pushed over by replies."""
    tier = get_tier(session, tenant.tier)
    said: list[str] = []
    for period, limit, (start, end) in (
        ("day", tier.max_messages_per_day, day_bounds(tenant.timezone, due)),
        ("month", tier.max_messages_per_month, month_bounds(tenant.timezone, due)),
    ):
        if limit is None:
            continue
        if session.scalar(select(UsageWarning.id).where(
                UsageWarning.tenant_id == tenant.id, UsageWarning.period == period,
                UsageWarning.period_start == start)) is not None:
            continue  # warned for this period already
        used = messages_between(session, tenant.id, start, end)
        if not reaches_warning(used, limit):
            continue
        try:
            with session.begin_nested():
                warning = UsageWarning(tenant_id=tenant.id, period=period, period_start=start,
                                       used=used, allowed=limit)
                session.add(warning)
        except IntegrityError:
            continue  # another batch warned for this period first
        record_notices(session, ctx, warning)  # its owners and admins told on WhatsApp
        text = (f"{used:,} of the {limit:,} messages a {period} of the {tier.name} tier are "
                f"used ({used * 100 // limit} %); past the daily limit messages wait for the "
                "next day, past the monthly one they are refused.")
        log.warning("usage warning for %s: %s", tenant.id, text)
        said.append(text)
    return said


def check_usage(ctx: Context, now: datetime | None = None) -> dict[str, list[str]]:
    """The scheduler's sweep: warn each tenant (not suspended) whose day or month reached 80 %
    of its tier's messages, once per period; returns the warnings given, by tenant."""
    moment = now or utcnow()
    with ctx.db.transaction() as session:
        tenant_ids = list(session.scalars(
            select(Tenant.id).where(Tenant.status != "suspended").order_by(Tenant.id)))
    given: dict[str, list[str]] = {}
    for tenant_id in tenant_ids:
        try:
            with ctx.db.transaction() as session:
                said = usage_warnings(session, ctx, require_tenant(session, tenant_id), moment)
        except IntegrityError:
            continue  # a batch or another sweep recorded it at the same moment
        if said:
            given[tenant_id] = said
    return given


def sweep_outbox(ctx: Context, now: datetime | None = None) -> SweepReport:
    """Re-enqueue batches whose rows sat queued for OUTBOX_STALE_SECONDS (their job was lost or
    no worker ran it); fail rows a dead sender left in `sending`, and rows too old to send."""
    moment = now or utcnow()
    stale_before = moment - timedelta(seconds=ctx.settings.outbox_stale_seconds)
    give_up_before = moment - timedelta(hours=ctx.settings.outbox_give_up_hours)
    with ctx.db.transaction() as session:
        unknown = _fail_where(session, "sending", moment - SENDING_LEASE, UNKNOWN_OUTCOME)
        given_up = _fail_where(
            session, "queued", give_up_before,
            f"not sent within {ctx.settings.outbox_give_up_hours} h", by_due_time=True)
        rows = session.execute(
            select(OutboundMessage.id, OutboundMessage.batch_id)
            .where(OutboundMessage.status == "queued", OutboundMessage.updated_at < stale_before)
            .order_by(OutboundMessage.batch_id, OutboundMessage.position, OutboundMessage.id)
        ).all()
        batches: dict[str, list[int]] = {}
        for row in rows:
            batches.setdefault(row.batch_id, []).append(row.id)
        if rows:
            # Touched, so the next sweep waits another period before enqueuing them again.
            session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id.in_([row.id for row in rows]),
                       OutboundMessage.status == "queued")
                .values(updated_at=moment)
                .execution_options(synchronize_session=False)
            )
    for ids in batches.values():
        enqueue_delivery(ctx, ids)
    if batches or unknown or given_up:
        log.warning("outbox sweep: re-enqueued %d batch(es), %d unknown, %d given up",
                    len(batches), len(unknown), len(given_up))
    return SweepReport([ids[0] for ids in batches.values()], unknown, given_up)


def _fail_where(
    session: Session, status: str, before: datetime, error: str, by_due_time: bool = False
) -> list[int]:
    # Queued too long counts from when it was due (a scheduled message is due later than made).
    column = OutboundMessage.due_at if by_due_time else OutboundMessage.updated_at
    ids = list(session.scalars(
        select(OutboundMessage.id).where(OutboundMessage.status == status, column < before)
    ))
    if ids:
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id.in_(ids), OutboundMessage.status == status)
            .values(status="failed", error=error, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return ids
