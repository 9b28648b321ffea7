"""The customer's upcoming appointments: their status, and cancelling one after a yes."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Set, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.backend import BackendUnavailable, backend
from actions.bookings.clock import tenant_now
from actions.bookings.services import SERVICE_MENU_SIZE
from actions.bookings.when import asked_days
from actions.common import entity, language
from actions.confirm import ask_to_confirm, on_confirm
from actions.conversation_owner import tenant_and_customer
from actions.dates import DateSpan, format_moment, parse_iso
from actions.menu import new_menu, on_select
from kit import texts
from kit.clock import local_now

logger = logging.getLogger(__name__)


def appointment_title(appointment: Dict[str, Any]) -> str:
    variant = appointment.get("variant_name")
    name = appointment.get("service_name") or ""
    return f"{name} ({variant})" if variant else name


def appointment_label(appointment: Dict[str, Any], lang: str) -> str:
    moment = parse_iso(appointment["local_starts_at"]).replace(tzinfo=None)
    label = f"{appointment_title(appointment)}, {format_moment(moment, lang)}"
    if appointment.get("status") == "pending_payment":  # held until its deposit is paid
        label += " " + texts.text("bookings.held", lang).format(
            order_id=appointment.get("order_id") or "")
    return label


# A customer's upcoming bookings: booked ones, and those held until their deposit is paid.
UPCOMING = ("booked", "pending_payment")


async def upcoming_appointments(tracker: Tracker) -> List[Dict[str, Any]]:
    tenant_id, customer = tenant_and_customer(tracker)
    now_utc = local_now("UTC").replace(microsecond=0).isoformat()
    found: List[Dict[str, Any]] = []
    for status in UPCOMING:
        answer = await backend.call("GET", tenant_id, "/v1/appointments", customer=customer,
                                    params={"status": status, "from": now_utc, "page_size": 20})
        if not answer.ok:
            raise BackendUnavailable(f"appointments answered {answer.status}")
        found += answer.body.get("results", [])
    return sorted(found, key=lambda a: a["starts_at"])


class ActionAppointmentStatus(Action):
    def name(self) -> Text:
        return "action_appointment_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        try:
            appointments = await upcoming_appointments(tracker)
        except BackendUnavailable as exc:
            logger.error("appointments unavailable: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        if not appointments:
            dispatcher.utter_message(response="utter_no_appointments")
            return []
        lang = language(tracker)
        lines = "\n".join(f"• #{a['id']} {appointment_label(a, lang)}" for a in appointments)
        dispatcher.utter_message(response="utter_appointments", lines=lines)
        return [SlotSet("appointment_id", str(appointments[0]["id"]))]


def ask_to_cancel(dispatcher: CollectingDispatcher, appointment: Dict[str, Any],
                  lang: str) -> List[EventType]:
    what = appointment_label(appointment, lang)
    dispatcher.utter_message(response="utter_confirm_cancel_appointment", what=what)
    return [ask_to_confirm("cancel_appointment", appointment["id"], what=what),
            SlotSet("appointment_id", str(appointment["id"]))]


class ActionCancelAppointment(Action):
    """Which booking to cancel (a menu when several), then asks to confirm."""

    def name(self) -> Text:
        return "action_cancel_appointment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        lang = language(tracker)
        try:
            appointments = await upcoming_appointments(tracker)
            now = await tenant_now(tracker)
        except BackendUnavailable as exc:
            logger.error("appointments unavailable: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        if not appointments:
            dispatcher.utter_message(response="utter_no_appointments_to_cancel")
            return []
        try:
            named = await services_named(tracker)
        except BackendUnavailable as exc:
            logger.error("service match unavailable: %s", exc)
            named = None  # the menu of them all then
        narrowed = narrow(appointments, named, asked_days(tracker, now))
        if len(narrowed) == 1:
            return ask_to_cancel(dispatcher, narrowed[0], lang)
        shown = (narrowed or appointments)[:SERVICE_MENU_SIZE]
        menu = "\n".join(f"{i}. {appointment_label(a, lang)}" for i, a in enumerate(shown, 1))
        dispatcher.utter_message(response="utter_which_appointment_to_cancel", menu=menu)
        return [SlotSet("last_menu", {**new_menu("appointments", [a["id"] for a in shown]),
                                      "purpose": "cancel"})]


async def services_named(tracker: Tracker) -> Optional[Set[str]]:
    """The ids of the services the `service` entity names (the backend matches it), or None
    when no service is named. Raises BackendUnavailable."""
    named = entity(tracker, "service")
    if not named:
        return None
    tenant_id, _ = tenant_and_customer(tracker)
    return {str(m["service_id"]) for m in await backend.match_services(tenant_id, named)}


def narrow(appointments: List[Dict[str, Any]], service_ids: Optional[Set[str]],
           days: Optional[DateSpan]) -> List[Dict[str, Any]]:
    """The bookings of the named services and/or on the named days (all of them when nothing is
    named)."""
    found = appointments
    if service_ids is not None:
        found = [a for a in found if str(a.get("service_id")) in service_ids]
    if days:
        found = [a for a in found
                 if days.first <= parse_iso(a["local_starts_at"]).date() <= days.last]
    return found


@on_select("appointments")
async def _picked_appointment(dispatcher: CollectingDispatcher, tracker: Tracker,
                              menu: Dict[str, Any], appointment_id: Any) -> List[EventType]:
    tenant_id, customer = tenant_and_customer(tracker)
    answer = await backend.call("GET", tenant_id, f"/v1/appointments/{int(appointment_id)}",
                                customer=customer)
    if answer.status == 404 or (answer.ok and answer.body.get("status") not in UPCOMING):
        dispatcher.utter_message(response="utter_menu_expired")
        return [SlotSet("last_menu", None)]
    if not answer.ok:
        raise BackendUnavailable(f"appointment answered {answer.status}")
    return [SlotSet("last_menu", None), *ask_to_cancel(dispatcher, answer.body, language(tracker))]


@on_confirm("cancel_appointment")
async def _cancel_confirmed(dispatcher: CollectingDispatcher, tracker: Tracker,
                            what: Dict[str, Any]) -> List[EventType]:
    tenant_id, customer = tenant_and_customer(tracker)
    try:
        answer = await backend.call("POST", tenant_id, f"/v1/appointments/{int(what['id'])}/cancel",
                                    customer=customer)
    except BackendUnavailable as exc:
        logger.error("cancel appointment: %s", exc)
        dispatcher.utter_message(response="utter_backend_unavailable")
        return []
    if answer.ok:
        dispatcher.utter_message(response="utter_appointment_cancelled",
                                 what=what.get("what") or f"#{what['id']}")
        return [SlotSet("appointment_id", None)]
    if answer.status == 409:
        dispatcher.utter_message(response="utter_appointment_already_cancelled")
    else:
        dispatcher.utter_message(response="utter_appointment_not_found")
    return [SlotSet("appointment_id", None)]
