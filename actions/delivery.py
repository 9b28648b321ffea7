"""Pickup or delivery in the order form: the choice, the place (typed words or a WhatsApp location
pin), "same address as last time?", and the zone's fee, from the backend's
/internal/v1/delivery/options and /quote. The order form (actions/orders.py) asks these after the
quantity when the shop delivers; the fee is a line of the order the backend makes."""
from __future__ import annotations

import logging
import math
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.backend import BackendUnavailable, backend
from actions.common import entity, metadata
from actions.conversation_owner import tenant_and_customer
from actions.menu import live_menu, new_menu, pick
from actions.money import format_money

logger = logging.getLogger(__name__)

PICKUP = "pickup"
DELIVERY = "delivery"
# The question's numbered choices, in this order (the menu's ids are positions in it).
CHOICES = (PICKUP, DELIVERY)
MENU_KIND = "fulfilment"
SLOTS = ("fulfilment", "delivery_same_address", "delivery_place")
MAX_ADDRESS = 500

# Words that choose, in English, Swahili and Sheng. A message naming both chooses neither.
PICKUP_WORDS = re.compile(
    r"\b(pick\s*-?\s*up|pickup|collect|i'?ll come|we'?ll come|come (for|to get|and get) it"
    r"|kuchukua|nitachukua|tutachukua|nichukue|chukua|nitakuja|tutakuja|nitapita|tutapita"
    r"|nitaichukua|dukani|kwa duka|nitakam|nitakuja kuchukua|self collect)\b", re.IGNORECASE)
DELIVERY_WORDS = re.compile(
    r"\b(deliver\w*|dilivery|delivary|bring it|send it|ship it"
    r"|niletee|tuletee|leta|lete|iletwe|ziletwe|letewa|kuletewa|nitumie|peleka|ipeleke"
    r"|mniletee|mtuletee|nyumbani|home)\b", re.IGNORECASE)

# A Kenyan mobile number inside the place's words is who receives it ("Umoja 2, mpokeaji
# 0712 345 678"): digits with optional spaces or dashes.
RECIPIENT = re.compile(r"(?<!\d)(?:\+?254|0)[\s-]?[17](?:[\s-]?\d){8}(?!\d)")

# Intents the form's rules answer mid-order (price, details, cart, FAQs, a person, starting over,
# stopping). When the NLU is sure of one of these and the words match no delivery zone, the
# message is that question, not a place: the form steps aside and the rule answers.
QUESTIONS = frozenset({"price_check", "product_details", "view_cart", "payment_help", "ask_faq",
                       "return_policy", "delivery_fees", "request_human", "place_order", "deny",
                       "cancel_order", "check_order_status"})
SURE = 0.6


def choice_in(text: str) -> Optional[str]:
    """pickup or delivery when the words choose one of them, else None."""
    pickup, delivery = bool(PICKUP_WORDS.search(text)), bool(DELIVERY_WORDS.search(text))
    if pickup != delivery:
        return PICKUP if pickup else DELIVERY
    return None


