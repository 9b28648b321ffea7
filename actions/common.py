"""Small helpers every flow uses: the reply language, the latest entity, counts in three languages."""
from __future__ import annotations

import re
from typing import Any, Dict, Optional

from rasa_sdk import Tracker

from actions.menu import live_menu
from kit import numbers

LANGUAGES = ("en", "sw", "sheng")

_NUMBER_WORDS = {
    **numbers.up_to(numbers.ENGLISH, 10), "a": 1, "an": 1, "single": 1, "pair": 1, "couple": 2,
    "dozen": 12, **numbers.SWAHILI, **numbers.SWAHILI_PEOPLE,
}
_DIGITS = re.compile(r"(?<![\d.])(\d{1,3})(?![\d.,]|\s?(?:k|bob|thao|/=|am|pm)\b)", re.I)
_WORD = re.compile(r"[a-z]+")


def language(tracker: Tracker) -> str:
    value = tracker.get_slot("language")
    return value if value in LANGUAGES else "en"


def entity(tracker: Tracker, name: str) -> Optional[str]:
    value = next(tracker.get_latest_entity_values(name), None)
    return str(value).strip() if value not in (None, "") else None


def message_id(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("message_id") or len(tracker.events))


def idempotency_key(tracker: Tracker, purpose: str) -> str:
    """One key per customer message and purpose: a retried turn cannot order or book twice."""
    return f"{tracker.sender_id}:{message_id(tracker)}:{purpose}"


def count_in(text: Optional[str]) -> Optional[int]:
    """A small count written as digits or a number word ("2", "mbili tu", "two pairs")."""
    if not text:
        return None
    match = _DIGITS.search(text)
    if match:
        return int(match.group(1))
    for word in _WORD.findall(text.lower()):
        if word in _NUMBER_WORDS and word not in ("a", "an"):
            return _NUMBER_WORDS[word]
    return None


def picks_from_menu(tracker: Tracker) -> bool:
    """The message is only a menu reference ("2", "ya pili", "the last one") and a menu is live."""
    if live_menu(tracker.get_slot("last_menu")) is None:
        return False
    text = (tracker.latest_message.get("text") or "").strip()
    for found in tracker.latest_message.get("entities") or []:
        if found.get("entity") == "option":
            rest = (text[:found.get("start", 0)] + text[found.get("end", 0):]).strip(" .!?,")
            return len(rest.split()) <= 2  # "2", "ya pili", "namba 2 tafadhali", "the second one"
    return False


def requested_count(tracker: Tracker) -> Optional[int]:
    """The quantity entity first, else a count in the text."""
    return count_in(entity(tracker, "quantity")) or count_in(tracker.latest_message.get("text"))


def metadata(tracker: Tracker) -> Dict[str, Any]:
    return tracker.latest_message.get("metadata") or tracker.get_slot("session_started_metadata") or {}


def response_text(domain: Dict[str, Any], name: str, language_code: str) -> Optional[str]:
    """The text of response `name` for `language_code` (its `language` condition, else the default).

    For an action that changes the language in the same turn: Rasa renders responses with the
    slots as they were before the action's events, so the action picks the variation itself.
    """
    variations = (domain.get("responses") or {}).get(name) or []
    default = None
    for variation in variations:
        conditions = variation.get("condition") or []
        if not conditions:
            default = default or variation.get("text")
        elif any(c.get("name") == "language" and c.get("value") == language_code
                 for c in conditions):
            return variation.get("text")
    return default
