"""Issue 13 item 4 (channel safety net): a turn that says nothing is answered by the channel in the
customer's language, unless a person has the conversation (Rasa's tracker is paused)."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Optional

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ConversationPaused, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels import notices
from tests.channel.conftest import CUSTOMER_REF
from tests.channel.test_whatsapp_channel import form, post

pytestmark = pytest.mark.asyncio
SENDER = f"shop:{CUSTOMER_REF}"  # Rasa knows the customer by the opaque reference


async def says_nothing(message: UserMessage) -> None:
    return None


async def with_tracker(app, paused: bool, language: Optional[str] = None) -> None:
    """Gives the test server an agent whose tracker store holds this customer's conversation."""
    domain = Domain.from_dict({"slots": {"language": {"type": "text", "mappings": []}}})
    store = InMemoryTrackerStore(domain)
    tracker = DialogueStateTracker(SENDER, domain.slots)
    if language:
        tracker.update(SlotSet("language", language))
    if paused:
        tracker.update(ConversationPaused())
    await store.save(tracker)
    app.ctx.agent = SimpleNamespace(tracker_store=store)


async def test_a_silent_turn_is_answered_in_the_conversations_language(channel_server, backend):
    channel_server["bot"].behaviour = says_nothing
    await with_tracker(channel_server["app"], paused=False, language="sheng")
    assert (await post(channel_server["url"], form("buy -3 shoes")))[0] == 200
    [batch] = backend.outbound
    assert batch["messages"] == [{"body": notices.NOT_UNDERSTOOD["sheng"], "media_url": None}]


async def test_a_silent_turn_of_a_new_customer_follows_the_text_language(channel_server, backend):
    channel_server["bot"].behaviour = says_nothing
    assert (await post(channel_server["url"], form("habari, nataka kununua viatu viwili")))[0] == 200
    assert backend.outbound[0]["messages"][0]["body"] == notices.NOT_UNDERSTOOD["sw"]


async def test_no_reply_while_a_person_has_the_conversation(channel_server, backend):
    channel_server["bot"].behaviour = says_nothing
    await with_tracker(channel_server["app"], paused=True, language="en")
    assert (await post(channel_server["url"], form("hello? anyone there?")))[0] == 200
    assert len(channel_server["received"]) == 1  # Rasa logged it (the merchant's inbox has it)
    assert backend.inbound and backend.outbound == []


async def test_a_turn_that_answered_gets_nothing_more(channel_server, backend):
    await with_tracker(channel_server["app"], paused=False)
    assert (await post(channel_server["url"], form("hello")))[0] == 200
    assert [m["body"] for m in backend.outbound[0]["messages"]] == ["echo: hello"]
