"""NLU training data owned by bot/: parses, is big enough, unambiguous, synonyms complete."""
from collections import defaultdict
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from tests.bot.test_language import ENGLISH, MIXED, SHENG, SWAHILI

NLU_DIR = Path(__file__).resolve().parents[2] / "data" / "nlu"
HELDOUT_DIR = Path(__file__).resolve().parents[2] / "eval" / "heldout"
LANGUAGES = ("en", "sw", "sheng")
TOPICS = {
    "basics.yml": ("greet", "goodbye", "thank_you", "affirm", "deny", "small_talk",
                   "out_of_scope"),
    "shopping.yml": ("browse_products", "product_details", "price_check", "select_option"),
    "orders.yml": ("add_to_cart", "view_cart", "place_order", "check_order_status",
                   "cancel_order", "payment_help"),
    "bookings.yml": ("browse_services", "service_details", "check_availability",
                     "book_appointment", "check_appointment_status", "cancel_appointment"),
    "knowledge.yml": ("ask_faq", "return_policy", "delivery_fees"),
    "support.yml": ("request_human", "opt_out_promotions", "opt_in_promotions", "stop_all",
                    "start_all"),
    "inform.yml": ("inform",),
}
MIN_TRAINING = 25
MIN_HELDOUT = 5
# Canonical values the synonyms may produce, per entity.
CATEGORIES = {
    "shoes", "clothing", "accessories", "wigs", "braiding hair", "hair care", "skin care", "nails",
    "makeup", "tools", "phones", "phone cases", "chargers", "cables", "power banks",
    "screen protectors", "audio", "wearables", "storage", "tablets", "computer", "networking",
    "hair colour",
}
PAYMENT_METHODS = {"mpesa", "card"}


def _normalise(text):
    return " ".join(text.lower().split())


@pytest.fixture(scope="module")
def all_data():
    return load_data(str(NLU_DIR))


@pytest.fixture(scope="module")
def heldout():
    return load_data(str(HELDOUT_DIR))


def _counts(path):
    counts = defaultdict(int)
    for example in load_data(str(path)).intent_examples:
        counts[example.get("intent")] += 1
    return counts


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("file_name", sorted(TOPICS))
def test_each_intent_has_enough_examples_per_language(language, file_name):
    training = _counts(NLU_DIR / language / file_name)
    held_out = _counts(HELDOUT_DIR / language / file_name)
    for intent in TOPICS[file_name]:
        assert training[intent] >= MIN_TRAINING, f"{language}/{file_name} {intent}: {training[intent]}"
        assert held_out[intent] >= MIN_HELDOUT, f"held-out {language}/{file_name} {intent}"


def test_every_contract_intent_is_covered():
    covered = {intent for intents in TOPICS.values() for intent in intents}
    assert len(covered) == 32


def test_no_example_under_two_intents(all_data):
    intents_by_text = defaultdict(set)
    for example in all_data.intent_examples:
        intents_by_text[_normalise(example.get("text"))].add(example.get("intent"))
    clashes = {text: intents for text, intents in intents_by_text.items() if len(intents) > 1}
    assert not clashes


def test_held_out_sentences_are_not_training_data(all_data, heldout):
    training = {_normalise(example.get("text")) for example in all_data.intent_examples}
    leaked = [e.get("text") for e in heldout.intent_examples if _normalise(e.get("text")) in training]
    assert not leaked


@pytest.mark.parametrize("entity_name, allowed", [
    ("category", CATEGORIES), ("payment_method", PAYMENT_METHODS)])
def test_annotations_map_to_canonical_values(all_data, entity_name, allowed):
    synonyms = {key.lower(): value for key, value in all_data.entity_synonyms.items()}
    unmapped = set()
    for example in all_data.entity_examples:
        for entity in example.get("entities", []):
            if entity["entity"] != entity_name:
                continue
            surface = example.get("text")[entity["start"] : entity["end"]].lower()
            if synonyms.get(surface, surface) not in allowed:
                unmapped.add(surface)
    assert not unmapped


def test_select_option_examples_carry_no_entities(all_data):
    annotated = [
        example.get("text")
        for example in all_data.intent_examples
        if example.get("intent") == "select_option" and example.get("entities")
    ]
    assert not annotated


def test_language_test_sentences_are_not_training_data(all_data):
    training = {_normalise(example.get("text")) for example in all_data.intent_examples}
    leaked = [s for s in ENGLISH + SWAHILI + SHENG + MIXED if _normalise(s) in training]
    assert not leaked
