"""The Twilio simulator speaks Twilio's Messages API: Basic auth, Twilio's JSON and error codes."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from backend.providers.twilio import TwilioSender, TwilioSendError
from tests.backend.conftest import (
    OTHER_NUMBER,
    TENANT_NUMBER,
    TENANT_SID,
    TENANT_TOKEN,
    LiveServer,
    merchant_headers,
    service_headers,
)

URL = f"/sandbox/twilio/2010-04-01/Accounts/{TENANT_SID}/Messages.json"


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def form(**fields: Any) -> dict[str, Any]:
    return {"From": f"whatsapp:{TENANT_NUMBER}", "To": "whatsapp:+254712345678", **fields}


def test_create_answers_twilio_json(client, tenants) -> None:
    response = client.post(URL, data=form(Body="Habari!"), headers=basic(TENANT_SID, TENANT_TOKEN))
    assert response.status_code == 201
    message = response.get_json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", message["sid"])
    assert message["account_sid"] == TENANT_SID
    assert message["from"] == f"whatsapp:{TENANT_NUMBER}"
    assert message["to"] == "whatsapp:+254712345678"
    assert message["body"] == "Habari!"
    assert message["status"] == "queued"
    assert message["uri"].endswith(f"/Messages/{message['sid']}.json")
    assert message["date_created"].endswith("+0000")


@pytest.mark.parametrize(
    "headers",
    [{}, basic(TENANT_SID, "wrong-token"), basic("AC" + "9" * 32, TENANT_TOKEN)],
)
def test_bad_basic_auth_is_twilio_20003(client, tenants, headers: dict[str, str]) -> None:
    response = client.post(URL, data=form(Body="x"), headers=headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == 20003
    assert response.get_json()["status"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_unknown_account_is_401(client, tenants) -> None:
    url = URL.replace(TENANT_SID, "AC" + "9" * 32)
    response = client.post(url, data=form(Body="x"), headers=basic("AC" + "9" * 32, TENANT_TOKEN))
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        (form(), 21602),  # neither Body nor MediaUrl
        (form(Body=""), 21602),
        (form(Body="x", To=""), 21604),
        (form(Body="x", To="whatsapp:+2547"), 21211),
        (form(Body="x", From=""), 21603),
        (form(Body="x", From=f"whatsapp:{OTHER_NUMBER}"), 63007),  # another tenant's number
        (form(Body="x", From="+254700000999"), 21606),
    ],
)
def test_invalid_requests_get_twilio_400s(client, tenants, fields: dict, code: int) -> None:
    response = client.post(URL, data=fields, headers=basic(TENANT_SID, TENANT_TOKEN))
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == code and body["status"] == 400 and body["message"]


def test_media_only_message_is_accepted(client, tenants) -> None:
    fields = form(MediaUrl="https://example.test/catalog.jpg")
    response = client.post(URL, data=fields, headers=basic(TENANT_SID, TENANT_TOKEN))
    assert response.status_code == 201
    assert response.get_json()["num_media"] == "1"
    listed = client.get("/v1/sandbox/messages", headers=service_headers()).get_json()["results"]
    assert listed[-1]["media_url"] == "https://example.test/catalog.jpg"
    assert listed[-1]["body"] is None


def test_sandbox_log_filters_by_recipient_and_id(client, tenants) -> None:
    auth = basic(TENANT_SID, TENANT_TOKEN)
    for to, body in [
        ("+254711111111", "one"),
        ("+254722222222", "two"),
        ("+254711111111", "three"),
    ]:
        client.post(URL, data=form(Body=body, To=f"whatsapp:{to}"), headers=auth)
    everything = client.get("/v1/sandbox/messages", headers=service_headers()).get_json()["results"]
    assert [m["body"] for m in everything] == ["one", "two", "three"]
    for_one = client.get(
        "/v1/sandbox/messages", query_string={"to": "0711111111"}, headers=service_headers()
    ).get_json()["results"]
    assert [m["body"] for m in for_one] == ["one", "three"]
    after = client.get(
        "/v1/sandbox/messages",
        query_string={"to": "+254711111111", "after": for_one[0]["id"]},
        headers=service_headers(),
    ).get_json()["results"]
    assert [m["body"] for m in after] == ["three"]
    first = everything[0]
    assert set(first) == {"id", "sid", "tenant_id", "from", "to", "body", "media_url",
                          "content_sid", "interactive", "created_at"}
    assert (first["content_sid"], first["interactive"]) == (None, None)  # plain text
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", first["created_at"])


def test_a_merchant_sees_only_its_own_sandbox_messages(client, tenants) -> None:
    client.post(URL, data=form(Body="mine"), headers=basic(TENANT_SID, TENANT_TOKEN))
    mine = client.get("/v1/sandbox/messages", headers=merchant_headers()).get_json()["results"]
    assert [m["body"] for m in mine] == ["mine"]
    from tests.backend.conftest import OTHER_ID, OTHER_KEY

    theirs = client.get(
        "/v1/sandbox/messages", headers=merchant_headers(OTHER_ID, OTHER_KEY)
    ).get_json()["results"]
    assert theirs == []
    assert client.get("/v1/sandbox/messages").status_code == 401


def test_sandbox_routes_do_not_exist_when_sandbox_is_off(
    make_app: Callable[..., Flask], tenants
) -> None:
    client = make_app(sandbox=False).test_client()
    created = client.post(URL, data=form(Body="x"), headers=basic(TENANT_SID, TENANT_TOKEN))
    listed = client.get("/v1/sandbox/messages", headers=service_headers())
    assert created.status_code == listed.status_code == 404
    assert created.get_json()["code"] == 404 and "description" in created.get_json()
    paths = client.get("/openapi.json").get_json()["paths"]
    assert "/v1/sandbox/messages" not in paths
    assert [p for p in paths if p.startswith("/sandbox/")] == []  # no Daraja or card simulator


def test_the_twilio_library_talks_to_the_simulator(
    live_server: Callable[..., LiveServer], tenants
) -> None:
    server = live_server()
    base = f"http://127.0.0.1:{server.port}/sandbox/twilio"
    sent = TwilioSender(TENANT_SID, TENANT_TOKEN, base).send(
        from_=f"whatsapp:{TENANT_NUMBER}", to="whatsapp:+254712345678", body="Karibu!"
    )
    assert re.fullmatch(r"SM[0-9a-f]{32}", sent.sid) and sent.status == "queued"
    with pytest.raises(TwilioSendError) as refused:
        TwilioSender(TENANT_SID, "wrong", base).send(
            from_=f"whatsapp:{TENANT_NUMBER}", to="whatsapp:+254712345678", body="x"
        )
    assert refused.value.code == 20003 and refused.value.transient is False
