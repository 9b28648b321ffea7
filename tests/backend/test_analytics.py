"""Analytics: a small history over two local days in Nairobi (one message half an hour after
local midnight, which UTC would put on the day before), rolled up to exact counts; rolled up
again, backfilled and read through the endpoints with the same numbers; another tenant's rows
never counted; a viewer refused."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from backend.domain.permissions import BUILT_IN_ROLES
from backend.jobs import analytics as analytics_jobs
from backend.models import (
    Appointment,
    Campaign,
    CampaignRecipient,
    CampaignVariant,
    Conversation,
    ConversationHandoff,
    Customer,
    InboundMessage,
    LlmCall,
    NluClassification,
    Order,
    OrderLine,
    OutboundMessage,
    Payment,
    Product,
    ProductVariant,
    Service,
    ServiceVariant,
)
from backend.models.analytics import DailyRollup, FaqAnswerLog
from backend.queueing.runner import bound_context
from backend.services.analytics import reports, rollup
from backend.services.platform.auth import issue_api_key
from backend.wiring import Context
from tests.backend.conftest import (
    OTHER_ID,
    TENANT_ID,
    add_tenant,
    merchant_headers,
    service_headers,
)

NAIROBI = ZoneInfo("Africa/Nairobi")
D1, D2, TODAY = date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 12)
NOW = datetime(2026, 3, 12, 9, 0, tzinfo=NAIROBI)  # "now" for the reads: 06:00 UTC
_ids = itertools.count(1)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NAIROBI).astimezone(UTC)


class History:
    """Rows written straight into the tables the roll-up reads."""

    def __init__(self, ctx: Context, tenant_id: str) -> None:
        self.ctx, self.tenant_id = ctx, tenant_id

    def add(self, row: Any) -> Any:
        with self.ctx.db.transaction() as session:
            session.add(row)
            session.flush()
            session.expunge(row)
            return row

    def customer(self, phone: str) -> int:
        crypto = self.ctx.crypto
        return int(self.add(Customer(tenant_id=self.tenant_id,
                                     phone_encrypted=crypto.encrypt(phone),
                                     phone_hash=crypto.keyed_hash(phone))).id)

    def conversation(self, customer: int, started: datetime, last: datetime) -> int:
        return int(self.add(Conversation(tenant_id=self.tenant_id, customer_id=customer,
                                         started_at=started, last_inbound_at=last,
                                         last_message_at=last)).id)

    def inbound(self, customer: int, at: datetime, conversation: int | None = None,
                intent: str | None = None) -> str:
        sid = f"SM{next(_ids):032d}"
        self.add(InboundMessage(tenant_id=self.tenant_id, customer_id=customer,
                                conversation_id=conversation, provider_sid=sid, body="hi",
                                created_at=at))
        if intent is not None:
            self.add(NluClassification(tenant_id=self.tenant_id, customer_id=customer,
                                       conversation_id=conversation, message_id=sid,
                                       message_sid=sid, text="hi", intent=intent,
                                       confidence=0.9, created_at=at))
        return sid

    def outbound(self, customer: int, at: datetime, status: str, conversation: int | None,
                 in_reply_to: str | None = None, kind: str = "reply") -> int:
        return int(self.add(OutboundMessage(
            tenant_id=self.tenant_id, customer_id=customer, conversation_id=conversation,
            to_phone_encrypted="x", to_phone_hash="x", body="ok", in_reply_to=in_reply_to,
            status=status, kind=kind, due_at=at, batch_id=f"b{next(_ids)}", position=0,
            created_at=at, updated_at=at)).id)

    def order(self, customer: int, placed: datetime, status: str, total: int) -> int:
        return int(self.add(Order(tenant_id=self.tenant_id, customer_id=customer, status=status,
                                  currency="KES", total_minor=total, placed_at=placed,
                                  created_at=placed)).id)

    def payment(self, order: int, customer: int, method: str, status: str,
                at: datetime) -> None:
        provider = {"card": "paystack"}.get(method, "daraja")
        self.add(Payment(tenant_id=self.tenant_id, order_id=order, customer_id=customer,
                         method=method, provider=provider, status=status, amount_minor=100,
                         currency="KES", created_at=at, updated_at=at))

    def appointment(self, customer: int, made: datetime, starts: datetime,
                    status: str) -> None:
        with self.ctx.db.transaction() as session:
            service = session.scalar(select(Service).where(Service.tenant_id == self.tenant_id))
            if service is None:
                service = Service(tenant_id=self.tenant_id, name="Haircut")
                session.add(service)
                session.flush()
                session.add(ServiceVariant(tenant_id=self.tenant_id, service_id=service.id,
                                           name="Short", duration_minutes=30,
                                           price_minor=50_000, currency="KES"))
                session.flush()
            variant = session.scalar(select(ServiceVariant.id).where(
                ServiceVariant.service_id == service.id))
            session.add(Appointment(tenant_id=self.tenant_id, customer_id=customer,
                                    service_id=service.id, service_variant_id=variant,
                                    starts_at=starts, ends_at=starts + timedelta(minutes=30),
                                    status=status, price_minor=50_000, currency="KES",
                                    created_at=made))

    def faq(self, answered: bool, at: datetime) -> None:
        self.add(FaqAnswerLog(tenant_id=self.tenant_id, answered=answered,
                              method="faq" if answered else "none", language="en",
                              created_at=at))

    def llm(self, cost: int, at: datetime) -> None:
        self.add(LlmCall(tenant_id=self.tenant_id, purpose="faq_answer", model="m",
                         tokens_in=10, tokens_out=5, cost_micros=cost, currency="KES",
                         latency_ms=100, outcome="ok", created_at=at))

    def campaign_message(self, customer: int, at: datetime, status: str) -> None:
        campaign = self.add(Campaign(tenant_id=self.tenant_id, name="Promo", status="done",
                                     segment={}, seed=1, send_at=at))
        variant = self.add(CampaignVariant(tenant_id=self.tenant_id, campaign_id=campaign.id,
                                           position=0, template_name="promo"))
        outbound = self.outbound(customer, at, status, None, kind="promotional")
        self.add(CampaignRecipient(tenant_id=self.tenant_id, campaign_id=campaign.id,
                                   customer_id=customer, variant_id=variant.id, batch=0,
                                   status="planned", outbound_id=outbound))


def build_history(ctx: Context) -> None:
    h = History(ctx, TENANT_ID)
    c1, c2, c3 = (h.customer(f"+25471100000{n}") for n in (1, 2, 3))
    # c1 first wrote long before (a returning customer on both days).
    conv0 = h.conversation(c1, local(date(2026, 3, 1), 12), local(date(2026, 3, 1), 12, 5))
    h.inbound(c1, local(date(2026, 3, 1), 12), conv0, "greet")

    # D1 (10 March, Nairobi).
    conv1 = h.conversation(c1, local(D1, 10), local(D1, 10, 30))
    s1 = h.inbound(c1, local(D1, 10), conv1, "greet")
    s2 = h.inbound(c1, local(D1, 10, 5), conv1, "order")
    h.outbound(c1, local(D1, 10, 1), "delivered", conv1, in_reply_to=s1)
    h.outbound(c1, local(D1, 10, 6), "read", conv1, in_reply_to=s2)
    o1 = h.order(c1, local(D1, 10, 10), "paid", 150_000)
    h.payment(o1, c1, "card", "failed", local(D1, 10, 9))
    h.payment(o1, c1, "mpesa_stk", "succeeded", local(D1, 10, 11))
    # c2 writes at 23:30 local (20:30 UTC): D1; their conversation runs into D2.
    conv2 = h.conversation(c2, local(D1, 23, 30), local(D2, 9, 5))
    s3 = h.inbound(c2, local(D1, 23, 30), conv2, "nlu_fallback")
    o2 = h.order(c2, local(D1, 23, 35), "pending_payment", 50_000)
    h.payment(o2, c2, "mpesa_stk", "failed", local(D1, 23, 36))
    h.inbound(c1, local(D1, 10, 7), conv1, "greet")  # a third message of c1 on D1
    h.add(ConversationHandoff(tenant_id=TENANT_ID, conversation_id=conv2, reason="fallback",
                              requested_by="assistant", requested_at=local(D1, 23, 41)))
    h.outbound(c2, local(D1, 23, 31), "sent", conv2, in_reply_to=s3)  # the assistant
    h.outbound(c2, local(D1, 23, 51), "sent", conv2)  # the merchant's reply, 10 min later
    h.appointment(c1, local(D1, 10, 20), local(D2, 14), "no_show")
    h.appointment(c2, local(D1, 23, 45), local(D2, 16), "booked")
    h.faq(True, local(D1, 11))
    h.faq(True, local(D1, 12))
    h.faq(False, local(D1, 23, 50))
    h.llm(1_500, local(D1, 12))

    # D2 (11 March): c3 writes at 00:30 local, which is still 10 March in UTC.
    conv3 = h.conversation(c3, local(D2, 0, 30), local(D2, 0, 40))
    s4 = h.inbound(c3, local(D2, 0, 30), conv3, "order")
    h.outbound(c3, local(D2, 0, 31), "sent", conv3, in_reply_to=s4)
    o3 = h.order(c3, local(D2, 0, 35), "delivered", 200_000)
    h.payment(o3, c3, "mpesa_stk", "succeeded", local(D2, 0, 36))
    h.appointment(c3, local(D2, 1), local(D2, 18), "cancelled")
    h.inbound(c2, local(D2, 9), conv2, "greet")
    h.outbound(c2, local(D2, 9, 1), "failed", conv2, kind="transactional")
    h.outbound(c2, local(D2, 20), "scheduled", None, kind="reminders")
    # A campaign message read by c1 at 08:00, who writes back at 10:00 and books at 11:00
    # (converted); their cancelled order at 12:00 is outside that conversation.
    h.campaign_message(c1, local(D2, 8), "read")
    conv4 = h.conversation(c1, local(D2, 10), local(D2, 10, 5))
    h.inbound(c1, local(D2, 10), conv4)
    h.appointment(c1, local(D2, 11), local(date(2026, 3, 13), 9), "booked")
    h.order(c1, local(D2, 12), "cancelled", 30_000)
    h.faq(False, local(D2, 13))

    # Today so far (12 March, before 09:00).
    h.inbound(c1, local(TODAY, 8))

    # Another tenant, busy on the same days: never counted for TENANT_ID.
    o = History(ctx, OTHER_ID)
    x = o.customer("+254722000009")
    xc = o.conversation(x, local(D1, 12), local(D1, 12, 30))
    for minute in range(5):
        o.inbound(x, local(D1, 12, minute), xc, "order")
    o.order(x, local(D1, 12, 10), "paid", 999_900)
    o.faq(True, local(D1, 12))
    o.llm(9_000, local(D1, 12))


EXPECTED = {
    D1: {
        "messages_in": 4, "messages_out": 4,
        "outbound_statuses": {"delivered": 1, "read": 1, "sent": 2},
        "conversations": 2, "customers_new": 1, "customers_returning": 1,
        "orders": 2, "orders_paid": 1, "revenue_minor": 150_000,
        "conversations_ordered": 2, "conversations_paid": 1,
        "payments": {"card": {"attempted": 1, "succeeded": 0},
                     "mpesa_stk": {"attempted": 2, "succeeded": 1}},
        "bookings": 2, "appointments": 0, "no_shows": 0,
        "classifications": 4, "fallbacks": 1,
        "intents": {"greet": 2, "nlu_fallback": 1, "order": 1},
        "handoffs": 1, "handoffs_replied": 1, "first_reply_seconds": 600,
        "faq_answered": 2, "faq_declined": 1, "llm_calls": 1, "llm_cost_micros": 1_500,
        "campaign_sent": 0, "campaign_delivered": 0, "campaign_read": 0,
        "campaign_replied": 0, "campaign_converted": 0,
    },
    D2: {
        "messages_in": 3, "messages_out": 3,
        "outbound_statuses": {"failed": 1, "read": 1, "scheduled": 1, "sent": 1},
        "conversations": 2, "customers_new": 1, "customers_returning": 2,
        "orders": 2, "orders_paid": 1, "revenue_minor": 200_000,
        "conversations_ordered": 1, "conversations_paid": 1,
        "payments": {"mpesa_stk": {"attempted": 1, "succeeded": 1}},
        "bookings": 2, "appointments": 2, "no_shows": 1,
        "classifications": 2, "fallbacks": 0, "intents": {"greet": 1, "order": 1},
        "handoffs": 0, "handoffs_replied": 0, "first_reply_seconds": 0,
        "faq_answered": 0, "faq_declined": 1, "llm_calls": 0, "llm_cost_micros": 0,
        "campaign_sent": 1, "campaign_delivered": 1, "campaign_read": 1,
        "campaign_replied": 1, "campaign_converted": 1,
    },
}


def stored(ctx: Context, tenant_id: str = TENANT_ID) -> dict[date, dict[str, Any]]:
    with ctx.db.transaction() as session:
        rows = session.scalars(select(DailyRollup).where(DailyRollup.tenant_id == tenant_id))
        return {row.day: {name: getattr(row, name) for name in EXPECTED[D1]} for row in rows}


@pytest.fixture
def history(tenants: Context) -> Context:
    build_history(tenants)
    return tenants


@pytest.fixture
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reports, "utcnow", lambda: NOW.astimezone(UTC))


def test_a_tenant_day_rolls_up_to_exact_counts_in_local_time(history: Context) -> None:
    for day in (D1, D2):
        result = rollup.rollup_day(history, TENANT_ID, day)
        assert {k: result.figures[k] for k in EXPECTED[day]} == EXPECTED[day]
    assert stored(history) == EXPECTED
    # By UTC days, c3's 00:30 message would have landed on D1: the local cut matters.
    with history.db.transaction() as session:
        utc_d1 = session.scalar(select(func.count()).select_from(InboundMessage).where(
            InboundMessage.tenant_id == TENANT_ID,
            InboundMessage.created_at >= datetime(2026, 3, 10, tzinfo=UTC),
            InboundMessage.created_at < datetime(2026, 3, 11, tzinfo=UTC)))
    assert utc_d1 == EXPECTED[D1]["messages_in"] + 1


def test_rolling_up_again_counts_nothing_twice(history: Context) -> None:
    rollup.rollup_day(history, TENANT_ID, D1)
    rollup.rollup_day(history, TENANT_ID, D1)
    rollup.rollup_range(history, TENANT_ID, D1, D2)
    assert stored(history) == EXPECTED
    with history.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(DailyRollup)) == 2
    # A late change (c2 pays their order) is picked up when the day is rolled up again.
    with history.db.transaction() as session:
        order = session.scalar(select(Order).where(Order.tenant_id == TENANT_ID,
                                                   Order.status == "pending_payment"))
        assert order is not None
        order.status = "paid"
    rollup.rollup_day(history, TENANT_ID, D1)
    again = stored(history)[D1]
    assert (again["orders_paid"], again["revenue_minor"], again["conversations_paid"]) == (
        2, 200_000, 2)


def test_another_tenants_rows_are_never_counted(history: Context) -> None:
    rollup.rollup_range(history, TENANT_ID, D1, D2)
    rollup.rollup_range(history, OTHER_ID, D1, D2)
    assert stored(history) == EXPECTED
    other = stored(history, OTHER_ID)
    assert (other[D1]["messages_in"], other[D1]["orders_paid"], other[D1]["revenue_minor"],
            other[D1]["faq_answered"], other[D1]["llm_cost_micros"]) == (5, 1, 999_900, 1, 9_000)
    assert other[D2]["messages_in"] == 0


def test_backfill_command_and_nightly_job(history: Context,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    with bound_context(history):
        analytics_jobs.main(["backfill", "--from", "2026-03-01", "--to", "2026-03-11",
                             "--tenant", TENANT_ID])
    assert "'days': 11" in capsys.readouterr().out
    rows = stored(history)
    assert sorted(rows) == [date(2026, 3, d) for d in range(1, 12)]
    assert {D1: rows[D1], D2: rows[D2]} == EXPECTED
    assert rows[date(2026, 3, 1)]["messages_in"] == 1
    assert stored(history, OTHER_ID) == {}
    with bound_context(history):  # every tenant, and again: the same rows
        report = analytics_jobs.backfill(D1, D2)
    assert report["tenants"] == 2 and report["days"] == 4
    assert {D1: stored(history)[D1], D2: stored(history)[D2]} == EXPECTED
    # The nightly job at 00:10 on 13 March in Nairobi (21:10 UTC on the 12th) rolls up the
    # 12th (yesterday, local) and the two days before it, for every tenant.
    with history.db.transaction() as session:
        session.execute(DailyRollup.__table__.delete())
    nightly = rollup.rollup_closed_days(history, datetime(2026, 3, 12, 21, 10, tzinfo=UTC))
    assert nightly == {"rolled": 6, "failed": 0, "tenants": 2}
    rows = stored(history)
    assert sorted(rows) == [D1, D2, TODAY] and {D1: rows[D1], D2: rows[D2]} == EXPECTED
    assert rows[TODAY]["messages_in"] == 1


def test_overview_and_series_endpoints(history: Context, client: Any, fixed_now: None) -> None:
    rollup.rollup_day(history, TENANT_ID, D1)  # D2 is not rolled up: computed live
    response = client.get("/v1/analytics/overview", headers=merchant_headers())
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["timezone"] == "Africa/Nairobi" and body["today"] == "2026-03-12"
    assert body["as_of"].startswith("2026-03-12T09:00:00+03:00")
    assert body["today_so_far"]["day"] == "2026-03-12"
    assert body["today_so_far"]["messages_in"] == 1
    yesterday = body["yesterday"]
    assert yesterday["day"] == "2026-03-11"
    assert {k: yesterday[k] for k in EXPECTED[D2]} == EXPECTED[D2]
    assert yesterday["average_order_minor"] == 200_000
    assert yesterday["conversion_to_order"] == pytest.approx(0.5)
    assert yesterday["no_show_rate"] == pytest.approx(0.5)
    week = body["last_7_days"]
    assert (week["from"], week["to"]) == ("2026-03-06", "2026-03-12")
    assert week["messages_in"] == 4 + 3 + 1
    assert week["orders"] == 4 and week["orders_paid"] == 2
    assert week["revenue_minor"] == 350_000 and week["average_order_minor"] == 175_000
    assert week["payments"]["mpesa_stk"] == {"attempted": 3, "succeeded": 2}
    assert week["payment_methods"]["mpesa_stk"]["success_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert week["payment_methods"]["card"]["success_rate"] == pytest.approx(0.0)
    assert week["fallback_rate"] == pytest.approx(1 / 6, abs=1e-4)
    assert week["average_first_reply_seconds"] == 600
    assert week["faq_answer_rate"] == pytest.approx(0.5)
    month = body["last_30_days"]
    assert month["messages_in"] == 9 and month["conversations"] == 5

    response = client.get("/v1/analytics/daily?from=2026-03-10&to=2026-03-12"
                          "&metrics=messages_in,revenue_minor,fallback_rate",
                          headers=merchant_headers())
    assert response.status_code == 200, response.get_json()
    days = response.get_json()["days"]
    assert [(d["day"], d["live"], d["figures"]["messages_in"], d["figures"]["revenue_minor"])
            for d in days] == [("2026-03-10", False, 4, 150_000),
                               ("2026-03-11", True, 3, 200_000), ("2026-03-12", True, 1, 0)]
    assert set(days[0]["figures"]) == {"messages_in", "revenue_minor", "fallback_rate"}
    assert days[0]["figures"]["fallback_rate"] == pytest.approx(0.25)
    assert days[2]["figures"]["fallback_rate"] is None


def test_funnel_messaging_and_intents_endpoints(history: Context, client: Any,
                                                fixed_now: None) -> None:
    rollup.rollup_range(history, TENANT_ID, D1, D2)
    query = "?from=2026-03-10&to=2026-03-11"
    funnel = client.get(f"/v1/analytics/funnel{query}", headers=merchant_headers()).get_json()
    assert [(s["step"], s["count"]) for s in funnel["steps"]] == [
        ("conversations", 4), ("ordered", 3), ("paid", 2)]
    assert funnel["steps"][2]["rate_from_start"] == pytest.approx(0.5)
    assert funnel["steps"][2]["rate_from_previous"] == pytest.approx(2 / 3, abs=1e-4)
    assert (funnel["orders"], funnel["orders_paid"], funnel["revenue_minor"]) == (4, 2, 350_000)

    messaging = client.get(f"/v1/analytics/messaging{query}",
                           headers=merchant_headers()).get_json()
    assert (messaging["messages_in"], messaging["messages_out"]) == (7, 7)
    assert messaging["outbound_statuses"] == {"delivered": 1, "failed": 1, "read": 2,
                                              "scheduled": 1, "sent": 3}
    assert (messaging["handoffs"], messaging["handoffs_replied"],
            messaging["average_first_reply_seconds"]) == (1, 1, 600)
    assert (messaging["faq_answered"], messaging["faq_declined"]) == (2, 2)
    campaigns = messaging["campaigns"]
    assert {k: campaigns[k] for k in ("sent", "delivered", "read", "replied", "converted")} == {
        "sent": 1, "delivered": 1, "read": 1, "replied": 1, "converted": 1}

    intents = client.get(f"/v1/analytics/intents{query}&limit=1",
                         headers=merchant_headers()).get_json()
    assert (intents["classifications"], intents["fallbacks"]) == (6, 1)
    assert intents["fallback_rate"] == pytest.approx(1 / 6, abs=1e-4)
    assert intents["top"] == [{"intent": "greet", "count": 3, "share": pytest.approx(0.5)}]

    # The other tenant sees only its own figures.
    other = client.get(f"/v1/analytics/funnel{query}",
                       headers=merchant_headers(OTHER_ID, "other-shop-api-key-0002")).get_json()
    assert [s["count"] for s in other["steps"]] == [1, 1, 1]
    assert other["revenue_minor"] == 999_900


def product_with_variants(ctx: Context, tenant_id: str, title: str,
                          prices: tuple[int, ...]) -> list[int]:
    """A product with one variant per price; returns its id and its variants' ids."""
    with ctx.db.transaction() as session:
        product = Product(tenant_id=tenant_id, title=title, category="test")
        session.add(product)
        session.flush()
        variants = [ProductVariant(tenant_id=tenant_id, product_id=product.id,
                                   sku=f"{title[:3]}-{n}", price_minor=price, currency="KES",
                                   stock=100) for n, price in enumerate(prices)]
        session.add_all(variants)
        session.flush()
        return [product.id] + [v.id for v in variants]


