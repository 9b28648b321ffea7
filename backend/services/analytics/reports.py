"""Reading a tenant's analytics: closed days from the roll-up table, today (and any closed day
not rolled up yet) computed live from the source tables, in the tenant's timezone.

A GET never writes: a missing day is computed for the answer, and the nightly job or the
backfill stores it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.domain import analytics as rules
from backend.domain.errors import InvalidInput
from backend.models import InboundMessage, Product, Tenant
from backend.models.analytics import PRODUCTS, ROLLUP_COUNTS, ROLLUP_MAPS, DailyRollup
from backend.models.base import utcnow
from backend.services.analytics.rollup import TenantRef, compute, day_figures
from backend.services.platform.tenants import require_tenant
from backend.wiring import Context

FIGURES = ROLLUP_COUNTS + ROLLUP_MAPS
DEFAULT_DAYS = 30
ACTIVE_DAYS = 30  # a tenant is active with an inbound message in this many days


@dataclass(frozen=True)
class Day:
    day: date
    live: bool  # computed now from the source tables (today, or not rolled up yet)
    figures: dict[str, Any]


@dataclass(frozen=True)
class Window:
    timezone: str
    currency: str
    today: date
    now: datetime  # the tenant's local time the answer is for
    days: list[Day]


def _row_figures(row: DailyRollup) -> dict[str, Any]:
    return {**{name: getattr(row, name) for name in FIGURES}, PRODUCTS: row.products or {}}


def _window(ctx: Context, tenant_id: str, first: date | None, last: date | None,
            default_days: int = DEFAULT_DAYS, now: datetime | None = None) -> Window:
    with ctx.db.transaction() as session:
        return window_in(session, require_tenant(session, tenant_id), first, last,
                         default_days, now)


def window_in(session: Session, tenant: Tenant | TenantRef, first: date | None,
              last: date | None, default_days: int = DEFAULT_DAYS, now: datetime | None = None,
              sections: Collection[str] | None = None) -> Window:
    """The days from first to last (default: the last `default_days`, today included), read in
    `session`: closed days from the roll-up in one query, today (and a day not rolled up yet)
    computed live, all figures or only those of `sections` (rollup.SECTIONS)."""
    moment = now or utcnow()
    tenant_id = tenant.id
    today = rules.local_day(tenant.timezone, moment)
    last = min(last or today, today)
    first = first or last - timedelta(days=default_days - 1)
    if first > last:
        raise InvalidInput("from must not be after to (nor after today)",
                           {"from": ["Must not be after to or today."]})
    if (last - first).days + 1 > rules.MAX_RANGE_DAYS:
        raise InvalidInput(f"a range covers at most {rules.MAX_RANGE_DAYS} days",
                           {"from": [f"At most {rules.MAX_RANGE_DAYS} days."]})
    stored = {row.day: row for row in session.scalars(select(DailyRollup).where(
        DailyRollup.tenant_id == tenant_id, DailyRollup.day >= first,
        DailyRollup.day <= last))}
    result = []
    for day in rules.days(first, last):
        row = stored.get(day)
        if day == today:
            start, _ = rules.day_bounds(tenant.timezone, day)
            result.append(Day(day, True, compute(session, tenant, start.astimezone(UTC),
                                                 moment, sections)))
        elif row is not None and row.timezone == tenant.timezone:
            result.append(Day(day, False, _row_figures(row)))
        else:  # not rolled up yet (or cut in a timezone the tenant has since left)
            result.append(Day(day, True, day_figures(session, tenant, day, sections)))
    local_now = moment.astimezone(rules.day_bounds(tenant.timezone, today)[0].tzinfo)
    return Window(tenant.timezone, tenant.currency, today, local_now, result)


def _summary(figures: dict[str, Any]) -> dict[str, Any]:
    return {**{name: figures.get(name, 0) for name in ROLLUP_COUNTS},
            **{name: figures.get(name, {}) for name in ROLLUP_MAPS},
            **rules.derived(figures)}


def _head(window: Window) -> dict[str, Any]:
    return {"timezone": window.timezone, "currency": window.currency,
            "as_of": window.now.isoformat(), "today": window.today}


def overview(ctx: Context, tenant_id: str, now: datetime | None = None) -> dict[str, Any]:
    """Today so far, yesterday, and the last 7 and 30 days (today included)."""
    window = _window(ctx, tenant_id, None, None, 30, now)
    by_day = {d.day: d.figures for d in window.days}
    today = window.today

    def period(count: int) -> dict[str, Any]:
        first = today - timedelta(days=count - 1)
        summed = rules.total(figures for day, figures in by_day.items() if day >= first)
        return {"from": first, "to": today, **_summary(summed)}

    yesterday = today - timedelta(days=1)
    return {**_head(window),
            "today_so_far": {"day": today, **_summary(by_day[today])},
            "yesterday": {"day": yesterday, **_summary(by_day.get(yesterday, {}))},
            "last_7_days": period(7), "last_30_days": period(30)}


def daily(ctx: Context, tenant_id: str, first: date | None, last: date | None,
          metrics: list[str] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """One entry per day of the range (default: the last 30 days), with the chosen figures
    (default: all of them and the derived rates)."""
    return _daily(_window(ctx, tenant_id, first, last, DEFAULT_DAYS, now), metrics)


def _daily(window: Window, metrics: list[str] | None = None) -> dict[str, Any]:
    series = []
    for day in window.days:
        values = _summary(day.figures)
        if metrics:
            values = {name: values[name] for name in metrics}
        series.append({"day": day.day, "live": day.live, "figures": values})
    return {**_head(window), "from": window.days[0].day, "to": window.days[-1].day,
            "days": series}


METRICS = tuple(_summary({}).keys())


def _range_total(window: Window) -> dict[str, Any]:
    return rules.total(day.figures for day in window.days)


def funnel(ctx: Context, tenant_id: str, first: date | None, last: date | None,
           now: datetime | None = None) -> dict[str, Any]:
    window = _window(ctx, tenant_id, first, last, DEFAULT_DAYS, now)
    summed = _range_total(window)
    conversations = summed.get("conversations", 0)
    ordered = summed.get("conversations_ordered", 0)
    paid = summed.get("conversations_paid", 0)
    steps = [("conversations", conversations), ("ordered", ordered), ("paid", paid)]
    return {**_head(window), "from": window.days[0].day, "to": window.days[-1].day,
            "steps": [{"step": name, "count": count,
                       "rate_from_start": rules.ratio(count, conversations),
                       "rate_from_previous": rules.ratio(count, steps[i - 1][1]) if i else None}
                      for i, (name, count) in enumerate(steps)],
            "orders": summed.get("orders", 0), "orders_paid": summed.get("orders_paid", 0),
            "revenue_minor": summed.get("revenue_minor", 0),
            "average_order_minor": rules.average_minor(summed.get("revenue_minor", 0),
                                                       summed.get("orders_paid", 0))}


def messaging(ctx: Context, tenant_id: str, first: date | None, last: date | None,
              now: datetime | None = None) -> dict[str, Any]:
    window = _window(ctx, tenant_id, first, last, DEFAULT_DAYS, now)
    summed = _range_total(window)
    statuses = summed.get("outbound_statuses", {})
    campaign = {name: summed.get(f"campaign_{name}", 0)
                for name in ("sent", "delivered", "read", "replied", "converted")}
    return {**_head(window), "from": window.days[0].day, "to": window.days[-1].day,
            "messages_in": summed.get("messages_in", 0),
            "messages_out": summed.get("messages_out", 0),
            "conversations": summed.get("conversations", 0),
            "outbound_statuses": dict(sorted(statuses.items())),
            "delivery_rate": rules.ratio(statuses.get("delivered", 0) + statuses.get("read", 0),
                                         summed.get("messages_out", 0)),
            "handoffs": summed.get("handoffs", 0),
            "handoffs_replied": summed.get("handoffs_replied", 0),
            "average_first_reply_seconds": rules.average_minor(
                summed.get("first_reply_seconds", 0), summed.get("handoffs_replied", 0)),
            "faq_answered": summed.get("faq_answered", 0),
            "faq_declined": summed.get("faq_declined", 0),
            "campaigns": {**campaign,
                          "delivery_rate": rules.ratio(campaign["delivered"], campaign["sent"]),
                          "reply_rate": rules.ratio(campaign["replied"], campaign["sent"]),
                          "conversion_rate": rules.ratio(campaign["converted"],
                                                         campaign["sent"])}}


def intents(ctx: Context, tenant_id: str, first: date | None, last: date | None,
            limit: int = 10, now: datetime | None = None) -> dict[str, Any]:
    window = _window(ctx, tenant_id, first, last, DEFAULT_DAYS, now)
    summed = _range_total(window)
    classified = summed.get("classifications", 0)
    return {**_head(window), "from": window.days[0].day, "to": window.days[-1].day,
            "classifications": classified, "fallbacks": summed.get("fallbacks", 0),
            "fallback_rate": rules.ratio(summed.get("fallbacks", 0), classified),
            "top": [{"intent": name, "count": count, "share": rules.ratio(count, classified)}
                    for name, count in rules.top_intents(summed.get("intents", {}), limit)]}


def products(ctx: Context, tenant_id: str, first: date | None, last: date | None,
             limit: int = 10, now: datetime | None = None) -> dict[str, Any]:
    """The products that sold most (by revenue, then units) in the range (default: the last 30
    days): units and line revenue of paid orders, with the range's totals."""
    return _products(ctx, tenant_id, _window(ctx, tenant_id, first, last, DEFAULT_DAYS, now),
                     limit)


