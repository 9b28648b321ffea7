"""The general "inform" router: a bare value outside a form goes to the flow it belongs to."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.bookings.availability import ActionCheckAvailability
from actions.catalog import ActionProductDetails, ActionSelectOption
from actions.common import entity, picks_from_menu
from actions.payments import ActionStartPayment, kenyan_mobile


class ActionHandleInform(ActionStartPayment):
    """A bare value outside a form: an M-Pesa number or a payment method pays; a product name shows
    it; anything else gets the list of what the assistant can do."""

    def name(self) -> Text:
        return "action_handle_inform"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        if picks_from_menu(tracker) and kenyan_mobile(entity(tracker, "phone_number")) is None:
            return await ActionSelectOption().run(dispatcher, tracker, domain)
        if (entity(tracker, "phone_number") or entity(tracker, "payment_method")
                or tracker.get_slot("current_flow") == "mpesa_number"):
            return await super().run(dispatcher, tracker, domain)
        if entity(tracker, "product"):
            return await ActionProductDetails().run(dispatcher, tracker, domain)
        if entity(tracker, "service") or entity(tracker, "date") or entity(tracker, "time"):
            return await ActionCheckAvailability().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_what_can_i_do")
        return []
