"""Yes/no outside forms: the `pending_confirmation` slot says what a "yes" would do.

A flow that asks "Cancel order #12? (yes / no)" sets pending_confirmation to
{"kind": "cancel_order", "id": "12"} and registers what "yes" does with `on_confirm`. The rules send
affirm to action_confirm and deny to action_decline.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

ConfirmHandler = Callable[[CollectingDispatcher, Tracker, Dict[str, Any]], Awaitable[List[EventType]]]
_CONFIRM_HANDLERS: Dict[str, ConfirmHandler] = {}


def on_confirm(kind: str) -> Callable[[ConfirmHandler], ConfirmHandler]:
    def register(handler: ConfirmHandler) -> ConfirmHandler:
        _CONFIRM_HANDLERS[kind] = handler
        return handler
    return register


def ask_to_confirm(kind: str, ident: Any, **extra: Any) -> SlotSet:
    return SlotSet("pending_confirmation", {"kind": kind, "id": str(ident), **extra})


def pending(tracker: Tracker) -> Optional[Dict[str, Any]]:
    value = tracker.get_slot("pending_confirmation")
    if isinstance(value, dict) and value.get("kind") in _CONFIRM_HANDLERS:
        return value
    return None


class ActionConfirm(Action):
    def name(self) -> Text:
        return "action_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        what = pending(tracker)
        if what is None:
            dispatcher.utter_message(response="utter_nothing_to_confirm")
            return [SlotSet("pending_confirmation", None)]
        events = await _CONFIRM_HANDLERS[what["kind"]](dispatcher, tracker, what)
        return [SlotSet("pending_confirmation", None), *events]


class ActionDecline(Action):
    def name(self) -> Text:
        return "action_decline"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        if pending(tracker) is None:
            dispatcher.utter_message(response="utter_nothing_to_confirm")
        else:
            dispatcher.utter_message(response="utter_declined")
        return [SlotSet("pending_confirmation", None)]
