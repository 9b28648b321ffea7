"""The channel around Rasa's real agent (the trained model) with the action server down: Rasa's
processor logs and swallows each failed action; the channel still answers, in the customer's
language, and stays quiet while a person has the conversation."""
from __future__ import annotations

import pytest
from rasa.shared.core.events import ConversationPaused

from bot.channels import notices
from bot.channels.whatsapp import WhatsAppInput
from tests.channel.conftest import SERVICE_TOKEN, serve_channel
from tests.channel.test_whatsapp_channel import form, post
from tests.trained_model import trained_agent

pytestmark = pytest.mark.asyncio


async def test_action_server_down_is_answered_and_a_paused_conversation_stays_quiet(backend):
    agent = trained_agent()  # its action server: a port nothing listens on
    channel = WhatsAppInput(backend.url, SERVICE_TOKEN)
    server, app, port = await serve_channel(channel, agent.handle_message)
    app.ctx.agent = agent
    url = f"http://127.0.0.1:{port}/webhooks/whatsapp/webhook"
    try:
        fields = form("mnauza nini?", From="whatsapp:+254733000001")
        assert (await post(url, fields))[0] == 200
        [batch] = backend.outbound
        assert batch["messages"][-1]["body"] == notices.TROUBLE["sw"]
        assert (await post(url, fields))[0] == 200  # Twilio's retry: answered once only
        assert len(backend.outbound) == 1

        paused = form("hello, is someone there?", From="whatsapp:+254733000002")
        backend.customer_ref = "c00000000000000000000000b"  # the second customer's reference
        tracker = await agent.tracker_store.get_or_create_tracker("shop:c00000000000000000000000b")
        tracker.update(ConversationPaused())
        await agent.tracker_store.save(tracker)
        assert (await post(url, paused))[0] == 200
        assert len(backend.outbound) == 1  # a person has it: nothing from the assistant
        logged = await agent.tracker_store.retrieve("shop:c00000000000000000000000b")
        assert logged.latest_message.text == "hello, is someone there?"  # in the inbox
    finally:
        await channel.backend.close()
        server.close()
        await server.wait_closed()
