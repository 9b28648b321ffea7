"""The WhatsApp channel: signatures, tenants, duplicates, media-only messages, metadata, replies."""
from __future__ import annotations

import os
import uuid

import aiohttp
import pytest
from twilio.request_validator import RequestValidator

from tests.channel.conftest import AUTH_TOKEN, CUSTOMER_REF, TENANT_NUMBER

pytestmark = pytest.mark.asyncio

CUSTOMER = "+254712345678"


def form(body: str = "habari", **extra: str) -> dict:
    fields = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": "AC" + "0" * 32,
              "From": f"whatsapp:{CUSTOMER}", "To": TENANT_NUMBER, "Body": body,
              "NumMedia": "0", "ProfileName": "Wanjiku", "WaId": CUSTOMER[1:]}
    fields.update(extra)
    return fields


async def post(url: str, fields: dict, token: str = AUTH_TOKEN, signature: str = None):
    if signature is None:
        signature = RequestValidator(token).compute_signature(url, fields)
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=fields, headers={"X-Twilio-Signature": signature}) as r:
            return r.status, await r.text()


async def test_signed_message_reaches_rasa_with_tenant_scoped_sender_and_metadata(channel_server, backend):
    fields = form("Niaje msee 👋 " + "x" * 10)
    status, body = await post(channel_server["url"], fields)
    assert status == 200 and "<Response>" in body
    [message] = channel_server["received"]
    # Rasa gets the opaque reference the inbound log issued, never the phone.
    assert message.sender_id == f"shop:{CUSTOMER_REF}"
    assert message.input_channel == "whatsapp"
    assert message.metadata["tenant_id"] == "shop"
    assert message.metadata["customer_ref"] == CUSTOMER_REF
    assert message.metadata["phone_hint"] == "0712 *** 678"
    assert CUSTOMER[1:] not in repr((message.sender_id, message.metadata))
    assert message.metadata["profile_name"] == "Wanjiku"
    assert message.metadata["message_sid"] == fields["MessageSid"]
    assert message.metadata["tenant_language"] == "sw"
    assert backend.inbound[0]["from"] == CUSTOMER
    [batch] = backend.outbound
    assert batch["to"] == CUSTOMER and batch["tenant_id"] == "shop"
    assert batch["in_reply_to"] == fields["MessageSid"]
    assert batch["messages"] == [{"body": f"echo: {fields['Body']}", "media_url": None}]


async def test_no_customer_reference_no_turn_and_the_retry_is_answered(channel_server, backend):
    """A backend that issues no reference gets 503 (Twilio retries): the turn never runs under
    the phone, and the dedupe claim is released for the retry."""
    backend.customer_ref = None
    fields = form("habari")
    assert (await post(channel_server["url"], fields))[0] == 503
    assert channel_server["received"] == []
    backend.customer_ref = CUSTOMER_REF
    assert (await post(channel_server["url"], fields))[0] == 200
    assert [m.sender_id for m in channel_server["received"]] == [f"shop:{CUSTOMER_REF}"]


async def test_unsigned_and_wrongly_signed_requests_are_rejected(channel_server, backend):
    assert (await post(channel_server["url"], form(), signature=""))[0] == 403
    assert (await post(channel_server["url"], form(), token="someone-elses-token"))[0] == 403
    fields = form("original")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(channel_server["url"], fields)
    fields["Body"] = "tampered"
    assert (await post(channel_server["url"], fields, signature=signature))[0] == 403
    assert channel_server["received"] == [] and backend.outbound == []


async def test_unknown_tenant_number_is_404(channel_server, backend):
    status, body = await post(channel_server["url"], form(To="whatsapp:+254799999999"))
    assert status == 404 and "+254799999999" in body
    assert channel_server["received"] == []


async def test_tenant_routing_is_cached(channel_server, backend):
    for _ in range(3):
        assert (await post(channel_server["url"], form()))[0] == 200
    assert backend.resolved.count(TENANT_NUMBER) == 1
    assert backend.resolved.count(f"whatsapp:{CUSTOMER}") == 1  # the sender is no business number


async def test_repeated_message_sid_is_processed_once(channel_server, backend):
    fields = form("mnauza nini")
    assert (await post(channel_server["url"], fields))[0] == 200
    assert (await post(channel_server["url"], fields))[0] == 200
    assert len(channel_server["received"]) == 1
    assert len(backend.outbound) == 1


@pytest.mark.parametrize("channel_server", [os.environ.get("TEST_REDIS_URL")], indirect=True)
async def test_repeated_message_sid_is_dropped_through_redis(channel_server, backend):
    if not os.environ.get("TEST_REDIS_URL"):
        pytest.fail("TEST_REDIS_URL is not set: run the tests through `make test`")
    fields = form("ya pili")
    assert (await post(channel_server["url"], fields))[0] == 200
    assert (await post(channel_server["url"], fields))[0] == 200
    assert len(channel_server["received"]) == 1


