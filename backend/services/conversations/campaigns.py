"""Campaigns: one promotional template (or several, A/B) to a segment of a tenant's customers.

The request only checks and stores the campaign (segment, variants, send time) and enqueues a
job; nothing is sent in it. The start job materialises the recipients in batches (one row per
campaign and customer, the variant given by the campaign's seeded split) and enqueues one send
job per batch. A send job passes each recipient through the one decision every business message
passes (outbound.plan_outbound: promotional consent, the 24-hour window — outside it only the
approved template —, quiet hours, the tier's daily limit that moves the rest to the next day and
its monthly one that refuses), records the outcome on the recipient in the same transaction as
the outbound message, then delivers what is due now. A worker killed halfway re-runs the batch:
planned recipients are skipped, their messages are claimed once by the sender (delivery.py), so no
customer gets two."""

from __future__ import annotations

import csv
import io
import logging
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, insert, literal, select, update
from sqlalchemy.orm import Session

from backend.wiring import Context
from backend.domain.campaigns import (
    CONVERSION_WINDOW,
    KIND,
    MAX_VARIANTS,
    PLACED_STATUSES,
    SPENT_STATUSES,
    CampaignRefused,
    Segment,
    label,
    shuffled,
    split,
)
from backend.domain.errors import Conflict, InvalidInput, LimitExceeded, NotFound
from backend.domain.messaging import (
    WINDOW,
    MessageRefused,
    TemplateChoice,
    day_bounds,
    month_bounds,
    quiet_end,
)
from backend.services.platform.tiers import get_tier
from backend.models import (
    Appointment,
    Campaign,
    CampaignRecipient,
    CampaignVariant,
    Conversation,
    Customer,
    CustomerTag,
    InboundMessage,
    MessageTemplate,
    MessageTemplateVariant,
    Order,
    OutboundMessage,
    Tenant,
)
from backend.models.base import utcnow
from backend.queueing.names import SEND_CAMPAIGN_BATCH, START_CAMPAIGN
from backend.queueing.runner import JobQueueUnavailable
from backend.services.conversations.delivery import DeliveryReport, deliver_batch
from backend.services.conversations.outbound import (
    Delivery,
    OutgoingMessage,
    plan_outbound,
)
from backend.services.conversations.templates import Rendered, check_values, render_for
from backend.services.platform.limits import messages_between
from backend.services.platform.pages import Page, check_page, fetch_page
from backend.services.platform.scoped import tenant_row
from backend.services.platform.tenants import require_tenant

log = logging.getLogger(__name__)
# Recipients per send job (and per materialising transaction).
BATCH_SIZE = 200
# Recipients planned per transaction inside a send job (a crash loses at most these plans).
PLAN_CHUNK = 50
# Messages a send job has in flight at once (each thread waits on its own Twilio call).
DELIVERY_THREADS = 4
# A campaign left queued or sending this long without progress is started again by the sweep.
STALE_AFTER = timedelta(minutes=10)
SENT = ("sent", "delivered", "read")
DELIVERED = ("delivered", "read")
MAX_TAGS = 20


@dataclass(frozen=True)
class VariantRequest:
    template: str
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CampaignRequest:
    name: str
    segment: Segment
    variants: Sequence[VariantRequest]
    send_at: datetime | None = None


@dataclass(frozen=True)
class VariantView:
    label: str
    template: str
    template_id: int | None
    variables: dict[str, str]


@dataclass(frozen=True)
class CampaignView:
    id: int
    name: str
    status: str
    segment: dict[str, Any]
    send_at: datetime
    variants: list[VariantView]
    recipients: int
    outcomes: dict[str, int]  # pending, planned, refused, cancelled
    error: str | None
    created_at: datetime


@dataclass(frozen=True)
class _Audience:
    """The segment's customers: who may get a campaign (promotional consent) and who not."""

    matched: int
    consenting: list[tuple[int, str]]  # (customer id, language), sorted by id


# ---------------------------------------------------------------------------------- segments


