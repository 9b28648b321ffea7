"""Messages the platform sends on its own, through the real stack: an appointment booked from the
merchant's API is confirmed to the customer at once, and its reminder fires from the scheduler
(rq cron's release sweep) when it comes due, recorded by the Twilio simulator."""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import requests

from tests.e2e.conftest import new_phone

TENANT = "demo-shop"
NAIROBI = ZoneInfo("Africa/Nairobi")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Open all day and no quiet hours while a test runs at any hour (the demo shop closes at night).
ALWAYS = {"quiet_hours": None,
          "business_hours": {day: {"open": "00:00", "close": "23:59"} for day in DAYS}}


def call(stack, method: str, path: str, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {stack.service_token}", "X-TENANT-ID": TENANT,
               **kwargs.pop("headers", {})}
    return requests.request(method, stack.backend + path, headers=headers, timeout=30, **kwargs)


def restore(stack, tenant: dict) -> None:
    assert call(stack, "PATCH", "/v1/tenant", json={
        key: tenant.get(key) for key in ALWAYS}).status_code == 200


def reminder_start(now: datetime) -> datetime:
    """A start whose 2-hour reminder is due in a few seconds to a minute (local minutes), with
    its five-minute window inside one day."""
    start = (now + timedelta(hours=2, seconds=15)).astimezone(NAIROBI)
    start = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    if (start + timedelta(minutes=6)).date() != start.date():
        start = (start + timedelta(days=1)).replace(hour=0, minute=0)
    return start


def wait_for(stack, phone: str, pattern: str, deadline: float) -> str:
    while time.monotonic() < deadline:
        for message in stack.recorded(phone):
            if re.search(pattern, message["body"]):
                return message["body"]
        time.sleep(0.5)
    bodies = [m["body"] for m in stack.recorded(phone)]
    raise AssertionError(f"nothing matching {pattern!r} reached the customer; got {bodies}")


def test_an_appointment_is_confirmed_and_its_reminder_fires_when_due(stack) -> None:
    phone = new_phone()
    assert stack.say(phone, "hello"), "the customer got no reply"  # inside the 24-hour window
    tenant = call(stack, "GET", "/v1/tenant").json()
    # The demo shop keeps quiet hours at night; the reminder must not wait for the morning.
    assert call(stack, "PATCH", "/v1/tenant", json=ALWAYS).status_code == 200
    try:
        start = reminder_start(datetime.now(NAIROBI))
        end = start + timedelta(minutes=5)
        service = call(stack, "POST", "/v1/services", json={
            "name": "Quick fitting", "description": "Shoe fitting", "category": "fitting",
            "variants": [{"name": "Five minutes", "duration_minutes": 5, "price_minor": 50000}],
            "windows": [{"weekday": start.weekday(), "start": start.strftime("%H:%M"),
                         "end": end.strftime("%H:%M"), "capacity": 1}]})
        assert service.status_code == 201, service.text
        variant = service.json()["variants"][0]["id"]
        booked = call(stack, "POST", "/v1/appointments", headers={"X-CUSTOMER-PHONE": phone},
                      json={"service_variant_id": variant,
                            "starts_at": start.replace(tzinfo=None).isoformat()})
        assert booked.status_code == 201, booked.text
        when = start.strftime("%d/%m/%Y %H:%M")
        confirmed = wait_for(stack, phone, r"is booked for " + re.escape(when),
                             time.monotonic() + 60)
        assert "Quick fitting" in confirmed
        due_in = (start - timedelta(hours=2) - datetime.now(NAIROBI)).total_seconds()
        reminder_text = r"starts in 2 hours \(" + re.escape(when) + r"\)"
        if due_in > 5:
            assert not [m for m in stack.recorded(phone) if re.search(reminder_text, m["body"])], \
                "reminded before it was due"
        # Released by the sweep that runs every 30 s once due, then sent through the worker.
        reminder = wait_for(stack, phone, reminder_text, time.monotonic() + max(due_in, 0) + 120)
        assert "Quick fitting" in reminder
        about = [m["body"] for m in stack.recorded(phone) if when in m["body"]]
        assert about == [confirmed, reminder], about  # one confirmation, one reminder
    finally:
        restore(stack, tenant)