async def test_media_without_text_gets_a_polite_text_only_reply(channel_server, backend):
    fields = form("", NumMedia="1", MediaUrl0="https://api.twilio.com/media/ME1",
                  MediaContentType0="image/webp")
    status, _ = await post(channel_server["url"], fields)
    assert status == 200
    assert channel_server["received"] == []
    [batch] = backend.outbound
    assert "only read text" in batch["messages"][0]["body"]
    assert backend.inbound[0]["media"] == [
        {"url": "https://api.twilio.com/media/ME1", "content_type": "image/webp"}]


async def test_a_location_pin_reaches_rasa_as_a_pin_with_its_place_name(channel_server, backend):
    """Twilio sends a shared location as Latitude/Longitude (with Address and Label for a named
    place) and an empty Body: the turn runs with the pin in its metadata; the words Rasa and the
    merchant's inbox read are the pin and the place's name, never the coordinates."""
    fields = form("", Latitude="-1.2250", Longitude="36.8920", Label="Naivas Thika Road",
                  Address="Thika Rd, Nairobi")
    status, _ = await post(channel_server["url"], fields)
    assert status == 200
    [message] = channel_server["received"]
    assert message.text == "\N{ROUND PUSHPIN} Naivas Thika Road"
    assert message.metadata["location"] == {"latitude": -1.225, "longitude": 36.892,
                                            "label": "Naivas Thika Road",
                                            "address": "Thika Rd, Nairobi"}
    assert backend.inbound[0]["body"] == "\N{ROUND PUSHPIN} Naivas Thika Road"
    assert "-1.22" not in repr(backend.inbound[0])


@pytest.mark.parametrize("latitude, longitude", [("91", "36.8"), ("nan", "36.8"), ("x", "1"),
                                                 ("-1.2", "")])
async def test_a_pin_that_is_no_place_is_not_a_pin(channel_server, backend, latitude, longitude):
    status, _ = await post(channel_server["url"], form("", Latitude=latitude, Longitude=longitude))
    assert status == 200
    assert channel_server["received"] == []  # nothing to read: the text-only reply
    assert "only read text" in backend.outbound[0]["messages"][0]["body"]


async def test_words_with_a_pin_keep_the_words(channel_server, backend):
    await post(channel_server["url"], form("deliver here", Latitude="-1.2", Longitude="36.9"))
    [message] = channel_server["received"]
    assert message.text == "deliver here"
    assert message.metadata["location"]["latitude"] == -1.2


async def test_missing_body_field_is_not_a_server_error(channel_server, backend):
    fields = form()
    del fields["Body"]
    status, _ = await post(channel_server["url"], fields)
    assert status == 200
    assert "only read text" in backend.outbound[0]["messages"][0]["body"]


async def test_malformed_webhook_is_a_clear_400(channel_server, backend):
    async with aiohttp.ClientSession() as session:
        async with session.post(channel_server["url"], json={"hello": "world"}) as r:
            assert r.status == 400
            error = await r.json()
    assert error["code"] == 400 and error["message"] == "Bad Request"
    assert "MessageSid" in error["description"]


async def test_very_long_message_is_cut_not_rejected(channel_server, backend):
    status, _ = await post(channel_server["url"], form("ndula " * 2000))
    assert status == 200
    assert len(channel_server["received"][0].text) == 4096
    assert len(backend.inbound[0]["body"]) == 4096  # the inbound log gets the same bounded text


async def test_backend_failure_is_503_and_the_retry_is_processed(channel_server, backend):
    backend.fail_outbound = True
    fields = form("retry me")
    assert (await post(channel_server["url"], fields))[0] == 503
    backend.fail_outbound = False
    assert (await post(channel_server["url"], fields))[0] == 200
    assert len(backend.outbound) == 1


async def test_behind_a_proxy_the_public_url_is_what_twilio_signed(backend):
    """With WHATSAPP_PUBLIC_URL set, the signature covers the public URL, not the local one."""
    from rasa.core.channels.channel import UserMessage
    from sanic import Sanic

    from bot.channels.whatsapp import WhatsAppInput
    from tests.channel.conftest import SERVICE_TOKEN, free_port

    public = "https://shop.example.co.ke/bot"
    received = []

    async def on_new_message(message: UserMessage) -> None:
        received.append(message)

    app = Sanic(f"proxy_test_{uuid.uuid4().hex}")
    channel = WhatsAppInput(backend.url, SERVICE_TOKEN, public_url=public + "/")
    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/whatsapp")
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                     access_log=False)
    await server.startup()
    try:
        local = f"http://127.0.0.1:{port}/webhooks/whatsapp/webhook"
        fields = form("signed for the public URL")
        signature = RequestValidator(AUTH_TOKEN).compute_signature(
            public + "/webhooks/whatsapp/webhook", fields)
        assert (await post(local, fields, signature=signature))[0] == 200
        assert (await post(local, form("signed for the local URL")))[0] == 403
        assert [m.text for m in received] == ["signed for the public URL"]
    finally:
        await channel.backend.close()
        server.close()
        await server.wait_closed()