def _audience_query(tenant: Tenant, segment: Segment) -> Select[Any]:
    """The tenant's customers matching the segment (consent aside): id, language, consent."""
    language = func.coalesce(Customer.language, literal(tenant.primary_language or "en"))
    query = select(Customer.id, language.label("language"),
                   Customer.consent_promotional).where(Customer.tenant_id == tenant.id)
    if segment.languages:
        query = query.where(language.in_(segment.languages))
    if segment.tags:
        query = query.where(Customer.id.in_(select(CustomerTag.customer_id).where(
            CustomerTag.tenant_id == tenant.id, CustomerTag.tag.in_(segment.tags))))
    if segment.last_order_before is not None or segment.last_order_after is not None:
        last = (select(Order.customer_id, func.max(Order.placed_at).label("last"))
                .where(Order.tenant_id == tenant.id, Order.status.in_(PLACED_STATUSES),
                       Order.placed_at.is_not(None))
                .group_by(Order.customer_id).subquery())
        query = query.join(last, last.c.customer_id == Customer.id)
        if segment.last_order_before is not None:
            query = query.where(last.c.last < segment.last_order_before)
        if segment.last_order_after is not None:
            query = query.where(last.c.last >= segment.last_order_after)
    if segment.total_spent_min is not None or segment.total_spent_max is not None:
        spent = (select(Order.customer_id, func.sum(Order.total_minor).label("spent"))
                 .where(Order.tenant_id == tenant.id, Order.status.in_(SPENT_STATUSES))
                 .group_by(Order.customer_id).subquery())
        query = query.outerjoin(spent, spent.c.customer_id == Customer.id)
        total = func.coalesce(spent.c.spent, 0)
        if segment.total_spent_min is not None:
            query = query.where(total >= segment.total_spent_min)
        if segment.total_spent_max is not None:
            query = query.where(total <= segment.total_spent_max)
    if segment.has_bookings is not None:
        booked = select(Appointment.customer_id).where(Appointment.tenant_id == tenant.id)
        query = query.where(Customer.id.in_(booked) if segment.has_bookings
                            else Customer.id.not_in(booked))
    return query


def _audience(session: Session, tenant: Tenant, segment: Segment) -> _Audience:
    rows = session.execute(_audience_query(tenant, segment).order_by(Customer.id)).all()
    return _Audience(len(rows), [(row.id, row.language) for row in rows
                                 if row.consent_promotional])


def _check_reachable(session: Session, tenant: Tenant, audience: _Audience) -> None:
    if audience.consenting:
        return
    anyone = session.scalar(select(Customer.id).where(
        Customer.tenant_id == tenant.id, Customer.consent_promotional.is_(True)).limit(1))
    if anyone is None:
        raise CampaignRefused("no_promotional_consent")
    raise CampaignRefused("empty_audience", matched=audience.matched)


# ---------------------------------------------------------------------------------- variants


@dataclass(frozen=True)
class _Template:
    id: int
    name: str
    placeholders: list[str]
    bodies: dict[str, str]  # language → text
    approvals: dict[str, str]  # language → pending | approved | rejected


def _templates(session: Session, tenant_id: str,
               variants: Sequence[VariantRequest]) -> list[_Template]:
    """Each variant's template, its variables checked against every language's text
    (InvalidInput naming the variant for unknown or missing ones, or an unknown template)."""
    if not 1 <= len(variants) <= MAX_VARIANTS:
        raise InvalidInput(f"A campaign has 1 to {MAX_VARIANTS} variants")
    found: list[_Template] = []
    for index, wanted in enumerate(variants):
        where = f"variants.{index}"
        template = session.scalar(select(MessageTemplate).where(
            MessageTemplate.tenant_id == tenant_id, MessageTemplate.name == wanted.template))
        if template is None:
            raise InvalidInput("Unknown template", {
                f"{where}.template": [f"No template named {wanted.template!r}"]})
        rows = session.scalars(select(MessageTemplateVariant).where(
            MessageTemplateVariant.template_id == template.id)).all()
        for row in rows:
            try:
                check_values(row.body, list(template.placeholders), wanted.variables)
            except InvalidInput as error:
                raise InvalidInput(
                    f"Variant {label(index)} ({template.name}, {row.language}): "
                    f"{error.description}",
                    {f"{where}.{key}": value for key, value in (error.field_errors or {}).items()},
                ) from error
        found.append(_Template(template.id, template.name, list(template.placeholders),
                               {row.language: row.body for row in rows},
                               {row.language: row.approval for row in rows}))
    return found