def poll(what, deadline: float, every: float = 1.0):
    """what() until it returns something truthy, or fail at the deadline with its last value."""
    last = None
    while time.monotonic() < deadline:
        last = what()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"not reached in time; last: {last!r}")


def all_customer_ids(stack) -> list[int]:
    ids, page = [], 1
    while True:
        found = call(stack, "GET", "/v1/customers", params={"page": page, "page_size": 200})
        assert found.status_code == 200, found.text
        ids += [row["id"] for row in found.json()["results"]]
        if not found.json()["next"]:
            return ids
        page += 1


def test_a_campaign_to_200_customers_reaches_each_once_split_between_two_variants(stack) -> None:
    tenant = call(stack, "GET", "/v1/tenant").json()
    assert call(stack, "PATCH", "/v1/tenant", json=ALWAYS).status_code == 200
    try:
        before = set(all_customer_ids(stack))
        # 200 new customers who said yes to offers (as the assistant records it), never wrote
        # (outside the 24-hour window: only the approved templates may go), half Swahili.
        phones = [new_phone() for _ in range(200)]
        with requests.Session() as session:
            for n, phone in enumerate(phones):
                r = session.patch(stack.backend + "/v1/customers/me/preferences", timeout=30,
                                  json={"promotional": True, "language": "sw" if n % 2 else "en"},
                                  headers={"Authorization": f"Bearer {stack.service_token}",
                                           "X-TENANT-ID": TENANT, "X-CUSTOMER-PHONE": phone})
                assert r.status_code == 200, r.text
        new = sorted(set(all_customer_ids(stack)) - before)
        assert len(new) == 200
        tag = "e2e" + phones[0][-8:]
        for customer_id in new:
            assert call(stack, "PUT", f"/v1/customers/{customer_id}/tags",
                        json={"tags": [tag]}).status_code == 200
        names = [f"sale_{tag}_a", f"sale_{tag}_b"]
        for name in names:
            made = call(stack, "POST", "/v1/message-templates", json={
                "name": name, "category": "marketing", "placeholders": ["offer"],
                "sample_values": {"offer": "20% off"},
                "variants": {"en": f"Hello from Duka Moja: {{{{offer}}}} this week ({name}).",
                             "sw": f"Habari kutoka Duka Moja: {{{{offer}}}} wiki hii ({name})."}})
            assert made.status_code == 201, made.text
            poll(lambda: all(v["approval"] == "approved" for v in call(
                stack, "GET", f"/v1/message-templates/{made.json()['id']}").json()["variants"]),
                time.monotonic() + 60)
        payload = {"name": "E2E sale", "segment": {"tags": [tag]},
                   "variants": [{"template": name, "variables": {"offer": "20% off"}}
                                for name in names]}
        preview = call(stack, "POST", "/v1/campaigns/preview", json=payload)
        assert preview.status_code == 200, preview.text
        assert (preview.json()["matched"], preview.json()["reach"]) == (200, 200)
        started = time.monotonic()
        created = call(stack, "POST", "/v1/campaigns", json=payload)
        assert created.status_code == 202, created.text
        campaign = created.json()["id"]

        def report() -> dict:
            return call(stack, "GET", f"/v1/campaigns/{campaign}/report").json()

        poll(lambda: sum(v["sent"] for v in report()["variants"]) == 200,
             time.monotonic() + 300)
        sent_in = time.monotonic() - started
        a, b = report()["variants"]
        assert (a["recipients"], b["recipients"]) == (100, 100)
        # Each customer got exactly one message, of one variant, in their language.
        for n, phone in enumerate(phones):
            bodies = [m["body"] for m in stack.recorded(phone)]
            assert len(bodies) == 1, (phone, bodies)
            assert bodies[0].startswith("Habari" if n % 2 else "Hello"), bodies
            assert any(f"({name})" in bodies[0] for name in names)
        # Twilio's status callbacks come back to the report.
        poll(lambda: sum(v["delivered"] for v in report()["variants"]) == 200,
             time.monotonic() + 300, every=2.0)
        print(f"200-customer campaign sent in {sent_in:.1f} s")
    finally:
        restore(stack, tenant)
