"""Action intents need more confidence than the others before the assistant acts on them."""
import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.action_guard import ActionAwareFallbackClassifier


def classify(intent, confidence, second=0.0):
    message = Message(data={TEXT: "x", INTENT: {"name": intent, "confidence": confidence},
                            INTENT_RANKING_KEY: [{"name": intent, "confidence": confidence},
                                                 {"name": "other", "confidence": second}]})
    config = {**ActionAwareFallbackClassifier.get_default_config(), "threshold": 0.4,
              "action_threshold": 0.7}
    ActionAwareFallbackClassifier(config).process([message])
    return message.get(INTENT)["name"]


@pytest.mark.parametrize("intent, confidence, expected", [
    ("stop_all", 0.65, "nlu_fallback"), ("stop_all", 0.75, "stop_all"),
    ("place_order", 0.5, "nlu_fallback"), ("ask_faq", 0.5, "ask_faq"),
    ("ask_faq", 0.3, "nlu_fallback"), ("greet", 0.41, "greet")])
def test_thresholds(intent, confidence, expected):
    assert classify(intent, confidence) == expected


def test_ambiguity_still_applies():
    assert classify("ask_faq", 0.5, second=0.45) == "nlu_fallback"
