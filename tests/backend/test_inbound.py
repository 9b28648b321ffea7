"""POST /internal/v1/messages/inbound: logged once per sid; customer upserted, phone encrypted."""

from __future__ import annotations

from sqlalchemy import text

from backend.wiring import Context
from tests.backend.conftest import OTHER_ID, TENANT_ID, service_headers

URL = "/internal/v1/messages/inbound"


def inbound(sid: str, phone: str = "+254712345678", tenant: str = TENANT_ID, **extra) -> dict:
    return {
        "tenant_id": tenant,
        "from": phone,
        "profile_name": "Wanjiru",
        "message_sid": sid,
        "body": "Niaje, mna sneakers size 42?",
        "media": [],
        **extra,
    }


def test_first_message_creates_an_encrypted_customer(client, tenants: Context) -> None:
    response = client.post(URL, json=inbound("SM0001"), headers=service_headers())
    assert response.status_code == 201
    body = response.get_json()
    assert body["duplicate"] is False
    with tenants.db.engine.connect() as connection:
        row = connection.execute(
            text("SELECT id, phone_encrypted, phone_hash, profile_name FROM customers")
        ).one()
    assert row.id == body["customer_id"]
    assert "712345678" not in row.phone_encrypted and "712345678" not in row.phone_hash
    assert tenants.crypto.decrypt(row.phone_encrypted) == "+254712345678"
    assert row.profile_name == "Wanjiru"


def test_repeated_sid_is_a_duplicate_and_stored_once(client, tenants: Context) -> None:
    first = client.post(URL, json=inbound("SM0002"), headers=service_headers())
    again = client.post(URL, json=inbound("SM0002"), headers=service_headers())
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.get_json() == {**first.get_json(), "duplicate": True}
    with tenants.db.engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM inbound_messages")).scalar_one()
    assert count == 1


def test_same_phone_in_another_spelling_is_the_same_customer(client, tenants) -> None:
    first = client.post(URL, json=inbound("SM0003", "0712345678"), headers=service_headers())
    second = client.post(
        URL,
        json=inbound("SM0004", "whatsapp:+254712345678", profile_name="Wanjiru K."),
        headers=service_headers(),
    )
    assert first.status_code == second.status_code == 201
    assert first.get_json()["customer_id"] == second.get_json()["customer_id"]


def test_one_phone_writing_to_two_merchants_is_two_customers(client, tenants) -> None:
    mine = client.post(URL, json=inbound("SM0005"), headers=service_headers())
    theirs = client.post(URL, json=inbound("SM0005", tenant=OTHER_ID), headers=service_headers())
    assert mine.status_code == theirs.status_code == 201  # sids are unique per tenant
    assert mine.get_json()["customer_id"] != theirs.get_json()["customer_id"]


def test_media_and_empty_body_are_kept(client, tenants: Context) -> None:
    media = [{"url": "https://api.twilio.com/2010-04-01/Media/ME1", "content_type": "image/jpeg"}]
    payload = inbound("SM0006", body="", media=media)
    assert client.post(URL, json=payload, headers=service_headers()).status_code == 201
    with tenants.db.engine.connect() as connection:
        stored = connection.execute(text("SELECT body, media FROM inbound_messages")).one()
    assert stored.body == ""
    assert "image/jpeg" in str(stored.media)


def test_unknown_tenant_bad_phone_and_missing_fields(client, tenants) -> None:
    unknown = client.post(URL, json=inbound("SM0007", tenant="nobody"), headers=service_headers())
    assert unknown.status_code == 404
    bad_phone = client.post(URL, json=inbound("SM0008", "hello"), headers=service_headers())
    assert bad_phone.status_code == 400
    assert bad_phone.get_json()["errors"] == {"from": ["Not a valid phone number."]}
    missing = client.post(URL, json={"tenant_id": TENANT_ID}, headers=service_headers())
    assert missing.status_code == 422
    assert set(missing.get_json()["errors"]) == {"from", "message_sid"}


def test_inbound_needs_the_service_token(client, tenants) -> None:
    response = client.post(URL, json=inbound("SM0009"))
    assert response.status_code == 401


def test_a_body_longer_than_whatsapps_limit_is_refused_and_not_stored(client, tenants) -> None:
    response = client.post(URL, json=inbound("SM0100", body="x" * 4097), headers=service_headers())
    assert response.status_code == 422
    error = response.get_json()
    assert error["message"] and "body" in error["errors"]
    with tenants.db.engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM inbound_messages")).scalar_one()
    assert count == 0
    ok = client.post(URL, json=inbound("SM0101", body="x" * 4096), headers=service_headers())
    assert ok.status_code == 201
