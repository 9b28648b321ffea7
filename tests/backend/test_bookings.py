"""Services, availability windows, slots in the tenant's timezone, appointments with capacity."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from backend.wiring import Context
from tests.backend.commerce_helpers import (
    OTHER_PHONE,
    acting,
    customer,
    json_of,
    merchant,
    next_weekday,
)
from tests.backend.conftest import OTHER_ID, OTHER_KEY, merchant_headers

BRAIDS = {
    "name": "Box braids",
    "description": "Medium box braids, hair included",
    "category": "hair",
    "variants": [{"name": "Shoulder length", "duration_minutes": 60, "price_minor": 250000},
                 {"name": "Waist length", "duration_minutes": 120, "price_minor": 400000}],
    # Mondays 09:00–12:00 local (Africa/Nairobi, UTC+3), two stylists.
    "windows": [{"weekday": 0, "start": "09:00", "end": "12:00", "capacity": 2}],
}


@pytest.fixture
def braids(client, tenants: Context) -> dict:
    return json_of(client.post("/v1/services", json=BRAIDS, headers=merchant()), 201)


def monday() -> date:
    return next_weekday(0)


def slots(client, service: dict, day: date, variant: int, headers=None) -> list[dict]:
    query = {"from": day.isoformat(), "to": day.isoformat(), "variant_id": variant}
    return json_of(client.get(f"/v1/services/{service['id']}/slots", query_string=query,
                              headers=headers or merchant()), 200)["results"]


def book(client, variant: int, starts_at: str, headers=None, **body):
    return client.post("/v1/appointments", json={"service_variant_id": variant,
                                                 "starts_at": starts_at, **body},
                       headers=headers or acting())


def test_service_crud_duplicates_and_limits(client, tenants, braids) -> None:
    assert braids["variants"][0]["currency"] == "KES" and len(braids["windows"]) == 1
    assert client.post("/v1/services", json=BRAIDS, headers=merchant()).status_code == 409
    listed = json_of(client.get("/v1/services", headers=merchant()), 200)
    assert [s["name"] for s in listed["results"]] == ["Box braids"]
    renamed = json_of(client.patch(f"/v1/services/{braids['id']}", json={"name": "Braids"},
                                   headers=merchant()), 200)
    assert renamed["name"] == "Braids"
    assert client.get(f"/v1/services/{braids['id']}",
                      headers=merchant_headers(OTHER_ID, OTHER_KEY)).status_code == 404
    assert client.get("/v1/services/999999", headers=merchant()).status_code == 404
    assert client.post("/v1/services", json={"name": ""}, headers=merchant()).status_code == 422
    # The starter tier holds 10 services: the 11th is refused with an explanation.
    for n in range(9):
        json_of(client.post("/v1/services", json={"name": f"Cut {n}"}, headers=merchant()), 201)
    over = client.post("/v1/services", json={"name": "One too many"}, headers=merchant())
    assert over.status_code == 403 and "10 services" in over.get_json()["description"]
    assert client.delete(f"/v1/services/{braids['id']}", headers=merchant()).status_code == 204
    assert client.get(f"/v1/services/{braids['id']}", headers=merchant()).status_code == 404


def test_service_variants_and_windows_crud(client, tenants, braids) -> None:
    sid = braids["id"]
    added = json_of(client.post(f"/v1/services/{sid}/variants", json={
        "name": "Bob", "duration_minutes": 45, "price_minor": 150000}, headers=merchant()), 201)
    assert client.post(f"/v1/services/{sid}/variants", json={
        "name": "Bob", "duration_minutes": 45, "price_minor": 1}, headers=merchant()
    ).status_code == 409
    changed = json_of(client.patch(f"/v1/service-variants/{added['id']}",
                                   json={"price_minor": 160000}, headers=merchant()), 200)
    assert changed["price_minor"] == 160000 and changed["duration_minutes"] == 45
    assert client.delete(f"/v1/service-variants/{added['id']}", headers=merchant()
                         ).status_code == 204
    assert client.get(f"/v1/service-variants/{added['id']}", headers=merchant()
                      ).status_code == 404
    for bad in ({"weekday": 7, "start": "09:00", "end": "10:00"},
                {"weekday": -1, "start": "09:00", "end": "10:00"},
                {"weekday": 1, "start": "10:00", "end": "10:00"},
                {"weekday": 1, "start": "11:00", "end": "10:00"},
                {"start": "09:00", "end": "10:00"},
                {"weekday": 1, "date": "2030-01-01", "start": "09:00", "end": "10:00"}):
        response = client.post(f"/v1/services/{sid}/windows", json=bad, headers=merchant())
        assert response.status_code == 422, bad
    window = json_of(client.post(f"/v1/services/{sid}/windows", json={
        "date": "2030-01-02", "start": "14:00", "end": "16:00", "capacity": 1},
        headers=merchant()), 201)
    assert window["date"] == "2030-01-02" and window["weekday"] is None
    # A PATCH is checked against the merged window.
    assert client.patch(f"/v1/windows/{window['id']}", json={"end": "13:00"},
                        headers=merchant()).status_code == 422
    moved = json_of(client.patch(f"/v1/windows/{window['id']}", json={"weekday": 2},
                                 headers=merchant()), 200)
    assert moved["weekday"] == 2 and moved["date"] is None
    listed = json_of(client.get(f"/v1/services/{sid}/windows", headers=merchant()), 200)
    assert len(listed["results"]) == 2
    assert client.get(f"/v1/windows/{window['id']}",
                      headers=merchant_headers(OTHER_ID, OTHER_KEY)).status_code == 404
    assert client.delete(f"/v1/windows/{window['id']}", headers=merchant()).status_code == 204


def test_slots_follow_windows_duration_timezone_and_business_hours(client, tenants,
                                                                   braids) -> None:
    short, long = (v["id"] for v in braids["variants"])
    day = monday()
    hourly = slots(client, braids, day, short)
    # 09:00, 10:00, 11:00 in Nairobi are 06:00, 07:00, 08:00 UTC.
    assert [s["starts_at"][11:16] for s in hourly] == ["06:00", "07:00", "08:00"]
    assert all(s["remaining"] == 2 and s["capacity"] == 2 for s in hourly)
    assert [s["starts_at"][11:16] for s in slots(client, braids, day, long)] == ["06:00"]
    tuesday = day + timedelta(days=1)
    assert slots(client, braids, tuesday, short) == []
    # Business hours opening at 10:00 on Mondays cut the window's first hour.
    with tenants.db.engine.begin() as connection:
        hours = connection.execute(text("SELECT business_hours FROM tenants WHERE id = 'duka-test'")
                                   ).scalar_one()
    import json as _json

    hours = _json.loads(hours) if isinstance(hours, str) else hours
    hours["monday"] = {"open": "10:00", "close": "18:00"}
    json_of(client.patch("/v1/tenant", json={"business_hours": hours}, headers=merchant()), 200)
    assert [s["starts_at"][11:16] for s in slots(client, braids, day, short)] == ["07:00", "08:00"]
    hours["monday"] = None
    json_of(client.patch("/v1/tenant", json={"business_hours": hours}, headers=merchant()), 200)
    assert slots(client, braids, day, short) == []
    # A service with several variants needs variant_id; ranges are bounded.
    assert client.get(f"/v1/services/{braids['id']}/slots", query_string={
        "from": day.isoformat(), "to": day.isoformat()}, headers=merchant()).status_code == 400
    assert client.get(f"/v1/services/{braids['id']}/slots", query_string={
        "from": day.isoformat(), "to": (day - timedelta(days=1)).isoformat(),
        "variant_id": short}, headers=merchant()).status_code == 400


def test_booking_capacity_alternatives_cancel_and_reschedule(client, tenants, braids) -> None:
    short = braids["variants"][0]["id"]
    day = monday()
    nine = f"{day.isoformat()}T09:00:00"  # local time: no offset
    first = json_of(book(client, short, nine), 201)
    assert first["starts_at"].startswith(f"{day.isoformat()}T06:00:00")
    assert first["local_starts_at"].startswith(f"{day.isoformat()}T09:00:00+03:00")
    assert first["price_minor"] == 250000 and first["status"] == "booked"
    second = json_of(book(client, short, f"{day.isoformat()}T06:00:00+00:00",
                          headers=acting(phone=OTHER_PHONE)), 201)
    full = book(client, short, nine, headers=merchant(),
                customer_id=customer(tenants, "+254712000003"))
    body = json_of(full, 409)
    starts = [a["starts_at"][11:16] for a in body["alternatives"]]
    assert starts[:2] == ["07:00", "08:00"] and all(a["remaining"] for a in body["alternatives"])
    assert [s["starts_at"][11:16] for s in slots(client, braids, day, short)] == ["07:00", "08:00"]
    # The two-hour variant at 09:00 overlaps both seats too.
    long = braids["variants"][1]["id"]
    assert book(client, long, nine).status_code == 409
    # Not a slot start, in the past, unknown variant.
    assert book(client, short, f"{day.isoformat()}T09:30:00").status_code == 400
    assert book(client, short, "2020-01-06T09:00:00").status_code == 400
    assert book(client, 999999, nine).status_code == 404
    cancelled = json_of(client.post(f"/v1/appointments/{second['id']}/cancel",
                                    headers=acting(phone=OTHER_PHONE)), 200)
    assert cancelled["status"] == "cancelled"
    assert client.post(f"/v1/appointments/{second['id']}/cancel",
                       headers=merchant()).status_code == 409
    assert [s["remaining"] for s in slots(client, braids, day, short)] == [1, 2, 2]
    moved = json_of(client.post(f"/v1/appointments/{first['id']}/reschedule",
                                json={"starts_at": f"{day.isoformat()}T11:00:00"},
                                headers=acting()), 200)
    assert moved["starts_at"][11:16] == "08:00"
    assert [s["remaining"] for s in slots(client, braids, day, short)] == [2, 2, 1]
    # Another customer's appointment is not the assistant's to see or move.
    assert client.get(f"/v1/appointments/{first['id']}",
                      headers=acting(phone=OTHER_PHONE)).status_code == 404
    assert client.post(f"/v1/appointments/{first['id']}/reschedule",
                       json={"starts_at": nine}, headers=acting(phone=OTHER_PHONE)
                       ).status_code == 404
    assert client.get(f"/v1/appointments/{first['id']}",
                      headers=merchant_headers(OTHER_ID, OTHER_KEY)).status_code == 404


def test_listing_appointments(client, tenants, braids) -> None:
    short = braids["variants"][0]["id"]
    day = monday()
    a = json_of(book(client, short, f"{day.isoformat()}T10:00:00"), 201)
    b = json_of(book(client, short, f"{day.isoformat()}T09:00:00",
                     headers=acting(phone=OTHER_PHONE)), 201)
    every = json_of(client.get("/v1/appointments", headers=merchant()), 200)
    assert [x["id"] for x in every["results"]] == [b["id"], a["id"]]
    own = json_of(client.get("/v1/appointments", headers=acting()), 200)
    assert [x["id"] for x in own["results"]] == [a["id"]]
    later = json_of(client.get("/v1/appointments", query_string={
        "from": f"{day.isoformat()}T06:30:00+00:00"}, headers=merchant()), 200)
    assert [x["id"] for x in later["results"]] == [a["id"]]
    json_of(client.post(f"/v1/appointments/{a['id']}/cancel", headers=merchant()), 200)
    booked = json_of(client.get("/v1/appointments", query_string={"status": "booked"},
                                headers=merchant()), 200)
    assert [x["id"] for x in booked["results"]] == [b["id"]]
    assert client.get("/v1/appointments/999999", headers=merchant()).status_code == 404


def test_idempotency_key_on_appointments(client, tenants, braids) -> None:
    short = braids["variants"][0]["id"]
    nine = f"{monday().isoformat()}T09:00:00"
    headers = acting(**{"Idempotency-Key": "book-1"})
    first = book(client, short, nine, headers=headers)
    again = book(client, short, nine, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert [s["remaining"] for s in slots(client, braids, monday(), short)][0] == 1
    assert book(client, short, f"{monday().isoformat()}T10:00:00",
                headers=headers).status_code == 422
    # The same key from another customer is another request: 422 as well.
    assert book(client, short, nine, headers=acting(phone=OTHER_PHONE,
                                                    **{"Idempotency-Key": "book-1"})
                ).status_code == 422


@pytest.mark.parametrize("now, expected", [
    # Monday 13:00 in Nairobi: today's 09:00-12:00 slots are gone; next Monday's three show.
    ("2026-12-07T10:00:00+00:00", {"2026-12-14": 3}),
    # Monday 09:30: 10:00 and 11:00 today (09:00 has started), and next Monday's three.
    ("2026-12-07T06:30:00+00:00", {"2026-12-07": 2, "2026-12-14": 3}),
    # Wednesday: only the coming Monday.
    ("2026-12-09T12:00:00+00:00", {"2026-12-14": 3}),
])
def test_slots_default_to_the_coming_week(client, tenants, braids, monkeypatch, now,
                                          expected) -> None:
    from datetime import UTC, datetime

    from backend.services.bookings import appointments
    monkeypatch.setattr(appointments, "utcnow",
                        lambda: datetime.fromisoformat(now).astimezone(UTC))
    short = braids["variants"][0]["id"]
    found = json_of(client.get(f"/v1/services/{braids['id']}/slots",
                               query_string={"variant_id": short}, headers=acting()), 200)
    days: dict[str, int] = {}
    for s in found["results"]:
        days[s["starts_at"][:10]] = days.get(s["starts_at"][:10], 0) + 1
    assert days == expected