def _check_languages(templates: Sequence[_Template], audience: _Audience) -> None:
    """Every variant can speak every recipient's language (the split may give anyone any)."""
    needed = Counter(language for _, language in audience.consenting)
    for template in templates:
        missing = sorted(set(needed) - set(template.bodies))
        if missing:
            raise CampaignRefused("template_language_missing", template=template.name,
                                  languages=", ".join(missing),
                                  count=sum(needed[lang] for lang in missing))


# ---------------------------------------------------------------------------------- create


def create_campaign(ctx: Context, tenant_id: str, request: CampaignRequest,
                    now: datetime | None = None) -> CampaignView:
    """Check and store the campaign, then enqueue its start (now) or leave it to the scheduler
    (send_at later). Every refusal is raised before anything is stored."""
    moment = now or utcnow()
    if request.send_at is not None and request.send_at.tzinfo is None:
        raise InvalidInput("send_at needs a timezone (e.g. 2026-12-24T09:00:00+03:00)")
    send_at = max(request.send_at or moment, moment)
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        templates = _templates(session, tenant_id, request.variants)
        audience = _audience(session, tenant, request.segment)
        _check_reachable(session, tenant, audience)
        _check_languages(templates, audience)
        campaign = Campaign(tenant_id=tenant_id, name=request.name,
                            status="scheduled" if send_at > moment else "queued",
                            segment=request.segment.to_json(), send_at=send_at,
                            seed=secrets.randbelow(2**31), recipients=0, batches=0)
        session.add(campaign)
        session.flush()
        session.add_all(CampaignVariant(tenant_id=tenant_id, campaign_id=campaign.id,
                                        position=index, template_id=template.id,
                                        template_name=template.name,
                                        variables=dict(wanted.variables))
                        for index, (template, wanted) in enumerate(zip(templates,
                                                                       request.variants)))
        session.flush()
        view = _view(session, campaign)
    if view.status == "queued":
        _enqueue_start(ctx, view.id)
    return view


def _enqueue_start(ctx: Context, campaign_id: int) -> None:
    try:
        ctx.jobs.enqueue(START_CAMPAIGN, campaign_id)
    except JobQueueUnavailable as error:  # stays queued: the sweep starts it
        log.warning("campaign %s stays queued for the sweep: %s", campaign_id, error)


# ---------------------------------------------------------------------------------- preview


def preview_campaign(ctx: Context, tenant_id: str, request: CampaignRequest,
                     now: datetime | None = None) -> dict[str, Any]:
    """How many customers the campaign would reach, and how many would be refused and why,
    by the same rules the send applies — without storing or sending anything."""
    moment = now or utcnow()
    send_at = max(request.send_at or moment, moment)
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        templates = _templates(session, tenant_id, request.variants)
        audience = _audience(session, tenant, request.segment)
        starts = quiet_end(tenant.quiet_hours, tenant.timezone, send_at)
        last_inbound = _last_inbound(session, tenant_id, [c for c, _ in audience.consenting])
        refused: Counter[str] = Counter()
        refused["no_consent"] = audience.matched - len(audience.consenting)
        assignment = split([c for c, _ in audience.consenting], len(templates), seed=0)
        languages: Counter[str] = Counter()
        per_variant: Counter[int] = Counter()
        reachable = 0
        for customer_id, language in audience.consenting:
            languages[language] += 1
            template = templates[assignment[customer_id]]
            reason = _would_refuse(template, language, last_inbound.get(customer_id), starts)
            if reason:
                refused[reason] += 1
                continue
            reachable += 1
            per_variant[assignment[customer_id]] += 1
        today, later, over_month = _limit_room(session, tenant, starts, reachable)
        if over_month:
            refused["monthly_limit"] = over_month
    return {
        "matched": audience.matched,
        "reach": today + later,
        "refused": {reason: count for reason, count in refused.items() if count},
        "deferred": {"quiet_hours": reachable if starts > send_at else 0,
                     "daily_limit": later},
        "starts_at": starts,
        "languages": dict(languages),
        "variants": [{"label": label(i), "template": t.name, "reach": per_variant[i]}
                     for i, t in enumerate(templates)],
        "note": "Per-variant counts use an example split; the campaign's own split gives each "
                "variant the same number of recipients within one.",
    }


