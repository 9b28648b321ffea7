"""/v1/api-keys: several keys per tenant, shown once, stored hashed, revocable (then 401)."""

from __future__ import annotations

from sqlalchemy import text

from backend.wiring import Context
from tests.backend.conftest import (
    OTHER_ID,
    OTHER_KEY,
    TENANT_ID,
    TENANT_KEY,
    merchant_headers,
    service_headers,
)

URL = "/v1/api-keys"


def test_create_list_use_and_revoke(client, tenants: Context) -> None:
    listed = client.get(URL, headers=merchant_headers())
    assert listed.status_code == 200
    [seeded] = listed.get_json()["results"]
    assert seeded["prefix"] == TENANT_KEY[:8] and seeded["active"] is True

    created = client.post(URL, json={"name": "Till 2"}, headers=merchant_headers())
    assert created.status_code == 201
    new = created.get_json()
    assert new["name"] == "Till 2" and new["active"] is True and new["revoked_at"] is None
    raw = new["key"]
    assert len(raw) >= 32 and new["prefix"] == raw[:8]
    with tenants.db.engine.connect() as connection:
        stored = connection.execute(text("SELECT key_hash FROM api_keys")).scalars().all()
    assert all(raw not in value for value in stored)  # only the hash is kept

    keys = client.get(URL, headers=merchant_headers()).get_json()["results"]
    assert [k["id"] for k in keys] == [seeded["id"], new["id"]]
    assert all("key" not in k for k in keys)  # never shown again
    # The new key works on its own, alongside the first one.
    assert client.get(URL, headers=merchant_headers(api_key=raw)).status_code == 200

    revoked = client.delete(f"{URL}/{new['id']}", headers=merchant_headers())
    assert revoked.status_code == 204
    refused = client.get("/v1/tenant", headers=merchant_headers(api_key=raw))
    assert refused.status_code == 401
    assert refused.get_json()["description"] == "Invalid tenant id or API key"
    assert client.get(URL, headers=merchant_headers()).status_code == 200  # the other key lives
    after = client.get(URL, headers=merchant_headers()).get_json()["results"]
    assert after[1]["active"] is False and after[1]["revoked_at"] is not None
    # Revoking again changes nothing.
    assert client.delete(f"{URL}/{new['id']}", headers=merchant_headers()).status_code == 204
    again = client.get(URL, headers=merchant_headers()).get_json()["results"]
    assert again[1]["revoked_at"] == after[1]["revoked_at"]


def test_duplicate_live_name_is_409_but_a_revoked_name_is_free(client, tenants) -> None:
    first = client.post(URL, json={"name": "Website"}, headers=merchant_headers())
    assert first.status_code == 201
    clash = client.post(URL, json={"name": "Website"}, headers=merchant_headers())
    assert clash.status_code == 409
    assert "Website" in clash.get_json()["description"]
    # The other tenant may use the same name.
    assert client.post(URL, json={"name": "Website"},
                       headers=merchant_headers(OTHER_ID, OTHER_KEY)).status_code == 201
    client.delete(f"{URL}/{first.get_json()['id']}", headers=merchant_headers())
    assert client.post(URL, json={"name": "Website"}, headers=merchant_headers()).status_code == 201


def test_validation_and_unknown_keys(client, tenants) -> None:
    assert client.post(URL, json={"name": "x" * 101}, headers=merchant_headers()).status_code == 422
    assert client.post(URL, json={"key": "chosen"}, headers=merchant_headers()).status_code == 422
    assert client.delete(f"{URL}/999999", headers=merchant_headers()).status_code == 404


def test_another_tenants_key_is_404_and_stays_live(client, tenants) -> None:
    other = client.get(URL, headers=merchant_headers(OTHER_ID, OTHER_KEY)).get_json()["results"]
    response = client.delete(f"{URL}/{other[0]['id']}", headers=merchant_headers())
    assert response.status_code == 404
    assert client.get(URL, headers=merchant_headers(OTHER_ID, OTHER_KEY)).status_code == 200


def test_operator_issues_a_key_for_a_locked_out_merchant(client, tenants) -> None:
    [only] = client.get(URL, headers=merchant_headers()).get_json()["results"]
    assert client.delete(f"{URL}/{only['id']}", headers=merchant_headers()).status_code == 204
    assert client.get(URL, headers=merchant_headers()).status_code == 401
    created = client.post(URL, json={"name": "recovery"}, headers=service_headers(TENANT_ID))
    assert created.status_code == 201
    assert client.get(URL, headers=merchant_headers(api_key=created.get_json()["key"])
                      ).status_code == 200
