"""Booking a confirmed slot (POST /v1/appointments): the summary asked to confirm, the booking,
and the nearest free times when the slot was taken meanwhile. A service with a deposit answers
a booking held pending payment: the customer is offered the order checkout's payment choice
for the deposit's order."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.backend import BackendUnavailable, backend
from actions.bookings.appointments import appointment_title
from actions.bookings.clock import tenant_timezone
from actions.bookings.services import duration, find, find_variant, load_services, service_title
from actions.bookings.slots import (
    LOOKAHEAD_DAYS,
    SLOT_MENU_SIZE,
    free_slots,
    nearest,
    slot_menu,
    slots_menu_slot,
)
from actions.bookings.when import decode_date, decode_time
from actions.common import idempotency_key, language
from actions.conversation_owner import tenant_and_customer
from actions.dates import format_moment, parse_iso
from actions.money import format_money
from actions.payments import offer_payment
from kit.clock import zone

logger = logging.getLogger(__name__)

FORM_SLOTS = ("selected_service", "selected_service_variant", "date", "time", "booking_confirmed")


async def booking_summary(tracker: Tracker, service_id: Any, variant_id: Any,
                          starts: Optional[datetime]) -> Optional[Dict[str, str]]:
    """Service, when, duration and price of a booking, in the customer's words."""
    tenant_id, _ = tenant_and_customer(tracker)
    service = find(await load_services(tenant_id), service_id)
    variant = find_variant(service, variant_id)
    if not (service and variant and starts):
        return None
    lang = language(tracker)
    return {"service": service_title(service, variant), "when": format_moment(starts, lang),
            "duration": duration(variant["duration_minutes"], lang),
            "price": format_money(variant["price_minor"], variant.get("currency", "KES"))}


def booking_start(tracker: Tracker) -> Optional[datetime]:
    """The local start the form's date and time slots name, when both are exact."""
    days, times = decode_date(tracker.get_slot("date")), decode_time(tracker.get_slot("time"))
    if not (days and times and days.single and times.exact):
        return None
    return datetime.combine(days.first, times.start)


def clear_booking() -> List[EventType]:
    return [SlotSet(name, None) for name in FORM_SLOTS]


class ActionBookAppointment(Action):
    """Books the confirmed slot for the customer; a full slot offers the nearest free ones."""

    def name(self) -> Text:
        return "action_book_appointment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        if tracker.get_slot("booking_confirmed") is not True:
            dispatcher.utter_message(response="utter_booking_not_made")
            return clear_booking()
        starts = booking_start(tracker)
        variant_id = tracker.get_slot("selected_service_variant")
        if not (variant_id and starts):
            dispatcher.utter_message(response="utter_booking_failed")
            return clear_booking()
        try:
            return clear_booking() + await book_slot(
                dispatcher, tracker, tracker.get_slot("selected_service"), variant_id, starts)
        except BackendUnavailable as exc:
            logger.error("booking failed: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return [SlotSet("booking_confirmed", None)]


async def book_slot(dispatcher: CollectingDispatcher, tracker: Tracker, service_id: Any,
                    variant_id: Any, starts: datetime) -> List[EventType]:
    """POST /v1/appointments for the customer (Idempotency-Key from this message): the booking,
    or the nearest free times when the slot was taken meanwhile. Raises BackendUnavailable."""
    tenant_id, customer = tenant_and_customer(tracker)
    lang = language(tracker)
    answer = await backend.call(
        "POST", tenant_id, "/v1/appointments", customer=customer,
        idempotency_key=idempotency_key(tracker, "appointment"),
        json={"service_variant_id": int(variant_id),
              "starts_at": starts.isoformat(timespec="minutes")})
    if answer.ok:
        booked = answer.body
        moment = parse_iso(booked["local_starts_at"]).replace(tzinfo=None)
        if booked.get("status") == "pending_payment" and booked.get("order_id"):
            return await offer_deposit(dispatcher, tracker, booked, moment, lang)
        dispatcher.utter_message(
            response="utter_appointment_booked", appointment_id=booked["id"],
            service=appointment_title(booked), when=format_moment(moment, lang),
            price=format_money(booked["price_minor"], booked.get("currency", "KES")))
        return [SlotSet("appointment_id", str(booked["id"])), SlotSet("last_menu", None)]
    if answer.status in (400, 409):
        tz = zone(await tenant_timezone(tenant_id))
        if answer.status == 409:
            alternatives = sorted(parse_iso(a["starts_at"]).astimezone(tz).replace(tzinfo=None)
                                  for a in answer.body.get("alternatives", []))
        else:  # no longer a bookable start (passed, or the hours changed)
            around = await free_slots(tenant_id, service_id, variant_id, starts.date(),
                                      starts.date() + timedelta(days=LOOKAHEAD_DAYS), tz.key)
            alternatives = nearest(around, starts, 3)
        return offer_alternatives(dispatcher, alternatives, starts, service_id, variant_id, lang)
    logger.error("booking answered %s: %s", answer.status, answer.description)
    dispatcher.utter_message(response="utter_booking_failed")
    return []


async def offer_deposit(dispatcher: CollectingDispatcher, tracker: Tracker,
                        booked: Dict[str, Any], moment: datetime, lang: str) -> List[EventType]:
    """The service takes a deposit: the seat is held while its order is paid, with the same
    payment choice as an order's checkout (a number picks it: the payment_methods menu)."""
    order = {"id": booked["order_id"], "total_minor": booked["deposit_minor"],
             "currency": booked.get("currency", "KES")}
    events = await offer_payment(
        dispatcher, tracker, order, "utter_appointment_held", appointment_id=booked["id"],
        service=appointment_title(booked), when=format_moment(moment, lang),
        price=format_money(booked["price_minor"], booked.get("currency", "KES")),
        minutes=hold_minutes(booked.get("hold_until")))
    return [SlotSet("appointment_id", str(booked["id"])), *events]


def hold_minutes(hold_until: Optional[str]) -> int:
    """Whole minutes left to pay before the held seat is released (at least 1)."""
    if not hold_until:
        return 1
    left = (parse_iso(hold_until) - datetime.now(timezone.utc)).total_seconds()
    return max(1, round(left / 60))  # 14 min 50 s left reads "15 minutes", as configured


def offer_alternatives(dispatcher: CollectingDispatcher, alternatives: List[datetime],
                       wanted: datetime, service_id: Any, variant_id: Any,
                       lang: str) -> List[EventType]:
    when = format_moment(wanted, lang)
    if not alternatives:
        dispatcher.utter_message(response="utter_slot_taken_no_alternatives", when=when)
        return [SlotSet("last_menu", None)]
    shown = alternatives[:SLOT_MENU_SIZE]
    dispatcher.utter_message(response="utter_slot_taken", when=when, menu=slot_menu(shown, lang))
    return [slots_menu_slot(shown, service_id, variant_id)]