def _products(ctx: Context, tenant_id: str, window: Window, limit: int) -> dict[str, Any]:
    with ctx.db.transaction() as session:
        return _ranked_products(session, tenant_id, window, limit)


def _ranked_products(session: Session, tenant_id: str, window: Window,
                     limit: int) -> dict[str, Any]:
    summed: dict[str, dict[str, int]] = {}
    for day in window.days:
        rules.add(summed, {PRODUCTS: day.figures.get(PRODUCTS) or {}})
    sold = summed.get(PRODUCTS, {})
    ranked = sorted(sold.items(), key=lambda item: (-item[1].get("revenue_minor", 0),
                                                    -item[1].get("units", 0), item[0]))[:limit]
    ids = [int(key) for key, _ in ranked if key.isdigit()]
    titles: dict[int, str] = {}
    if ids:
        titles = {int(product_id): str(title) for product_id, title in session.execute(
            select(Product.id, Product.title).where(Product.tenant_id == tenant_id,
                                                    Product.id.in_(ids)))}
    top = []
    for key, counts in ranked:
        product_id = int(key) if key.isdigit() else None
        title = titles.get(product_id, "") if product_id is not None else key.removeprefix("line:")
        top.append({"product_id": product_id, "title": title,
                    "units": int(counts.get("units", 0)),
                    "revenue_minor": int(counts.get("revenue_minor", 0))})
    return {**_head(window), "from": window.days[0].day, "to": window.days[-1].day,
            "units": sum(int(c.get("units", 0)) for c in sold.values()),
            "revenue_minor": sum(int(c.get("revenue_minor", 0)) for c in sold.values()),
            "products": top}


