"""Session start: remember tenant and customer, and start in the merchant's language."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation_owner import tenant_and_customer

LANGUAGES = {"en", "sw", "sheng"}


class ActionSessionStart(Action):
    def name(self) -> Text:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        events: List[EventType] = [SessionStarted()]
        # Carried-over slots first, so that a new session keeps the customer's language.
        for key, value in tracker.slots.items():
            if key != "session_started_metadata" and value is not None:
                events.append(SlotSet(key, value))
        tenant_id, _ = tenant_and_customer(tracker)
        # `customer_phone` (kept in the domain) is always empty: the sender id carries an opaque
        # reference and no slot holds a phone (this also clears one carried over from before).
        events += [SlotSet("tenant_id", tenant_id or None), SlotSet("customer_phone", None)]
        metadata = tracker.get_slot("session_started_metadata") or {}
        tenant_language = metadata.get("tenant_language")
        if tracker.get_slot("language") is None and tenant_language in LANGUAGES:
            events.append(SlotSet("language", tenant_language))
        events.append(ActionExecuted("action_listen"))
        return events
