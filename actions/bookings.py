"""Services and bookings: the service menu and details, free slots, the booking form, the
customer's appointments and cancelling one.

Dates and times are the tenant's local time (GET /v1/tenant "timezone"); the backend answers slots
in UTC. Slot values the form fills: selected_service and selected_service_variant (ids as text),
date ("YYYY-MM-DD", or "first/last" for several days until a day is picked) and time ("HH:MM", or
"HH:MM-HH:MM" for a part of the day until a time is picked).
"""
from __future__ import annotations

import logging
import re
import time as clock
import unicodedata
from datetime import date, datetime, time, timedelta
from difflib import SequenceMatcher
from typing import Any, Dict, Iterable, List, Optional, Text, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backend import BackendUnavailable, backend
from actions.common import entity, idempotency_key, language
from actions.confirm import ask_to_confirm, on_confirm
from actions.conversation_owner import tenant_and_customer
from actions.dates import (
    DateSpan,
    TimeSpan,
    format_day,
    format_moment,
    parse_date,
    parse_iso,
    parse_time,
)
from actions.menu import live_menu, new_menu, on_select, pick
from actions.money import format_money
from kit.clock import local_now, zone

logger = logging.getLogger(__name__)

SLOT_MENU_SIZE = 8
SERVICE_MENU_SIZE = 10
DEFAULT_DAYS = 7
# How far past the asked days to look for the next free times.
LOOKAHEAD_DAYS = 14
MATCH_THRESHOLD = 0.6
FORM_SLOTS = ("selected_service", "selected_service_variant", "date", "time", "booking_confirmed")
TIMEZONE_CACHE_SECONDS = 300
_timezones: Dict[str, Tuple[float, str]] = {}

FROM = {"en": "from", "sw": "kuanzia", "sheng": "kuanzia"}
# Intents whose whole text may name a service when the form asked for one.
ANSWER_INTENTS = ("inform", "book_appointment", "select_option", "nlu_fallback")

# Swahili and Sheng words customers use for services, as the English words of service names.
SERVICE_WORDS = {
    "kusuka": "braids", "kusukwa": "braids", "msuko": "braids", "misuko": "braids",
    "kusuka nywele": "braids", "braid": "braids", "braiding": "braids", "mabraids": "braids",
    "kunyoa": "haircut", "kunyolewa": "haircut", "kunyoa nywele": "haircut", "kinyozi": "haircut",
    "kukata nywele": "haircut", "kunyoa ndevu": "haircut", "shave": "haircut",
    "hair cut": "haircut",
    "cut": "haircut", "kukata": "haircut",
    "kuosha nywele": "wash blowdry", "kuosha": "wash", "blow dry": "blowdry",
    "kublowdry": "blowdry",
    "kucha za miguu": "pedicure", "miguu": "pedicure", "kucha": "manicure",
    "kupaka kucha": "manicure", "nails": "manicure", "nail": "manicure",
    "wigi": "wig", "kuweka wig": "wig installation", "kuweka wigi": "wig installation",
    "make up": "makeup", "urembo": "makeup", "kupakwa makeup": "makeup",
    "rasta": "locs", "dreadlocks": "locs", "dreads": "locs", "kusokota": "locs retwist",
    "skrini": "screen", "kioo": "screen", "betri": "battery", "chaji": "charging",
    "kuflash": "flashing", "flash": "flashing", "kufungua simu": "unlocking", "unlock": "unlocking",
    "kushona": "tailoring", "suruali": "trouser", "viatu": "shoe", "kiatu": "shoe",
    "kupiga rangi viatu": "shoe shine", "zipu": "zip",
}
STOPWORDS = frozenset(
    """a an the and for my me of to na ya za wa la cha kwa do you how much long is it
    service services appointment booking book nataka kubook natafuta nadai""".split())


# --- the tenant's clock --------------------------------------------------------------------

