"""The web overview's analytics extras without a browser: the top products of the last 30
days (units and revenue of paid orders' lines) and payment success by method, exact counts,
another shop's sales never shown; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.wiring import Context
from tests.backend.accounts_helpers import PASSWORD, make_user
from tests.backend.conftest import OTHER_ID, TENANT_ID
from tests.backend.test_analytics import History, product_with_variants, sold_order


def _rows(page: str, table: str) -> list[list[str]]:
    body = re.search(rf'<table class="list" id="{table}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body, page
    return [re.findall(r"<td[^>]*>(.*?)</td>", row)
            for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)]


def test_the_overview_shows_top_products_and_payment_success(client: Any,
                                                             tenants: Context) -> None:
    now = datetime.now(UTC)
    ours, theirs = History(tenants, TENANT_ID), History(tenants, OTHER_ID)
    buyer = ours.customer("+254711000101")
    theirs.customer("+254722000102")  # their sold_order's buyer
    _, cap_variant = product_with_variants(tenants, TENANT_ID, "Cap", (80_000,))
    _, mug_variant = product_with_variants(tenants, TENANT_ID, "Mug", (45_000,))
    _, shirt_variant = product_with_variants(tenants, OTHER_ID, "Their shirt", (9_000_000,))
    sold_order(tenants, TENANT_ID, now - timedelta(days=3), "paid",
               [(cap_variant, 3, 80_000), (mug_variant, 1, 45_000)])
    for placed, status, line in ((1, "delivered", (mug_variant, 4, 45_000)),
                                 (2, "cancelled", (cap_variant, 9, 80_000)),  # not revenue
                                 (40, "paid", (cap_variant, 7, 80_000))):  # before the 30 days
        sold_order(tenants, TENANT_ID, now - timedelta(days=placed), status, [line])
    sold_order(tenants, OTHER_ID, now - timedelta(days=1), "paid", [(shirt_variant, 1, 9_000_000)])
    order = ours.order(buyer, now - timedelta(days=2), "pending_payment", 100)
    for method, status in (("mpesa_stk", "succeeded"), ("mpesa_stk", "failed"),
                           ("mpesa_stk", "succeeded"), ("card", "failed")):
        ours.payment(order, buyer, method, status, now - timedelta(days=2))
    their_buyer = theirs.customer("+254722000103")
    their_order = theirs.order(their_buyer, now - timedelta(days=2), "pending_payment", 100)
    theirs.payment(their_order, their_buyer, "mpesa_manual", "succeeded", now - timedelta(days=2))
    make_user(tenants, "owner@duka.example")
    assert client.post("/app/login", data={"email": "owner@duka.example",
                                           "password": PASSWORD}).status_code == 303

    page = client.get("/app/").data.decode()
    assert _rows(page, "top-products") == [["Cap", "3", "KES 2,400.00"],
                                           ["Mug", "5", "KES 2,250.00"]]
    assert "Their shirt" not in page
    assert _rows(page, "payment-methods") == [["Card", "1", "0", "0%"],
                                              ["M-Pesa (prompt)", "3", "2", "67%"]]


# The overview's queries for an owner (every figure shown) of a shop whose closed days are rolled
# up, on SQLite and PostgreSQL: the session (1, the rate limiter's lookup, which the page reuses)
# and the shop's tier (1, the rate limiter's, cached a minute), who is signed in (5, one
# transaction: user, membership, scope overrides, their shops, the shop's settings:
# backend/web/core.py), then the page in one transaction (backend/services/analytics/
# shop_overview.py): today's orders (1 aggregate, the newest five and their lines: 2), those
# waiting for a person (1), the wallet's balance (1), the roll-up's last 30 days (1), today live
# (the 4 shown sections, 5 queries: funnel, orders, their products, payments, intents) and the
# top products' titles (1): 19. Before, this page made 38 here, reading the shop 4 times and the
# session twice. More orders, days or products must not add any.
OVERVIEW_QUERY_BOUND = 19


def test_the_overview_reads_a_bounded_number_of_queries(client: Any, tenants: Context) -> None:
    from sqlalchemy import event

    from backend.domain.analytics import local_day
    from backend.services.analytics.rollup import rollup_range

    now = datetime.now(UTC)
    ours = History(tenants, TENANT_ID)
    buyer = ours.customer("+254711000201")
    _, cap_variant = product_with_variants(tenants, TENANT_ID, "Cap", (80_000,))
    _, mug_variant = product_with_variants(tenants, TENANT_ID, "Mug", (45_000,))
    for back in range(0, 20, 2):  # today's and the month's orders, many products and days
        sold_order(tenants, TENANT_ID, now - timedelta(days=back, minutes=1), "paid",
                   [(cap_variant, 1, 80_000), (mug_variant, 2, 45_000)])
    order = ours.order(buyer, now - timedelta(days=3), "pending_payment", 100)
    ours.payment(order, buyer, "mpesa_stk", "succeeded", now - timedelta(days=3))
    today = local_day("Africa/Nairobi", now)
    rollup_range(tenants, TENANT_ID, today - timedelta(days=29), today - timedelta(days=1))
    make_user(tenants, "owner@duka.example")
    assert client.post("/app/login", data={"email": "owner@duka.example",
                                           "password": PASSWORD}).status_code == 303

    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = tenants.db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        page = client.get("/app/").data.decode()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) <= OVERVIEW_QUERY_BOUND, "\n\n".join(statements)
    # The shop's settings are read once (the rate limiter reads only its tier).
    assert sum("tenants.timezone" in s for s in statements) == 1
    # The figures are still right: one order today (more if the shop's midnight is near), ten
    # in the 30 days, each KES 1,700.00 paid.
    orders_today = int(re.search(r'id="figure-orders">.*?class="value">(\d+)<', page, re.S)[1])
    assert orders_today >= 1
    assert "KES 17,000.00" in page  # the period's revenue: 10 × 1,700
    assert _rows(page, "top-products") == [["Mug", "20", "KES 9,000.00"],
                                           ["Cap", "10", "KES 8,000.00"]]
    assert _rows(page, "payment-methods") == [["M-Pesa (prompt)", "1", "1", "100%"]]
