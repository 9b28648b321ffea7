"""Questions from the merchant's knowledge, a person on request, consent, and not understanding."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (ActionExecuted, ConversationPaused, EventType, SlotSet,
                             UserUtteranceReverted, UserUttered)
from rasa_sdk.executor import CollectingDispatcher

from actions.backend import BackendUnavailable, backend
from actions.common import language, metadata, picks_from_menu
from actions.catalog import ActionSelectOption
from actions.confirm import ask_to_confirm, on_confirm
from actions.conversation_owner import tenant_and_customer

logger = logging.getLogger(__name__)

LANGUAGE_NAMES = {
    "en": {"en": "English", "sw": "Kiingereza", "sheng": "English"},
    "sw": {"en": "Swahili", "sw": "Kiswahili", "sheng": "Kiswahili"},
    "sheng": {"en": "Sheng", "sw": "Sheng", "sheng": "Sheng"},
}
# Two `nlu_fallback` messages in a row hand the conversation to a person.
FALLBACKS_BEFORE_HANDOFF = 2
# A classification by the backend's language model is used above this confidence.
LLM_INTENT_THRESHOLD = 0.7
# Intents the language model may route a message to (never a one-step action like stop_all).
LLM_ROUTABLE = {
    "greet", "goodbye", "thank_you", "small_talk", "out_of_scope", "browse_products",
    "product_details", "price_check", "view_cart", "payment_help", "check_order_status",
    "browse_services", "service_details", "check_availability", "check_appointment_status",
    "ask_faq", "return_policy", "delivery_fees", "request_human", "place_order",
    "book_appointment", "cancel_order", "cancel_appointment", "add_to_cart",
}


class ActionAnswerQuestion(Action):
    """ask_faq, return_policy and delivery_fees: the backend answers from the merchant's knowledge."""

    def name(self) -> Text:
        return "action_answer_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        tenant_id, _ = tenant_and_customer(tracker)
        lang = language(tracker)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        question = tracker.latest_message.get("text") or ""
        try:
            answer = await backend.call("POST", tenant_id, "/v1/faq/answer", json={
                "question": question[:2000], "language": lang,
                "intent": intent if intent in ("ask_faq", "return_policy", "delivery_fees",
                                               "payment_help") else None})
        except BackendUnavailable as exc:
            logger.error("faq unavailable: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        body = answer.body if answer.ok else {}
        if not body.get("answered"):
            dispatcher.utter_message(response="utter_answer_unsure")
            return [ask_to_confirm("handoff", "faq", reason="requested")]
        source = ", ".join(s.get("title") or "" for s in body.get("sources", [])[:2]) or "FAQ"
        if body.get("language_fallback"):
            name = LANGUAGE_NAMES.get(body.get("language"), LANGUAGE_NAMES["en"])[lang]
            dispatcher.utter_message(response="utter_answer_other_language", answer=body["answer"],
                                     source=source, answer_language=name)
        else:
            dispatcher.utter_message(response="utter_answer", answer=body["answer"], source=source)
        return []


async def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str,
                   response: str) -> List[EventType]:
    """Tags the conversation for a person in the backend, tells the customer, pauses the bot."""
    tenant_id, customer = tenant_and_customer(tracker)
    try:
        answer = await backend.call("POST", tenant_id, "/internal/v1/conversations/handoff", json={
            "tenant_id": tenant_id, "customer_ref": customer, "sender_id": tracker.sender_id,
            "reason": reason, "last_message": (tracker.latest_message.get("text") or "")[:1600]})
        if not answer.ok:
            raise BackendUnavailable(f"handoff answered {answer.status}: {answer.description}")
    except BackendUnavailable as exc:
        logger.error("handoff failed: %s", exc)
        dispatcher.utter_message(response="utter_backend_unavailable")
        return []
    until = metadata(tracker).get("quiet_until")
    if until:  # the merchant's quiet hours: say when someone will answer
        dispatcher.utter_message(response="utter_handoff_quiet_hours", until=until)
    else:
        dispatcher.utter_message(response=response)
    return [SlotSet("needs_human", True), ConversationPaused()]