def sold_order(ctx: Context, tenant_id: str, placed: datetime, status: str,
          lines: list[tuple[int | None, int, int]]) -> None:
    """A placed order of (variant id, quantity, unit price) lines."""
    with ctx.db.transaction() as session:
        customer_id = session.scalar(select(Customer.id).where(Customer.tenant_id == tenant_id))
        order = Order(tenant_id=tenant_id, customer_id=customer_id, status=status,
                      currency="KES", total_minor=sum(q * p for _, q, p in lines),
                      placed_at=placed, created_at=placed)
        session.add(order)
        session.flush()
        session.add_all(OrderLine(tenant_id=tenant_id, order_id=order.id, variant_id=variant,
                                  sku=f"sku-{variant}",
                                  title="Old hat" if variant is None else "line title",
                                  unit_price_minor=price, quantity=quantity,
                                  line_total_minor=quantity * price)
                        for variant, quantity, price in lines)


def test_top_products_from_paid_order_lines(history: Context, client: Any,
                                            fixed_now: None) -> None:
    shoes, shoes_small, shoes_large = product_with_variants(history, TENANT_ID, "Shoes",
                                                            (1_000, 1_500))
    bag, bag_one = product_with_variants(history, TENANT_ID, "Bag", (5_000,))
    shirt, theirs = product_with_variants(history, OTHER_ID, "Their shirt", (9_000,))
    sold_order(history, TENANT_ID, local(D1, 11), "paid", [(shoes_small, 2, 1_000),
                                                        (bag_one, 1, 5_000)])
    sold_order(history, TENANT_ID, local(D1, 12), "pending_payment", [(shoes_small, 5, 1_000)])
    sold_order(history, TENANT_ID, local(D2, 11), "delivered", [(shoes_large, 3, 1_500)])
    sold_order(history, TENANT_ID, local(D2, 12), "cancelled", [(bag_one, 10, 5_000)])
    sold_order(history, TENANT_ID, local(D2, 13), "fulfilled", [(None, 1, 700)])  # variant deleted
    sold_order(history, TENANT_ID, local(TODAY, 8), "paid", [(bag_one, 1, 5_000)])  # today: live
    sold_order(history, OTHER_ID, local(D1, 11), "paid", [(theirs, 4, 9_000)])

    rollup.rollup_day(history, TENANT_ID, D1)  # D2 and today are computed live
    with history.db.transaction() as session:
        row = session.scalar(select(DailyRollup).where(DailyRollup.tenant_id == TENANT_ID,
                                                       DailyRollup.day == D1))
        assert row is not None
        assert row.products == {str(shoes): {"units": 2, "revenue_minor": 2_000},
                                str(bag): {"units": 1, "revenue_minor": 5_000}}
    response = client.get("/v1/analytics/products?from=2026-03-10&to=2026-03-12",
                          headers=merchant_headers())
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["from"], body["to"], body["units"], body["revenue_minor"]) == (
        "2026-03-10", "2026-03-12", 8, 17_200)
    assert body["products"] == [
        {"product_id": bag, "title": "Bag", "units": 2, "revenue_minor": 10_000},
        {"product_id": shoes, "title": "Shoes", "units": 5, "revenue_minor": 6_500},
        {"product_id": None, "title": "Old hat", "units": 1, "revenue_minor": 700}]
    top = client.get("/v1/analytics/products?limit=1", headers=merchant_headers()).get_json()
    assert [p["product_id"] for p in top["products"]] == [bag]  # the last 30 days by default
    assert top["units"] == 8

    other = client.get("/v1/analytics/products?from=2026-03-10&to=2026-03-12",
                       headers=merchant_headers(OTHER_ID, "other-shop-api-key-0002")).get_json()
    assert other["products"] == [{"product_id": shirt, "title": "Their shirt", "units": 4,
                                  "revenue_minor": 36_000}]
    assert (other["units"], other["revenue_minor"]) == (4, 36_000)