def _would_refuse(template: _Template, language: str, last_inbound: datetime | None,
                  at: datetime) -> str | None:
    if language not in template.bodies:
        return "template_language_missing"
    if last_inbound is not None and at - last_inbound < WINDOW:
        return None
    return None if template.approvals[language] == "approved" else (
        "template_not_approved")


def _last_inbound(session: Session, tenant_id: str,
                  customer_ids: Sequence[int]) -> dict[int, datetime]:
    """customer id → when they last wrote (the 24-hour window starts there)."""
    out: dict[int, datetime] = {}
    for chunk in _chunks(list(customer_ids), 1000):
        for customer_id, latest in session.execute(
                select(Conversation.customer_id, func.max(Conversation.last_inbound_at))
                .where(Conversation.tenant_id == tenant_id,
                       Conversation.customer_id.in_(chunk))
                .group_by(Conversation.customer_id)):
            if latest is not None:
                out[customer_id] = latest if latest.tzinfo else latest.replace(tzinfo=UTC)
    return out


def _limit_room(session: Session, tenant: Tenant, at: datetime,
                count: int) -> tuple[int, int, int]:
    """(sent on the first day, moved to later days, refused for the month) of `count`."""
    tier = get_tier(session, tenant.tier)
    month_room = count
    if tier.max_messages_per_month is not None:
        start, end = month_bounds(tenant.timezone, at)
        month_room = max(0, tier.max_messages_per_month
                         - messages_between(session, tenant.id, start, end))
    sending = min(count, month_room)
    if tier.max_messages_per_day is None:
        return sending, 0, count - sending
    start, end = day_bounds(tenant.timezone, at)
    day_room = max(0, tier.max_messages_per_day - messages_between(session, tenant.id, start,
                                                                   end))
    first = min(sending, day_room)
    return first, sending - first, count - sending


# ---------------------------------------------------------------------------------- jobs


def start_campaign(ctx: Context, campaign_id: int) -> dict[str, int]:
    """Materialise the recipients batch by batch (each batch its own transaction, skipping
    customers already there) and enqueue each batch's send job once it is stored."""
    with ctx.db.transaction() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.id == campaign_id)
                                  .with_for_update())
        if campaign is None or campaign.status not in ("queued", "sending"):
            return {"recipients": 0, "batches": 0}
        tenant = session.get_one(Tenant, campaign.tenant_id)
        segment = Segment.from_json(campaign.segment)
        audience = _audience(session, tenant, segment)
        variant_ids = list(session.scalars(select(CampaignVariant.id).where(
            CampaignVariant.campaign_id == campaign.id).order_by(CampaignVariant.position)))
        existing = dict(session.execute(select(
            CampaignRecipient.customer_id, CampaignRecipient.variant_id).where(
            CampaignRecipient.campaign_id == campaign.id)).all())
        tenant_id, seed = campaign.tenant_id, campaign.seed
        campaign.status = "sending"
    # Recipients already stored keep their variant (a re-run after a crash).
    order = shuffled({c for c, _ in audience.consenting} | set(existing), seed)
    assignment = split(order, len(variant_ids), seed)
    batches = 0
    for batch, chunk in enumerate(_chunks(order, BATCH_SIZE)):
        fresh = [c for c in chunk if c not in existing]
        if fresh:
            with ctx.db.transaction() as session:
                session.execute(insert(CampaignRecipient), [
                    dict(tenant_id=tenant_id, campaign_id=campaign_id, customer_id=customer,
                         variant_id=variant_ids[assignment[customer]], batch=batch,
                         status="pending", deferred=[], created_at=utcnow(),
                         updated_at=utcnow())
                    for customer in fresh])
        batches += 1
        _enqueue_batch(ctx, campaign_id, batch)
    with ctx.db.transaction() as session:
        session.execute(update(Campaign).where(Campaign.id == campaign_id).values(
            recipients=len(order), batches=batches, updated_at=utcnow()))
    return {"recipients": len(order), "batches": batches}


def _enqueue_batch(ctx: Context, campaign_id: int, batch: int) -> None:
    try:
        ctx.jobs.enqueue(SEND_CAMPAIGN_BATCH, campaign_id, batch)
    except JobQueueUnavailable as error:  # its recipients stay pending: the sweep sends them
        log.warning("campaign %s batch %s left for the sweep: %s", campaign_id, batch, error)


