"""One tenant's figures for one local day, computed from the source tables with aggregate SQL,
and the roll-up that stores them: the row of (tenant, day) is replaced whole (an upsert), so a
day rolled up twice, by the nightly job, a backfill or both at once, is counted once.

What each figure counts (the day is [local midnight, next local midnight) in the tenant's
timezone, as UTC bounds):

- messages_in: inbound messages received; messages_out and outbound_statuses: outbound messages
  due to go out that day (scheduled and cancelled ones are not sent), by their current status.
- conversations: started that day. customers_new / customers_returning: customers who wrote that
  day, whose first message ever was that day / before it.
- orders: placed that day (stock reserved); orders_paid and revenue_minor: of those, the ones
  paid (paid, fulfilled, delivered, returned; refunded and cancelled are not revenue).
- conversations_ordered / conversations_paid: the day's conversations during which the
  customer placed an order (placed between the conversation's start and its last message) /
  one that is paid.
- payments: attempts started that day per method, and how many succeeded.
- products: the order lines of the day's paid orders (those counted in revenue_minor) by
  product: units and the lines' totals (before delivery fees); a line whose variant has since
  been deleted is kept under its own title.
- bookings: appointments made that day; appointments / no_shows: appointments starting that
  day that were not cancelled / marked no-show.
- classifications, intents, fallbacks: the NLU log's messages of the day by intent.
- handoffs: requested that day; handoffs_replied / first_reply_seconds: those a person answered
  (the merchant's own reply: an outbound reply in the conversation that answers no inbound
  message, before the assistant took over again) and the summed time to that first reply.
- faq_answered / faq_declined: the assistant's knowledge-base questions (faq_answer_log).
- llm_calls / llm_cost_micros: the LLM call log.
- campaign_*: campaign messages that went out that day (sent, delivered, read), and of their
  customers, how many wrote back / placed an order or booked within 72 h of the send.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from backend.domain import analytics as rules
from backend.domain.campaigns import PLACED_STATUSES
from backend.domain.errors import InvalidInput
from backend.models import (
    Appointment,
    CampaignRecipient,
    Conversation,
    ConversationHandoff,
    InboundMessage,
    LlmCall,
    NluClassification,
    Order,
    OrderLine,
    OutboundMessage,
    Payment,
    ProductVariant,
    Tenant,
)
from backend.models.analytics import PRODUCTS, DailyRollup, FaqAnswerLog, empty_figures
from backend.models.base import utcnow
from backend.models.orders import PRODUCT_LINE
from backend.services.platform.tenants import require_tenant
from backend.wiring import Context

log = logging.getLogger(__name__)

KEPT = ("booked", "no_show")  # appointments that count as kept


class TenantRef(Protocol):
    """What computing a tenant's figures needs of it (a Tenant row, or the web's TenantSettings
    already read for the page)."""

    @property
    def id(self) -> str: ...

    @property
    def timezone(self) -> str: ...

    @property
    def currency(self) -> str: ...


@dataclass(frozen=True)
class RollupResult:
    tenant_id: str
    day: date
    figures: dict[str, Any]


def _count(session: Session, *columns: Any, where: Sequence[Any]) -> Any:
    return session.execute(select(*columns).where(*where)).one()


def _int(value: Any) -> int:
    return int(value or 0)


def compute(session: Session, tenant: Tenant | TenantRef, start: datetime, end: datetime,
            sections: Collection[str] | None = None) -> dict[str, Any]:
    """The tenant's figures for [start, end) (aware datetimes), read in `session`: all of them,
    or only those of `sections` (SECTIONS' names; the others keep empty_figures' zeros), e.g.
    the web overview's live today, which shows a few."""
    tid = tenant.id
    figures = empty_figures()
    for name in SECTIONS if sections is None else sections:
        SECTIONS[name](session, tid, start, end, figures)
    return figures


def _messaging(session: Session, tid: str, start: datetime, end: datetime,
               figures: dict[str, Any]) -> None:
    figures["messages_in"] = _int(session.scalar(select(func.count()).where(
        InboundMessage.tenant_id == tid, InboundMessage.created_at >= start,
        InboundMessage.created_at < end)))
    statuses = {status: int(n) for status, n in session.execute(
        select(OutboundMessage.status, func.count())
        .where(OutboundMessage.tenant_id == tid, OutboundMessage.due_at >= start,
               OutboundMessage.due_at < end)
        .group_by(OutboundMessage.status))}
    figures["outbound_statuses"] = dict(sorted(statuses.items()))
    figures["messages_out"] = sum(n for s, n in statuses.items() if s not in rules.NOT_SENT)


