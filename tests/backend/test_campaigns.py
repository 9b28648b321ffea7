"""Campaigns: segments, the reach preview, refusals (nothing stored), the A/B split, fan-out
through the one send decision (limits, quiet hours), a batch re-run after a crash sending
nothing twice, the per-variant report and its CSV, cancel and scheduling."""

from __future__ import annotations

import csv
import io
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.domain.campaigns import split
from backend.models import (
    Appointment,
    Campaign,
    CampaignRecipient,
    Conversation,
    Customer,
    InboundMessage,
    Order,
    OutboundMessage,
    Service,
    ServiceVariant,
)
from backend.sandbox.models import SandboxMessage
from backend.services.conversations import campaigns
from backend.services.platform.customers import upsert_customer
from backend.wiring import Context
from tests.backend.conftest import OTHER_ID, OTHER_KEY, TENANT_ID, merchant_headers
from tests.backend.payment_helpers import wait_for
from tests.backend.test_messaging import approve, fill_today, quiet_now, template

CAMPAIGN_JOBS = ("start_campaign", "send_campaign_batch")
SKIPPED: set[str] = set()  # other jobs a test leaves out (its `live` records them, unrun)


@pytest.fixture
def jobs(tenants: Context, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    """Campaign jobs recorded instead of run (the tests run them, twice where it matters);
    every other job (delivery, the simulator's status callbacks) runs as usual."""
    recorded: list[tuple[str, tuple[Any, ...]]] = []
    real = tenants.jobs.enqueue

    def enqueue(job: Any, *args: Any) -> Any:
        name = job.path.rsplit(".", 1)[-1]
        if name in CAMPAIGN_JOBS:
            recorded.append((name, args))
            return None
        return real(job, *args)

    monkeypatch.setattr(tenants.jobs, "enqueue", enqueue)
    return recorded


@pytest.fixture
def live(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Context, list[Any]]:
    """An app served over HTTP: its sandbox tenants send to its own Twilio simulator, whose
    status callbacks come back signed."""
    from tests.backend.conftest import (OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, TENANT_KEY,
                                        TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, add_tenant)
    server = live_server()
    ctx = server.app.extensions["backend"]
    add_tenant(ctx, TENANT_ID, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, TENANT_KEY)
    add_tenant(ctx, OTHER_ID, OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, OTHER_KEY)
    recorded: list[Any] = []
    real = ctx.jobs.enqueue

    def enqueue(job: Any, *args: Any) -> Any:
        name = job.path.rsplit(".", 1)[-1]
        if name in CAMPAIGN_JOBS or name in SKIPPED:
            recorded.append((name, args))
            return None
        return real(job, *args)

    monkeypatch.setattr(ctx.jobs, "enqueue", enqueue)
    return server.app.test_client(), ctx, recorded


def phone(n: int) -> str:
    return f"+25471{n:07d}"


def customers(ctx: Context, count: int, *, start: int = 0, language: str = "en",
              promotional: bool = True, wrote_hours_ago: float | None = 1,
              tenant: str = TENANT_ID) -> list[int]:
    """`count` customers; those who wrote recently are inside the 24-hour window."""
    ids = []
    at = datetime.now(UTC) - timedelta(hours=wrote_hours_ago or 0)
    with ctx.db.transaction() as session:
        for n in range(start, start + count):
            row = upsert_customer(session, ctx.crypto, tenant, phone(n), None)
            row.language = language
            row.consent_promotional = promotional
            session.flush()
            if wrote_hours_ago is not None:
                session.add(Conversation(tenant_id=tenant, customer_id=row.id, status="open",
                                         needs_human=False, started_at=at, last_inbound_at=at,
                                         last_message_at=at))
            ids.append(row.id)
    return ids


def promo_template(client: Any, name: str = "sale", variants: dict[str, str] | None = None
                   ) -> dict[str, Any]:
    response = client.post("/v1/message-templates", headers=merchant_headers(), json={
        "name": name, "category": "marketing", "placeholders": ["offer"],
        "sample_values": {"offer": "20% off"},
        "variants": variants or {"en": "Karibu! {{offer}} on everything this week.",
                                 "sw": "Karibu! {{offer}} kwa kila kitu wiki hii."}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def body(*templates: str, segment: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": "December sale", "segment": segment or {},
            "variants": [{"template": name, "variables": {"offer": "20% off"}}
                         for name in templates], **extra}


def post(client: Any, payload: dict[str, Any], path: str = "/v1/campaigns") -> Any:
    return client.post(path, headers=merchant_headers(), json=payload)


def run(ctx: Context, recorded: list[Any]) -> None:
    """Run the recorded campaign jobs in order, and those they enqueue."""
    while recorded:
        name, args = recorded.pop(0)
        if name == "start_campaign":
            campaigns.start_campaign(ctx, *args)
        else:
            campaigns.send_campaign_batch(ctx, *args)


def counted(ctx: Context, model: Any) -> int:
    with ctx.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# ------------------------------------------------------------------------------ segments


def order(ctx: Context, customer_id: int, total: int, status: str, placed: datetime) -> None:
    with ctx.db.transaction() as session:
        session.add(Order(tenant_id=TENANT_ID, customer_id=customer_id, status=status,
                          currency="KES", total_minor=total, placed_at=placed))


def booking(ctx: Context, customer_id: int, made: datetime | None = None) -> None:
    with ctx.db.transaction() as session:
        service = session.scalar(select(Service).where(Service.tenant_id == TENANT_ID))
        if service is None:
            service = Service(tenant_id=TENANT_ID, name="Haircut")
            session.add(service)
            session.flush()
            session.add(ServiceVariant(tenant_id=TENANT_ID, service_id=service.id, name="Short",
                                       duration_minutes=30, price_minor=50_000,
                                       currency="KES"))
            session.flush()
        variant = session.scalar(select(ServiceVariant).where(
            ServiceVariant.service_id == service.id))
        starts = datetime.now(UTC) + timedelta(days=3)
        session.add(Appointment(tenant_id=TENANT_ID, customer_id=customer_id,
                                service_id=service.id, service_variant_id=variant.id,
                                starts_at=starts, ends_at=starts + timedelta(minutes=30),
                                price_minor=50_000, currency="KES",
                                created_at=made or datetime.now(UTC)))


@pytest.fixture
def shoppers(client: Any, tenants: Context, jobs: Any) -> dict[str, int]:
    """Six customers with different languages, tags, orders and bookings (all consenting),
    one who did not consent, and one of another tenant."""
    now = datetime.now(UTC)
    made = {}
    for n, (name, language) in enumerate([("amina", "en"), ("baraka", "sw"), ("chege", "sheng"),
                                          ("dida", "en"), ("esther", "sw"), ("fatuma", "en")]):
        made[name] = customers(tenants, 1, start=n, language=language)[0]
    made["no_consent"] = customers(tenants, 1, start=50, promotional=False)[0]
    customers(tenants, 1, start=60, tenant=OTHER_ID)
    order(tenants, made["amina"], 500_000, "paid", now - timedelta(days=40))
    order(tenants, made["amina"], 250_000, "delivered", now - timedelta(days=2))
    order(tenants, made["baraka"], 100_000, "paid", now - timedelta(days=60))
    order(tenants, made["chege"], 900_000, "cancelled", now - timedelta(days=1))  # not spent
    order(tenants, made["no_consent"], 900_000, "paid", now - timedelta(days=1))
    booking(tenants, made["dida"])
    for name, tags in (("amina", ["VIP", "nairobi"]), ("esther", ["vip"])):
        response = client.put(f"/v1/customers/{made[name]}/tags", headers=merchant_headers(),
                              json={"tags": tags})
        assert response.status_code == 200, response.get_json()
    promo_template(client, variants={"en": "Karibu! {{offer}} now.", "sw": "Karibu! {{offer}}.",
                                     "sheng": "Niaje! {{offer}} saa hii."})
    return made


SEGMENTS = [
    ({}, {"amina", "baraka", "chege", "dida", "esther", "fatuma"}),
    ({"languages": ["sw"]}, {"baraka", "esther"}),
    ({"tags": ["vip"]}, {"amina", "esther"}),
    ({"tags": ["Nairobi", "nowhere"]}, {"amina"}),
    ({"last_order_after": "days:7"}, {"amina"}),  # chege's order was cancelled: not counted
    ({"last_order_before": "days:30"}, {"baraka"}),
    ({"total_spent_min": 500_000}, {"amina"}),
    ({"total_spent_max": 0}, {"chege", "dida", "esther", "fatuma"}),
    ({"total_spent_min": 1, "total_spent_max": 200_000}, {"baraka"}),
    ({"has_bookings": True}, {"dida"}),
    ({"has_bookings": False, "languages": ["en"]}, {"amina", "fatuma"}),
]


def _resolve(segment: dict[str, Any]) -> dict[str, Any]:
    out = dict(segment)
    for key, value in segment.items():
        if isinstance(value, str) and value.startswith("days:"):
            out[key] = (datetime.now(UTC) - timedelta(days=int(value[5:]))).isoformat()
    return out


@pytest.mark.parametrize("segment,expected", SEGMENTS)
def test_segments_pick_the_customers_and_consent_is_always_required(
        client, tenants, shoppers, segment, expected) -> None:
    response = post(client, body("sale", segment=_resolve(segment)), "/v1/campaigns/preview")
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["reach"] == len(expected)
    created = post(client, body("sale", segment=_resolve(segment)))
    assert created.status_code == 202, created.get_json()
    run(tenants, [("start_campaign", (created.get_json()["id"],))])
    with tenants.db.transaction() as session:
        got = set(session.scalars(select(CampaignRecipient.customer_id)))
    names = {name for name, customer in shoppers.items() if customer in got}
    assert names == expected


# ------------------------------------------------------------------------------ preview, refusals


def test_preview_counts_reach_and_refusals_and_stores_nothing(client, tenants, jobs) -> None:
    customers(tenants, 5, start=0)  # inside the window: reached
    customers(tenants, 3, start=10, wrote_hours_ago=30)  # outside, template still pending
    customers(tenants, 2, start=20, promotional=False)
    promo_template(client)
    before = (counted(tenants, OutboundMessage), counted(tenants, Campaign))
    fill_today(tenants, 197)  # starter: 200 a day, 3 left today
    answer = post(client, body("sale"), "/v1/campaigns/preview").get_json()
    assert answer["matched"] == 10
    assert answer["reach"] == 5
    assert answer["refused"] == {"no_consent": 2, "template_not_approved": 3}
    assert answer["deferred"] == {"quiet_hours": 0, "daily_limit": 2}
    assert answer["languages"] == {"en": 8}
    assert (counted(tenants, OutboundMessage) - 197, counted(tenants, Campaign)) == before
    assert jobs == []


def test_preview_with_an_approved_template_reaches_outside_the_window(client, tenants,
                                                                      jobs) -> None:
    customers(tenants, 4, start=0, wrote_hours_ago=None)
    approve(tenants, promo_template(client)["id"])
    quiet_now(tenants, True)
    answer = post(client, body("sale"), "/v1/campaigns/preview").get_json()
    assert (answer["reach"], answer["refused"]) == (4, {})
    assert answer["deferred"]["quiet_hours"] == 4


def nothing_stored(ctx: Context) -> None:
    assert counted(ctx, Campaign) == 0
    assert counted(ctx, CampaignRecipient) == 0
    assert counted(ctx, OutboundMessage) == 0


@pytest.mark.parametrize("case,status,reason", [
    ("empty_audience", 422, "empty_audience"),
    ("no_promotional_consent", 422, "no_promotional_consent"),
    ("language_missing", 422, "template_language_missing"),
    ("unknown_variable", 400, None),
    ("missing_variable", 400, None),
    ("unknown_template", 400, None),
])
def test_bad_campaigns_are_refused_with_a_reason_and_nothing_is_stored(
        client, tenants, jobs, case, status, reason) -> None:
    promo_template(client, variants={"en": "Karibu! {{offer}} now."})
    customers(tenants, 3, start=0, promotional=case != "no_promotional_consent")
    payload = body("sale")
    if case == "empty_audience":
        payload["segment"] = {"languages": ["sheng"]}
    elif case == "language_missing":
        customers(tenants, 2, start=10, language="sw")
    elif case == "unknown_variable":
        payload["variants"][0]["variables"] = {"offer": "x", "coupon": "XMAS"}
    elif case == "missing_variable":
        payload["variants"][0]["variables"] = {}
    elif case == "unknown_template":
        payload["variants"].append({"template": "nope", "variables": {}})
    response = post(client, payload)
    answer = response.get_json()
    assert response.status_code == status, answer
    assert answer["description"]
    if reason:
        assert answer["reason"] == reason
    if case == "language_missing":
        assert "'sale' has no sw variant" in answer["description"] and answer["count"] == 2
    if case == "unknown_variable":
        assert "coupon" in str(answer["errors"])
    if case == "unknown_template":
        assert "variants.1.template" in answer["errors"]
    nothing_stored(tenants)
    assert jobs == []


# ------------------------------------------------------------------------------ A/B split


def test_the_ab_split_is_balanced_recorded_and_reproducible(client, tenants, jobs) -> None:
    customers(tenants, 101, start=0)
    for name in ("sale_a", "sale_b", "sale_c"):
        promo_template(client, name)
    created = post(client, body("sale_a", "sale_b", "sale_c"))
    assert created.status_code == 202, created.get_json()
    campaign = created.get_json()
    assert [v["label"] for v in campaign["variants"]] == ["A", "B", "C"]
    assert jobs == [("start_campaign", (campaign["id"],))]
    campaigns.start_campaign(tenants, campaign["id"])
    campaigns.start_campaign(tenants, campaign["id"])  # run twice: nothing more stored
    with tenants.db.transaction() as session:
        rows = session.execute(select(CampaignRecipient.customer_id,
                                      CampaignRecipient.variant_id)).all()
        seed = session.scalar(select(Campaign.seed))
    assert len(rows) == 101
    sizes = Counter(variant for _, variant in rows)
    assert max(sizes.values()) - min(sizes.values()) <= 1
    # The same seed gives the same split; the recorded variant is the split's.
    expected = split([c for c, _ in rows], 3, seed)
    order = sorted(set(v for _, v in rows))
    assert {c: order.index(v) for c, v in rows} == expected
    other = split([c for c, _ in rows], 3, seed + 1)
    assert other != expected  # random: another seed splits otherwise


# ------------------------------------------------------------------------------ sending


def sandbox_counts(ctx: Context) -> Counter[str]:
    with ctx.db.transaction() as session:
        return Counter(session.scalars(select(SandboxMessage.to_hash)))


def test_a_batch_run_again_after_a_crash_sends_no_one_twice(live, monkeypatch) -> None:
    client, ctx, recorded = live
    # Counted by what the simulator received: its status callbacks are not needed here.
    monkeypatch.setattr(sys.modules[__name__], "SKIPPED", {"send_status_callbacks"})
    monkeypatch.setattr(campaigns, "PLAN_CHUNK", 20)
    people = customers(ctx, 50, start=0)
    promo_template(client)
    created = post(client, body("sale")).get_json()
    campaigns.start_campaign(ctx, created["id"])
    sends = [args for name, args in recorded if name == "send_campaign_batch"]
    assert len(sends) == 1  # 50 recipients: one batch of 200, planned 20 at a time
    real_plan, real_deliver = campaigns.plan_outbound, campaigns.deliver_batch
    planned = delivered = 0

    def plan_then_die(*args: Any, **kwargs: Any) -> Any:
        nonlocal planned
        planned += 1
        if planned == 25:  # killed while planning the 2nd chunk of 20
            raise SystemExit("worker killed")
        return real_plan(*args, **kwargs)

    def deliver_then_die(*args: Any, **kwargs: Any) -> Any:
        nonlocal delivered
        delivered += 1
        if delivered == 10:  # killed while sending
            raise SystemExit("worker killed")
        return real_deliver(*args, **kwargs)

    monkeypatch.setattr(campaigns, "plan_outbound", plan_then_die)
    with pytest.raises(SystemExit):  # 20 planned and sent, the next chunk rolled back
        campaigns.send_campaign_batch(ctx, *sends[0])
    monkeypatch.setattr(campaigns, "plan_outbound", real_plan)
    monkeypatch.setattr(campaigns, "deliver_batch", deliver_then_die)
    with pytest.raises(SystemExit):  # the rest planned, one send died (others in flight)
        campaigns.send_campaign_batch(ctx, *sends[0])
    monkeypatch.setattr(campaigns, "deliver_batch", real_deliver)
    campaigns.send_campaign_batch(ctx, *sends[0])
    campaigns.send_campaign_batch(ctx, *sends[0])  # and once more for good measure
    got = sandbox_counts(ctx)
    assert len(got) == 50 and set(got.values()) == {1}
    with ctx.db.transaction() as session:
        per_customer = Counter(session.scalars(select(OutboundMessage.customer_id)))
        statuses = Counter(session.scalars(select(CampaignRecipient.status)))
        status = session.scalar(select(Campaign.status))
    assert set(per_customer) == set(people) and set(per_customer.values()) == {1}
    assert statuses == {"planned": 50}
    assert status == "done"


def test_the_report_per_variant_and_its_csv(live) -> None:
    client, ctx, recorded = live
    people = customers(ctx, 40, start=0)
    customers(ctx, 2, start=100, promotional=False)
    promo_template(client, "sale_a")
    promo_template(client, "sale_b")
    created = post(client, body("sale_a", "sale_b")).get_json()
    run(ctx, recorded)

    def all_read() -> bool:  # asked of the service: polling the API would meet its rate limit
        report = campaigns.campaign_report(ctx, TENANT_ID, created["id"])
        return sum(v["read"] for v in report["variants"]) == 40

    wait_for(all_read, timeout=60, every=0.2)
    with ctx.db.transaction() as session:
        by_variant: dict[int, list[tuple[int, datetime]]] = {}
        for recipient, due in session.execute(
                select(CampaignRecipient, OutboundMessage.due_at)
                .join(OutboundMessage, OutboundMessage.id == CampaignRecipient.outbound_id)
                .order_by(CampaignRecipient.id)):
            by_variant.setdefault(recipient.variant_id, []).append((recipient.customer_id, due))
        first, second = (by_variant[k] for k in sorted(by_variant))
        later = lambda at, hours: (at if at.tzinfo else at.replace(tzinfo=UTC)) + timedelta(
            hours=hours)  # noqa: E731
        # A: three replied, two ordered within 72 h, one ordered after 80 h (not converted).
        for customer_id, at in first[:3]:
            session.add(InboundMessage(tenant_id=TENANT_ID, customer_id=customer_id,
                                       provider_sid=f"SM{customer_id}", body="nataka",
                                       created_at=later(at, 1)))
        for customer_id, at in first[:2]:
            session.add(Order(tenant_id=TENANT_ID, customer_id=customer_id, status="paid",
                              currency="KES", total_minor=1000, placed_at=later(at, 5)))
        session.add(Order(tenant_id=TENANT_ID, customer_id=first[5][0], status="paid",
                          currency="KES", total_minor=1000, placed_at=later(first[5][1], 80)))
    # B: one booked within 72 h.
    booking(ctx, second[0][0], made=later(second[0][1], 24))
    report = client.get(f"/v1/campaigns/{created['id']}/report",
                        headers=merchant_headers()).get_json()
    a, b = report["variants"]
    assert (a["variant"], a["template"], b["template"]) == ("A", "sale_a", "sale_b")
    assert (a["recipients"], b["recipients"]) == (20, 20)
    for row in (a, b):
        assert (row["sent"], row["delivered"], row["read"], row["refused"]) == (20, 20, 20, 0)
    assert (a["replied"], a["converted"]) == (3, 2)
    assert (b["replied"], b["converted"]) == (0, 1)
    assert set(people) == {c for c, _ in first + second}
    response = client.get(f"/v1/campaigns/{created['id']}/report.csv", headers=merchant_headers())
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["variant"], r["sent"], r["replied"], r["converted"]) for r in rows] == [
        ("A", "20", "3", "2"), ("B", "20", "0", "1")]
    view = client.get(f"/v1/campaigns/{created['id']}", headers=merchant_headers()).get_json()
    assert view["status"] == "done" and view["outcomes"]["planned"] == 40


def test_over_the_daily_limit_the_rest_waits_for_the_next_day_and_stop_is_refused(
        live) -> None:
    client, ctx, recorded = live
    quiet_now(ctx, False)  # else, run in the tenant's quiet hours, every send is held for them
    customers(ctx, 30, start=0)
    promo_template(client)
    fill_today(ctx, 190)  # starter: 200 a day
    created = post(client, body("sale")).get_json()
    run(ctx, [recorded.pop(0)])  # recipients stored
    with ctx.db.transaction() as session:  # then one of them says STOP before the send
        session.scalars(select(Customer).where(Customer.tenant_id == TENANT_ID)
                        .order_by(Customer.id)).first().consent_promotional = False
    run(ctx, recorded)
    report = client.get(f"/v1/campaigns/{created['id']}/report",
                        headers=merchant_headers()).get_json()["variants"][0]
    assert report["recipients"] == 30
    assert report["refused_by_reason"] == {"no_consent": 1}
    assert report["next_day"] == 19 and report["waiting"] == 19
    wait_for(lambda: campaigns.campaign_report(ctx, TENANT_ID, created["id"])["variants"][0]
             ["sent"] == 10, timeout=60, every=0.2)
    with ctx.db.transaction() as session:
        waiting = session.scalars(select(OutboundMessage).where(
            OutboundMessage.status == "scheduled")).all()
    tomorrow = datetime.now(UTC) + timedelta(minutes=1)
    assert len(waiting) == 19 and all(
        (m.due_at if m.due_at.tzinfo else m.due_at.replace(tzinfo=UTC)) > tomorrow
        for m in waiting)


def test_quiet_hours_defer_the_campaign(client, tenants, jobs, monkeypatch) -> None:
    customers(tenants, 5, start=0)
    promo_template(client)
    quiet_now(tenants, True)
    created = post(client, body("sale")).get_json()
    delivered: list[Any] = []
    monkeypatch.setattr(campaigns, "deliver_batch", lambda *a, **k: delivered.append(a))
    run(tenants, jobs)
    with tenants.db.transaction() as session:
        deferred = session.scalars(select(CampaignRecipient.deferred)).all()
        statuses = set(session.scalars(select(OutboundMessage.status)))
    assert deferred == [["quiet_hours"]] * 5 and statuses == {"scheduled"}
    assert delivered == []  # nothing goes out before quiet hours end
    assert client.get(f"/v1/campaigns/{created['id']}/report",
                      headers=merchant_headers()).get_json()["variants"][0]["waiting"] == 5


# ------------------------------------------------------------------------------ schedule, cancel


def test_scheduled_campaigns_start_when_due_and_cancel_stops_them(client, tenants,
                                                                  jobs) -> None:
    customers(tenants, 4, start=0)
    promo_template(client)
    later = datetime.now(UTC) + timedelta(hours=2)
    first = post(client, body("sale", send_at=later.isoformat())).get_json()
    second = post(client, body("sale", send_at=later.isoformat())).get_json()
    assert (first["status"], jobs) == ("scheduled", [])
    assert campaigns.start_due_campaigns(tenants)["started"] == 0
    cancelled = client.post(f"/v1/campaigns/{second['id']}/cancel", headers=merchant_headers())
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    again = client.post(f"/v1/campaigns/{second['id']}/cancel", headers=merchant_headers())
    assert again.status_code == 409
    assert campaigns.start_due_campaigns(tenants, later + timedelta(minutes=1))["started"] == 1
    assert jobs == [("start_campaign", (first["id"],))]
    listed = client.get("/v1/campaigns", headers=merchant_headers()).get_json()
    assert [c["status"] for c in listed["results"]] == ["cancelled", "queued"]


def test_cancel_mid_campaign_plans_no_one_more(client, tenants, jobs, monkeypatch) -> None:
    customers(tenants, 10, start=0)
    promo_template(client)
    created = post(client, body("sale")).get_json()
    run(tenants, [jobs.pop(0)])  # materialised, batch not sent yet
    cancelled = client.post(f"/v1/campaigns/{created['id']}/cancel",
                            headers=merchant_headers()).get_json()
    assert cancelled["outcomes"] == {"pending": 0, "planned": 0, "refused": 0, "cancelled": 10}
    monkeypatch.setattr(campaigns, "deliver_batch", lambda *a, **k: pytest.fail("sent"))
    run(tenants, jobs)
    assert counted(tenants, OutboundMessage) == 0


def test_campaigns_and_tags_are_tenant_scoped(client, tenants, jobs) -> None:
    mine = customers(tenants, 2, start=0)
    theirs = customers(tenants, 2, start=10, tenant=OTHER_ID)
    promo_template(client)
    created = post(client, body("sale")).get_json()
    other = merchant_headers(OTHER_ID, OTHER_KEY)
    assert client.get(f"/v1/campaigns/{created['id']}", headers=other).status_code == 404
    assert client.get(f"/v1/campaigns/{created['id']}/report.csv",
                      headers=other).status_code == 404
    assert client.put(f"/v1/customers/{mine[0]}/tags", headers=other,
                      json={"tags": ["x"]}).status_code == 404
    run(tenants, jobs)
    with tenants.db.transaction() as session:
        got = set(session.scalars(select(CampaignRecipient.customer_id)))
    assert got == set(mine) and not got & set(theirs)


def test_a_campaign_is_queued_without_sending_in_the_request(client, tenants, jobs) -> None:
    customers(tenants, 150, start=0)
    promo_template(client)
    response = post(client, body("sale"))
    assert response.status_code == 202
    assert response.get_json()["status"] == "queued"
    assert counted(tenants, OutboundMessage) == 0 and counted(tenants, CampaignRecipient) == 0
    assert [name for name, _ in jobs] == ["start_campaign"]