def test_bad_ranges_and_roles(history: Context, client: Any, fixed_now: None) -> None:
    reversed_range = client.get("/v1/analytics/daily?from=2026-03-11&to=2026-03-10",
                                headers=merchant_headers())
    assert reversed_range.status_code == 400
    assert set(reversed_range.get_json()) >= {"code", "message", "description"}
    too_long = client.get("/v1/analytics/funnel?from=2025-01-01&to=2026-03-10",
                          headers=merchant_headers())
    assert too_long.status_code == 400
    unknown = client.get("/v1/analytics/daily?metrics=nope", headers=merchant_headers())
    assert unknown.status_code == 422
    viewer_key = "analytics-viewer-key-000001"
    issue_api_key(history, TENANT_ID, viewer_key, scopes=BUILT_IN_ROLES["viewer"])
    for path in ("overview", "daily", "funnel", "messaging", "intents", "products"):
        refused = client.get(f"/v1/analytics/{path}",
                             headers=merchant_headers(api_key=viewer_key))
        assert refused.status_code == 403, path


def test_operator_active_tenants(history: Context, client: Any, fixed_now: None) -> None:
    add_tenant(history, "quiet-shop", "+254700000303", "AC" + "3" * 32, "quiet-token",
               "quiet-shop-api-key-0003")
    quiet = History(history, "quiet-shop")
    quiet.inbound(quiet.customer("+254733000001"), local(date(2026, 1, 5), 9))  # > 30 days
    response = client.get("/v1/platform/active-tenants", headers=service_headers())
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["active"], body["tenants_total"], body["days"]) == (2, 3, 30)
    assert [(t["tenant_id"], t["messages_in"]) for t in body["tenants"]] == [
        (TENANT_ID, 9), (OTHER_ID, 5)]
    assert client.get("/v1/platform/active-tenants",
                      headers=merchant_headers()).status_code in (401, 403)