def _funnel(session: Session, tid: str, start: datetime, end: datetime,
            figures: dict[str, Any]) -> None:
    day_conversations = and_(Conversation.tenant_id == tid, Conversation.started_at >= start,
                             Conversation.started_at < end)

    def ordered_in_conversation(*status: Any) -> Any:
        return exists().where(
            Order.tenant_id == tid, Order.customer_id == Conversation.customer_id,
            Order.placed_at.is_not(None), Order.placed_at >= Conversation.started_at,
            Order.placed_at <= Conversation.last_message_at, *status)

    conversations, ordered, paid = _count(
        session, func.count(),
        func.coalesce(func.sum(case((ordered_in_conversation(), 1), else_=0)), 0),
        func.coalesce(func.sum(case((ordered_in_conversation(
            Order.status.in_(rules.PAID_STATUSES)), 1), else_=0)), 0),
        where=[day_conversations])
    figures["conversations"] = _int(conversations)
    figures["conversations_ordered"] = _int(ordered)
    figures["conversations_paid"] = _int(paid)


def _customers(session: Session, tid: str, start: datetime, end: datetime,
               figures: dict[str, Any]) -> None:
    writers = (select(InboundMessage.customer_id.label("customer_id")).distinct()
               .where(InboundMessage.tenant_id == tid, InboundMessage.created_at >= start,
                      InboundMessage.created_at < end).subquery())
    earlier = aliased(InboundMessage)
    # By customer only (a customer belongs to one tenant): the customer_id index finds them.
    wrote_before = exists().where(earlier.customer_id == writers.c.customer_id,
                                  earlier.created_at < start)
    writing, returning = session.execute(select(
        func.count(), func.coalesce(func.sum(case((wrote_before, 1), else_=0)), 0))
        .select_from(writers)).one()
    new = _int(writing) - _int(returning)
    figures["customers_new"], figures["customers_returning"] = _int(new), _int(returning)


def _orders(session: Session, tid: str, start: datetime, end: datetime,
            figures: dict[str, Any]) -> None:
    is_paid = Order.status.in_(rules.PAID_STATUSES)
    orders, orders_paid, revenue = _count(
        session, func.count(), func.coalesce(func.sum(case((is_paid, 1), else_=0)), 0),
        func.coalesce(func.sum(case((is_paid, Order.total_minor), else_=0)), 0),
        where=[Order.tenant_id == tid, Order.placed_at >= start, Order.placed_at < end])
    figures["orders"], figures["orders_paid"] = _int(orders), _int(orders_paid)
    figures["revenue_minor"] = _int(revenue)
    figures[PRODUCTS] = _products(session, tid, start, end)


def _payments(session: Session, tid: str, start: datetime, end: datetime,
              figures: dict[str, Any]) -> None:
    figures["payments"] = {
        method: {"attempted": int(attempted), "succeeded": _int(succeeded)}
        for method, attempted, succeeded in session.execute(
            select(Payment.method, func.count(),
                   func.sum(case((Payment.status == "succeeded", 1), else_=0)))
            .where(Payment.tenant_id == tid, Payment.created_at >= start,
                   Payment.created_at < end)
            .group_by(Payment.method).order_by(Payment.method))
    }



def _bookings(session: Session, tid: str, start: datetime, end: datetime,
              figures: dict[str, Any]) -> None:
    # Bookings (kept: booked or a no-show; not cancelled, nor a deposit hold pending or
    # released unpaid).
    figures["bookings"] = _int(session.scalar(select(func.count()).where(
        Appointment.tenant_id == tid, Appointment.created_at >= start,
        Appointment.created_at < end)))
    kept, no_shows = _count(
        session, func.coalesce(func.sum(case((Appointment.status.in_(KEPT), 1), else_=0)), 0),
        func.coalesce(func.sum(case((Appointment.status == "no_show", 1), else_=0)), 0),
        where=[Appointment.tenant_id == tid, Appointment.starts_at >= start,
               Appointment.starts_at < end])
    figures["appointments"], figures["no_shows"] = _int(kept), _int(no_shows)


def _intents(session: Session, tid: str, start: datetime, end: datetime,
             figures: dict[str, Any]) -> None:
    intents = {(intent or "none"): int(n) for intent, n in session.execute(
        select(NluClassification.intent, func.count())
        .where(NluClassification.tenant_id == tid, NluClassification.created_at >= start,
               NluClassification.created_at < end)
        .group_by(NluClassification.intent))}
    figures["intents"] = dict(sorted(intents.items()))
    figures["classifications"] = sum(intents.values())
    figures["fallbacks"] = intents.get(rules.FALLBACK_INTENT, 0)


