"""Human handoff: the assistant flags a conversation, merchants see it, answer within WhatsApp's
24 h window, and give it back to the assistant through Rasa (a recording server on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from backend.wiring import Context
from backend.models import Conversation, ConversationHandoff
from tests.backend.conftest import (
    OTHER_ID,
    OTHER_KEY,
    TENANT_ID,
    TENANT_KEY,
    free_port,
    merchant_headers,
    service_headers,
)
from tests.backend.rasa_fake import FakeRasa

HANDOFF = "/internal/v1/conversations/handoff"
INBOUND = "/internal/v1/messages/inbound"
PHONE = "+254711000077"
OTHER_PHONE = "+254722000088"
RASA_TOKEN = "rasa-test-token"


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    server = FakeRasa().start()
    yield server
    server.stop()


def write(client, phone: str, sid: str, body: str) -> str:
    """Log an inbound message; returns the customer's reference (Rasa's sender id part)."""
    response = client.post(INBOUND, json={"tenant_id": TENANT_ID, "from": phone,
                                          "message_sid": sid, "body": body},
                           headers=service_headers())
    assert response.status_code == 201, response.get_json()
    ref: str = response.get_json()["customer_ref"]
    return ref


def hand_off(client, phone: str = PHONE, reason: str = "requested", **extra) -> dict:
    payload = {"tenant_id": TENANT_ID, "phone": phone,
               "reason": reason, "last_message": "nataka kuongea na mtu", **extra}
    response = client.post(HANDOFF, json=payload, headers=service_headers())
    assert response.status_code == 200, response.get_json()
    body: dict = response.get_json()
    return body


def waiting(client, headers=None) -> list[dict]:
    response = client.get("/v1/conversations", query_string={"needs_human": "true"},
                          headers=headers or merchant_headers())
    assert response.status_code == 200, response.get_json()
    results: list[dict] = response.get_json()["results"]
    return results


def handoffs(ctx: Context) -> list[ConversationHandoff]:
    with ctx.db.transaction() as session:
        return list(session.scalars(select(ConversationHandoff).order_by(ConversationHandoff.id)))


def test_handoff_flags_the_current_conversation_once_and_merchants_see_it(client, tenants) -> None:
    write(client, PHONE, "SMH1", "Niaje, nataka refund")
    first = hand_off(client)
    assert first["needs_human"] is True
    again = hand_off(client, reason="fallback", last_message="refund yangu iko wapi?")
    assert again["conversation_id"] == first["conversation_id"]
    [record] = handoffs(tenants)
    assert (record.reason, record.requested_by) == ("requested", "assistant")
    assert record.last_message == "refund yangu iko wapi?" and record.resumed_at is None

    [item] = waiting(client)
    assert item["id"] == first["conversation_id"]
    assert item["customer_phone"] == PHONE and item["needs_human"] is True
    assert item["last_message"]["direction"] == "inbound"
    assert item["last_message"]["body"] == "Niaje, nataka refund"
    assert item["handoff"]["reason"] == "requested"
    assert item["handoff"]["last_message"] == "refund yangu iko wapi?"
    # Another tenant sees none of it.
    assert waiting(client, merchant_headers(OTHER_ID, OTHER_KEY)) == []


def test_handoff_opens_a_conversation_for_a_customer_never_seen(client, tenants) -> None:
    result = hand_off(client, phone="0733000111", reason="llm_budget")
    [item] = waiting(client)
    assert item["id"] == result["conversation_id"]
    assert item["customer_phone"] == "+254733000111" and item["last_message"] is None


def test_waiting_list_is_oldest_handoff_first_and_filters(client, tenants) -> None:
    write(client, PHONE, "SMH2", "hello")
    write(client, OTHER_PHONE, "SMH3", "habari")
    older = hand_off(client, OTHER_PHONE)["conversation_id"]
    newer = hand_off(client, PHONE)["conversation_id"]
    with tenants.db.transaction() as session:  # the later handoff happened first
        session.execute(update(ConversationHandoff)
                        .where(ConversationHandoff.conversation_id == newer)
                        .values(requested_at=datetime.now(UTC) - timedelta(hours=2)))
    assert [item["id"] for item in waiting(client)] == [newer, older]
    everything = client.get("/v1/conversations", headers=merchant_headers()).get_json()
    assert everything["count"] == 2
    calm = client.get("/v1/conversations", query_string={"needs_human": "false"},
                      headers=merchant_headers()).get_json()
    assert calm["count"] == 0
    closed = client.get("/v1/conversations", query_string={"status": "closed"},
                        headers=merchant_headers()).get_json()
    assert closed["count"] == 0
    by_service = waiting(client, service_headers(TENANT_ID))
    assert [item["id"] for item in by_service] == [newer, older]


def test_the_assistant_hands_off_by_customer_reference(client, tenants) -> None:
    ref = write(client, PHONE, "SMH9", "nataka mtu")
    result = hand_off(client, phone=None, customer_ref=ref, sender_id=f"{TENANT_ID}:{ref}",
                      last_message="nipigie 0711000077 tafadhali")
    [item] = waiting(client)
    # Merchants still see the customer's phone (decrypted from the customer record)…
    assert item["id"] == result["conversation_id"] and item["customer_phone"] == PHONE
    # …but a phone typed in the message is kept masked.
    assert handoffs(tenants)[0].last_message == "nipigie 07****077 tafadhali"


def test_handoff_validation(client, tenants) -> None:
    ref = write(client, PHONE, "SMH8", "hi")
    wrong_sender = client.post(HANDOFF, json={
        "tenant_id": TENANT_ID, "customer_ref": ref, "sender_id": f"{OTHER_ID}:{ref}",
        "reason": "requested"}, headers=service_headers())
    assert wrong_sender.status_code == 400
    assert "sender_id" in wrong_sender.get_json()["errors"]
    phone_sender = client.post(HANDOFF, json={
        "tenant_id": TENANT_ID, "phone": PHONE, "sender_id": f"{TENANT_ID}:{PHONE}",
        "reason": "requested"}, headers=service_headers())
    assert phone_sender.status_code == 400  # Rasa's sender ids carry the reference now
    unknown_ref = client.post(HANDOFF, json={
        "tenant_id": OTHER_ID, "customer_ref": ref, "reason": "requested"},
        headers=service_headers())
    assert unknown_ref.status_code == 404  # another tenant's reference is not found
    nobody = client.post(HANDOFF, json={"tenant_id": TENANT_ID, "reason": "requested"},
                         headers=service_headers())
    assert nobody.status_code == 400 and "customer_ref" in nobody.get_json()["errors"]
    unknown = client.post(HANDOFF, json={"tenant_id": "nobody", "phone": PHONE,
                                         "reason": "requested"}, headers=service_headers())
    assert unknown.status_code == 404
    bad_reason = client.post(HANDOFF, json={"tenant_id": TENANT_ID, "phone": PHONE,
                                            "reason": "bored"}, headers=service_headers())
    assert bad_reason.status_code == 422
    bad_phone = client.post(HANDOFF, json={"tenant_id": TENANT_ID, "phone": "12",
                                           "reason": "requested"}, headers=service_headers())
    assert bad_phone.status_code == 400
    merchant = client.post(HANDOFF, json={"tenant_id": TENANT_ID, "phone": PHONE,
                                          "reason": "requested"}, headers=merchant_headers())
    assert merchant.status_code == 401


def test_resume_tells_rasa_then_clears_needs_human(make_app, tenants, rasa: FakeRasa) -> None:
    client = make_app(rasa_url=rasa.url, rasa_token=RASA_TOKEN).test_client()
    ref = write(client, PHONE, "SMH4", "nisaidie")
    conversation_id = hand_off(client)["conversation_id"]

    response = client.post(f"/v1/conversations/{conversation_id}/resume",
                           headers=merchant_headers())

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["needs_human"] is False
    [request] = rasa.requests
    assert request.method == "POST"
    # Rasa knows the conversation by the customer's reference, never by the phone.
    assert request.raw_path == f"/conversations/{TENANT_ID}:{ref}/tracker/events"
    assert request.query == {"token": [RASA_TOKEN]}
    assert request.body == [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
    [record] = handoffs(tenants)
    assert record.resumed_at is not None
    assert record.resumed_by.startswith("merchant:api_key:")
    assert waiting(client) == []


@pytest.mark.parametrize("failure", ["unreachable", "error"])
def test_resume_when_rasa_fails_is_502_and_keeps_the_person(
    make_app, tenants, rasa: FakeRasa, failure: str
) -> None:
    url = f"http://127.0.0.1:{free_port()}" if failure == "unreachable" else rasa.url
    rasa.replies.append((500, {"status": "failure", "reason": "ConversationError"}))
    client = make_app(rasa_url=url, rasa_token=RASA_TOKEN).test_client()
    conversation_id = hand_off(client)["conversation_id"]

    response = client.post(f"/v1/conversations/{conversation_id}/resume",
                           headers=service_headers(TENANT_ID))

    assert response.status_code == 502
    body = response.get_json()
    assert body["code"] == 502 and "could not be reached" in body["description"]
    [item] = waiting(client)
    assert item["needs_human"] is True
    assert handoffs(tenants)[0].resumed_at is None


def test_resume_of_another_tenants_conversation_is_404_and_calls_nobody(
    make_app, tenants, rasa: FakeRasa
) -> None:
    client = make_app(rasa_url=rasa.url).test_client()
    conversation_id = hand_off(client)["conversation_id"]
    response = client.post(f"/v1/conversations/{conversation_id}/resume",
                           headers=merchant_headers(OTHER_ID, OTHER_KEY))
    assert response.status_code == 404
    assert rasa.requests == []


def test_merchant_flag_and_unflag_are_recorded(client, tenants) -> None:
    write(client, PHONE, "SMH5", "hello")
    [conversation] = client.get("/v1/conversations", headers=merchant_headers()).get_json()[
        "results"]
    url = f"/v1/conversations/{conversation['id']}"
    assert client.patch(url, json={"needs_human": True},
                        headers=merchant_headers()).status_code == 200
    [item] = waiting(client)
    assert item["handoff"]["reason"] == "merchant"
    assert item["handoff"]["requested_by"].startswith("merchant:api_key:")
    assert client.patch(url, json={"needs_human": False},
                        headers=service_headers(TENANT_ID)).status_code == 200
    [record] = handoffs(tenants)
    assert record.resumed_by == "service" and waiting(client) == []


def test_merchant_reply_goes_out_through_the_outbound_path(live_server, tenants) -> None:
    server = live_server()
    client = server.app.test_client()
    write(client, PHONE, "SMH6", "kuna mtu?")
    conversation_id = hand_off(client)["conversation_id"]

    response = client.post(f"/v1/conversations/{conversation_id}/replies",
                           json={"body": "Habari! Ni Wanjiku hapa, nitakusaidia."},
                           headers=merchant_headers(TENANT_ID, TENANT_KEY))

    assert response.status_code == 202, response.get_json()
    [message_id] = response.get_json()["ids"]
    server.app.extensions["backend"].jobs.join(timeout=30)
    messages = client.get(f"/v1/conversations/{conversation_id}/messages",
                          headers=merchant_headers()).get_json()["results"]
    assert [(m["direction"], m["body"]) for m in messages] == [
        ("inbound", "kuna mtu?"), ("outbound", "Habari! Ni Wanjiku hapa, nitakusaidia.")]
    assert messages[1]["id"] == message_id and messages[1]["status"] in ("sent", "delivered", "read")
    sent = client.get("/v1/sandbox/messages", query_string={"to": PHONE},
                      headers=service_headers()).get_json()["results"]
    assert [m["body"] for m in sent] == ["Habari! Ni Wanjiku hapa, nitakusaidia."]


def test_merchant_reply_outside_the_24h_window_is_409(client, tenants) -> None:
    write(client, PHONE, "SMH7", "asante")
    conversation_id = hand_off(client)["conversation_id"]
    with tenants.db.transaction() as session:
        session.execute(update(Conversation).where(Conversation.id == conversation_id).values(
            last_inbound_at=datetime.now(UTC) - timedelta(hours=25)))
    response = client.post(f"/v1/conversations/{conversation_id}/replies",
                           json={"body": "Bado uko?"}, headers=merchant_headers())
    assert response.status_code == 409
    assert "24 hours" in response.get_json()["description"]
    never_wrote = hand_off(client, phone="+254733000222")["conversation_id"]
    assert client.post(f"/v1/conversations/{never_wrote}/replies", json={"body": "Hi"},
                       headers=merchant_headers()).status_code == 409


def test_reply_validation(client, tenants) -> None:
    write(client, PHONE, "SMH8", "hi")
    conversation_id = hand_off(client)["conversation_id"]
    url = f"/v1/conversations/{conversation_id}/replies"
    assert client.post(url, json={"body": ""}, headers=merchant_headers()).status_code == 422
    assert client.post(url, json={"body": "x" * 1601},
                       headers=merchant_headers()).status_code == 422
    assert client.post(url, json={"body": "   "}, headers=merchant_headers()).status_code == 400
    assert client.post("/v1/conversations/999999/replies", json={"body": "hi"},
                       headers=merchant_headers()).status_code == 404
