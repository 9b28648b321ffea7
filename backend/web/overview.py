"""The overview: today's orders, paid revenue, customers waiting for a person and the wallet
balance, each shown only to a role that may see it (the scope of the API it comes from), and for
analytics:read the last 30 days from the analytics service (the nightly roll-up, today live):
revenue, orders and conversations per day (uPlot charts), the funnel, the top products (units
and revenue of paid orders), payment success by method, the top intents and the fallback rate.

Today's figures come from the orders (orders created since the shop's midnight, counted and
summed by one aggregate query), so a role with orders:read but not analytics:read sees them too.
The whole page is read by backend/services/analytics/shop_overview.py in one transaction
(tests/backend/test_web_overview.py bounds its queries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from flask import Response

from backend.domain.analytics import average_minor, total
from backend.domain.money import minor_unit_digits
from backend.domain.orders import DELIVERED, FULFILLED, PAID, RETURNED
from backend.interface.scopes import USER, requires
from backend.services.analytics.shop_overview import shop_overview
from backend.web.core import blp, context, month_names, page, t, viewer

PAID_STATUSES = frozenset({PAID, FULFILLED, DELIVERED, RETURNED})
LATEST = 5
TOP_INTENTS = 8
TOP_PRODUCTS = 5


@dataclass(frozen=True)
class Trends:
    chart: dict[str, Any]  # for charts.js: day timestamps and one series per chart
    funnel: list[tuple[str, int]]  # conversations → ordered → paid
    intents: list[tuple[str, int]]  # the most frequent, most first
    classifications: int
    fallbacks: int
    revenue_minor: int
    orders: int
    products: list[dict[str, Any]]  # the top products: title, units, revenue_minor
    payments: list[tuple[str, int, int, int | None]]  # method, tried, paid, % paid (rounded)


def _summed(days: list[dict[str, Any]], name: str) -> int:
    return sum(int(day["figures"].get(name) or 0) for day in days)


def trends(currency: str, report: dict[str, Any], sold: dict[str, Any]) -> Trends:
    """The last 30 days (today included) from one read of the analytics service."""
    days = report["days"]
    intents: dict[str, int] = {}
    for day in days:
        for name, count in (day["figures"].get("intents") or {}).items():
            intents[name] = intents.get(name, 0) + int(count)
    digits = 10 ** minor_unit_digits(currency)
    stamps = [int(datetime.combine(day["day"], time(12), tzinfo=UTC).timestamp()) for day in days]
    # uPlot's date names (its weeks start on Sunday), so the axis speaks the page's language.
    weekdays = [t(f"weekday.{number % 7}") for number in range(6, 13)]
    names = {"MMMM": month_names(), "MMM": month_names(short=True),
             "WWWW": weekdays, "WWW": weekdays}
    chart = {"days": stamps, "currency": currency, "names": names, "series": [
        {"id": "revenue", "label": t("overview.revenue_chart"), "money": True,
         "values": [int(day["figures"].get("revenue_minor") or 0) / digits for day in days]},
        {"id": "orders", "label": t("overview.orders_chart"), "counts": True,
         "values": [int(day["figures"].get("orders") or 0) for day in days]},
        {"id": "conversations", "label": t("overview.conversations_chart"), "counts": True,
         "values": [int(day["figures"].get("conversations") or 0) for day in days]},
    ]}
    funnel = [("conversations", _summed(days, "conversations")),
              ("ordered", _summed(days, "conversations_ordered")),
              ("paid", _summed(days, "conversations_paid"))]
    top = sorted(intents.items(), key=lambda item: (-item[1], item[0]))[:TOP_INTENTS]
    tried = total({"payments": day["figures"].get("payments") or {}} for day in days)
    payments = [(method, int(counts.get("attempted", 0)), int(counts.get("succeeded", 0)),
                 average_minor(100 * int(counts.get("succeeded", 0)),
                               int(counts.get("attempted", 0))))
                for method, counts in sorted(tried.get("payments", {}).items())]
    return Trends(chart, funnel, top, _summed(days, "classifications"),
                  _summed(days, "fallbacks"), _summed(days, "revenue_minor"),
                  _summed(days, "orders"), sold["products"], payments)


@blp.get("/")
@requires(USER)
def overview() -> Response:
    """Every signed-in member has an overview; each figure needs the scope of its own API. All
    of them are read in one transaction, the shop not read again (the page's viewer has it)."""
    me = viewer()
    shown = shop_overview(context(), me.tenant, orders=me.may("orders:read"),
                          waiting=me.may("conversations:read"), wallet=me.may("wallet:read"),
                          trends=me.may("analytics:read"), paid_statuses=tuple(PAID_STATUSES),
                          latest=LATEST, top_products=TOP_PRODUCTS)
    recent = (trends(me.tenant.currency, shown.report, shown.sold)
              if shown.report is not None and shown.sold is not None else None)
    return page("overview.html", figures=shown.today, waiting=shown.waiting,
                balance=shown.available_minor, trends=recent)