def _faq(session: Session, tid: str, start: datetime, end: datetime,
         figures: dict[str, Any]) -> None:
    answered, declined = _count(
        session, func.coalesce(func.sum(case((FaqAnswerLog.answered.is_(True), 1), else_=0)), 0),
        func.coalesce(func.sum(case((FaqAnswerLog.answered.is_(False), 1), else_=0)), 0),
        where=[FaqAnswerLog.tenant_id == tid, FaqAnswerLog.created_at >= start,
               FaqAnswerLog.created_at < end])
    figures["faq_answered"], figures["faq_declined"] = _int(answered), _int(declined)


def _llm(session: Session, tid: str, start: datetime, end: datetime,
         figures: dict[str, Any]) -> None:
    calls, cost = _count(
        session, func.count(), func.coalesce(func.sum(LlmCall.cost_micros), 0),
        where=[LlmCall.tenant_id == tid, LlmCall.created_at >= start, LlmCall.created_at < end])
    figures["llm_calls"], figures["llm_cost_micros"] = _int(calls), _int(cost)


def _products(session: Session, tid: str, start: datetime,
              end: datetime) -> dict[str, dict[str, int]]:
    """Units and line totals of the paid orders placed in [start, end), by product."""
    gone = ProductVariant.product_id.is_(None)
    title = case((gone, OrderLine.title), else_=literal(""))
    rows = session.execute(
        select(ProductVariant.product_id, title, func.sum(OrderLine.quantity),
               func.sum(OrderLine.line_total_minor))
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .outerjoin(ProductVariant, and_(ProductVariant.id == OrderLine.variant_id,
                                        ProductVariant.tenant_id == tid))
        .where(Order.tenant_id == tid, OrderLine.tenant_id == tid, Order.placed_at >= start,
               Order.placed_at < end, Order.status.in_(rules.PAID_STATUSES),
               OrderLine.kind == PRODUCT_LINE)  # a delivery fee is no product
        .group_by(ProductVariant.product_id, title))
    products: dict[str, dict[str, int]] = {}
    for product_id, line_title, units, revenue in rows:
        key = str(product_id) if product_id is not None else f"line:{line_title}"
        slot = products.setdefault(key, {"units": 0, "revenue_minor": 0})
        slot["units"] += _int(units)
        slot["revenue_minor"] += _int(revenue)
    return dict(sorted(products.items()))


def _handoffs(session: Session, tid: str, start: datetime, end: datetime,
              figures: dict[str, Any]) -> None:
    first_reply = (
        select(func.min(OutboundMessage.created_at))
        .where(OutboundMessage.tenant_id == tid,
               OutboundMessage.conversation_id == ConversationHandoff.conversation_id,
               OutboundMessage.kind == "reply", OutboundMessage.in_reply_to.is_(None),
               OutboundMessage.created_at >= ConversationHandoff.requested_at,
               or_(ConversationHandoff.resumed_at.is_(None),
                   OutboundMessage.created_at <= ConversationHandoff.resumed_at))
        .correlate(ConversationHandoff).scalar_subquery())
    rows = session.execute(
        select(ConversationHandoff.requested_at, first_reply)
        .where(ConversationHandoff.tenant_id == tid, ConversationHandoff.requested_at >= start,
               ConversationHandoff.requested_at < end)).all()
    figures["handoffs"] = len(rows)
    waits = [(_aware(replied) - _aware(asked)).total_seconds() for asked, replied in rows
             if replied is not None]
    figures["handoffs_replied"] = len(waits)
    figures["first_reply_seconds"] = int(round(sum(waits)))


def _campaigns(session: Session, tid: str, start: datetime, end: datetime,
               figures: dict[str, Any]) -> None:
    sent = session.execute(
        select(CampaignRecipient.customer_id, OutboundMessage.status, OutboundMessage.due_at)
        .join(OutboundMessage, OutboundMessage.id == CampaignRecipient.outbound_id)
        .where(CampaignRecipient.tenant_id == tid, OutboundMessage.tenant_id == tid,
               OutboundMessage.status.in_(rules.CAMPAIGN_SENT),
               OutboundMessage.due_at >= start, OutboundMessage.due_at < end)).all()
    if not sent:
        return
    customers = sorted({row.customer_id for row in sent})
    since = min(_aware(row.due_at) for row in sent)
    until = max(_aware(row.due_at) for row in sent) + rules.CAMPAIGN_WINDOW
    replies = _times(session, InboundMessage, InboundMessage.created_at, tid, customers,
                     since, until)
    orders = _times(session, Order, Order.placed_at, tid, customers, since, until,
                    Order.status.in_(PLACED_STATUSES))
    bookings = _times(session, Appointment, Appointment.created_at, tid, customers, since,
                      until)
    counts: dict[str, int] = defaultdict(int)
    for row in sent:
        at = _aware(row.due_at)
        window_end = at + rules.CAMPAIGN_WINDOW

        def within(times: Iterable[datetime], at: datetime = at,
                   window_end: datetime = window_end) -> bool:
            return any(at <= t <= window_end for t in times)

        counts["campaign_sent"] += 1
        if row.status in rules.CAMPAIGN_DELIVERED:
            counts["campaign_delivered"] += 1
        if row.status == "read":
            counts["campaign_read"] += 1
        if within(replies.get(row.customer_id, ())):
            counts["campaign_replied"] += 1
        if within(orders.get(row.customer_id, ())) or within(bookings.get(row.customer_id, ())):
            counts["campaign_converted"] += 1
    figures.update(counts)


