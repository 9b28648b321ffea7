"""Issue 13 item 3 (channel): a turn that fails or hangs is answered in the customer's language, a
backend that cannot take the reply gets 503 with the MessageSid unclaimed, and the dedupe works
without Redis. Nothing lost, nothing answered twice."""
from __future__ import annotations

import asyncio
import logging
import os
import time
from types import SimpleNamespace

import pytest
from rasa.core.channels.channel import UserMessage

from bot.channels import notices
from tests.channel.conftest import free_port
from tests.channel.test_whatsapp_channel import form, post

pytestmark = pytest.mark.asyncio
DEAD_REDIS = f"redis://127.0.0.1:{free_port()}/0"


async def failing_action(message: UserMessage) -> None:
    """What Rasa 3.6's processor does when an action fails: log it and carry on without a reply."""
    try:
        raise RuntimeError("Failed to execute custom action 'action_show_products'")
    except RuntimeError:
        logging.getLogger("rasa.core.processor").exception(
            "Encountered an exception while running action 'action_show_products'.")


async def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_failed_action_is_answered_with_trouble_in_the_customers_language(
        channel_server, backend):
    channel_server["bot"].behaviour = failing_action
    status, _ = await post(channel_server["url"], form("nionyeshe bidhaa zenu tafadhali"))
    assert status == 200
    [batch] = backend.outbound
    assert batch["messages"] == [{"body": notices.TROUBLE["sw"], "media_url": None}]
    assert backend.inbound[0]["body"] == "nionyeshe bidhaa zenu tafadhali"  # kept for the merchant


async def test_trouble_follows_the_text_language_over_the_merchants(channel_server, backend):
    channel_server["bot"].behaviour = failing_action
    await post(channel_server["url"], form("please show me what you sell today"))
    assert backend.outbound[0]["messages"][-1]["body"] == notices.TROUBLE["en"]


async def test_a_failure_in_another_customers_turn_does_not_leak(channel_server, backend):
    """The failure mark belongs to the turn that logged it (concurrent turns of others are fine)."""
    gate = asyncio.Event()

    async def behaviour(message: UserMessage) -> None:
        if "fail" in message.text:
            await gate.wait()
            await failing_action(message)
        else:
            gate.set()
            await asyncio.sleep(0.05)
            await message.output_channel.send_text_message(message.sender_id, "ok")

    channel_server["bot"].behaviour = behaviour
    results = await asyncio.gather(
        post(channel_server["url"], form("fail please", From="whatsapp:+254711111111")),
        post(channel_server["url"], form("hello there", From="whatsapp:+254722222222")))
    assert [r[0] for r in results] == [200, 200]
    bodies = {b["to"]: [m["body"] for m in b["messages"]] for b in backend.outbound}
    assert bodies["+254722222222"] == ["ok"]
    assert bodies["+254711111111"] == [notices.TROUBLE["en"]]


async def test_a_turn_that_raises_is_answered_not_a_500(channel_server, backend):
    async def behaviour(message: UserMessage) -> None:
        raise ConnectionError("lock store unavailable")

    channel_server["bot"].behaviour = behaviour
    assert (await post(channel_server["url"], form("habari")))[0] == 200
    assert backend.outbound[0]["messages"][0]["body"] in notices.TROUBLE.values()


@pytest.mark.parametrize("channel_server", [{"turn_deadline_seconds": 0.3}], indirect=True)
async def test_a_slow_turn_is_answered_by_the_deadline_and_its_reply_follows(channel_server,
                                                                            backend):
    async def behaviour(message: UserMessage) -> None:
        await asyncio.sleep(1.0)
        await message.output_channel.send_text_message(message.sender_id, "the real answer")

    channel_server["bot"].behaviour = behaviour
    started = time.monotonic()
    fields = form("hello, what do you sell?")
    assert (await post(channel_server["url"], fields))[0] == 200
    assert time.monotonic() - started < 1.0
    assert backend.outbound[0]["messages"] == [{"body": notices.TROUBLE["en"], "media_url": None}]
    await wait_for(lambda: len(backend.outbound) == 2)
    assert backend.outbound[1]["messages"] == [{"body": "the real answer", "media_url": None}]
    assert backend.outbound[1]["in_reply_to"] == fields["MessageSid"]
    assert (await post(channel_server["url"], fields))[0] == 200  # Twilio's retry: dropped
    assert len(channel_server["received"]) == 1


async def test_a_repeat_while_the_first_delivery_runs_is_503_then_dropped(channel_server,
                                                                          backend):
    release = asyncio.Event()

    async def behaviour(message: UserMessage) -> None:
        await release.wait()
        await message.output_channel.send_text_message(message.sender_id, "answer")

    channel_server["bot"].behaviour = behaviour
    fields = form("habari")
    first = asyncio.ensure_future(post(channel_server["url"], fields))
    await wait_for(lambda: len(channel_server["received"]) == 1)
    assert (await post(channel_server["url"], fields))[0] == 503  # not dropped: retried later
    release.set()
    assert (await first)[0] == 200
    assert (await post(channel_server["url"], fields))[0] == 200
    assert len(channel_server["received"]) == 1 and len(backend.outbound) == 1


@pytest.mark.parametrize("channel_server", [DEAD_REDIS], indirect=True)
async def test_without_redis_the_dedupe_holds_in_this_process(channel_server, backend):
    fields = form("mnauza nini")
    assert (await post(channel_server["url"], fields))[0] == 200
    assert (await post(channel_server["url"], fields))[0] == 200
    assert len(channel_server["received"]) == 1 and len(backend.outbound) == 1