async def tenant_timezone(tenant_id: str) -> str:
    """The tenant's IANA timezone (cached a few minutes; the default when the backend is down)."""
    cached = _timezones.get(tenant_id)
    if cached and cached[0] > clock.monotonic():
        return cached[1]
    name = "Africa/Nairobi"
    try:
        answer = await backend.call("GET", tenant_id, "/v1/tenant")
        if answer.ok and answer.body.get("timezone"):
            name = str(answer.body["timezone"])
    except BackendUnavailable as exc:
        logger.warning("tenant timezone unavailable: %s", exc)
        return name
    _timezones[tenant_id] = (clock.monotonic() + TIMEZONE_CACHE_SECONDS, name)
    return name


async def tenant_now(tracker: Tracker) -> datetime:
    tenant_id, _ = tenant_and_customer(tracker)
    return local_now(await tenant_timezone(tenant_id))


# --- services -----------------------------------------------------------------------------

def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"(?<=\w)-(?=\w)", "", text)  # make-up → makeup, blow-dry → blowdry
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def service_words(text: str) -> List[str]:
    """The words of a service as customers name it, Swahili and Sheng mapped to English."""
    folded = f" {_fold(text)} "
    for phrase in sorted(SERVICE_WORDS, key=len, reverse=True):
        folded = folded.replace(f" {phrase} ", f" {SERVICE_WORDS[phrase]} ")
    return [w for w in folded.split() if w not in STOPWORDS]


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def _word_score(word: str, others: Iterable[str]) -> float:
    best = 0.0
    for other in others:
        if _singular(word) == _singular(other):
            return 1.0
        ratio = SequenceMatcher(None, word, other).ratio()
        if ratio >= 0.75:
            best = max(best, ratio)
    return best


def match_score(words: List[str], service: Dict[str, Any]) -> float:
    """0..1: how well the customer's words name this service (typos and plurals tolerated)."""
    if not words:
        return 0.0
    name = service_words(service["name"])
    extra = service_words(service.get("category") or "") + [
        w for v in service.get("variants", []) for w in service_words(v["name"])]
    if not name:
        return 0.0
    asked = sum(max(_word_score(w, name), 0.8 * _word_score(w, extra)) for w in words) / len(words)
    covered = sum(_word_score(w, words) for w in name) / len(name)
    whole = SequenceMatcher(None, "".join(words), "".join(name)).ratio()
    # A variant or category named alone ("bridal", "gel") still points at its service.
    by_extra = 0.75 * sum(_word_score(w, extra) for w in words) / len(words)
    return max(0.7 * asked + 0.3 * covered, whole, by_extra)


