"""action_reset_form: ordering (or booking) again while the form is open starts it over."""
from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import ActionResetForm

DOMAIN = {"forms": {"order_form": {"required_slots": [
    "selected_product", "selected_variant", "quantity", "order_confirmed"]}}}


def tracker(active_loop: dict) -> Tracker:
    return Tracker(
        sender_id="shop:+254712345678",
        slots={"selected_product": "7", "selected_variant": "12", "quantity": 2.0,
               "requested_slot": "order_confirmed", "language": "sw"},
        latest_message={"text": "habari, nataka kununua viatu 2",
                        "intent": {"name": "place_order", "confidence": 0.9}, "entities": []},
        events=[], paused=False, followup_action=None, active_loop=active_loop,
        latest_action_name="action_listen")


@pytest.mark.asyncio
async def test_the_active_forms_slots_are_forgotten_and_nothing_is_said():
    dispatcher = CollectingDispatcher()
    events = await ActionResetForm().run(dispatcher, tracker({"name": "order_form"}), DOMAIN)
    cleared = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert cleared == {"selected_product": None, "selected_variant": None, "quantity": None,
                       "order_confirmed": None, "requested_slot": None}
    assert dispatcher.messages == []  # the form that runs next asks what is missing


@pytest.mark.asyncio
async def test_without_an_active_form_nothing_changes():
    events = await ActionResetForm().run(CollectingDispatcher(), tracker({}), DOMAIN)
    assert events == []
