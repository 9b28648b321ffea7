"""The platform operator's tenants: create (409 on a taken slug or number, bad numbers refused,
secrets never answered nor logged), list and search with paging, suspend and reactivate with a
reason (the channel's resolve answers suspended), change tier; only the operator gets in."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import text

from backend.wiring import Context
from backend.models import TenantOnboarding
from tests.backend.commerce_helpers import json_of
from tests.backend.conftest import (
    TENANT_ID,
    TENANT_NUMBER,
    merchant_headers,
    service_headers,
)

OPERATOR = service_headers()
SID = "AC" + "ab" * 16
TOKEN = "s3cret-tw1lio-t0ken-for-mama"
NUMBER = "+254711000301"


def new_tenant(**changes: Any) -> dict[str, Any]:
    return {"name": "Mama Mboga", "slug": "mama-mboga", "whatsapp_number": NUMBER,
            "twilio_account_sid": SID, "twilio_auth_token": TOKEN, "sandbox": True,
            "timezone": "Africa/Nairobi", "primary_language": "sw", "languages": ["en"],
            "tier": "growth", "owner_email": "Owner@Mama.example", **changes}


def create(client: Any, **changes: Any) -> Any:
    return client.post("/v1/platform/tenants", json=new_tenant(**changes), headers=OPERATOR)


def test_create_stores_the_tenant_and_never_returns_or_logs_the_secret(
        client, ctx: Context, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    made = json_of(create(client), 201)
    assert (made["id"], made["name"], made["whatsapp_number"], made["tier"], made["status"]) == (
        "mama-mboga", "Mama Mboga", NUMBER, "growth", "active")
    assert made["languages"] == ["sw", "en"] and made["primary_language"] == "sw"
    assert made["owner_invitation"] == "sent"
    # The owner joins through the link (the operator passes it on): an owner member of the new
    # tenant, who can then use its API.
    token = made["owner_invitation_link"].split("token=", 1)[1]
    joined = json_of(client.post("/v1/invitations/accept", json={
        "token": token, "password": "Kibanda-Owner-2026!", "name": "Mama"}), 201)
    assert (joined["tenant_id"], joined["role"]) == ("mama-mboga", "owner")
    assert joined["user"]["email"] == "owner@mama.example"
    assert client.post("/v1/invitations/accept", json={
        "token": token, "password": "Kibanda-Owner-2026!"}).status_code == 410  # used
    assert made["twilio_account"] == "AC…abab" and made["twilio_test"] is None
    assert made["usage"]["max_products"] == 2000  # growth
    fetched = json_of(client.get("/v1/platform/tenants/mama-mboga", headers=OPERATOR), 200)
    assert "owner_invitation_link" not in fetched  # shown once
    for body in (made, fetched):
        assert TOKEN not in str(body) and SID not in str(body)
    assert TOKEN not in caplog.text and "owner@mama.example" not in caplog.text.lower()
    with ctx.db.transaction() as session:
        stored = session.execute(text(
            "SELECT twilio_auth_token_encrypted FROM tenants WHERE id = 'mama-mboga'")).scalar()
        onboarding = session.get(TenantOnboarding, "mama-mboga")
        assert onboarding is not None
        assert TOKEN not in stored and ctx.crypto.decrypt(stored) == TOKEN
        assert onboarding.owner_email_encrypted is not None
        assert "owner" not in onboarding.owner_email_encrypted
        assert ctx.crypto.decrypt(onboarding.owner_email_encrypted) == "owner@mama.example"
        assert onboarding.owner_invited_at is not None


def test_a_taken_slug_or_number_is_409_and_nothing_changes(client, tenants: Context) -> None:
    json_of(create(client), 201)
    taken_slug = create(client, whatsapp_number="+254711000302", name="Other")
    assert taken_slug.status_code == 409, taken_slug.get_json()
    assert taken_slug.get_json()["errors"] == {"slug": ["Already taken."]}
    taken_number = create(client, slug="another-shop", whatsapp_number="0711000301")
    assert taken_number.status_code == 409 and NUMBER in taken_number.get_json()["description"]
    seeded_number = create(client, slug="third-shop", whatsapp_number=TENANT_NUMBER)
    assert seeded_number.status_code == 409
    listed = json_of(client.get("/v1/platform/tenants", headers=OPERATOR), 200)
    assert listed["count"] == 3  # the two seeded tenants and mama-mboga, once
    assert json_of(client.get("/v1/platform/tenants/mama-mboga", headers=OPERATOR),
                   200)["name"] == "Mama Mboga"


@pytest.mark.parametrize(("changes", "status", "field"), [
    ({"whatsapp_number": "+2547"}, 400, None),  # not a phone number
    ({"whatsapp_number": "hello"}, 400, None),
    ({"slug": "Mama Mboga!"}, 422, "slug"),
    ({"slug": "-mama"}, 422, "slug"),
    ({"twilio_account_sid": "AC123"}, 422, "twilio_account_sid"),
    ({"twilio_auth_token": ""}, 422, "twilio_auth_token"),
    ({"owner_email": "not-an-email"}, 422, "owner_email"),
    ({"timezone": "EAT"}, 422, "timezone"),
    ({"tier": "platinum"}, 400, "tier"),  # tiers are data: checked against the table
    ({"languages": ["fr"]}, 422, "languages"),
])
def test_bad_input_is_refused_with_the_reason(client, ctx: Context, changes: dict[str, Any],
                                              status: int, field: str | None) -> None:
    response = create(client, **changes)
    assert response.status_code == status, response.get_json()
    if field:
        assert field in response.get_json()["errors"]
    assert TOKEN not in response.get_data(as_text=True)
    assert json_of(client.get("/v1/platform/tenants", headers=OPERATOR), 200)["count"] == 0


def test_only_the_operator_gets_in(client, tenants: Context) -> None:
    assert client.get("/v1/platform/tenants").status_code == 401
    assert client.get("/v1/platform/tenants", headers=merchant_headers()).status_code == 403
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.get("/v1/platform/tenants", headers=wrong).status_code == 401
    assert create(client).status_code == 201  # the service token is the operator


def test_list_searches_filters_and_pages(client, tenants: Context) -> None:
    for index in range(5):
        json_of(create(client, slug=f"shop-{index}", name=f"Kibanda {index}",
                       whatsapp_number=f"+25471100040{index}",
                       tier="starter" if index % 2 else "growth"), 201)

    def listed(**query: Any) -> dict[str, Any]:
        return dict(json_of(client.get("/v1/platform/tenants", query_string=query,
                                       headers=OPERATOR), 200))

    everything = listed()
    assert everything["count"] == 7 and everything["next"] is None
    assert [t["id"] for t in everything["results"]] == sorted(t["id"] for t in
                                                              everything["results"])
    assert all("twilio_auth_token" not in t for t in everything["results"])
    assert listed(q="kibanda")["count"] == 5
    assert [t["id"] for t in listed(q="Kibanda 3")["results"]] == ["shop-3"]
    assert [t["id"] for t in listed(q="shop-4")["results"]] == ["shop-4"]
    assert [t["id"] for t in listed(q="0711000402")["results"]] == ["shop-2"]  # by number
    assert listed(q="a%")["count"] == 0  # % is a character, not a wildcard
    assert listed(tier="growth")["count"] == 3
    assert listed(tier="starter", q="kibanda")["count"] == 2
    first = listed(page_size=3)
    assert first["count"] == 7 and len(first["results"]) == 3 and first["previous"] is None
    assert "page=2" in first["next"]
    last = listed(page_size=3, page=3)
    assert [t["id"] for t in last["results"]] == ["shop-4"] and last["next"] is None
    assert client.get("/v1/platform/tenants?status=closed", headers=OPERATOR).status_code == 422
    assert client.get("/v1/platform/tenants?page=0", headers=OPERATOR).status_code == 422


def test_suspend_and_reactivate_with_a_reason(client, tenants: Context) -> None:
    resolve = f"/internal/v1/tenants/resolve?number=whatsapp:{TENANT_NUMBER}"
    assert json_of(client.get(resolve, headers=service_headers()), 200)["status"] == "active"
    url = f"/v1/platform/tenants/{TENANT_ID}"
    assert client.post(f"{url}/suspension", json={}, headers=OPERATOR).status_code == 422
    assert client.post(f"{url}/reactivation", json={"reason": "x"},
                       headers=OPERATOR).status_code == 409  # not suspended
    suspended = json_of(client.post(f"{url}/suspension", json={"reason": "Fraud report 88"},
                                    headers=OPERATOR), 200)
    assert (suspended["status"], suspended["status_reason"]) == ("suspended", "Fraud report 88")
    # What the channel reads for each message: a suspended merchant's customers get the
    # "cannot take messages" notice instead of a turn (bot/channels/whatsapp.py).
    assert json_of(client.get(resolve, headers=service_headers()), 200)["status"] == "suspended"
    assert json_of(client.get("/v1/platform/tenants?status=suspended", headers=OPERATOR),
                   200)["count"] == 1
    assert client.post(f"{url}/suspension", json={"reason": "again"},
                       headers=OPERATOR).status_code == 409
    back = json_of(client.post(f"{url}/reactivation", json={"reason": "Cleared"},
                               headers=OPERATOR), 200)
    assert (back["status"], back["status_reason"]) == ("active", "Cleared")
    assert json_of(client.get(resolve, headers=service_headers()), 200)["status"] == "active"
    assert client.post("/v1/platform/tenants/nope/suspension", json={"reason": "x"},
                       headers=OPERATOR).status_code == 404


def test_change_tier(client, tenants: Context) -> None:
    url = f"/v1/platform/tenants/{TENANT_ID}/tier"
    changed = json_of(client.put(url, json={"tier": "enterprise"}, headers=OPERATOR), 200)
    assert changed["tier"] == "enterprise" and changed["usage"]["max_products"] is None
    assert client.put(url, json={"tier": "gold"}, headers=OPERATOR).status_code == 422
    assert client.put("/v1/platform/tenants/nope/tier", json={"tier": "growth"},
                      headers=OPERATOR).status_code == 404
    assert json_of(client.get(f"/v1/platform/tenants/{TENANT_ID}", headers=OPERATOR),
                   200)["tier"] == "enterprise"