Section = Callable[[Session, str, datetime, datetime, dict[str, Any]], None]
# The figures by the queries that count them (compute's `sections`).
SECTIONS: dict[str, Section] = {
    "messaging": _messaging, "funnel": _funnel, "customers": _customers,
    "orders": _orders,  # orders, orders_paid, revenue_minor and products
    "payments": _payments, "bookings": _bookings, "intents": _intents, "handoffs": _handoffs,
    "faq": _faq, "llm": _llm, "campaigns": _campaigns,
}


def _times(session: Session, model: Any, column: Any, tid: str, customers: Sequence[int],
           since: datetime, until: datetime, *where: Any) -> dict[int, list[datetime]]:
    out: dict[int, list[datetime]] = defaultdict(list)
    for offset in range(0, len(customers), 1000):
        chunk = customers[offset:offset + 1000]
        for customer_id, at in session.execute(select(model.customer_id, column).where(
                model.tenant_id == tid, model.customer_id.in_(chunk), column.is_not(None),
                column >= since, column <= until, *where)):
            out[customer_id].append(_aware(at))
    return out


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def day_figures(session: Session, tenant: Tenant | TenantRef, day: date,
                sections: Collection[str] | None = None) -> dict[str, Any]:
    start, end = rules.day_bounds(tenant.timezone, day)
    return compute(session, tenant, start.astimezone(UTC), end.astimezone(UTC), sections)


def store(session: Session, tenant: Tenant, day: date, figures: dict[str, Any]) -> None:
    """Insert or replace the (tenant, day) row in one statement (concurrent roll-ups of the
    same day: the last one wins, both computed from the same sources)."""
    values = {**figures, "tenant_id": tenant.id, "day": day, "timezone": tenant.timezone,
              "currency": tenant.currency, "computed_at": utcnow()}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(DailyRollup).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["tenant_id", "day"],
        set_={name: statement.excluded[name] for name in values
              if name not in ("tenant_id", "day")})
    session.execute(statement)


def rollup_day(ctx: Context, tenant_id: str, day: date) -> RollupResult:
    """Compute and store one tenant-day (re-runnable: the row is replaced)."""
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        figures = day_figures(session, tenant, day)
        store(session, tenant, day, figures)
    return RollupResult(tenant_id, day, figures)


def rollup_range(ctx: Context, tenant_id: str, first: date, last: date) -> int:
    """Roll up every day from first to last (both included); returns how many."""
    if last < first:
        raise InvalidInput("the range ends before it starts")
    count = 0
    for day in rules.days(first, last):
        rollup_day(ctx, tenant_id, day)
        count += 1
    return count


def tenant_ids(ctx: Context, slug: str | None = None) -> list[str]:
    with ctx.db.transaction() as session:
        if slug is not None:
            return [require_tenant(session, slug).id]
        return list(session.scalars(select(Tenant.id).order_by(Tenant.id)))


def rollup_closed_days(ctx: Context, now: datetime | None = None) -> dict[str, int]:
    """The nightly roll-up: for every tenant, yesterday in its own timezone and the days
    before it that may still change (rules.SETTLING_DAYS in all). A tenant that fails is
    logged and the others still run."""
    moment = now or utcnow()
    rolled, failed = 0, 0
    with ctx.db.transaction() as session:
        zones = list(session.execute(select(Tenant.id, Tenant.timezone).order_by(Tenant.id)))
    for tenant_id, timezone in zones:
        today = rules.local_day(timezone, moment)
        for back in range(rules.SETTLING_DAYS, 0, -1):
            day = date.fromordinal(today.toordinal() - back)
            try:
                rollup_day(ctx, tenant_id, day)
                rolled += 1
            except Exception:  # one tenant's failure must not stop the others
                log.exception("analytics roll-up of %s on %s failed", tenant_id, day)
                failed += 1
    return {"rolled": rolled, "failed": failed, "tenants": len(zones)}
