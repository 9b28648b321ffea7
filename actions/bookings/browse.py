"""The services menu and one service's details."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.backend import BackendUnavailable
from actions.bookings.matching import match_services, resolve_service
from actions.bookings.services import (
    SERVICE_MENU_SIZE,
    ask_which_service,
    service_menu,
    services_menu_slot,
    services_to_offer,
    show_details,
)
from actions.common import entity, language
from actions.conversation_owner import tenant_and_customer

logger = logging.getLogger(__name__)


class ActionShowServices(Action):
    def name(self) -> Text:
        return "action_show_services"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        lang = language(tracker)
        services = await services_to_offer(dispatcher, tracker)
        if not services:
            return [] if services is None else [SlotSet("last_menu", None)]
        try:
            found = await match_services(tenant_and_customer(tracker)[0],
                                         entity(tracker, "service"), services)
        except BackendUnavailable as exc:
            logger.error("service match unavailable: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        if len(found) == 1:  # "do you do box braids?": yes, and this is it
            return show_details(dispatcher, found[0], lang)
        shown = (found or services)[:SERVICE_MENU_SIZE]
        dispatcher.utter_message(response="utter_service_menu", menu=service_menu(shown, lang))
        return [services_menu_slot(shown, "details")]


class ActionServiceDetails(Action):
    def name(self) -> Text:
        return "action_service_details"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        lang = language(tracker)
        services = await services_to_offer(dispatcher, tracker)
        if not services:
            return []
        try:
            found, unmatched = await resolve_service(tracker, services)
        except BackendUnavailable as exc:
            logger.error("service match unavailable: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        if len(found) == 1:
            return show_details(dispatcher, found[0], lang)
        return ask_which_service(dispatcher, found or services, unmatched, lang, "details")
