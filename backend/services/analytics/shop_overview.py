"""The web overview's figures in one transaction (one connection, no re-read of the shop): today's
orders and paid revenue (orders created since the shop's midnight, one aggregate query) with the
newest few, the conversations waiting for a person (a count), the wallet's available balance, and
the last 30 days (reports.dashboard: the roll-up in one query, today's shown figures live).

Each part is read only when asked for (the page asks for those the signed-in role may see). The
tenant is the one the page already read (TenantRef: id, timezone, currency), so it is not read
again; every query is scoped to it, and today's are bounded by the shop's midnight."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from backend.domain.ledger import TENANT_WALLET, tenant_account_key
from backend.services.analytics.reports import dashboard
from backend.services.analytics.rollup import TenantRef
from backend.services.conversations.conversations import count_waiting
from backend.services.orders.orders import OrderView, count_orders_since, latest_orders
from backend.services.payments.wallets import balance
from backend.wiring import Context


@dataclass(frozen=True)
class Today:
    orders: int
    paid_revenue_minor: int
    latest: list[OrderView]


@dataclass(frozen=True)
class ShopOverview:
    today: Today | None
    waiting: int | None
    available_minor: int | None  # the wallet's, in the shop's currency
    report: dict[str, Any] | None  # reports.dashboard's daily series
    sold: dict[str, Any] | None  # and its top products


def start_of_day(timezone: str, now: datetime | None = None) -> datetime:
    zone = ZoneInfo(timezone)
    local = (now or datetime.now(zone)).astimezone(zone)
    return datetime.combine(local.date(), time.min, tzinfo=zone)


def shop_overview(ctx: Context, tenant: TenantRef, *, orders: bool, waiting: bool,
                  wallet: bool, trends: bool, paid_statuses: Sequence[str], latest: int = 5,
                  top_products: int = 5, now: datetime | None = None) -> ShopOverview:
    with ctx.db.transaction() as session:
        today = None
        if orders:
            since = start_of_day(tenant.timezone, now)
            count, revenue = count_orders_since(session, tenant.id, since, paid_statuses)
            today = Today(count, revenue,
                          latest_orders(session, tenant.id, since, latest) if count else [])
        waiting_count = count_waiting(session, tenant.id) if waiting else None
        available = (balance(session, tenant_account_key(tenant.id, TENANT_WALLET,
                                                         tenant.currency))
                     if wallet else None)
        report, sold = (dashboard(session, tenant, top_products, now) if trends
                        else (None, None))
    return ShopOverview(today, waiting_count, available, report, sold)
