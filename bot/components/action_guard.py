"""FallbackClassifier that asks for more confidence before an action intent.

A wrong "place_order" or "stop_all" does something; a wrong "ask_faq" only answers. So an intent that
makes the assistant act (the list `action_intents`) must reach `action_threshold`, while every other
intent only needs the usual `threshold`. Below it the message becomes `nlu_fallback`, which asks the
customer to rephrase (or lets the backend's LLM classify it). Thresholds are chosen with the sweep in
`make eval` (held-out accuracy against the false-action rate on public out-of-scope sets).
"""
from __future__ import annotations

from typing import Any, Dict, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

ACTION_INTENTS_KEY = "action_intents"
ACTION_THRESHOLD_KEY = "action_threshold"
# The intents of the shared contract whose prediction changes something for the customer.
DEFAULT_ACTION_INTENTS = [
    "place_order", "add_to_cart", "cancel_order", "book_appointment", "cancel_appointment",
    "request_human", "opt_out_promotions", "opt_in_promotions", "stop_all", "start_all",
]


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class ActionAwareFallbackClassifier(FallbackClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**FallbackClassifier.get_default_config(),
                ACTION_INTENTS_KEY: DEFAULT_ACTION_INTENTS, ACTION_THRESHOLD_KEY: 0.7}

    def _should_fallback(self, message: Message) -> bool:
        if super()._should_fallback(message):
            return True
        intent = message.data.get(INTENT) or {}
        if intent.get(INTENT_NAME_KEY) not in self.component_config[ACTION_INTENTS_KEY]:
            return False
        confidence = intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0
        return confidence < self.component_config[ACTION_THRESHOLD_KEY]
