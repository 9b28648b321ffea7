"""NLU training data owned by bot/: parses, is big enough, unambiguous, synonyms complete."""
from collections import defaultdict
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from tests.bot.test_language import ENGLISH, MIXED, SHENG, SWAHILI

NLU_DIR = Path(__file__).resolve().parents[2] / "data" / "nlu"
LANGUAGES = ("en", "sw", "sheng")
OWN_INTENTS = {
    "basics.yml": ("greet", "goodbye", "thank_you"),
    "shopping.yml": ("browse_products", "select_option"),
}
MIN_EXAMPLES = 22
CANONICAL_CATEGORIES = {"shoes", "clothing", "accessories"}


def _normalise(text):
    return " ".join(text.lower().split())


@pytest.fixture(scope="module")
def all_data():
    return load_data(str(NLU_DIR))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("file_name", sorted(OWN_INTENTS))
def test_each_intent_has_enough_examples_per_language(language, file_name):
    data = load_data(str(NLU_DIR / language / file_name))
    counts = defaultdict(int)
    for example in data.intent_examples:
        counts[example.get("intent")] += 1
    for intent in OWN_INTENTS[file_name]:
        assert counts[intent] >= MIN_EXAMPLES, f"{language}/{file_name} {intent}: {counts[intent]}"


def test_no_example_under_two_intents(all_data):
    intents_by_text = defaultdict(set)
    for example in all_data.intent_examples:
        intents_by_text[_normalise(example.get("text"))].add(example.get("intent"))
    clashes = {text: intents for text, intents in intents_by_text.items() if len(intents) > 1}
    assert not clashes


def test_every_category_annotation_maps_to_a_catalog_category(all_data):
    synonyms = {key.lower(): value for key, value in all_data.entity_synonyms.items()}
    assert set(synonyms.values()) <= CANONICAL_CATEGORIES
    unmapped = set()
    for example in all_data.entity_examples:
        for entity in example.get("entities", []):
            if entity["entity"] != "category":
                continue
            surface = example.get("text")[entity["start"] : entity["end"]].lower()
            if synonyms.get(surface, surface) not in CANONICAL_CATEGORIES:
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