@pytest.mark.parametrize("channel_server", [DEAD_REDIS], indirect=True)
async def test_without_redis_a_failed_send_stays_retryable(channel_server, backend):
    backend.fail_outbound = True
    fields = form("retry me")
    status, body = await post(channel_server["url"], fields)
    assert status == 503 and '"message"' in body
    backend.fail_outbound = False
    assert (await post(channel_server["url"], fields))[0] == 200
    assert [m["body"] for m in backend.outbound[0]["messages"]] == ["echo: retry me"]


async def _a_failed_send_is_retried_without_running_the_turn_again(channel_server, backend):
    backend.fail_outbound = True
    fields = form("nataka viatu")
    assert (await post(channel_server["url"], fields))[0] == 503
    assert (await post(channel_server["url"], fields))[0] == 503  # the backend still refuses
    backend.fail_outbound = False
    assert (await post(channel_server["url"], fields))[0] == 200
    assert (await post(channel_server["url"], fields))[0] == 200  # and now it is a repeat
    # The turn ran once (a second run would put the message in the tracker twice and move a form
    # on twice); its replies were handed over once, with the MessageSid they answer.
    assert len(channel_server["received"]) == 1
    assert [m["body"] for o in backend.outbound for m in o["messages"]] == ["echo: nataka viatu"]
    assert backend.outbound[0]["in_reply_to"] == fields["MessageSid"]


@pytest.mark.parametrize("channel_server", [os.environ.get("TEST_REDIS_URL")], indirect=True)
async def test_a_failed_send_is_retried_without_running_the_turn_again(channel_server, backend):
    """Issue 21: found by the replica fault test while PostgreSQL restarted (the replies wait in
    Redis, so the retry may reach another replica)."""
    if not os.environ.get("TEST_REDIS_URL"):
        pytest.fail("TEST_REDIS_URL is not set: run the tests through `make test`")
    await _a_failed_send_is_retried_without_running_the_turn_again(channel_server, backend)


@pytest.mark.parametrize("channel_server", [DEAD_REDIS], indirect=True)
async def test_without_redis_a_failed_send_is_retried_without_running_the_turn_again(
        channel_server, backend):
    await _a_failed_send_is_retried_without_running_the_turn_again(channel_server, backend)


class _Store:
    """The agent's tracker store as the channel reads it: one conversation's events."""

    def __init__(self, events) -> None:
        self.events = events

    async def retrieve(self, sender_id):
        from rasa.shared.core.trackers import DialogueStateTracker
        return DialogueStateTracker.from_events(sender_id, self.events)


async def _abandon(channel_server, fields, seconds_ago: float) -> None:
    """What a replica killed mid-turn leaves in Redis: the MessageSid claimed `seconds_ago`."""
    import time as clock
    if not os.environ.get("TEST_REDIS_URL"):
        pytest.fail("TEST_REDIS_URL is not set: run the tests through `make test`")
    dedupe = channel_server["channel"].dedupe
    await dedupe._redis.set(f"{dedupe._prefix}shop:{fields['MessageSid']}",
                            b"pending:" + repr(clock.time() - seconds_ago).encode(), ex=3600)


REDIS_PENDING = {"redis_url": os.environ.get("TEST_REDIS_URL"), "pending_seconds": 5}


@pytest.mark.parametrize("channel_server", [REDIS_PENDING], indirect=True)
async def test_a_turn_abandoned_after_its_tracker_had_it_is_answered_from_the_tracker(
        channel_server, backend):
    """Issue 21: the replica died between saving the tracker and handing over the replies; the
    retry after pending_seconds must not run the turn a second time."""
    from rasa.shared.core.events import BotUttered, UserUttered
    fields = form("nataka viatu")
    channel_server["app"].ctx.agent = SimpleNamespace(tracker_store=_Store([
        UserUttered("hi", metadata={"message_sid": "SMearlier"}), BotUttered("Karibu!"),
        UserUttered("nataka viatu", metadata={"message_sid": fields["MessageSid"]}),
        BotUttered("Tuna viatu hivi: 1. Sneakers"), BotUttered("Unataka gani?")]))
    await _abandon(channel_server, fields, seconds_ago=2)
    assert (await post(channel_server["url"], fields))[0] == 503  # still within pending_seconds
    await _abandon(channel_server, fields, seconds_ago=10)
    assert (await post(channel_server["url"], fields))[0] == 200
    assert channel_server["received"] == []  # not run again
    assert [m["body"] for m in backend.outbound[0]["messages"]] == [
        "Tuna viatu hivi: 1. Sneakers", "Unataka gani?"]
    assert (await post(channel_server["url"], fields))[0] == 200  # now a plain repeat
    assert len(backend.outbound) == 1


@pytest.mark.parametrize("channel_server", [REDIS_PENDING], indirect=True)
async def test_a_turn_abandoned_before_its_tracker_had_it_runs_on_the_retry(channel_server,
                                                                             backend):
    from rasa.shared.core.events import UserUttered
    fields = form("nataka viatu")
    channel_server["app"].ctx.agent = SimpleNamespace(tracker_store=_Store([
        UserUttered("hi", metadata={"message_sid": "SMearlier"})]))
    await _abandon(channel_server, fields, seconds_ago=10)
    assert (await post(channel_server["url"], fields))[0] == 200
    assert len(channel_server["received"]) == 1
    assert [m["body"] for m in backend.outbound[0]["messages"]] == ["echo: nataka viatu"]
