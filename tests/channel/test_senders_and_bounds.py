"""Issue 13 item 10 (channel): who is answered, how much text goes on, and the error shape."""
from __future__ import annotations

import aiohttp
import pytest

from tests.channel.conftest import TENANT_NUMBER
from tests.channel.test_whatsapp_channel import form, post

pytestmark = pytest.mark.asyncio


async def test_a_sender_without_the_whatsapp_prefix_is_not_answered(channel_server, backend):
    status, body = await post(channel_server["url"], form(From="+254712345678"))
    assert status == 200 and "<Response>" in body
    assert channel_server["received"] == [] and backend.inbound == [] and backend.outbound == []


async def test_an_sms_to_the_business_number_is_not_answered_on_whatsapp(channel_server, backend):
    status, _ = await post(channel_server["url"], form(To=TENANT_NUMBER[len("whatsapp:"):]))
    assert status == 200
    assert channel_server["received"] == [] and backend.outbound == []


@pytest.mark.parametrize("sender", ["whatsapp:+254700000002", TENANT_NUMBER])
async def test_business_numbers_are_not_answered(sender, channel_server, backend):
    """Another merchant's assistant (or this one's own number) writing: answering would loop."""
    backend.other_tenant_numbers.append("whatsapp:+254700000002")
    status, _ = await post(channel_server["url"], form(From=sender))
    assert status == 200
    assert channel_server["received"] == [] and backend.inbound == [] and backend.outbound == []


async def test_bodies_are_bounded_for_rasa_and_the_log(channel_server, backend):
    huge = "😀" * 5000 + "x" * 1_000_000
    assert (await post(channel_server["url"], form(huge, ProfileName="N" * 5000)))[0] == 200
    assert len(channel_server["received"][0].text) == 4096
    assert len(backend.inbound[0]["body"]) == 4096
    assert len(backend.inbound[0]["profile_name"]) == 200


@pytest.mark.parametrize("fields, status", [
    ({"MessageSid": "SM" + "1" * 100}, 400),
    ({"To": "whatsapp:+254799999999"}, 404),
])
async def test_channel_errors_use_the_backends_one_shape(fields, status, channel_server):
    async with aiohttp.ClientSession() as session:
        async with session.post(channel_server["url"], data=form(**fields)) as r:
            assert r.status == status
            error = await r.json()
    assert set(error) == {"code", "message", "description"}
    assert error["code"] == status and error["message"] and error["description"]


async def test_a_bad_signature_is_403_in_the_one_shape(channel_server):
    async with aiohttp.ClientSession() as session:
        async with session.post(channel_server["url"], data=form(),
                                headers={"X-Twilio-Signature": "forged"}) as r:
            assert r.status == 403
            assert (await r.json())["message"] == "Forbidden"
