"""Which service the customer means: a name as typed (typos, Swahili and Sheng words), the
service words of a whole message, a variant named in a message, a pick from a services menu."""
from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from typing import Any, Dict, Iterable, List, Optional, Tuple

from rasa_sdk import Tracker

from actions.bookings.services import find
from actions.common import entity
from actions.menu import live_menu, pick

MATCH_THRESHOLD = 0.6
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