class ActionRequestHuman(Action):
    def name(self) -> Text:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        return await hand_off(dispatcher, tracker, "requested", "utter_handoff")


@on_confirm("handoff")
async def _confirmed_handoff(dispatcher: CollectingDispatcher, tracker: Tracker,
                             what: Dict[str, Any]) -> List[EventType]:
    return await hand_off(dispatcher, tracker, str(what.get("reason") or "requested"),
                          "utter_handoff")


def consecutive_fallbacks(tracker: Tracker) -> int:
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if ((event.get("parse_data") or {}).get("intent") or {}).get("name") != "nlu_fallback":
            break
        count += 1
    return count


class ActionFallback(Action):
    """Not understood: ask the backend's language model (when the merchant has one), else ask to
    rephrase with a short menu; the second miss in a row brings a person."""

    def name(self) -> Text:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        if picks_from_menu(tracker):  # a bare "2" the classifier could not place: a menu pick
            return await ActionSelectOption().run(dispatcher, tracker, domain)
        routed = await self._classify(tracker)
        if routed is not None:
            return routed
        if consecutive_fallbacks(tracker) >= FALLBACKS_BEFORE_HANDOFF:
            return await hand_off(dispatcher, tracker, "fallback", "utter_handoff_after_fallbacks")
        dispatcher.utter_message(response="utter_please_rephrase")
        return []

    @staticmethod
    async def _classify(tracker: Tracker) -> Optional[List[EventType]]:
        tenant_id, _ = tenant_and_customer(tracker)
        text = tracker.latest_message.get("text") or ""
        if not text or text.startswith("/"):
            return None
        try:
            answer = await backend.call("POST", tenant_id, "/internal/v1/nlu/classify", json={
                "tenant_id": tenant_id, "text": text[:2000], "language": language(tracker)})
        except BackendUnavailable:
            return None
        if not answer.ok:
            return None  # not configured, budget spent or timed out: the rule-based path
        intent, confidence = answer.body.get("intent"), float(answer.body.get("confidence") or 0)
        if intent not in LLM_ROUTABLE or confidence < LLM_INTENT_THRESHOLD:
            return None
        parse = dict(tracker.latest_message)
        parse["intent"] = {"name": intent, "confidence": confidence}
        # Replace the misunderstood message with the classified one (as Rasa's two-stage fallback
        # does); the policies continue from it as from any message.
        return [UserUtteranceReverted(), ActionExecuted("action_listen"),
                UserUttered(text, parse_data=parse,
                            input_channel=tracker.get_latest_input_channel())]


CONSENT_CHANGES = {
    "stop_all": ({"transactional": False, "reminders": False, "promotional": False},
                 "utter_stopped_all"),
    "start_all": ({"transactional": True, "reminders": True}, "utter_started_all"),
    "opt_out_promotions": ({"promotional": False}, "utter_opted_out_promotions"),
    "opt_in_promotions": ({"promotional": True}, "utter_opted_in_promotions"),
}


class ActionUpdateConsent(Action):
    def name(self) -> Text:
        return "action_update_consent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent not in CONSENT_CHANGES:
            dispatcher.utter_message(response="utter_nothing_to_confirm")
            return []
        changes, response = CONSENT_CHANGES[intent]
        tenant_id, customer = tenant_and_customer(tracker)
        try:
            answer = await backend.call("PATCH", tenant_id, "/v1/customers/me/preferences",
                                        json=changes, customer=customer)
            if not answer.ok:
                raise BackendUnavailable(f"preferences answered {answer.status}")
        except BackendUnavailable as exc:
            logger.error("consent not saved: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        dispatcher.utter_message(response=response)
        return []
