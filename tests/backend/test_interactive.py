"""Issue 16, interactive messages: a reply's list picker or reply buttons go out through the Content
API (created once per shape, sent by ContentSid + ContentVariables) inside the window and where the
tenant and the sandbox setting allow; anywhere else the numbered text goes out as before. The
simulator takes list-picker and quick-reply contents, checks Twilio's limits and shows them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.models import InteractiveContent
from backend.providers.twilio import TwilioContent, TwilioSendError
from backend.sandbox.models import SandboxPaymentRecord
from backend.sandbox.twilio_content import (
    CONTENT,
    InvalidContent,
    create_content,
    render_content,
    reply_fields,
)
from tests.backend.conftest import (
    TENANT_ID,
    TENANT_SID,
    TENANT_TOKEN,
    merchant_headers,
    service_headers,
)
from tests.backend.test_outbound import simulator_log

CUSTOMER = "+254712345678"
MENU_TEXT = ("Here is what we have:\n\n1. Black leather high-top sneakers — KES 2,500\n"
             "2. Sandals — KES 800\n\nReply with a number to see more.")


def listed(ids: tuple[str, str] = ("row-1~sig", "row-2~sig"), heading: str = "Here is what we have:"
           ) -> dict[str, Any]:
    return {"type": "list", "language": "en", "button": "Choose",
            "body": f"{heading}\n\nTap *Choose* to pick one, or reply with its number.",
            "items": [{"id": ids[0], "title": "Black leather high-top…",
                       "description": "Black leather high-top sneakers — KES 2,500"},
                      {"id": ids[1], "title": "Sandals", "description": "KES 800"}]}


BUTTONS = {"type": "buttons", "language": "sw", "body": "Ughairi oda #12 (KES 800)?",
           "items": [{"id": "/affirm~sig", "title": "Ndiyo"}, {"id": "/deny~sig", "title": "Hapana"}]}


def reply(sid: str, body: str, interactive: dict[str, Any]) -> dict[str, Any]:
    return {"tenant_id": TENANT_ID, "to": CUSTOMER, "in_reply_to": sid,
            "messages": [{"body": body, "media_url": None, "interactive": interactive}]}


def customer_wrote(client: Any, sid: str = "SMin1") -> None:
    response = client.post("/internal/v1/messages/inbound", headers=service_headers(), json={
        "tenant_id": TENANT_ID, "from": CUSTOMER, "message_sid": sid, "body": "hi"})
    assert response.status_code in (200, 201)


def send(server: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Post the reply, run its delivery; the simulator's record of it."""
    client = server.app.test_client()
    assert client.post("/internal/v1/messages/outbound", json=payload,
                       headers=service_headers()).status_code == 202
    # Drained while the server is up: the simulator's status callbacks reach it (else each
    # is retried against a stopped server while the test tears down).
    server.app.extensions["backend"].jobs.drain(timeout=30)
    return simulator_log(server)[-1]


def contents(server: Any) -> int:
    """Contents kept by the backend; the same number must have been created at Twilio."""
    with server.app.extensions["backend"].db.transaction() as session:
        kept = session.scalar(select(func.count()).select_from(InteractiveContent))
        created = session.scalar(select(func.count()).select_from(SandboxPaymentRecord).where(
            SandboxPaymentRecord.provider == CONTENT))
    assert created == kept
    return kept


