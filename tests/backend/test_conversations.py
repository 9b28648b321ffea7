"""Conversations: messages attach to the customer's current one; 24 h of silence starts anew."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from backend.wiring import Context
from backend.services.conversations.outbound import OutgoingMessage, store_outbound
from tests.backend.conftest import OTHER_ID, OTHER_KEY, TENANT_ID, merchant_headers, service_headers

INBOUND = "/internal/v1/messages/inbound"
PHONE = "+254711000042"


def write(client, sid: str, body: str = "Habari", media: list | None = None) -> int:
    response = client.post(
        INBOUND,
        json={"tenant_id": TENANT_ID, "from": PHONE, "profile_name": "Otieno",
              "message_sid": sid, "body": body, "media": media or []},
        headers=service_headers(),
    )
    assert response.status_code == 201, response.get_json()
    customer_id: int = response.get_json()["customer_id"]
    return customer_id


def reply(ctx: Context, *bodies: str) -> list[int]:
    return store_outbound(ctx, TENANT_ID, PHONE, [OutgoingMessage(body=b) for b in bodies], "SM1")


def age_everything(ctx: Context, hours: float) -> None:
    """Pretend every message and conversation happened `hours` earlier."""
    shift = timedelta(hours=hours)
    with ctx.db.transaction() as session:
        for table, columns in (
            ("conversations", ("started_at", "last_inbound_at", "last_message_at")),
            ("inbound_messages", ("created_at",)),
            ("outbound_messages", ("created_at",)),
        ):
            rows = session.execute(text(f"SELECT id, {', '.join(columns)} FROM {table}")).all()
            for row in rows:
                values = {c: _shift(getattr(row, c), shift) for c in columns}
                assignments = ", ".join(f"{c} = :{c}" for c in columns)
                session.execute(
                    text(f"UPDATE {table} SET {assignments} WHERE id = :id"), {**values, "id": row.id}
                )


def _shift(value, shift: timedelta):
    from datetime import UTC, datetime

    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands back text through raw SQL
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value - shift


def conversations(client, customer_id: int) -> list[dict]:
    response = client.get(f"/v1/customers/{customer_id}/conversations", headers=merchant_headers())
    assert response.status_code == 200, response.get_json()
    results: list[dict] = response.get_json()["results"]
    return results


def test_messages_both_ways_in_one_conversation_in_order(client, tenants: Context) -> None:
    customer = write(client, "SM100", "Niaje, mna sneakers?")
    reply(tenants, "Tuko nazo!", "Size gani?")
    write(client, "SM101", "", media=[{"url": "https://example.test/p.jpg",
                                       "content_type": "image/jpeg"}])
    [conversation] = conversations(client, customer)
    assert conversation["status"] == "open" and conversation["needs_human"] is False
    assert conversation["last_inbound_at"] is not None
    response = client.get(f"/v1/conversations/{conversation['id']}/messages",
                          headers=merchant_headers())
    assert response.status_code == 200
    messages = response.get_json()["results"]
    assert [(m["direction"], m["type"], m["body"]) for m in messages] == [
        ("inbound", "text", "Niaje, mna sneakers?"),
        ("outbound", "text", "Tuko nazo!"),
        ("outbound", "text", "Size gani?"),
        ("inbound", "media", ""),
    ]
    assert messages[0]["provider_sid"] == "SM100" and messages[0]["status"] == "received"
    assert messages[1]["status"] == "queued" and messages[1]["in_reply_to"] == "SM1"
    assert messages[3]["media"] == [{"url": "https://example.test/p.jpg",
                                     "content_type": "image/jpeg"}]
    # Paginated like every listing.
    page = client.get(f"/v1/conversations/{conversation['id']}/messages",
                      query_string={"page_size": 3, "page": 2}, headers=merchant_headers())
    assert page.get_json()["count"] == 4 and len(page.get_json()["results"]) == 1


def test_24_hours_of_silence_starts_a_new_conversation(client, tenants: Context) -> None:
    customer = write(client, "SM200")
    reply(tenants, "Karibu")
    age_everything(tenants, 23)
    write(client, "SM201")  # 23 h later: same conversation
    assert len(conversations(client, customer)) == 1
    age_everything(tenants, 24)
    write(client, "SM202", "Niko tena")  # after 24 h of silence: a new one
    newest, oldest = conversations(client, customer)
    assert (newest["status"], oldest["status"]) == ("open", "closed")
    assert newest["started_at"] > oldest["last_message_at"]
    old = client.get(f"/v1/conversations/{oldest['id']}/messages",
                     headers=merchant_headers()).get_json()["results"]
    new = client.get(f"/v1/conversations/{newest['id']}/messages",
                     headers=merchant_headers()).get_json()["results"]
    assert [m["provider_sid"] for m in old if m["direction"] == "inbound"] == ["SM200", "SM201"]
    assert [m["body"] for m in new] == ["Niko tena"]


def test_outreach_after_silence_opens_a_conversation_without_inbound(client, tenants) -> None:
    customer = write(client, "SM300")
    age_everything(tenants, 30)
    store_outbound(tenants, TENANT_ID, PHONE, [OutgoingMessage(body="Your booking is tomorrow")])
    newest, _ = conversations(client, customer)
    assert newest["last_inbound_at"] is None and newest["status"] == "open"


def test_another_tenants_conversation_is_404(client, tenants: Context) -> None:
    customer = write(client, "SM400")
    [conversation] = conversations(client, customer)
    url = f"/v1/conversations/{conversation['id']}/messages"
    assert client.get(url, headers=merchant_headers(OTHER_ID, OTHER_KEY)).status_code == 404
    assert client.get(url, headers=service_headers(OTHER_ID)).status_code == 404
    assert client.get("/v1/conversations/999999/messages",
                      headers=merchant_headers()).status_code == 404
    assert client.get(url, headers=service_headers(TENANT_ID)).status_code == 200


def test_flag_for_a_person_and_close(client, tenants: Context) -> None:
    customer = write(client, "SM500", "Nataka kuongea na mtu")
    [conversation] = conversations(client, customer)
    url = f"/v1/conversations/{conversation['id']}"
    flagged = client.patch(url, json={"needs_human": True}, headers=service_headers(TENANT_ID))
    assert flagged.status_code == 200 and flagged.get_json()["needs_human"] is True
    closed = client.patch(url, json={"status": "closed", "needs_human": False},
                          headers=merchant_headers())
    assert closed.status_code == 200
    assert (closed.get_json()["status"], closed.get_json()["needs_human"]) == ("closed", False)
    reopen = client.patch(url, json={"status": "open"}, headers=merchant_headers())
    assert reopen.status_code == 409
    assert client.patch(url, json={}, headers=merchant_headers()).status_code == 422
    assert client.patch(url, json={"status": "archived"}, headers=merchant_headers()
                        ).status_code == 422
    assert client.patch(url, json={"needs_human": True},
                        headers=merchant_headers(OTHER_ID, OTHER_KEY)).status_code == 404
    # The customer writes again: a closed conversation is never reused.
    write(client, "SM501", "Bado niko")
    newest, _ = conversations(client, customer)
    assert newest["id"] != conversation["id"] and newest["status"] == "open"