def match_services(text: str, services: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The services `text` names, best first: one when clear, several when it is ambiguous
    ("braids": box or knotless), none below the threshold."""
    words = service_words(text)
    scored = sorted(((match_score(words, s), s) for s in services), key=lambda p: -p[0])
    if not scored or scored[0][0] < MATCH_THRESHOLD:
        return []
    best = scored[0][0]
    return [s for score, s in scored if score >= MATCH_THRESHOLD and best - score < 0.05]


def services_in_text(text: str, services: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The services a whole message names among other words ("nataka kunyoa kesho"): those
    whose every name word is in it, else those with the most ("kusuka": both braids)."""
    words = service_words(text)
    if not words:
        return []
    scored = []
    for service in services:
        name = service_words(service["name"])
        if name:
            scored.append((sum(_word_score(w, words) >= 0.85 for w in name) / len(name), service))
    full = [s for covered, s in scored if covered >= 0.99]
    if full:
        return full
    best = max((covered for covered, _ in scored), default=0.0)
    return [s for covered, s in scored if covered == best] if best >= 0.5 else []


def variant_named(service: Dict[str, Any], text: str) -> Optional[Dict[str, Any]]:
    """The only variant, or the one whose name the text contains ("waist length", "gel")."""
    variants = service.get("variants", [])
    if len(variants) == 1:
        return variants[0]
    words = service_words(text)
    named = [v for v in variants
             if service_words(v["name"]) and all(_word_score(w, words) >= 0.85
                                                 for w in service_words(v["name"]))]
    return named[0] if len(named) == 1 else None


async def load_services(tenant_id: str) -> List[Dict[str, Any]]:
    """The tenant's active services that have something to book."""
    answer = await backend.call("GET", tenant_id, "/v1/services", params={"page_size": 50})
    if not answer.ok:
        raise BackendUnavailable(f"services answered {answer.status}")
    return [s for s in answer.body.get("results", [])
            if s.get("active", True) and s.get("variants")]


def find(services: List[Dict[str, Any]], service_id: Any) -> Optional[Dict[str, Any]]:
    return next((s for s in services if str(s["id"]) == str(service_id)), None)


def find_variant(service: Optional[Dict[str, Any]], variant_id: Any) -> Optional[Dict[str, Any]]:
    if not service:
        return None
    return next((v for v in service["variants"] if str(v["id"]) == str(variant_id)), None)


def duration(minutes: int, lang: str) -> str:
    hours, rest = divmod(int(minutes), 60)
    if lang == "en":
        parts = ([f"{hours} h"] if hours else []) + ([f"{rest} min"] if rest else [])
    else:
        parts = ([f"saa {hours}"] if hours else []) + ([f"dakika {rest}"] if rest else [])
    return " ".join(parts)


def service_line(position: int, service: Dict[str, Any], lang: str) -> str:
    prices = [v["price_minor"] for v in service["variants"]]
    currency = service["variants"][0].get("currency", "KES")
    price = format_money(min(prices), currency)
    if max(prices) != min(prices):
        price = f"{FROM[lang]} {price}"
    return f"{position}. {service['name']} — {price}"


def service_menu(services: List[Dict[str, Any]], lang: str) -> str:
    return "\n".join(service_line(i, s, lang) for i, s in enumerate(services, start=1))


def services_menu_slot(services: List[Dict[str, Any]], purpose: str) -> SlotSet:
    return SlotSet("last_menu", {**new_menu("services", [s["id"] for s in services]),
                                 "purpose": purpose})


def variant_lines(service: Dict[str, Any], lang: str, numbered: bool = False) -> str:
    return "\n".join(
        f"{f'{i}.' if numbered else '•'} {v['name']} — "
        f"{duration(v['duration_minutes'], lang)} — "
        f"{format_money(v['price_minor'], v.get('currency', 'KES'))}"
        for i, v in enumerate(service["variants"], start=1))


def service_title(service: Dict[str, Any], variant: Optional[Dict[str, Any]]) -> str:
    if variant is None or len(service["variants"]) == 1:
        return service["name"]
    return f"{service['name']} ({variant['name']})"


def show_details(dispatcher: CollectingDispatcher, service: Dict[str, Any],
                 lang: str) -> List[EventType]:
    """Says the service's details; the service is then the selected one."""
    dispatcher.utter_message(response="utter_service_details", title=service["name"],
                             description=service.get("description") or "",
                             lines=variant_lines(service, lang))
    return [SlotSet("selected_service", str(service["id"]))]


async def services_to_offer(dispatcher: CollectingDispatcher,
                            tracker: Tracker) -> Optional[List[Dict[str, Any]]]:
    """The tenant's bookable services. When there are none to offer the customer is told why:
    None when the backend is unavailable, an empty list when there is nothing to book."""
    tenant_id, _ = tenant_and_customer(tracker)
    try:
        services = await load_services(tenant_id)
    except BackendUnavailable as exc:
        logger.error("services unavailable: %s", exc)
        dispatcher.utter_message(response="utter_backend_unavailable")
        return None
    if not services:
        dispatcher.utter_message(response="utter_no_services")
    return services


async def resolve_service(tracker: Tracker, services: List[Dict[str, Any]], use_slot: bool = True
                          ) -> Tuple[List[Dict[str, Any]], Optional[str]]:
    """(matching services, the unmatched name) for the service the customer means: the `service`
    entity, else a pick from a live services menu, else service words in the message, else the
    selected_service slot."""
    named = entity(tracker, "service")
    if named:
        found = match_services(named, services)
        if found:
            return found, None
    menu = live_menu(tracker.get_slot("last_menu"))
    option = entity(tracker, "option")
    if menu and menu.get("kind") == "services" and option:
        picked = find(services, pick(menu, option))
        if picked:
            return [picked], None
    if not named:  # the extractor may miss a service word: "mko free kesho kwa kusuka?"
        found = services_in_text(tracker.latest_message.get("text", ""), services)
        if found:
            return found, None
    if use_slot:
        chosen = find(services, tracker.get_slot("selected_service"))
        if chosen:
            return [chosen], None
    return [], named


# --- slots --------------------------------------------------------------------------------

async def free_slots(tenant_id: str, service_id: Any, variant_id: Any, first: date, last: date,
                     tz_name: str) -> List[datetime]:
    """Free slot starts (local, naive) of a service variant between two local dates."""
    answer = await backend.call(
        "GET", tenant_id, f"/v1/services/{service_id}/slots",
        params={"from": first.isoformat(), "to": last.isoformat(), "variant_id": variant_id})
    if answer.status == 404:
        return []
    if not answer.ok:
        raise BackendUnavailable(f"slots answered {answer.status}: {answer.description}")
    tz = zone(tz_name)
    starts = {parse_iso(s["starts_at"]).astimezone(tz).replace(tzinfo=None)
              for s in answer.body.get("results", []) if s.get("remaining", 1) > 0}
    return sorted(starts)


def slot_id(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def slot_menu(moments: List[datetime], lang: str) -> str:
    return "\n".join(f"{i}. {format_moment(m, lang)}" for i, m in enumerate(moments, start=1))


def slots_menu_slot(moments: List[datetime], service_id: Any, variant_id: Any) -> SlotSet:
    return SlotSet("last_menu", {**new_menu("slots", [slot_id(m) for m in moments]),
                                 "service_id": str(service_id), "variant_id": str(variant_id)})


def nearest(moments: List[datetime], around: datetime, count: int) -> List[datetime]:
    """The `count` moments nearest `around`, in time order."""
    return sorted(sorted(moments, key=lambda m: abs((m - around).total_seconds()))[:count])


def within(moments: List[datetime], times: Optional[TimeSpan]) -> List[datetime]:
    if times is None:
        return moments
    return [m for m in moments if times.contains(m.time())]


def encode_date(days: DateSpan) -> str:
    return days.first.isoformat() if days.single else f"{days.first}/{days.last}"


def decode_date(value: Any) -> Optional[DateSpan]:
    try:
        first, _, last = str(value).partition("/")
        return DateSpan(date.fromisoformat(first), date.fromisoformat(last or first))
    except ValueError:
        return None


def encode_time(times: TimeSpan) -> str:
    if times.exact:
        return times.start.strftime("%H:%M")
    return f"{times.start.strftime('%H:%M')}-{times.end.strftime('%H:%M')}"


def decode_time(value: Any) -> Optional[TimeSpan]:
    try:
        start, _, end = str(value).partition("-")
        first = time.fromisoformat(start)
        if end:
            return TimeSpan(first, time.fromisoformat(end), False)
        return TimeSpan(first, first, True)
    except ValueError:
        return None


# Messages whose whole text may name a day or time the entity extractor missed.
WHEN_INTENTS = ("check_availability", "book_appointment", "inform")


def _when_text(tracker: Tracker, name: str, from_text: bool) -> str:
    """The `date`/`time` entities of the message together ("on" + "saturday"), else its text
    when `from_text` (or when it answers what the bot asked)."""
    values = [str(v) for v in tracker.get_latest_entity_values(name)]
    if values:
        return " ".join(values)
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    return tracker.latest_message.get("text", "") if from_text or intent in WHEN_INTENTS else ""


def asked_days(tracker: Tracker, now: datetime, from_text: bool = False) -> Optional[DateSpan]:
    text = _when_text(tracker, "date", from_text)
    return parse_date(text, now) if text else None


def asked_times(tracker: Tracker, now: datetime, from_text: bool = False) -> Optional[TimeSpan]:
    text = _when_text(tracker, "time", from_text)
    return parse_time(text, now) if text else None


def menu_shown_this_turn(tracker: Tracker, kind: str) -> bool:
    """Whether this turn already showed a menu of `kind` (so an ask need not show another)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "slot" and event.get("name") == "last_menu":
            value = event.get("value")
            return isinstance(value, dict) and value.get("kind") == kind
    return False


# --- browse, details, availability ---------------------------------------------------------

class ActionShowServices(Action):
    def name(self) -> Text:
        return "action_show_services"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        lang = language(tracker)
        services = await services_to_offer(dispatcher, tracker)
        if not services:
            return [] if services is None else [SlotSet("last_menu", None)]
        named = entity(tracker, "service")
        found = match_services(named, services) if named else []
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
        found, unmatched = await resolve_service(tracker, services)
        if len(found) == 1:
            return show_details(dispatcher, found[0], lang)
        return ask_which_service(dispatcher, found or services, unmatched, lang, "details")


def ask_which_service(dispatcher: CollectingDispatcher, services: List[Dict[str, Any]],
                      unmatched: Optional[str], lang: str, purpose: str) -> List[EventType]:
    shown = services[:SERVICE_MENU_SIZE]
    if unmatched:
        dispatcher.utter_message(response="utter_service_not_found", text=unmatched,
                                 menu=service_menu(shown, lang))
    else:
        dispatcher.utter_message(response="utter_which_service", menu=service_menu(shown, lang))
    return [services_menu_slot(shown, purpose)]


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
            chosen = (variant_named(service, tracker.latest_message.get("text", ""))
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


# --- the booking form ----------------------------------------------------------------------

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
        except BackendUnavailable as exc:
            logger.error("booking services: %s", exc)
            return {}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if not entity(tracker, "service") and intent not in ANSWER_INTENTS:
            return {}  # a question or a refusal, not an answer
        found, _ = await resolve_service(tracker, services, use_slot=False)
        if not found and asked:  # a typo'd name alone: "knotles"
            found = match_services(tracker.latest_message.get("text", ""), services)
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
        variant = (find_variant(service, tracker.get_slot("selected_service_variant"))
                   or variant_named(service, tracker.latest_message.get("text", "")))
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
        except BackendUnavailable:
            return {}
        text = tracker.latest_message.get("text", "")
        variant = variant_named(service, text) if service else None
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
        named = entity(tracker, "service")
        found = (match_services(named, services) if named
                 else services_in_text(tracker.latest_message.get("text", ""), services))
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


# --- the customer's appointments ------------------------------------------------------------

def appointment_title(appointment: Dict[str, Any]) -> str:
    variant = appointment.get("variant_name")
    name = appointment.get("service_name") or ""
    return f"{name} ({variant})" if variant else name


def appointment_label(appointment: Dict[str, Any], lang: str) -> str:
    moment = parse_iso(appointment["local_starts_at"]).replace(tzinfo=None)
    return f"{appointment_title(appointment)}, {format_moment(moment, lang)}"


async def upcoming_appointments(tracker: Tracker) -> List[Dict[str, Any]]:
    tenant_id, customer = tenant_and_customer(tracker)
    now_utc = local_now("UTC").replace(microsecond=0).isoformat()
    answer = await backend.call("GET", tenant_id, "/v1/appointments", customer=customer,
                                params={"status": "booked", "from": now_utc, "page_size": 20})
    if not answer.ok:
        raise BackendUnavailable(f"appointments answered {answer.status}")
    return sorted(answer.body.get("results", []), key=lambda a: a["starts_at"])


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
        narrowed = narrow(appointments, entity(tracker, "service"), asked_days(tracker, now))
        if len(narrowed) == 1:
            return ask_to_cancel(dispatcher, narrowed[0], lang)
        shown = (narrowed or appointments)[:SERVICE_MENU_SIZE]
        menu = "\n".join(f"{i}. {appointment_label(a, lang)}" for i, a in enumerate(shown, 1))
        dispatcher.utter_message(response="utter_which_appointment_to_cancel", menu=menu)
        return [SlotSet("last_menu", {**new_menu("appointments", [a["id"] for a in shown]),
                                      "purpose": "cancel"})]


def narrow(appointments: List[Dict[str, Any]], service: Optional[str],
           days: Optional[DateSpan]) -> List[Dict[str, Any]]:
    """The bookings a named service and/or day point at (all of them when nothing is named)."""
    found = appointments
    if service:
        words = service_words(service)
        found = [a for a in found
                 if match_score(words, {"name": a.get("service_name") or "", "variants": [
                     {"name": a.get("variant_name") or ""}]}) >= MATCH_THRESHOLD]
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
    if answer.status == 404 or (answer.ok and answer.body.get("status") != "booked"):
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
