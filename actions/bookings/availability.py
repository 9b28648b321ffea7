"""Free times of a service: on the asked days and part of the day, else the next free ones; a
picked time is summarised and booked after a yes."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.backend import BackendUnavailable
from actions.bookings.booking import book_slot, booking_summary
from actions.bookings.clock import tenant_now, tenant_timezone
from actions.bookings.matching import resolve_service, variant_named
from actions.bookings.services import (
    ask_which_service,
    find,
    find_variant,
    load_services,
    service_title,
    show_details,
)
from actions.bookings.slots import (
    LOOKAHEAD_DAYS,
    SLOT_MENU_SIZE,
    free_slots,
    nearest,
    slot_id,
    slot_menu,
    slots_menu_slot,
    within,
)
from actions.bookings.when import asked_days, asked_times
from actions.common import language
from actions.confirm import ask_to_confirm, on_confirm
from actions.conversation_owner import tenant_and_customer
from actions.dates import DateSpan, TimeSpan, format_moment
from actions.menu import on_select
from kit.clock import local_now

logger = logging.getLogger(__name__)

DEFAULT_DAYS = 7


async def show_availability(dispatcher: CollectingDispatcher, tracker: Tracker,
                            service: Dict[str, Any], variant: Dict[str, Any],
                            days: Optional[DateSpan], times: Optional[TimeSpan],
                            chosen: bool = True) -> List[EventType]:
    """A menu of up to eight free slots on the asked days and part of day (default: the next
    week); the next free ones when those are taken. The variant is remembered for a later
    booking only when the customer `chosen` it (or it is the only one)."""
    tenant_id, _ = tenant_and_customer(tracker)
    lang = language(tracker)
    tz_name = await tenant_timezone(tenant_id)
    now = local_now(tz_name)
    today = now.date()
    first = max(days.first, today) if days else today
    last = max(days.last, first) if days else today + timedelta(days=DEFAULT_DAYS - 1)
    title = service_title(service, variant)
    chosen = chosen or len(service["variants"]) == 1
    events: List[EventType] = [SlotSet("selected_service", str(service["id"])),
                               SlotSet("selected_service_variant",
                                       str(variant["id"]) if chosen else None)]
    if days and days.last < today:
        dispatcher.utter_message(response="utter_date_in_past")
        return events
    found = await free_slots(tenant_id, service["id"], variant["id"], first, last, tz_name)
    matching = within(found, times)
    one_day = first == last
    if times is not None and times.exact and matching and one_day:
        shown = nearest(found, datetime.combine(matching[0].date(), times.start), SLOT_MENU_SIZE)
        dispatcher.utter_message(response="utter_slot_is_free", service=title,
                                 when=format_moment(matching[0], lang), menu=slot_menu(shown, lang))
        return events + [slots_menu_slot(shown, service["id"], variant["id"])]
    if matching:  # a part of the day, or a time on any of several days
        shown = matching[:SLOT_MENU_SIZE]
        dispatcher.utter_message(response="utter_available_slots", service=title,
                                 menu=slot_menu(shown, lang))
        return events + [slots_menu_slot(shown, service["id"], variant["id"])]
    if times is not None and times.exact and found and one_day:
        # That time is taken (or not a start) but the day has others: the nearest ones.
        shown = nearest(found, datetime.combine(first, times.start), SLOT_MENU_SIZE)
    else:
        later = await free_slots(tenant_id, service["id"], variant["id"], last + timedelta(days=1),
                                 last + timedelta(days=LOOKAHEAD_DAYS), tz_name)
        shown = (within(later, times) or later or found)[:SLOT_MENU_SIZE]
    if not shown:
        dispatcher.utter_message(response="utter_no_slots", service=title)
        return events
    dispatcher.utter_message(response="utter_no_slots_then_next", service=title,
                             menu=slot_menu(shown, lang))
    return events + [slots_menu_slot(shown, service["id"], variant["id"])]


class ActionCheckAvailability(Action):
    def name(self) -> Text:
        return "action_check_availability"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        tenant_id, _ = tenant_and_customer(tracker)
        lang = language(tracker)
        try:
            services = await load_services(tenant_id)
            if not services:
                dispatcher.utter_message(response="utter_no_services")
                return [SlotSet("last_menu", None)]
            found, unmatched = await resolve_service(tracker, services)
            if len(found) != 1:
                return ask_which_service(dispatcher, found or services, unmatched, lang,
                                         "availability")
            service = found[0]
            chosen = (await variant_named(tenant_id, service,
                                          tracker.latest_message.get("text", ""))
                      or find_variant(service, tracker.get_slot("selected_service_variant")))
            now = await tenant_now(tracker)
            return await show_availability(dispatcher, tracker, service,
                                           chosen or service["variants"][0],
                                           asked_days(tracker, now), asked_times(tracker, now),
                                           chosen=chosen is not None)
        except BackendUnavailable as exc:
            logger.error("availability unavailable: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []


@on_select("services")
async def _picked_service(dispatcher: CollectingDispatcher, tracker: Tracker,
                          menu: Dict[str, Any], service_id: Any) -> List[EventType]:
    tenant_id, _ = tenant_and_customer(tracker)
    service = find(await load_services(tenant_id), service_id)
    if service is None:
        dispatcher.utter_message(response="utter_menu_expired")
        return [SlotSet("last_menu", None)]
    if menu.get("purpose") == "availability":
        chosen = find_variant(service, tracker.get_slot("selected_service_variant"))
        now = await tenant_now(tracker)
        return await show_availability(dispatcher, tracker, service,
                                       chosen or service["variants"][0],
                                       asked_days(tracker, now), asked_times(tracker, now),
                                       chosen=chosen is not None)
    return show_details(dispatcher, service, language(tracker)) + [
        SlotSet("selected_service_variant", None)]


@on_select("slots")
async def _picked_slot(dispatcher: CollectingDispatcher, tracker: Tracker,
                       menu: Dict[str, Any], picked: Any) -> List[EventType]:
    """A free time picked outside the form: the booking's summary, then "yes" books it."""
    starts = datetime.fromisoformat(str(picked))
    summary = await booking_summary(tracker, menu.get("service_id"), menu.get("variant_id"),
                                    starts)
    if summary is None:
        dispatcher.utter_message(response="utter_menu_expired")
        return [SlotSet("last_menu", None)]
    dispatcher.utter_message(response="utter_ask_booking_confirmed", **summary)
    return [ask_to_confirm("book_slot", slot_id(starts), service_id=menu.get("service_id"),
                           variant_id=menu.get("variant_id"))]


@on_confirm("book_slot")
async def _slot_confirmed(dispatcher: CollectingDispatcher, tracker: Tracker,
                          what: Dict[str, Any]) -> List[EventType]:
    try:
        return await book_slot(dispatcher, tracker, what.get("service_id"), what.get("variant_id"),
                               datetime.fromisoformat(str(what["id"])))
    except (BackendUnavailable, ValueError) as exc:
        logger.error("booking a picked slot failed: %s", exc)
        dispatcher.utter_message(response="utter_backend_unavailable")
        return []
