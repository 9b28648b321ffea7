"""GET /internal/v1/tenants/resolve: the channel finds a tenant by its WhatsApp number."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from backend.domain.tenant_settings import default_business_hours, default_features

from tests.backend.conftest import (
    TENANT_ID,
    TENANT_NUMBER,
    TENANT_SID,
    TENANT_TOKEN,
    merchant_headers,
    service_headers,
)


@pytest.mark.parametrize(
    "number",
    [
        quote(f"whatsapp:{TENANT_NUMBER}"),
        f"whatsapp:{TENANT_NUMBER}",  # unencoded '+' arrives as a space
        quote(TENANT_NUMBER),
        "0700000101",
        "254700000101",
    ],
)
def test_resolve_finds_the_tenant_from_any_spelling(client, tenants, number: str) -> None:
    response = client.get(
        f"/internal/v1/tenants/resolve?number={number}", headers=service_headers()
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "tenant_id": TENANT_ID,
        "name": f"{TENANT_ID} ltd",
        "whatsapp_number": TENANT_NUMBER,
        "twilio_account_sid": TENANT_SID,
        "twilio_auth_token": TENANT_TOKEN,
        "sandbox": True,
        "primary_language": "en",
        # Added by the tenant platform (additive: the channel ignores what it does not use).
        "status": "active",
        "tier": "starter",
        "timezone": "Africa/Nairobi",
        "quiet_hours": None,
        "business_hours": default_business_hours(),
        "features": default_features(),
    }


def test_unknown_number_is_404(client, tenants) -> None:
    response = client.get(
        "/internal/v1/tenants/resolve",
        query_string={"number": "whatsapp:+254799999999"},
        headers=service_headers(),
    )
    assert response.status_code == 404
    body = response.get_json()
    assert body["code"] == 404 and body["message"] == "Not Found"
    assert "+254799999999" in body["description"]


def test_unparsable_number_is_400(client, tenants) -> None:
    response = client.get(
        "/internal/v1/tenants/resolve",
        query_string={"number": "whatsapp:hello"},
        headers=service_headers(),
    )
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"number": ["Not a valid phone number."]}


def test_missing_number_is_422(client, tenants) -> None:
    response = client.get("/internal/v1/tenants/resolve", headers=service_headers())
    assert response.status_code == 422
    assert "number" in response.get_json()["errors"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        merchant_headers(),  # a merchant key does not open internal routes
    ],
)
def test_resolve_needs_the_service_token(client, tenants, headers: dict[str, str]) -> None:
    response = client.get(
        "/internal/v1/tenants/resolve",
        query_string={"number": TENANT_NUMBER},
        headers=headers,
    )
    assert response.status_code == 401
    body = response.get_json()
    assert body["code"] == 401 and body["message"] == "Unauthorized" and body["description"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
