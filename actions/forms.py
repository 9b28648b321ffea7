"""Starting an open form over: ordering (or booking) again while the form is open."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher


def form_slots(domain: Dict[Text, Any], form: str) -> List[str]:
    """The slots a form fills, as the domain lists them (empty for an unknown form)."""
    spec = (domain.get("forms") or {}).get(form) or {}
    return list(spec.get("required_slots") or [])


class ActionResetForm(Action):
    """Forgets what the active form collected, so the form that runs next starts from the current
    message ("habari, nataka kununua viatu 2" while the order form waits for a size).

    It says nothing itself: the form that follows asks for what is still missing."""

    def name(self) -> Text:
        return "action_reset_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        form = (tracker.active_loop or {}).get("name")
        if not form:
            return []
        slots = form_slots(domain, form)
        return [SlotSet(name, None) for name in slots] + [SlotSet("requested_slot", None)]
