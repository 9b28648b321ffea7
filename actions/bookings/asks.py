"""The booking form's questions: which service, which variant (a menu), which day, which time
(the day's free times), and the summary to confirm."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.backend import BackendUnavailable
from actions.bookings.booking import booking_start, booking_summary, clear_booking
from actions.bookings.clock import tenant_timezone
from actions.bookings.matching import match_services, services_in_text
from actions.bookings.services import (
    SERVICE_MENU_SIZE,
    find,
    load_services,
    service_menu,
    services_menu_slot,
    services_to_offer,
    variant_lines,
)
from actions.bookings.slots import (
    SLOT_MENU_SIZE,
    free_slots,
    menu_shown_this_turn,
    slot_menu,
    slots_menu_slot,
)
from actions.bookings.when import decode_date
from actions.common import entity, language
from actions.conversation_owner import tenant_and_customer
from actions.dates import format_day
from actions.menu import new_menu

logger = logging.getLogger(__name__)


def _stop_form() -> List[EventType]:
    return [ActiveLoop(None), SlotSet("requested_slot", None)]


class ActionAskSelectedService(Action):
    def name(self) -> Text:
        return "action_ask_selected_service"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        services = await services_to_offer(dispatcher, tracker)
        if not services:
            return _stop_form()
        tenant_id, _ = tenant_and_customer(tracker)
        named = entity(tracker, "service")
        try:
            found = (await match_services(tenant_id, named, services) if named
                     else await services_in_text(tenant_id, tracker.latest_message.get("text", ""),
                                                 services))
        except BackendUnavailable as exc:
            logger.error("service match unavailable: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return _stop_form()
        shown = (found if len(found) > 1 else services)[:SERVICE_MENU_SIZE]
        if named and not found:
            dispatcher.utter_message(response="utter_service_not_found", text=named,
                                     menu=service_menu(shown, language(tracker)))
        else:
            dispatcher.utter_message(response="utter_ask_selected_service",
                                     menu=service_menu(shown, language(tracker)))
        return [services_menu_slot(shown, "booking")]


class ActionAskSelectedServiceVariant(Action):
    def name(self) -> Text:
        return "action_ask_selected_service_variant"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        tenant_id, _ = tenant_and_customer(tracker)
        try:
            service = find(await load_services(tenant_id), tracker.get_slot("selected_service"))
        except BackendUnavailable as exc:
            logger.error("booking variants: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return _stop_form()
        if service is None:
            dispatcher.utter_message(response="utter_menu_expired")
            return _stop_form() + [SlotSet("selected_service", None)]
        dispatcher.utter_message(response="utter_ask_selected_service_variant",
                                 title=service["name"],
                                 menu=variant_lines(service, language(tracker), numbered=True))
        ids = [v["id"] for v in service["variants"]]
        return [SlotSet("last_menu", new_menu("service_variants", ids))]


class ActionAskDate(Action):
    def name(self) -> Text:
        return "action_ask_date"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        if menu_shown_this_turn(tracker, "slots"):
            dispatcher.utter_message(response="utter_ask_date_or_pick")
        else:
            dispatcher.utter_message(response="utter_ask_date")
        return []


class ActionAskTime(Action):
    """Lists the free times of the chosen day (or only says "pick one" if a list was just shown)."""

    def name(self) -> Text:
        return "action_ask_time"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        if menu_shown_this_turn(tracker, "slots"):
            dispatcher.utter_message(response="utter_ask_time_or_pick")
            return []
        tenant_id, _ = tenant_and_customer(tracker)
        service_id = tracker.get_slot("selected_service")
        variant_id = tracker.get_slot("selected_service_variant")
        days = decode_date(tracker.get_slot("date"))
        lang = language(tracker)
        if not (service_id and variant_id and days):
            dispatcher.utter_message(response="utter_ask_time")
            return []
        try:
            found = await free_slots(tenant_id, service_id, variant_id, days.first, days.last,
                                     await tenant_timezone(tenant_id))
        except BackendUnavailable as exc:
            logger.error("booking times: %s", exc)
            found = []
        if not found:
            dispatcher.utter_message(response="utter_ask_time")
            return []
        shown = found[:SLOT_MENU_SIZE]
        dispatcher.utter_message(response="utter_ask_time_menu", day=format_day(days.first, lang),
                                 menu=slot_menu(shown, lang))
        return [slots_menu_slot(shown, service_id, variant_id)]


class ActionAskBookingConfirmed(Action):
    def name(self) -> Text:
        return "action_ask_booking_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        try:
            summary = await booking_summary(tracker, tracker.get_slot("selected_service"),
                                            tracker.get_slot("selected_service_variant"),
                                            booking_start(tracker))
        except BackendUnavailable as exc:
            logger.error("booking summary: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return _stop_form()
        if summary is None:
            dispatcher.utter_message(response="utter_booking_failed")
            return _stop_form() + clear_booking()
        dispatcher.utter_message(response="utter_ask_booking_confirmed", **summary)
        return []