@dataclass
class BatchReport:
    planned: int = 0
    refused: int = 0
    sent: int = 0
    failed: int = 0


def send_campaign_batch(ctx: Context, campaign_id: int, batch: int, *,
                        final_attempt: bool = True, now: datetime | None = None) -> BatchReport:
    """Plan every still-pending recipient of the batch through the one decision, a chunk per
    transaction (recipient outcome and outbound message commit together), then deliver every
    message of the batch still queued. Running it again (a retry, a worker killed halfway)
    plans no one twice and sends nothing twice."""
    report = BatchReport()
    with ctx.db.transaction() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None or campaign.status == "cancelled":
            return report
        tenant_id = campaign.tenant_id
        variants = {v.id: v for v in session.scalars(select(CampaignVariant).where(
            CampaignVariant.campaign_id == campaign_id))}
        for variant in variants.values():
            session.expunge(variant)
        pending = list(session.scalars(select(CampaignRecipient.id).where(
            CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.batch == batch,
            CampaignRecipient.status == "pending").order_by(CampaignRecipient.id)))
    rendered: dict[tuple[int, str], Rendered | MessageRefused] = {}
    # Sending overlaps planning: a chunk's messages go out on a few threads (each waits on
    # Twilio's answer) while the next chunk is planned.
    with ThreadPoolExecutor(DELIVERY_THREADS, thread_name_prefix="campaign") as pool:
        sending: list[Future[DeliveryReport]] = []
        for chunk in _chunks(pending, PLAN_CHUNK):
            queued = _plan_chunk(ctx, tenant_id, campaign_id, chunk, variants, rendered, report,
                                 now)
            sending += _deliver(pool, ctx, queued, final_attempt)
        _collect(sending, report)
        # A re-run: messages planned before a crash and still queued go out now (claimed once).
        with ctx.db.transaction() as session:
            leftover = list(session.scalars(
                select(OutboundMessage.id).join(
                    CampaignRecipient, CampaignRecipient.outbound_id == OutboundMessage.id)
                .where(CampaignRecipient.campaign_id == campaign_id,
                       CampaignRecipient.batch == batch, OutboundMessage.status == "queued")))
        _collect(_deliver(pool, ctx, leftover, final_attempt), report)
    _finish_if_done(ctx, campaign_id)
    return report


def _plan_chunk(ctx: Context, tenant_id: str, campaign_id: int, recipient_ids: list[int],
                variants: dict[int, CampaignVariant],
                rendered: dict[tuple[int, str], Rendered | MessageRefused],
                report: BatchReport, now: datetime | None) -> list[int]:
    queued: list[int] = []
    with ctx.db.transaction() as session:
        # Locked: a cancellation waits for this chunk, then nothing more is planned.
        campaign = session.scalar(select(Campaign).where(Campaign.id == campaign_id)
                                  .with_for_update(read=True))
        if campaign is None or campaign.status == "cancelled":
            return queued
        tenant = require_tenant(session, tenant_id)
        rows = session.execute(
            select(CampaignRecipient, Customer)
            .join(Customer, Customer.id == CampaignRecipient.customer_id)
            .where(CampaignRecipient.id.in_(recipient_ids),
                   CampaignRecipient.status == "pending")
            .order_by(CampaignRecipient.id)
            .with_for_update(of=CampaignRecipient, skip_locked=True)
        ).all()
        used: Counter[int] = Counter()
        for recipient, customer in rows:
            variant = variants[recipient.variant_id]
            language = customer.language or tenant.primary_language or "en"
            key = (variant.id, language)
            if key not in rendered:
                try:
                    rendered[key] = render_for(session, tenant_id, variant.template_name,
                                               language, dict(variant.variables))
                except MessageRefused as refusal:
                    rendered[key] = refusal
                except (NotFound, InvalidInput) as error:  # deleted or changed since
                    rendered[key] = MessageRefused("template_language_missing",
                                                   template=variant.template_name,
                                                   language=language)
                    log.warning("campaign template %s: %s", variant.template_name, error)
            outcome = rendered[key]
            if isinstance(outcome, MessageRefused):
                _refuse(recipient, outcome.reason, outcome.description)
                report.refused += 1
                continue
            approved = outcome.approval == "approved" and outcome.content_sid is not None
            message = OutgoingMessage(body=outcome.text,
                                      content_sid=outcome.content_sid if approved else None,
                                      content_variables=outcome.content_variables)
            delivery = Delivery(kind=KIND, template_id=outcome.template_id,
                                template=TemplateChoice(variant.template_name, language,
                                                        outcome.approval),
                                language=language)
            try:
                planned = plan_outbound(session, ctx, tenant_id,
                                        ctx.crypto.decrypt(customer.phone_encrypted),
                                        [message], delivery=delivery, now=now)
            except MessageRefused as refusal:
                _refuse(recipient, refusal.reason, refusal.description)
                report.refused += 1
                continue
            except LimitExceeded as limit:
                _refuse(recipient, "monthly_limit", limit.description)
                report.refused += 1
                continue
            recipient.status = "planned"
            recipient.outbound_id = planned.ids[0]
            recipient.deferred = list(planned.deferred)
            used[outcome.template_id] += 1
            report.planned += 1
            if planned.status == "queued":
                queued.append(planned.ids[0])
        for template_id, count in used.items():
            session.execute(update(MessageTemplate).where(MessageTemplate.id == template_id)
                            .values(usage_count=MessageTemplate.usage_count + count))
    return queued


