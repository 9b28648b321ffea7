"""The booking form's slot extraction and validation, checked against the real free slots."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backend import BackendUnavailable
from actions.bookings.booking import FORM_SLOTS
from actions.bookings.clock import tenant_now, tenant_timezone
from actions.bookings.matching import match_services, resolve_service, variant_named
from actions.bookings.services import find, find_variant, load_services
from actions.bookings.slots import (
    LOOKAHEAD_DAYS,
    SLOT_MENU_SIZE,
    free_slots,
    nearest,
    slot_menu,
    slots_menu_slot,
    within,
)
from actions.bookings.when import (
    asked_days,
    asked_times,
    decode_date,
    decode_time,
    encode_date,
    encode_time,
)
from actions.common import entity, language
from actions.conversation_owner import tenant_and_customer
from actions.dates import DateSpan, format_day, format_moment
from actions.menu import live_menu, pick

logger = logging.getLogger(__name__)

# Intents whose whole text may name a service when the form asked for one.
ANSWER_INTENTS = ("inform", "book_appointment", "select_option", "nlu_fallback")


class ValidateBookingForm(FormValidationAction):
    """Fills a booking: service, variant (skipped when there is one), day, time, then a yes.

    Whenever the service, day or time changes, the choice is checked against the real free slots
    (GET /v1/services/<id>/slots): a taken time is cleared and the nearest free ones are offered
    as a menu; a part of the day or several days are narrowed with a menu of their free slots.
    """

    def name(self) -> Text:
        return "validate_booking_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        before = {name: tracker.get_slot(name) for name in FORM_SLOTS}
        events = await super().run(dispatcher, tracker, domain)
        changed = {e["name"] for e in events
                   if e.get("event") == "slot" and e.get("name") in FORM_SLOTS[:4]}
        if not changed:
            return events
        state = dict(before)
        state.update({e["name"]: e["value"] for e in events if e.get("event") == "slot"})
        try:
            extra = await self.check_availability(dispatcher, tracker, state)
        except BackendUnavailable as exc:
            logger.error("booking availability: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            extra = [SlotSet("time", None)] if state.get("time") else []
        return events + extra

    async def check_availability(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 state: Dict[str, Any]) -> List[EventType]:
        service_id = state.get("selected_service")
        variant_id = state.get("selected_service_variant")
        days, times = decode_date(state.get("date")), decode_time(state.get("time"))
        if not (service_id and variant_id and days):
            return []
        tenant_id, _ = tenant_and_customer(tracker)
        lang = language(tracker)
        tz_name = await tenant_timezone(tenant_id)
        found = await free_slots(tenant_id, service_id, variant_id, days.first, days.last, tz_name)
        if days.single and times is not None and times.exact:
            wanted = datetime.combine(days.first, times.start)
            if wanted in found:
                return []
            around = found or await free_slots(
                tenant_id, service_id, variant_id, days.first - timedelta(days=1),
                days.first + timedelta(days=LOOKAHEAD_DAYS), tz_name)
            shown = nearest(around, wanted, SLOT_MENU_SIZE)
            if not shown:
                dispatcher.utter_message(response="utter_slot_taken_no_alternatives",
                                         when=format_moment(wanted, lang))
                return [SlotSet("date", None), SlotSet("time", None)]
            dispatcher.utter_message(response="utter_slot_taken", when=format_moment(wanted, lang),
                                     menu=slot_menu(shown, lang))
            return [SlotSet("time", None), slots_menu_slot(shown, service_id, variant_id)]
        matching = within(found, times)
        if matching and days.single and times is None:
            return []  # the ask for a time lists them
        if matching:
            shown = matching[:SLOT_MENU_SIZE]
            dispatcher.utter_message(response="utter_pick_a_slot", menu=slot_menu(shown, lang))
            clear = [SlotSet("time", None)] + ([] if days.single else [SlotSet("date", None)])
            return clear + [slots_menu_slot(shown, service_id, variant_id)]
        later = await free_slots(tenant_id, service_id, variant_id, days.last + timedelta(days=1),
                                 days.last + timedelta(days=LOOKAHEAD_DAYS), tz_name)
        shown = (within(later, times) or later or found)[:SLOT_MENU_SIZE]
        label = format_day(days.first, lang)
        if not shown:
            dispatcher.utter_message(response="utter_no_slots_on_day_none_later", day=label)
            return [SlotSet("date", None), SlotSet("time", None)]
        dispatcher.utter_message(response="utter_no_slots_on_day", day=label,
                                 menu=slot_menu(shown, lang))
        return [SlotSet("date", None), SlotSet("time", None),
                slots_menu_slot(shown, service_id, variant_id)]

    @staticmethod
    def _picked_slot(tracker: Tracker) -> Optional[Tuple[Dict[str, Any], datetime]]:
        menu = live_menu(tracker.get_slot("last_menu"))
        option = entity(tracker, "option")
        if not (menu and menu.get("kind") == "slots" and option):
            return None
        picked = pick(menu, option)
        return (menu, datetime.fromisoformat(str(picked))) if picked else None

    async def extract_selected_service(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: DomainDict) -> Dict[Text, Any]:
        slot = self._picked_slot(tracker)
        if slot:
            return {"selected_service": slot[0]["service_id"],
                    "selected_service_variant": slot[0]["variant_id"]}
        requested = tracker.get_slot("requested_slot")
        asked = requested == "selected_service"
        if not (asked or requested is None or entity(tracker, "service")):
            return {}
        tenant_id, _ = tenant_and_customer(tracker)
        try:
            services = await load_services(tenant_id)
            intent = (tracker.latest_message.get("intent") or {}).get("name")
            if not entity(tracker, "service") and intent not in ANSWER_INTENTS:
                return {}  # a question or a refusal, not an answer
            found, _ = await resolve_service(tracker, services, use_slot=False)
            if not found and asked:  # a typo'd name alone: "knotles"
                found = await match_services(tenant_id, tracker.latest_message.get("text", ""),
                                             services)
        except BackendUnavailable as exc:
            logger.error("booking services: %s", exc)
            return {}
        return {"selected_service": str(found[0]["id"])} if len(found) == 1 else {}

    async def validate_selected_service(self, value: Any, dispatcher: CollectingDispatcher,
                                        tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        tenant_id, _ = tenant_and_customer(tracker)
        try:
            service = find(await load_services(tenant_id), value)
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {"selected_service": None}
        if service is None:
            return {"selected_service": None, "selected_service_variant": None}
        variant = find_variant(service, tracker.get_slot("selected_service_variant"))
        if variant is None:
            try:
                variant = await variant_named(tenant_id, service,
                                              tracker.latest_message.get("text", ""))
            except BackendUnavailable as exc:
                logger.error("booking variant: %s", exc)  # the form asks for it then
        return {"selected_service": str(service["id"]),
                "selected_service_variant": str(variant["id"]) if variant else None}

    async def extract_selected_service_variant(self, dispatcher: CollectingDispatcher,
                                               tracker: Tracker, domain: DomainDict
                                               ) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "selected_service_variant":
            return {}
        menu = live_menu(tracker.get_slot("last_menu"))
        option = entity(tracker, "option")
        if menu and menu.get("kind") == "service_variants" and option:
            picked = pick(menu, option)
            if picked is not None:
                return {"selected_service_variant": str(picked)}
        tenant_id, _ = tenant_and_customer(tracker)
        try:
            service = find(await load_services(tenant_id), tracker.get_slot("selected_service"))
            text = tracker.latest_message.get("text", "")
            variant = await variant_named(tenant_id, service, text) if service else None
        except BackendUnavailable:
            return {}
        return {"selected_service_variant": str(variant["id"])} if variant else {}

    async def validate_selected_service_variant(self, value: Any,
                                                dispatcher: CollectingDispatcher,
                                                tracker: Tracker, domain: DomainDict
                                                ) -> Dict[Text, Any]:
        if value is None:
            return {"selected_service_variant": None}
        tenant_id, _ = tenant_and_customer(tracker)
        try:
            service = find(await load_services(tenant_id), tracker.get_slot("selected_service"))
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {"selected_service_variant": None}
        variant = find_variant(service, value)
        return {"selected_service_variant": str(variant["id"]) if variant else None}

    async def extract_date(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> Dict[Text, Any]:
        slot = self._picked_slot(tracker)
        if slot:
            return {"date": slot[1].date().isoformat(), "time": slot[1].strftime("%H:%M")}
        now = await tenant_now(tracker)
        days = asked_days(tracker, now,
                          from_text=tracker.get_slot("requested_slot") in ("date", "time"))
        return {"date": encode_date(days)} if days else {}

    async def validate_date(self, value: Any, dispatcher: CollectingDispatcher,
                            tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        days = decode_date(value)
        if days is None:
            return {"date": None}
        now = await tenant_now(tracker)
        if days.last < now.date():
            dispatcher.utter_message(response="utter_date_in_past")
            return {"date": None}
        return {"date": encode_date(DateSpan(max(days.first, now.date()), days.last))}

    async def extract_time(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> Dict[Text, Any]:
        if self._picked_slot(tracker):
            return {}  # extract_date took the picked slot's time
        now = await tenant_now(tracker)
        times = asked_times(tracker, now,
                            from_text=tracker.get_slot("requested_slot") in ("date", "time"))
        return {"time": encode_time(times)} if times else {}

    async def validate_time(self, value: Any, dispatcher: CollectingDispatcher,
                            tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        times = decode_time(value)
        return {"time": encode_time(times) if times else None}

    async def validate_booking_confirmed(self, value: Any, dispatcher: CollectingDispatcher,
                                         tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        return {"booking_confirmed": value if isinstance(value, bool) else None}

    async def extract_booking_confirmed(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                        domain: DomainDict) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "booking_confirmed":
            return {}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "affirm":
            return {"booking_confirmed": True}
        if intent == "deny":
            return {"booking_confirmed": False}
        return {}
