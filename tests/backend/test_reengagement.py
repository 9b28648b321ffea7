"""Re-engagement (abandoned carts, silent and dormant customers), the 80 % usage warning and
templates in a language the customer lacks. Time moves through the sweeps' `now`."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from kit import texts
from backend.models import AutomaticMessage, Customer, OutboundMessage
from backend.models.base import utcnow
from backend.services.conversations.inbound import IncomingMessage, record_inbound
from backend.services.conversations.outbound import check_usage
from backend.services.conversations.reengagement import sweep_reengagement
from backend.services.orders.carts import add_item, remove_item
from backend.wiring import Context
from tests.backend.commerce_helpers import json_of, merchant, seed_catalog
from tests.backend.conftest import TENANT_ID
from tests.backend.test_messaging import PHONE, approve, customer, jobs  # noqa: F401

SHOP = f"{TENANT_ID} ltd"


def features(client: Any, **values: Any) -> dict[str, Any]:
    return json_of(client.patch("/v1/tenant", headers=merchant(), json={"features": values}),
                   200)["features"]


def fill_cart(tenants: Context, buyer: int) -> None:
    """Two items: a Kitenge shirt (2,500.50) and a pair of sneakers (1,800)."""
    variants = seed_catalog(tenants)
    add_item(tenants, TENANT_ID, buyer, variants["KTG-M"], 1)
    add_item(tenants, TENANT_ID, buyer, variants["SNK-WHT-40"], 1)


def sent_to(tenants: Context, buyer: int) -> list[OutboundMessage]:
    with tenants.db.transaction() as session:
        return list(session.scalars(select(OutboundMessage).where(
            OutboundMessage.customer_id == buyer).order_by(OutboundMessage.id)))


def records(tenants: Context, event: str) -> list[AutomaticMessage]:
    with tenants.db.transaction() as session:
        return list(session.scalars(select(AutomaticMessage).where(
            AutomaticMessage.tenant_id == TENANT_ID, AutomaticMessage.event == event)
            .order_by(AutomaticMessage.id)))


def dormant_at(tenants: Context, who: int) -> datetime | None:
    with tenants.db.transaction() as session:
        return session.get_one(Customer, who).dormant_at


def make_template(client: Any, tenants: Context, name: str, variants: dict[str, str],
                  placeholders: list[str] | None = None) -> dict[str, Any]:
    made = json_of(client.post("/v1/message-templates", headers=merchant(), json={
        "name": name, "category": "marketing", "placeholders": placeholders or ["shop"],
        "sample_values": {"shop": "Duka"}, "variants": variants}), 201)
    approve(tenants, made["id"])
    return made


def cart_text(language: str) -> str:
    return texts.text("auto.cart_reminder", language).format(
        shop=SHOP, items="2", currency="KES", amount="4,300.50")


# Abandoned carts.

def test_an_abandoned_cart_is_reminded_once_after_the_tenants_delay(
        client, tenants, jobs) -> None:
    assert features(client, cart_reminder_hours=3)["cart_reminder_hours"] == 3
    assert client.patch("/v1/tenant", headers=merchant(), json={
        "features": {"cart_reminder_hours": 0}}).status_code in (400, 422)
    buyer = customer(tenants, wrote_hours_ago=0, language="sw")
    fill_cart(tenants, buyer)
    now = utcnow()
    assert sweep_reengagement(tenants, now=now + timedelta(hours=2)).carts == Counter()
    first = sweep_reengagement(tenants, now=now + timedelta(hours=4))
    again = sweep_reengagement(tenants, now=now + timedelta(hours=5))
    later = sweep_reengagement(tenants, now=now + timedelta(days=2))
    assert first.carts == Counter(sent=1) and again.carts == later.carts == Counter()
    [row] = sent_to(tenants, buyer)
    assert (row.body, row.kind, row.language) == (cart_text("sw"), "reminders", "sw")
    assert [args[0] for name, args in jobs if name == "deliver_outbound"] == [[row.id]]
    # Emptied and filled again: a new cart, and one more reminder.
    cart = client.get("/v1/carts", headers=merchant()).get_json()["results"][0]
    for item in cart["items"]:
        remove_item(tenants, TENANT_ID, buyer, item["id"])
    add_item(tenants, TENANT_ID, buyer, cart["items"][0]["variant_id"], 1)
    refilled = sweep_reengagement(tenants, now=utcnow() + timedelta(hours=4))
    assert refilled.carts == Counter(sent=1) and len(sent_to(tenants, buyer)) == 2


def test_outside_the_window_the_cart_reminder_needs_the_tenants_template(
        client, tenants, jobs) -> None:
    buyer = customer(tenants, wrote_hours_ago=0, language="en")
    fill_cart(tenants, buyer)
    at = utcnow() + timedelta(hours=25)  # the default delay, 24 h: the window has closed
    assert sweep_reengagement(tenants, now=at).carts == Counter(refused=1)
    [record] = records(tenants, "cart_reminder")
    assert record.reason.startswith("outside_window: ") and sent_to(tenants, buyer) == []
    assert sweep_reengagement(tenants, now=at + timedelta(hours=1)).carts == Counter()
    # With the tenant's approved template named after the message, the next cart's goes.
    made = make_template(client, tenants, "cart_reminder", {
        "en": "{{shop}}: your cart still has {{items}} item(s). Reply \"cart\"."},
        ["shop", "items"])
    other = customer(tenants, wrote_hours_ago=0, phone="+254711000777")
    fill_cart(tenants, other)
    assert sweep_reengagement(tenants, now=at).carts == Counter(sent=1)
    [row] = sent_to(tenants, other)
    assert row.content_sid == f"HX{made['id']:032d}"
    assert row.body == f"{SHOP}: your cart still has 2 item(s). Reply \"cart\"."


def test_a_cart_reminder_turned_off_is_recorded_off_and_not_sent(client, tenants, jobs) -> None:
    features(client, automatic_messages={"cart_reminder": False}, cart_reminder_hours=1)
    buyer = customer(tenants, wrote_hours_ago=0)
    fill_cart(tenants, buyer)
    assert sweep_reengagement(tenants, now=utcnow() + timedelta(hours=2)).carts \
        == Counter(off=1)
    assert sent_to(tenants, buyer) == []


# Silent and dormant customers.

NUDGE_VARIANTS = {"en": "{{shop}} misses you! Reply \"menu\" for this week's offers.",
                  "sw": "{{shop}} inakukumbuka! Jibu \"menyu\" kuona ofa za wiki hii."}


def test_a_customer_silent_for_7_days_is_nudged_once_only_with_promotional_consent(
        client, tenants, jobs) -> None:
    made = make_template(client, tenants, "reengagement_nudge", NUDGE_VARIANTS)
    willing = customer(tenants, wrote_hours_ago=8 * 24, consents={"promotional": True},
                       language="sheng", phone="+254711000001")
    unwilling = customer(tenants, wrote_hours_ago=8 * 24, phone="+254711000002")
    recent = customer(tenants, wrote_hours_ago=3 * 24, consents={"promotional": True},
                      phone="+254711000003")
    now = utcnow()
    first = sweep_reengagement(tenants, now=now)
    assert first.nudges == Counter(sent=1, refused=1)
    assert sweep_reengagement(tenants, now=now).nudges == Counter()
    assert sweep_reengagement(tenants, now=now + timedelta(days=3)).nudges == Counter()
    [row] = sent_to(tenants, willing)
    # A Sheng speaker without a sheng variant reads the Swahili one.
    assert (row.kind, row.language, row.content_sid) == ("promotional", "sw",
                                                         f"HX{made['id']:032d}")
    assert row.body == f"{SHOP} inakukumbuka! Jibu \"menyu\" kuona ofa za wiki hii."
    assert sent_to(tenants, unwilling) == sent_to(tenants, recent) == []
    refused = {r.customer_id: r for r in records(tenants, "reengagement_nudge")}
    assert set(refused) == {willing, unwilling}
    assert refused[unwilling].reason.startswith("no_consent: ")


def test_dormant_at_14_days_never_nudged_and_cleared_when_they_write(
        client, tenants, jobs) -> None:
    make_template(client, tenants, "reengagement_nudge", NUDGE_VARIANTS)
    gone = customer(tenants, wrote_hours_ago=15 * 24, consents={"promotional": True})
    now = utcnow()
    report = sweep_reengagement(tenants, now=now)
    assert (report.dormant, report.nudges) == (1, Counter())
    assert dormant_at(tenants, gone) is not None
    shown = json_of(client.get(f"/v1/customers/{gone}", headers=merchant()), 200)
    assert shown["dormant_at"] is not None
    assert sweep_reengagement(tenants, now=now + timedelta(days=1)).dormant == 0
    assert sent_to(tenants, gone) == [] and records(tenants, "reengagement_nudge") == []
    # They write again: no longer dormant; a new silence of 7 days earns a new nudge.
    record_inbound(tenants, IncomingMessage(TENANT_ID, PHONE, "SM" + uuid.uuid4().hex, "niaje"))
    assert dormant_at(tenants, gone) is None
    assert json_of(client.get(f"/v1/customers/{gone}", headers=merchant()), 200)["dormant_at"] \
        is None
    assert sweep_reengagement(tenants, now=utcnow() + timedelta(days=8)).nudges \
        == Counter(sent=1)
    assert sweep_reengagement(tenants, now=utcnow() + timedelta(days=15)).dormant == 1


def test_two_sweeps_at_once_send_one_message(client, tenants, jobs) -> None:
    """Two scheduler replicas at the same moment: the unique record lets one of them send.
    (On SQLite, one writer at a time and one scheduler per deployment, they run in turn.)"""
    make_template(client, tenants, "reengagement_nudge", NUDGE_VARIANTS)
    buyer = customer(tenants, wrote_hours_ago=8 * 24, consents={"promotional": True})
    fill_cart(tenants, buyer)
    at = utcnow() + timedelta(hours=25)
    together = tenants.db.engine.dialect.name == "postgresql"
    start = threading.Barrier(2 if together else 1)
    reports: list[Any] = []

    def sweep() -> None:
        start.wait()
        reports.append(sweep_reengagement(tenants, now=at))

    if together:
        threads = [threading.Thread(target=sweep) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    else:
        sweep()
        sweep()
    assert len(reports) == 2
    nudges = reports[0].nudges + reports[1].nudges
    carts = reports[0].carts + reports[1].carts
    assert nudges["sent"] == 1 and carts["refused"] == 1
    assert set(nudges) | set(carts) <= {"sent", "refused", "duplicate", "skipped"}
    assert len(sent_to(tenants, buyer)) == 1
    assert len(records(tenants, "reengagement_nudge")) == len(records(tenants, "cart_reminder")) \
        == 1


# The merchant's 80 % warning.

def put_messages(tenants: Context, count: int, at: datetime, kind: str = "reply") -> None:
    batch = uuid.uuid4().hex
    with tenants.db.transaction() as session:
        session.execute(insert(OutboundMessage), [
            dict(tenant_id=TENANT_ID, to_phone_encrypted="x", to_phone_hash="h", body="old",
                 status="sent", kind=kind, urgent=False, attempts=1, batch_id=batch,
                 position=n, created_at=at, updated_at=at, due_at=at)
            for n in range(count)])


def test_the_merchant_is_warned_once_per_period_even_when_replies_cross_80_percent(
        client, tenants, jobs) -> None:
    now = utcnow()
    put_messages(tenants, 159, now)  # starter: 200 a day, 2,000 a month
    assert check_usage(tenants, now=now) == {}
    put_messages(tenants, 2, now)  # replies take the day past 80 %
    [said] = check_usage(tenants, now=now)[TENANT_ID]
    assert "161 of the 200 messages a day" in said
    assert check_usage(tenants, now=now) == {}
    put_messages(tenants, 20, now)
    assert check_usage(tenants, now=now) == {}
    usage = client.get("/v1/messages/usage", headers=merchant()).get_json()
    assert [w["period"] for w in usage["warnings"]] == ["day"]
    # The next day is a new period: warned again when it reaches 80 %, once.
    tomorrow = now + timedelta(days=1)
    put_messages(tenants, 160, tomorrow)
    assert list(check_usage(tenants, now=tomorrow)) == [TENANT_ID]
    assert check_usage(tenants, now=tomorrow) == {}
    usage = client.get("/v1/messages/usage", headers=merchant()).get_json()
    assert [w["period"] for w in usage["warnings"]] == ["day", "day"]


def test_the_month_is_warned_once_too(client, tenants, jobs) -> None:
    now = utcnow()
    put_messages(tenants, 1600, now, kind="promotional")
    given = check_usage(tenants, now=now)[TENANT_ID]
    assert len(given) == 2 and any("1,600 of the 2,000 messages a month" in s for s in given)
    assert check_usage(tenants, now=now) == {}
    periods = sorted(w["period"] for w in client.get(
        "/v1/messages/usage", headers=merchant()).get_json()["warnings"])
    assert periods == ["day", "month"]


# Templates in a language the customer lacks.

# customer's language, the template's variants, expected: (variant sent, its text) or the
# languages the refusal names.
LANGUAGE_CASES = [
    ("sheng", {"sheng": "Niaje {{shop}}", "sw": "Habari {{shop}}"}, ("sheng", "Niaje")),
    ("sheng", {"sw": "Habari {{shop}}", "en": "Hello {{shop}}"}, ("sw", "Habari")),
    ("sheng", {"en": "Hello {{shop}}"}, "sheng or sw"),
    ("sw", {"en": "Hello {{shop}}", "sheng": "Niaje {{shop}}"}, "sw"),
    ("en", {"sw": "Habari {{shop}}"}, "en"),
]


def test_a_template_goes_in_a_language_the_customer_reads_or_not_at_all(
        client, tenants, jobs) -> None:
    """Through the merchant's send (refused: 422, nothing stored) and the re-engagement nudge
    (refused: the reason recorded, nothing sent)."""
    for n, (language, variants, expected) in enumerate(LANGUAGE_CASES):
        make_template(client, tenants, f"greeting_{n}", variants)
        who = customer(tenants, wrote_hours_ago=8 * 24, consents={"promotional": True},
                       language=language, phone=f"+25471100010{n}")
        answer = client.post("/v1/messages/send", headers=merchant(), json={
            "customer_id": who, "kind": "promotional", "template": f"greeting_{n}",
            "variables": {"shop": "Duka"}})
        if isinstance(expected, tuple):
            assert answer.status_code == 202 and answer.get_json()["language"] == expected[0]
            [row] = sent_to(tenants, who)
            assert (row.language, row.body) == (expected[0], f"{expected[1]} Duka")
        else:
            assert answer.status_code == 422, answer.get_json()
            assert answer.get_json()["reason"] == "template_language_missing"
            assert f"has no variant in {expected}," in answer.get_json()["description"]
            assert sent_to(tenants, who) == []
    make_template(client, tenants, "reengagement_nudge", LANGUAGE_CASES[2][1])
    lacking = customer(tenants, wrote_hours_ago=8 * 24, consents={"promotional": True},
                       language="sheng", phone="+254711000200")
    assert sweep_reengagement(tenants, now=utcnow()).nudges["refused"] >= 1
    assert sent_to(tenants, lacking) == []
    [record] = [r for r in records(tenants, "reengagement_nudge") if r.customer_id == lacking]
    assert record.reason.startswith("template_language_missing: ")
    assert "has no variant in sheng or sw," in record.reason
