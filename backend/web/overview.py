"""The overview: today's orders, paid revenue, customers waiting for a person and the wallet
balance, each shown only to a role that may see it (the scope of the API it comes from).

Until the nightly analytics roll-up exists on this branch, today's figures come from the live
services (the newest orders, read page by page back to the start of the shop's day); the daily
series of the charts plug in at `daily_series` (see the template's charts section)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response

from backend.domain.orders import DELIVERED, FULFILLED, PAID
from backend.interface.scopes import USER, requires
from backend.services.conversations.conversations import list_tenant_conversations
from backend.services.orders.orders import OrderView, list_orders
from backend.services.payments.wallets import get_wallet
from backend.web.core import blp, context, page, tenant_id, viewer

PAID_STATUSES = frozenset({PAID, FULFILLED, DELIVERED})
PAGE = 100


@dataclass(frozen=True)
class Today:
    orders: int
    paid_revenue_minor: int
    latest: list[OrderView]


def start_of_day(timezone: str, now: datetime | None = None) -> datetime:
    zone = ZoneInfo(timezone)
    local = (now or datetime.now(zone)).astimezone(zone)
    return datetime.combine(local.date(), time.min, tzinfo=zone)


def today(timezone: str) -> Today:
    """Orders created since the shop's midnight, newest first (list_orders pages by id)."""
    since = start_of_day(timezone)
    found: list[OrderView] = []
    page_number = 1
    while True:
        batch = list_orders(context(), tenant_id(), page=page_number, page_size=PAGE)
        fresh = [order for order in batch.results if order.created_at >= since]
        found.extend(fresh)
        if len(fresh) < len(batch.results) or page_number * PAGE >= batch.count:
            break
        page_number += 1
    revenue = sum(order.total_minor for order in found if order.status in PAID_STATUSES)
    return Today(len(found), revenue, found[:5])


def daily_series() -> dict[str, Any] | None:
    """The charts' data (days, revenue, orders, conversations) from the analytics roll-up;
    None until that service is on this branch: the page then says when charts appear."""
    return None


@blp.get("/")
@requires(USER)
def overview() -> Response:
    """Every signed-in member has an overview; each figure needs the scope of its own API."""
    me = viewer()
    figures = today(me.tenant.timezone) if me.may("orders:read") else None
    waiting = (list_tenant_conversations(context(), tenant_id(), needs_human=True,
                                         page_size=1).count
               if me.may("conversations:read") else None)
    wallet = get_wallet(context(), tenant_id()) if me.may("wallet:read") else None
    series = daily_series() if me.may("analytics:read") else None
    return page("overview.html", figures=figures, waiting=waiting, wallet=wallet,
                series=series)
