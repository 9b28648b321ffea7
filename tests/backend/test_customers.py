"""/v1/customers: listing with consent filters, profiles, preferences and their audit trail."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text

from backend.wiring import Context
from tests.backend.conftest import (
    OTHER_ID,
    OTHER_KEY,
    TENANT_ID,
    merchant_headers,
    service_headers,
)

URL = "/v1/customers"
INBOUND = "/internal/v1/messages/inbound"


def write(client, phone: str, sid: str, tenant: str = TENANT_ID, name: str = "Wanjiru") -> int:
    response = client.post(
        INBOUND,
        json={"tenant_id": tenant, "from": phone, "profile_name": name, "message_sid": sid,
              "body": "Habari"},
        headers=service_headers(),
    )
    assert response.status_code == 201, response.get_json()
    customer_id: int = response.get_json()["customer_id"]
    return customer_id


@pytest.fixture
def people(client, tenants: Context) -> list[int]:
    ids = [write(client, f"+2547110000{n:02d}", f"SM{n:04d}", name=f"Mteja {n}") for n in range(5)]
    write(client, "+254711000099", "SMOTHER", tenant=OTHER_ID)
    return ids


def test_list_is_paginated_with_decrypted_phones(client, people) -> None:
    first = client.get(URL, query_string={"page_size": 2}, headers=merchant_headers())
    assert first.status_code == 200
    body = first.get_json()
    assert body["count"] == 5 and body["previous"] is None
    assert [c["id"] for c in body["results"]] == people[:2]
    assert body["results"][0]["phone"] == "+254711000000"
    assert body["results"][0]["profile_name"] == "Mteja 0"
    assert body["results"][0]["preferences"] == {
        "language": None, "transactional": True, "reminders": True, "promotional": False}
    assert parse_qs(urlsplit(body["next"]).query) == {"page_size": ["2"], "page": ["2"]}
    last = client.get(URL, query_string={"page_size": 2, "page": 3}, headers=merchant_headers())
    assert [c["id"] for c in last.get_json()["results"]] == people[4:]
    assert last.get_json()["next"] is None
    assert client.get(URL, query_string={"page_size": 201},
                      headers=merchant_headers()).status_code == 422


def test_phone_is_not_stored_in_plaintext(client, people, tenants: Context) -> None:
    with tenants.db.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM customers")).all()
    assert rows and all("711000000" not in str(tuple(row)) for row in rows)


def test_consent_filter_and_audit_trail(client, people, tenants: Context) -> None:
    target = people[1]
    response = client.patch(
        f"{URL}/{target}/preferences",
        json={"promotional": True, "reminders": False, "language": "sw", "transactional": True},
        headers=merchant_headers(),
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "language": "sw", "transactional": True, "reminders": False, "promotional": True}

    opted_in = client.get(URL, query_string={"consent": "promotional"}, headers=merchant_headers())
    assert [c["id"] for c in opted_in.get_json()["results"]] == [target]
    no_reminders = client.get(URL, query_string={"consent": "reminders", "consented": "false"},
                              headers=merchant_headers())
    assert [c["id"] for c in no_reminders.get_json()["results"]] == [target]
    assert client.get(URL, query_string={"consent": "spam"},
                      headers=merchant_headers()).status_code == 422

    # The service (e.g. the operator on the merchant's behalf) changes it back: audited too.
    client.patch(f"{URL}/{target}/preferences", json={"promotional": False},
                 headers=service_headers(TENANT_ID))
    events = client.get(f"{URL}/{target}/consent-events", headers=merchant_headers())
    assert events.status_code == 200
    trail = [(e["kind"], e["old_value"], e["new_value"], e["actor"], e["channel"])
             for e in events.get_json()["results"]]
    key_id = client.get("/v1/api-keys", headers=merchant_headers()).get_json()["results"][0]["id"]
    merchant = f"merchant:api_key:{key_id}"
    # transactional was already on: an unchanged value leaves no event.
    assert sorted(trail[:2]) == sorted([
        ("reminders", True, False, merchant, "merchant_api"),
        ("promotional", False, True, merchant, "merchant_api"),
    ])
    assert trail[2:] == [("promotional", True, False, "service", "merchant_api")]
    assert all(e["customer_id"] == target and e["created_at"].endswith("+00:00")
               for e in events.get_json()["results"])
    untouched = client.get(f"{URL}/{people[0]}/consent-events", headers=merchant_headers())
    assert untouched.get_json()["count"] == 0


def test_assistant_changes_the_acting_customers_preferences(client, people) -> None:
    headers = {**service_headers(TENANT_ID), "X-CUSTOMER-PHONE": "0711000003"}
    before = client.get(f"{URL}/me/preferences", headers=headers)
    assert before.status_code == 200 and before.get_json()["promotional"] is False
    changed = client.patch(f"{URL}/me/preferences", json={"reminders": False}, headers=headers)
    assert changed.status_code == 200 and changed.get_json()["reminders"] is False
    events = client.get(f"{URL}/{people[3]}/consent-events", headers=merchant_headers())
    [event] = events.get_json()["results"]
    assert (event["actor"], event["channel"]) == ("customer", "whatsapp")
    # A merchant key cannot act as a customer (the route is the service's: 403); the header is
    # required.
    assert client.get(f"{URL}/me/preferences",
                      headers={**merchant_headers(), "X-CUSTOMER-PHONE": "0711000003"}
                      ).status_code == 403
    assert client.get(f"{URL}/me/preferences", headers=service_headers(TENANT_ID)
                      ).status_code == 400


def test_get_one_and_404s(client, people) -> None:
    one = client.get(f"{URL}/{people[2]}", headers=merchant_headers())
    assert one.status_code == 200 and one.get_json()["phone"] == "+254711000002"
    other = client.get(URL, headers=merchant_headers(OTHER_ID, OTHER_KEY)).get_json()["results"]
    assert [c["phone"] for c in other] == ["+254711000099"]
    for path in ("", "/preferences", "/consent-events", "/conversations"):
        assert client.get(f"{URL}/{other[0]['id']}{path}",
                          headers=merchant_headers()).status_code == 404
        assert client.get(f"{URL}/999999{path}", headers=merchant_headers()).status_code == 404
    assert client.patch(f"{URL}/{other[0]['id']}/preferences", json={"promotional": True},
                        headers=merchant_headers()).status_code == 404


@pytest.mark.parametrize(
    "body",
    [{}, {"promotional": "sure"}, {"language": "fr"}, {"phone": "+254700000000"}],
)
def test_invalid_preferences_are_422(client, people, body) -> None:
    response = client.patch(f"{URL}/{people[0]}/preferences", json=body, headers=merchant_headers())
    assert response.status_code == 422


def test_language_can_be_reset_to_the_tenants(client, people) -> None:
    url = f"{URL}/{people[0]}/preferences"
    client.patch(url, json={"language": "sheng"}, headers=merchant_headers())
    reset = client.patch(url, json={"language": None}, headers=merchant_headers())
    assert reset.status_code == 200 and reset.get_json()["language"] is None