def test_a_menu_in_the_window_is_a_list_picker_made_once_per_shape(live_server, tenants) -> None:
    server = live_server(sandbox_interactive=True)
    client = server.app.test_client()
    customer_wrote(client)
    first = send(server, reply("SM1", MENU_TEXT, listed()))
    assert first["content_sid"].startswith("HX")
    shown = first["interactive"]
    assert shown["type"] == "twilio/list-picker" and shown["button"] == "Choose"
    assert first["body"] == listed()["body"]
    assert [(i["item"], i["id"], i["description"]) for i in shown["items"]] == [
        ("Black leather high-top…", "row-1~sig", "Black leather high-top sneakers — KES 2,500"),
        ("Sandals", "row-2~sig", "KES 800")]
    # Another list of the same shape (other words, other ids): the same content, new variables.
    second = send(server, reply("SM2", "Pick:\n\n1. a\n2. b", listed(("x~1", "y~2"), "Pick:")))
    assert second["content_sid"] == first["content_sid"] and contents(server) == 1
    assert [i["id"] for i in second["interactive"]["items"]] == ["x~1", "y~2"]
    # Yes/no: quick-reply buttons, a second shape.
    third = send(server, reply("SM3", "Ughairi oda #12 (KES 800)? (ndiyo / hapana)", BUTTONS))
    assert third["interactive"]["type"] == "twilio/quick-reply"
    assert [(a["title"], a["id"]) for a in third["interactive"]["actions"]] == [
        ("Ndiyo", "/affirm~sig"), ("Hapana", "/deny~sig")]
    assert third["body"] == "Ughairi oda #12 (KES 800)?" and contents(server) == 2


def test_outside_the_window_the_numbered_text_goes_out(live_server, tenants) -> None:
    server = live_server(sandbox_interactive=True)  # the customer never wrote: no window
    sent = send(server, reply("SM1", MENU_TEXT, listed()))
    assert (sent["body"], sent["content_sid"], sent["interactive"]) == (MENU_TEXT, None, None)
    assert contents(server) == 0


def test_a_tenant_with_interactive_off_gets_the_numbered_text(live_server, tenants) -> None:
    server = live_server(sandbox_interactive=True)
    client = server.app.test_client()
    answer = client.patch("/v1/tenant", headers=merchant_headers(),
                          json={"features": {"interactive_messages": False}})
    assert answer.status_code == 200 and answer.get_json()["features"]["interactive_messages"] is False
    customer_wrote(client)
    sent = send(server, reply("SM1", MENU_TEXT, listed()))
    assert (sent["body"], sent["content_sid"]) == (MENU_TEXT, None)


def test_the_sandbox_setting_off_gives_the_numbered_text(live_server, tenants) -> None:
    server = live_server()  # SANDBOX_INTERACTIVE is off unless set
    customer_wrote(server.app.test_client())
    sent = send(server, reply("SM1", "Ughairi oda #12? (ndiyo / hapana)", BUTTONS))
    assert (sent["body"], sent["interactive"]) == ("Ughairi oda #12? (ndiyo / hapana)", None)


def test_the_content_api_failing_still_sends_the_text(live_server, tenants, monkeypatch) -> None:
    def unavailable(self: TwilioContent, **_: Any) -> str:
        raise TwilioSendError("Content API 503 (code None): unavailable", transient=True)

    monkeypatch.setattr(TwilioContent, "create", unavailable)
    server = live_server(sandbox_interactive=True)
    customer_wrote(server.app.test_client())
    sent = send(server, reply("SM1", MENU_TEXT, listed()))
    assert (sent["body"], sent["content_sid"]) == (MENU_TEXT, None)


@pytest.mark.parametrize("interactive,field", [
    ({**listed(), "items": listed()["items"] * 6}, "items"),                  # 12 rows
    ({**listed(), "items": [{**listed()["items"][0], "title": "t" * 25}]}, "items"),
    ({**listed(), "button": None}, "button"),
    ({**BUTTONS, "items": BUTTONS["items"] * 2}, "items"),                    # 4 buttons
    ({**BUTTONS, "type": "carousel"}, "type"),
])
def test_the_backend_refuses_interactive_forms_twilio_would(client, tenants, interactive,
                                                            field) -> None:
    answer = client.post("/internal/v1/messages/outbound", headers=service_headers(),
                         json=reply("SM1", "text", interactive))
    assert answer.status_code == 422, answer.get_json()
    assert "messages" in answer.get_json()["errors"]


