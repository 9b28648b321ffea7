"""Session start: tenant and customer slots, and the merchant's language as the starting point."""
import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.session import ActionSessionStart

pytestmark = pytest.mark.asyncio


def session_tracker(slots):
    return Tracker("shop:c0123456789abcdef01234567", slots, {}, [], False, None, {},
                   "action_listen")


async def test_session_start_sets_tenant_customer_and_tenant_language():
    t = session_tracker({"session_started_metadata": {"tenant_language": "sw"}, "language": None})
    events = await ActionSessionStart().run(CollectingDispatcher(), t, {})
    assert events[0]["event"] == "session_started"
    assert (events[-1]["event"], events[-1]["name"]) == ("action", "action_listen")
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    # No slot holds a phone: customer_phone stays in the domain but is always empty.
    assert slots == {"tenant_id": "shop", "customer_phone": None, "language": "sw"}


async def test_a_phone_carried_over_from_an_old_session_is_cleared():
    t = session_tracker({"customer_phone": "+254712345678", "language": "en"})
    events = await ActionSessionStart().run(CollectingDispatcher(), t, {})
    last = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert last["customer_phone"] is None


async def test_a_known_language_is_kept_over_the_tenant_default():
    t = session_tracker({"session_started_metadata": {"tenant_language": "en"}, "language": "sheng"})
    events = await ActionSessionStart().run(CollectingDispatcher(), t, {})
    slots = [(e["name"], e["value"]) for e in events if e["event"] == "slot"]
    assert ("language", "sheng") in slots and ("language", "en") not in slots
