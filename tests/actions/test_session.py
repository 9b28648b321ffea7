"""Session start: tenant and customer slots, and the merchant's language as the starting point."""
import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.session import ActionSessionStart

pytestmark = pytest.mark.asyncio


def session_tracker(slots):
    return Tracker("shop:+254712345678", slots, {}, [], False, None, {}, "action_listen")


async def test_session_start_sets_tenant_customer_and_tenant_language():
    t = session_tracker({"session_started_metadata": {"tenant_language": "sw"}, "language": None})
    events = await ActionSessionStart().run(CollectingDispatcher(), t, {})
    assert events[0]["event"] == "session_started"
    assert (events[-1]["event"], events[-1]["name"]) == ("action", "action_listen")
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots == {"tenant_id": "shop", "customer_phone": "+254712345678", "language": "sw"}


async def test_a_known_language_is_kept_over_the_tenant_default():
    t = session_tracker({"session_started_metadata": {"tenant_language": "en"}, "language": "sheng"})
    events = await ActionSessionStart().run(CollectingDispatcher(), t, {})
    slots = [(e["name"], e["value"]) for e in events if e["event"] == "slot"]
    assert ("language", "sheng") in slots and ("language", "en") not in slots
