"""GET/PATCH /v1/tenant (merchant) and /internal/v1/tenants/<id> (platform operator)."""

from __future__ import annotations

from datetime import datetime

import pytest

from backend.domain.tenant_settings import (
    default_business_hours,
    default_features,
    is_open,
)
from tests.backend.conftest import (
    OTHER_ID,
    TENANT_ID,
    TENANT_NUMBER,
    merchant_headers,
    service_headers,
)

URL = "/v1/tenant"
SALON_HOURS = {
    **{d: {"open": "09:00", "close": "19:00"} for d in ("monday", "tuesday", "wednesday")},
    "thursday": {"open": "09:00", "close": "19:00"},
    "friday": {"open": "09:00", "close": "20:00"},
    "saturday": {"open": "08:00", "close": "24:00"},
    "sunday": None,
}


def test_merchant_reads_its_settings_with_tier_and_usage(client, tenants) -> None:
    response = client.get(URL, headers=merchant_headers())
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == TENANT_ID and body["whatsapp_number"] == TENANT_NUMBER
    assert (body["status"], body["tier"], body["currency"]) == ("active", "starter", "KES")
    assert body["timezone"] == "Africa/Nairobi" and body["primary_language"] == "en"
    assert body["business_hours"] == default_business_hours()
    assert body["quiet_hours"] is None and body["features"] == default_features()
    assert body["usage"] == {
        "messages_this_month": 0,
        "max_messages_per_month": 2000,
        "max_products": 100,
        "max_services": 10,
        "fee_basis_points": 300,
    }
    assert "twilio_auth_token" not in body and "twilio_auth_token_encrypted" not in body


def test_service_token_reads_the_named_tenant(client, tenants) -> None:
    response = client.get(URL, headers=service_headers(OTHER_ID))
    assert response.status_code == 200 and response.get_json()["id"] == OTHER_ID
    assert client.get(URL, headers=service_headers("nobody")).status_code == 404
    assert client.get(URL, headers=service_headers()).status_code == 401


def test_patch_changes_settings_and_merges_features(client, tenants) -> None:
    response = client.patch(
        URL,
        json={
            "name": "Salon Ya Mama",
            "timezone": "Africa/Kampala",
            "primary_language": "sw",
            "business_hours": SALON_HOURS,
            "quiet_hours": {"start": "21:00", "end": "07:00"},
            "features": {"card_payments": True, "llm_budget_minor_per_month": 150_000},
        },
        headers=merchant_headers(),
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["name"] == "Salon Ya Mama" and body["timezone"] == "Africa/Kampala"
    assert body["business_hours"] == SALON_HOURS
    assert body["quiet_hours"] == {"start": "21:00", "end": "07:00"}
    assert body["features"] == {
        **default_features(),
        "card_payments": True,
        "llm_budget_minor_per_month": 150_000,
    }
    assert client.get(URL, headers=merchant_headers()).get_json() == body  # stored
    # Quiet hours can be removed; the other settings stay.
    cleared = client.patch(URL, json={"quiet_hours": None}, headers=merchant_headers())
    assert cleared.get_json()["quiet_hours"] is None
    assert cleared.get_json()["business_hours"] == SALON_HOURS


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tier": "enterprise"}, "tier"),
        ({"status": "active"}, "status"),
        ({"timezone": "EAT"}, "timezone"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"primary_language": "fr"}, "primary_language"),
        ({"quiet_hours": {"start": "21:00", "end": "21:00"}}, "quiet_hours"),
        ({"quiet_hours": {"start": "9pm", "end": "07:00"}}, "quiet_hours"),
        ({"business_hours": {**SALON_HOURS, "monday": {"open": "18:00", "close": "09:00"}}},
         "business_hours"),
        ({"business_hours": {"monday": {"open": "08:00", "close": "17:00"}}}, "business_hours"),
        ({"features": {"llm_budget_exhausted_action": "panic"}}, "features"),
        ({"features": {"llm_budget_minor_per_month": -1}}, "features"),
        ({"features": {"mpesa_stk": "yes please"}}, "features"),
        ({"currency": "USD"}, "currency"),
    ],
)  # fmt: skip
def test_invalid_or_forbidden_changes_are_422(client, tenants, changes, field) -> None:
    response = client.patch(URL, json=changes, headers=merchant_headers())
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    after = client.get(URL, headers=merchant_headers()).get_json()
    assert after["tier"] == "starter" and after["timezone"] == "Africa/Nairobi"


def test_empty_patch_is_422(client, tenants) -> None:
    response = client.patch(URL, json={}, headers=merchant_headers())
    assert response.status_code == 422


def test_operator_changes_tier_and_status_and_resolve_shows_them(client, tenants) -> None:
    url = f"/internal/v1/tenants/{TENANT_ID}"
    changed = client.patch(
        url,
        json={"tier": "growth", "status": "suspended", "quiet_hours": {"start": "22:00",
                                                                      "end": "06:30"}},
        headers=service_headers(),
    )
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["tier"], changed.get_json()["status"]) == ("growth", "suspended")
    assert changed.get_json()["usage"]["max_products"] == 2000
    resolved = client.get(
        "/internal/v1/tenants/resolve",
        query_string={"number": f"whatsapp:{TENANT_NUMBER}"},
        headers=service_headers(),
    ).get_json()
    assert resolved["tier"] == "growth" and resolved["status"] == "suspended"
    assert resolved["quiet_hours"] == {"start": "22:00", "end": "06:30"}
    assert resolved["timezone"] == "Africa/Nairobi"
    assert resolved["features"] == default_features()
    assert resolved["business_hours"] == default_business_hours()
    # Other tenants are untouched; unknown tenants and bad values are refused.
    assert client.get("/internal/v1/tenants/other-shop", headers=service_headers()).get_json()[
        "tier"] == "starter"
    assert client.patch("/internal/v1/tenants/nobody", json={"tier": "growth"},
                        headers=service_headers()).status_code == 404
    assert client.patch(url, json={"tier": "platinum"}, headers=service_headers()).status_code == 422


def test_operator_routes_refuse_merchant_keys(client, tenants) -> None:
    response = client.patch(
        f"/internal/v1/tenants/{TENANT_ID}", json={"tier": "enterprise"},
        headers=merchant_headers(),
    )
    assert response.status_code == 401
    assert client.get(URL, headers=merchant_headers()).get_json()["tier"] == "starter"


def test_business_hours_by_local_weekday() -> None:
    assert is_open(SALON_HOURS, datetime(2026, 11, 23, 9, 0))  # Monday opening
    assert not is_open(SALON_HOURS, datetime(2026, 11, 23, 19, 0))  # Monday closing time
    assert not is_open(SALON_HOURS, datetime(2026, 11, 22, 12, 0))  # Sunday: closed
    assert is_open(SALON_HOURS, datetime(2026, 11, 28, 23, 59))  # Saturday until midnight