def test_an_interactive_message_needs_its_text(client, tenants) -> None:
    payload = reply("SM1", "text", BUTTONS)
    payload["messages"][0].update(body=None, media_url="https://example.test/x.jpg")
    answer = client.post("/internal/v1/messages/outbound", headers=service_headers(), json=payload)
    assert answer.status_code == 422


def _list_content(items: int = 2, title: str = "{{2}}") -> dict[str, Any]:
    return {"friendly_name": "menu", "language": "en", "variables": {"1": "b"},
            "types": {"twilio/list-picker": {"body": "{{1}}", "button": "Choose", "items": [
                {"item": title if n == 0 else f"row {n}", "id": f"id-{n}", "description": "d"}
                for n in range(items)]}}}


def test_the_simulator_holds_list_pickers_and_quick_replies_to_twilios_limits(ctx, tenants):
    created = create_content(ctx, TENANT_ID, _list_content())
    sid = created["sid"]
    assert render_content(ctx, TENANT_ID, sid, json.dumps({"1": "Body", "2": "Sandals"})) == (
        "Body", {"type": "twilio/list-picker", "body": "Body", "button": "Choose", "items": [
            {"item": "Sandals", "id": "id-0", "description": "d"},
            {"item": "row 1", "id": "id-1", "description": "d"}]})
    # A variable that fills a row title past 24 characters, or leaves one unfilled: refused.
    assert render_content(ctx, TENANT_ID, sid, json.dumps({"1": "B", "2": "x" * 25})) is None
    assert render_content(ctx, TENANT_ID, sid, json.dumps({"1": "B"})) is None
    assert render_content(ctx, "other-shop", sid, json.dumps({"1": "B", "2": "a"})) is None
    for bad in (_list_content(items=11), _list_content(title="y" * 25)):
        with pytest.raises(InvalidContent):
            create_content(ctx, TENANT_ID, bad)
    four = {"types": {"twilio/quick-reply": {"body": "?", "actions": [
        {"type": "QUICK_REPLY", "title": f"b{n}", "id": f"{n}"} for n in range(4)]}}}
    with pytest.raises(InvalidContent):
        create_content(ctx, TENANT_ID, four)


def test_the_content_api_answers_a_list_twilio_would_refuse_with_400(live_server, tenants):
    """Through the twilio library to the simulator's Content API: refused as Twilio refuses."""
    server = live_server()
    content = TwilioContent(TENANT_SID, TENANT_TOKEN,
                            server.app.extensions["backend"].settings.twilio_content_url(True))
    with pytest.raises(TwilioSendError) as refused:
        content.create(friendly_name="menu", language="en", variables={"1": "b"},
                       types=_list_content(items=11)["types"])
    assert refused.value.code == 20422 and not refused.value.transient
    assert content.create(friendly_name="menu", language="en", variables={"1": "b"},
                          types=_list_content()["types"]).startswith("HX")


def test_reply_fields_are_what_twilio_posts_for_a_tap() -> None:
    shown_list = {"type": "twilio/list-picker", "body": "b", "button": "Choose",
                  "items": [{"item": "Sandals", "id": "row~sig", "description": "KES 800"}]}
    assert reply_fields(shown_list, 1) == {"Body": "Sandals", "ListId": "row~sig",
                                           "ListTitle": "Sandals"}
    shown_buttons = {"type": "twilio/quick-reply", "body": "?",
                     "actions": [{"title": "Ndiyo", "id": "/affirm~sig"}]}
    assert reply_fields(shown_buttons, 1) == {"Body": "Ndiyo", "ButtonPayload": "/affirm~sig",
                                              "ButtonText": "Ndiyo"}


def test_sandbox_interactive_is_off_unless_set() -> None:
    from backend.settings import Settings
    assert Settings.from_env({}).sandbox_interactive is False
    assert Settings.from_env({"SANDBOX_INTERACTIVE": "1"}).sandbox_interactive is True
