"""The operator's Twilio connection test: a real Accounts fetch through the project's Twilio
client, answered over HTTP by the simulator (Twilio's shape, 401 20003 on a wrong token), its
result kept on the tenant; an unreachable Twilio is an error result, not a hung request."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest

from backend.providers.twilio import TwilioSendError, fetch_account
from tests.backend.commerce_helpers import json_of
from tests.backend.conftest import (
    TENANT_ID,
    TENANT_SID,
    TENANT_TOKEN,
    add_tenant,
    free_port,
    service_headers,
)
from tests.backend.test_operator_tenants import OPERATOR, SID, TOKEN, create

ACCOUNT = f"/sandbox/twilio/2010-04-01/Accounts/{TENANT_SID}.json"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_the_simulator_answers_the_account_fetch_as_twilio_does(client, tenants) -> None:
    account = json_of(client.get(ACCOUNT, headers=basic(TENANT_SID, TENANT_TOKEN)), 200)
    assert (account["sid"], account["status"], account["type"]) == (TENANT_SID, "active", "Full")
    assert account["friendly_name"] == f"{TENANT_ID} ltd"
    assert account["uri"] == f"/2010-04-01/Accounts/{TENANT_SID}.json"
    assert account["date_created"].endswith("+0000")
    assert TENANT_TOKEN not in str(account)
    for headers in ({}, basic(TENANT_SID, "wrong-token"), basic("AC" + "9" * 32, TENANT_TOKEN)):
        refused = client.get(ACCOUNT, headers=headers)
        assert refused.status_code == 401
        assert (refused.get_json()["code"], refused.get_json()["status"]) == (20003, 401)
        assert refused.headers["WWW-Authenticate"].startswith("Basic")


def test_the_client_fetches_the_account_over_http(live_server) -> None:
    server = live_server()
    ctx = server.app.extensions["backend"]
    add_tenant(ctx, TENANT_ID, "+254700000101", TENANT_SID, TENANT_TOKEN, "k" * 20)
    url = ctx.settings.twilio_sandbox_api_url
    account = fetch_account(TENANT_SID, TENANT_TOKEN, url)
    assert (account.sid, account.status) == (TENANT_SID, "active")
    with pytest.raises(TwilioSendError) as refused:
        fetch_account(TENANT_SID, "wrong-token", url)
    assert refused.value.code == 20003 and not refused.value.transient


def test_connection_ok_and_wrong_token(live_server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = live_server().app.test_client()
    json_of(create(client), 201)
    tested = json_of(client.post("/v1/platform/tenants/mama-mboga/twilio-test",
                                 headers=OPERATOR), 200)
    assert (tested["ok"], tested["error"], tested["account_status"]) == (True, None, "active")
    kept = json_of(client.get("/v1/platform/tenants/mama-mboga", headers=OPERATOR),
                   200)["twilio_test"]
    assert kept == {"ok": True, "tested_at": tested["tested_at"], "error": None}

    def check(token: str) -> dict[str, Any]:
        return dict(json_of(client.post("/v1/platform/twilio-tests", headers=OPERATOR, json={
            "twilio_account_sid": SID, "twilio_auth_token": token, "sandbox": True}), 200))

    assert check(TOKEN)["ok"] is True
    wrong = check("not-the-token")
    assert wrong["ok"] is False and "401" in wrong["error"] and "20003" in wrong["error"]
    unknown = client.post("/v1/platform/twilio-tests", headers=OPERATOR, json={
        "twilio_account_sid": "AC" + "9" * 32, "twilio_auth_token": TOKEN})
    assert json_of(unknown, 200)["ok"] is False
    assert TOKEN not in caplog.text and "not-the-token" not in caplog.text
    assert client.post("/v1/platform/tenants/nope/twilio-test",
                       headers=OPERATOR).status_code == 404


def test_unreachable_twilio_is_kept_as_an_error(make_app) -> None:
    closed = f"http://127.0.0.1:{free_port()}/sandbox/twilio"  # nothing listens there
    client = make_app(twilio_sandbox_api_url=closed).test_client()
    json_of(create(client), 201)
    tested = json_of(client.post("/v1/platform/tenants/mama-mboga/twilio-test",
                                 headers=OPERATOR), 200)
    assert tested["ok"] is False and "unreachable" in tested["error"]
    kept = json_of(client.get("/v1/platform/tenants/mama-mboga", headers=OPERATOR),
                   200)["twilio_test"]
    assert kept["ok"] is False and kept["error"] == tested["error"]
    assert TOKEN not in tested["error"]
    no_url = make_app(twilio_sandbox_api_url="").test_client()
    assert json_of(no_url.post("/v1/platform/tenants/mama-mboga/twilio-test",
                               headers=service_headers()), 200)["ok"] is False