def _refuse(recipient: CampaignRecipient, reason: str, description: str) -> None:
    recipient.status = "refused"
    recipient.reason = f"{reason}: {description}"


def _deliver(pool: ThreadPoolExecutor, ctx: Context, outbound_ids: Iterable[int],
             final_attempt: bool) -> list[Future[DeliveryReport]]:
    """Send each message (one customer each) from this job; delivery.py claims each row, so a
    message another sender took is skipped."""
    return [pool.submit(deliver_batch, ctx, [outbound_id], final_attempt=final_attempt)
            for outbound_id in outbound_ids]


def _collect(sending: Sequence[Future[DeliveryReport]], report: BatchReport) -> None:
    """Wait for every send; the first error (Twilio unreachable) is raised after all ended,
    so the job's retry finds no message half-claimed by this run."""
    wait(sending)
    errors = [future.exception() for future in sending if future.exception() is not None]
    for future in sending:
        if future.exception() is None:
            done = future.result()
            report.sent += done.sent
            report.failed += done.failed
    if errors:
        raise errors[0]  # type: ignore[misc]


def _finish_if_done(ctx: Context, campaign_id: int) -> None:
    with ctx.db.transaction() as session:
        left = session.scalar(select(CampaignRecipient.id).where(
            CampaignRecipient.campaign_id == campaign_id,
            CampaignRecipient.status == "pending").limit(1))
        if left is None:
            session.execute(update(Campaign).where(
                Campaign.id == campaign_id, Campaign.status == "sending",
                Campaign.batches > 0).values(status="done", updated_at=utcnow()))


def start_due_campaigns(ctx: Context, now: datetime | None = None) -> dict[str, int]:
    """The scheduler's sweep: scheduled campaigns that came due are started; one left queued
    or sending without progress (its job lost, Redis emptied) is started again — harmless, as
    materialising and sending skip what was done."""
    moment = now or utcnow()
    with ctx.db.transaction() as session:
        due = list(session.scalars(select(Campaign.id).where(
            Campaign.status == "scheduled", Campaign.send_at <= moment)
            .with_for_update(skip_locked=True)))
        if due:
            session.execute(update(Campaign).where(Campaign.id.in_(due)).values(
                status="queued", updated_at=moment))
        stale = list(session.scalars(select(Campaign.id).where(
            Campaign.status.in_(("queued", "sending")),
            Campaign.updated_at < moment - STALE_AFTER)))
        if stale:
            session.execute(update(Campaign).where(Campaign.id.in_(stale)).values(
                updated_at=moment))
    for campaign_id in [*due, *stale]:
        _enqueue_start(ctx, campaign_id)
    return {"started": len(due), "restarted": len(stale)}


# ---------------------------------------------------------------------------------- merchant