def pin_of(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The location pin the channel put on this message, checked again, or None."""
    location = metadata(tracker).get("location") if tracker.latest_message else None
    if not isinstance(location, dict):
        return None
    try:
        latitude, longitude = float(location["latitude"]), float(location["longitude"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(latitude) and math.isfinite(longitude)
            and -90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    name = location.get("label") or location.get("address")
    return {"address": str(name)[:MAX_ADDRESS] if name else None,
            "latitude": latitude, "longitude": longitude}


def place_from_words(text: str) -> Optional[Dict[str, Any]]:
    """The typed place, with a phone number in it taken out as the recipient's."""
    recipient = None
    found = RECIPIENT.search(text)
    if found:
        recipient = re.sub(r"[\s-]", "", found.group(0))
        text = (text[:found.start()] + " " + text[found.end():])
    words = " ".join(text.split()).strip(" ,.;:-")[:MAX_ADDRESS]
    if len(words) < 2:
        return None
    return {"address": words, "latitude": None, "longitude": None, "recipient_phone": recipient}


async def options(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """What the shop offers and the customer's last address; None when the backend cannot say
    (the order is then taken without asking, as before delivery existed)."""
    tenant_id, customer = tenant_and_customer(tracker)
    try:
        answer = await backend.call("GET", tenant_id, "/internal/v1/delivery/options",
                                    customer=customer)
    except BackendUnavailable as exc:
        logger.error("delivery options: %s", exc)
        return None
    if not answer.ok:
        logger.error("delivery options answered %s", answer.status)
        return None
    return answer.body


def required(tracker: Tracker) -> List[Text]:
    """The delivery questions still to ask, in order, for what the shop offers."""
    offered = tracker.get_slot("delivery_options") or {}
    if not offered.get("offers_delivery"):
        return []
    slots: List[Text] = ["fulfilment"] if offered.get("offers_pickup") else []
    if tracker.get_slot("fulfilment") == PICKUP:
        return slots
    if offered.get("last_delivery"):
        slots.append("delivery_same_address")
        if tracker.get_slot("delivery_same_address"):
            return slots
    return slots + ["delivery_place"]


async def quote(tracker: Tracker, place: Dict[str, Any],
                goods_minor: Optional[int]) -> Optional[Dict[str, Any]]:
    """The backend's quote for the place (None: the backend could not answer)."""
    tenant_id, customer = tenant_and_customer(tracker)
    body: Dict[str, Any] = {"goods_minor": goods_minor}
    if place.get("same_as_last"):
        body["same_as_last"] = True
    else:
        body.update(address=place.get("address"), latitude=place.get("latitude"),
                    longitude=place.get("longitude"))
    try:
        answer = await backend.call("POST", tenant_id, "/internal/v1/delivery/quote",
                                    customer=customer, json=body)
    except BackendUnavailable as exc:
        logger.error("delivery quote: %s", exc)
        return None
    if not answer.ok:
        logger.error("delivery quote answered %s", answer.status)
        return None
    return answer.body


def covered(found: Optional[Dict[str, Any]]) -> bool:
    return bool(found) and found.get("zone") is not None


def summary(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """How the order reaches the customer, for the order's summary: {"kind": "pickup"} or
    {"kind": "delivery", "zone", "fee_minor", "currency", "expected_time", "needs_call"}; None
    when it was not asked."""
    fulfilment = tracker.get_slot("fulfilment")
    if fulfilment == PICKUP:
        return {"kind": PICKUP}
    found = tracker.get_slot("delivery_quote")
    if fulfilment != DELIVERY or not isinstance(found, dict):
        return None
    zone = found.get("zone") or {}
    return {"kind": DELIVERY, "zone": zone.get("name"), "fee_minor": int(found.get("fee_minor") or 0),
            "currency": found.get("currency") or "KES", "expected_time": found.get("expected_time"),
            "needs_call": found.get("zone") is None}


def order_request(tracker: Tracker) -> Dict[str, Any]:
    """What POST /v1/orders gets about fulfilment (nothing when it was not asked)."""
    fulfilment = tracker.get_slot("fulfilment")
    if fulfilment == PICKUP:
        return {"fulfilment": PICKUP}
    place = tracker.get_slot("delivery_place")
    if fulfilment != DELIVERY or not isinstance(place, dict):
        return {}
    if place.get("same_as_last"):
        return {"fulfilment": DELIVERY, "delivery": {"same_as_last": True}}
    return {"fulfilment": DELIVERY, "delivery": {
        key: place.get(key) for key in ("address", "latitude", "longitude", "recipient_phone")}}


def last_place_words(tracker: Tracker) -> str:
    last = (tracker.get_slot("delivery_options") or {}).get("last_delivery") or {}
    if last.get("address"):
        return str(last["address"])
    return "\N{ROUND PUSHPIN}"


class ActionAskFulfilment(Action):
    """Pickup or delivery, as a two-row menu (tappable where interactive messages are on)."""

    def name(self) -> Text:
        return "action_ask_fulfilment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_fulfilment")
        return [SlotSet("last_menu", new_menu(MENU_KIND, list(range(1, len(CHOICES) + 1))))]


class ActionAskDeliverySameAddress(Action):
    def name(self) -> Text:
        return "action_ask_delivery_same_address"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_delivery_same_address",
                                 place=last_place_words(tracker))
        return []


def picked_choice(tracker: Tracker) -> Optional[str]:
    """The fulfilment the message chose: a menu number or tap, else the words."""
    menu = live_menu(tracker.get_slot("last_menu"))
    option = entity(tracker, "option")
    if menu and menu.get("kind") == MENU_KIND and option:
        position = pick(menu, option)
        if position is not None:
            return CHOICES[position - 1]
    return choice_in(tracker.latest_message.get("text") or "")


def is_a_question(tracker: Tracker) -> bool:
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name") in QUESTIONS and float(intent.get("confidence") or 0) >= SURE


def fee_words(found: Dict[str, Any]) -> str:
    return format_money(int(found.get("fee_minor") or 0), found.get("currency") or "KES")


def refused(body: Any) -> bool:
    """Whether the backend's 422 to an order is about where it goes (not stock)."""
    errors = body.get("errors") if isinstance(body, dict) else None
    return isinstance(errors, dict) and bool(
        {"address", "fulfilment", "same_as_last", "recipient_phone"} & set(errors))
