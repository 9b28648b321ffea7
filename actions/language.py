"""The reply language: follows the customer, holds through mixed messages, switches on request."""
from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker, ValidationAction
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backend import BackendUnavailable, backend
from actions.common import LANGUAGES, entity, metadata, response_text
from actions.conversation_owner import tenant_and_customer

logger = logging.getLogger(__name__)

# What a customer calls each language when asking for it.
_REQUESTED = (
    ("sheng", re.compile(r"\bsheng\b", re.I)),
    ("sw", re.compile(r"\b(?:ki)?swahili\b|\bkiswa\b|\bswa\b|\blugha\s+ya\s+taifa\b", re.I)),
    ("en", re.compile(r"\benglish\b|\bkiingereza\b|\bkizungu\b|\bngeli\b|\beng\b", re.I)),
)


def requested_language(text: Optional[str]) -> Optional[str]:
    for code, pattern in _REQUESTED:
        if pattern.search(text or ""):
            return code
    return None


def previous_language(tracker: Tracker) -> Optional[str]:
    """The language slot before this turn (the current value may already be this turn's)."""
    value = tracker.get_slot("language")
    return value if value in LANGUAGES else None


class ValidateSlotMappings(ValidationAction):
    """Runs after every message: sets `language` from the detector's `language` entity."""

    def name(self) -> Text:
        return "action_validate_slot_mappings"

    async def extract_language(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Dict[Text, Any]:
        chosen = tracker.get_slot("language_choice")
        current = previous_language(tracker)
        if chosen in LANGUAGES:
            return {} if current == chosen else {"language": chosen}
        detected = entity(tracker, "language")
        if detected in LANGUAGES:
            if current == detected:
                return {}
            await remember_language(tracker, detected)
            return {"language": detected}
        if current is None:  # mixed or unknown and nothing yet: the merchant's language
            fallback = metadata(tracker).get("tenant_language")
            return {"language": fallback if fallback in LANGUAGES else "en"}
        return {}


async def remember_language(tracker: Tracker, language: str) -> None:
    """The customer's language on their record, for what the shop sends outside the chat
    (shipping notices, reminders, campaigns). Only when it changes; a failure costs nothing but
    that (the chat itself keeps the slot)."""
    tenant_id, customer = tenant_and_customer(tracker)
    try:
        answer = await backend.call("PATCH", tenant_id, "/v1/customers/me/preferences",
                                    customer=customer, json={"language": language})
    except BackendUnavailable as exc:
        logger.warning("customer language not recorded: %s", exc)
        return
    if not answer.ok:
        logger.warning("customer language not recorded: the backend answered %s", answer.status)


class ActionChangeLanguage(Action):
    """"Speak English", "ongea Kiswahili": holds that language until the customer asks again."""

    def name(self) -> Text:
        return "action_change_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        wanted = requested_language(tracker.latest_message.get("text"))
        if wanted is None:
            dispatcher.utter_message(response="utter_language_which")
            return []
        dispatcher.utter_message(text=response_text(domain, "utter_language_switched", wanted))
        await remember_language(tracker, wanted)
        return [SlotSet("language_choice", wanted), SlotSet("language", wanted)]