def cancel_campaign(ctx: Context, tenant_id: str, campaign_id: int) -> CampaignView:
    """Stop a scheduled or sending campaign: recipients not yet planned are cancelled, and so are
    its messages still waiting (scheduled); messages already queued or sent are not recalled."""
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        campaign = session.scalar(select(Campaign).where(
            Campaign.tenant_id == tenant_id, Campaign.id == campaign_id).with_for_update())
        if campaign is None:
            raise NotFound(f"No campaign {campaign_id}")
        if campaign.status not in ("scheduled", "queued", "sending"):
            raise Conflict(f"The campaign is {campaign.status}; only a scheduled or sending "
                           "campaign can be cancelled")
        campaign.status = "cancelled"
        session.execute(update(CampaignRecipient).where(
            CampaignRecipient.campaign_id == campaign.id,
            CampaignRecipient.status == "pending").values(
            status="cancelled", reason="cancelled by the merchant", updated_at=utcnow()))
        waiting = select(CampaignRecipient.outbound_id).where(
            CampaignRecipient.campaign_id == campaign.id,
            CampaignRecipient.outbound_id.is_not(None)).scalar_subquery()
        session.execute(update(OutboundMessage).where(
            OutboundMessage.tenant_id == tenant_id, OutboundMessage.status == "scheduled",
            OutboundMessage.id.in_(waiting)).values(
            status="cancelled", error="campaign cancelled by the merchant", updated_at=utcnow())
            .execution_options(synchronize_session=False))
        session.flush()
        return _view(session, campaign)


def get_campaign(ctx: Context, tenant_id: str, campaign_id: int) -> CampaignView:
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        return _view(session, tenant_row(session, Campaign, campaign_id, tenant_id, "campaign"))


def list_campaigns(ctx: Context, tenant_id: str, page: int = 1,
                   page_size: int = 50) -> Page[CampaignView]:
    check_page(page, page_size)
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        count, rows = fetch_page(session, select(Campaign).where(
            Campaign.tenant_id == tenant_id), page, page_size, Campaign.id.desc())
        return Page(count, page, page_size, [_view(session, row) for row in rows])


def _view(session: Session, campaign: Campaign) -> CampaignView:
    variants = session.scalars(select(CampaignVariant).where(
        CampaignVariant.campaign_id == campaign.id).order_by(CampaignVariant.position)).all()
    outcomes = dict(session.execute(
        select(CampaignRecipient.status, func.count(CampaignRecipient.id))
        .where(CampaignRecipient.campaign_id == campaign.id)
        .group_by(CampaignRecipient.status)).all())
    return CampaignView(
        id=campaign.id, name=campaign.name, status=campaign.status,
        segment=dict(campaign.segment), send_at=campaign.send_at,
        variants=[VariantView(label(v.position), v.template_name, v.template_id,
                              dict(v.variables)) for v in variants],
        recipients=campaign.recipients,
        outcomes={status: int(outcomes.get(status, 0))
                  for status in ("pending", "planned", "refused", "cancelled")},
        error=campaign.error, created_at=campaign.created_at)


# ---------------------------------------------------------------------------------- report

REPORT_COLUMNS = ("variant", "template", "recipients", "refused", "waiting", "next_day", "sent",
                  "delivered", "read", "failed", "replied", "converted")