def test_faq_answers_asked_by_the_assistant_are_logged(tenants: Context, client: Any) -> None:
    response = client.post("/v1/faq/answer", json={"question": "Where are you?"},
                           headers=service_headers(TENANT_ID))
    assert response.status_code == 200, response.get_json()
    merchant = client.post("/v1/faq/answer", json={"question": "Where are you?"},
                           headers=merchant_headers())
    assert merchant.status_code == 200
    with tenants.db.transaction() as session:
        logged = session.execute(select(FaqAnswerLog.tenant_id, FaqAnswerLog.answered)).all()
    assert logged == [(TENANT_ID, response.get_json()["answered"])]


def test_seeded_history_adds_up_and_is_seeded_once(tenants: Context) -> None:
    from backend.seed.history import seed_history

    now = datetime(2026, 3, 12, 6, 0, tzinfo=UTC)
    report = seed_history(tenants, TENANT_ID, messages=2_000, orders=200, days=30, now=now)
    assert report.created and report.orders == 200 and report.days_rolled_up == 30
    with tenants.db.transaction() as session:
        inbound = session.scalar(select(func.count()).select_from(InboundMessage).where(
            InboundMessage.tenant_id == TENANT_ID))
        sums = session.execute(select(
            func.sum(DailyRollup.messages_in), func.sum(DailyRollup.orders),
            func.sum(DailyRollup.conversations), func.min(DailyRollup.day),
            func.max(DailyRollup.day)).where(DailyRollup.tenant_id == TENANT_ID)).one()
    assert inbound == 1_000
    # Every message and order falls on one of the 30 local days before 12 March.
    assert tuple(sums) == (1_000, 200, report.conversations, date(2026, 2, 10), D2)
    again = seed_history(tenants, TENANT_ID, messages=2_000, orders=200, days=30, now=now)
    assert not again.created
    with tenants.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage).where(
            InboundMessage.tenant_id == TENANT_ID)) == 1_000