# The figures the web overview shows, by the queries that count them (its live today reads
# only these).
DASHBOARD_SECTIONS = ("funnel", "orders", "payments", "intents")


def dashboard(session: Session, tenant: TenantRef, limit: int = 5,
              now: datetime | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The web overview's last 30 days, read in `session`: the daily series and the top
    products, from one read of the roll-up (today computed live once: only the figures the
    overview shows, DASHBOARD_SECTIONS)."""
    window = window_in(session, tenant, None, None, DEFAULT_DAYS, now, DASHBOARD_SECTIONS)
    return _daily(window), _ranked_products(session, tenant.id, window, limit)


@dataclass(frozen=True)
class ActiveTenant:
    tenant_id: str
    name: str
    tier: str
    messages_in: int
    last_inbound_at: datetime


def active_tenants(ctx: Context, now: datetime | None = None) -> dict[str, Any]:
    """The platform operator's view: tenants with at least one inbound message in the last
    30 days, most messages first."""
    since = (now or utcnow()) - timedelta(days=ACTIVE_DAYS)
    with ctx.db.transaction() as session:
        rows = session.execute(
            select(Tenant.id, Tenant.name, Tenant.tier, func.count(InboundMessage.id),
                   func.max(InboundMessage.created_at))
            .join(InboundMessage, InboundMessage.tenant_id == Tenant.id)
            .where(InboundMessage.created_at >= since)
            .group_by(Tenant.id, Tenant.name, Tenant.tier)
            .order_by(func.count(InboundMessage.id).desc(), Tenant.id)).all()
        total = session.scalar(select(func.count()).select_from(Tenant))
    tenants = [ActiveTenant(tid, name, tier, int(count),
                            last if last.tzinfo else last.replace(tzinfo=UTC))
               for tid, name, tier, count, last in rows]
    return {"since": since, "days": ACTIVE_DAYS, "active": len(tenants),
            "tenants_total": int(total or 0), "tenants": tenants}