def campaign_report(ctx: Context, tenant_id: str, campaign_id: int) -> dict[str, Any]:
    """Per variant: recipients, refused (by reason), waiting (quiet hours, later days),
    sent / delivered / read / failed (from Twilio's status callbacks), replied (the customer
    wrote after the send) and converted (an order or a booking within 72 h of the send)."""
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        campaign = tenant_row(session, Campaign, campaign_id, tenant_id, "campaign")
        variants = session.scalars(select(CampaignVariant).where(
            CampaignVariant.campaign_id == campaign.id).order_by(CampaignVariant.position)).all()
        rows = session.execute(
            select(CampaignRecipient.variant_id, CampaignRecipient.customer_id,
                   CampaignRecipient.status, CampaignRecipient.reason,
                   CampaignRecipient.deferred, OutboundMessage.status.label("message"),
                   OutboundMessage.due_at)
            .outerjoin(OutboundMessage, OutboundMessage.id == CampaignRecipient.outbound_id)
            .where(CampaignRecipient.campaign_id == campaign.id)).all()
        since = min((row.due_at for row in rows if row.due_at is not None),
                    default=campaign.send_at)
        customers = [row.customer_id for row in rows]
        inbound = _times(session, InboundMessage, InboundMessage.created_at, tenant_id,
                         customers, since)
        orders = _times(session, Order, Order.placed_at, tenant_id, customers, since,
                        Order.status.in_(PLACED_STATUSES))
        bookings = _times(session, Appointment, Appointment.created_at, tenant_id, customers,
                          since)
        per: dict[int, Counter[str]] = defaultdict(Counter)
        reasons: dict[int, Counter[str]] = defaultdict(Counter)
        for row in rows:
            counts = per[row.variant_id]
            counts["recipients"] += 1
            if row.status == "refused":
                counts["refused"] += 1
                reasons[row.variant_id][(row.reason or "").split(":", 1)[0]] += 1
                continue
            if row.status in ("pending", "cancelled"):
                counts[row.status] += 1
                continue
            if row.message == "scheduled":
                counts["waiting"] += 1
                if "daily_limit" in (row.deferred or []):
                    counts["next_day"] += 1
            if row.message in SENT:
                counts["sent"] += 1
                at = _aware(row.due_at)
                if row.message in DELIVERED:
                    counts["delivered"] += 1
                if row.message == "read":
                    counts["read"] += 1
                if any(t >= at for t in inbound.get(row.customer_id, ())):
                    counts["replied"] += 1
                if any(at <= t <= at + CONVERSION_WINDOW
                       for t in (*orders.get(row.customer_id, ()),
                                 *bookings.get(row.customer_id, ()))):
                    counts["converted"] += 1
            elif row.message in ("failed", "undelivered"):
                counts["failed"] += 1
        view = _view(session, campaign)
    report = []
    for variant in variants:
        counts = per[variant.id]
        report.append({"variant": label(variant.position), "template": variant.template_name,
                       **{column: counts[column] for column in REPORT_COLUMNS[2:]},
                       "refused_by_reason": dict(reasons[variant.id])})
    return {"campaign_id": campaign_id, "status": view.status, "recipients": view.recipients,
            "variants": report}


def report_csv(ctx: Context, tenant_id: str, campaign_id: int) -> str:
    """The report's per-variant rows as CSV (one header line, one line per variant)."""
    report = campaign_report(ctx, tenant_id, campaign_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    for row in report["variants"]:
        writer.writerow([row[column] for column in REPORT_COLUMNS])
    return out.getvalue()


def _times(session: Session, model: Any, column: Any, tenant_id: str,
           customers: Sequence[int], since: datetime, *where: Any) -> dict[int, list[datetime]]:
    """customer id → when each of their rows happened at or after `since`."""
    out: dict[int, list[datetime]] = defaultdict(list)
    for chunk in _chunks(list(customers), 1000):
        for customer_id, at in session.execute(select(model.customer_id, column).where(
                model.tenant_id == tenant_id, model.customer_id.in_(chunk),
                column.is_not(None), column >= since, *where)):
            out[customer_id].append(_aware(at))
    return out


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ---------------------------------------------------------------------------------- tags


def customer_tags(ctx: Context, tenant_id: str, customer_id: int) -> list[str]:
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        tenant_row(session, Customer, customer_id, tenant_id, "customer")
        return list(session.scalars(select(CustomerTag.tag).where(
            CustomerTag.tenant_id == tenant_id, CustomerTag.customer_id == customer_id)
            .order_by(CustomerTag.tag)))


def set_customer_tags(ctx: Context, tenant_id: str, customer_id: int,
                      tags: Sequence[str]) -> list[str]:
    """Replace the customer's tags (lower-cased, deduplicated)."""
    wanted = sorted({tag.strip().lower() for tag in tags if tag.strip()})
    if len(wanted) > MAX_TAGS:
        raise InvalidInput(f"A customer has at most {MAX_TAGS} tags")
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        tenant_row(session, Customer, customer_id, tenant_id, "customer")
        session.execute(delete(CustomerTag).where(
            CustomerTag.tenant_id == tenant_id, CustomerTag.customer_id == customer_id,
            CustomerTag.tag.not_in(wanted)))
        have = set(session.scalars(select(CustomerTag.tag).where(
            CustomerTag.tenant_id == tenant_id, CustomerTag.customer_id == customer_id)))
        session.add_all(CustomerTag(tenant_id=tenant_id, customer_id=customer_id, tag=tag)
                        for tag in wanted if tag not in have)
    return wanted
