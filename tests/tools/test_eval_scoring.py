"""Scoring of scripts/evaluation on small hand-made inputs."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from evaluation import report, scoring  # noqa: E402
from evaluation.datasets import OUT_OF_SCOPE, Example  # noqa: E402
from evaluation.scoring import NLU_FALLBACK, Prediction  # noqa: E402


def ex(label: str, set_: str = "clinc150", lang: str = "en", text: str | None = None) -> Example:
    return Example(set_, lang, text or f"a {label} sentence", label, label, "test")


def test_accuracy_counts_exact_matches():
    assert scoring.accuracy(["greet", "deny", "affirm", "greet"], ["greet", "affirm", "affirm", None]) == 0.5
    assert scoring.accuracy([], []) is None
    with pytest.raises(ValueError):
        scoring.accuracy(["greet"], [])


def test_macro_f1_by_hand():
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "c", "x"]
    # a: P 2/2 R 2/3 → F1 0.8; b: P 1/2 R 1/2 → 0.5; c: P 0/1 R 0/1 → 0; "x" is not a gold label
    assert scoring.macro_f1(gold, pred) == pytest.approx((0.8 + 0.5 + 0.0) / 3)
    per = scoring.per_label(gold, pred)
    assert per["a"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3, "predicted": 2})
    assert per["c"]["predicted"] == 1 and per["c"]["f1"] == 0.0
    assert set(per) == {"a", "b", "c"}
    assert scoring.macro_f1([], []) is None
    assert scoring.macro_f1(["a", "b"], ["a", "b"]) == 1.0


def test_out_of_scope_accuracy_and_false_actions():
    predicted = ["out_of_scope", NLU_FALLBACK, "small_talk", "ask_faq",  # right
                 "browse_products", "greet",                              # wrong, harmless
                 "place_order", "stop_all"]                               # false actions
    assert scoring.oos_accuracy(predicted) == 0.5
    assert scoring.false_action_rate(predicted) == 0.25
    assert scoring.false_action_rate(["add_to_cart", "cancel_appointment", "request_human", "opt_in_promotions"]) == 1
    assert scoring.false_action_rate(["check_order_status", "payment_help", "return_policy"]) == 0
    assert scoring.oos_accuracy([]) is None and scoring.false_action_rate([]) is None


def test_score_group_separates_in_scope_and_negatives():
    examples = [ex("greet"), ex("greet"), ex("deny"), ex(OUT_OF_SCOPE), ex(OUT_OF_SCOPE), ex(OUT_OF_SCOPE)]
    predicted = ["greet", "deny", "deny", NLU_FALLBACK, "book_appointment", "browse_products"]
    scores = scoring.score_group(examples, predicted)
    assert scores["n"] == 6 and scores["n_in_scope"] == 3 and scores["n_oos"] == 3
    assert scores["accuracy"] == pytest.approx(2 / 3)
    # greet: P 1/1 R 1/2 → 2/3; deny: P 1/2 R 1/1 → 2/3
    assert scores["macro_f1"] == pytest.approx(2 / 3)
    assert scores["oos_accuracy"] == pytest.approx(1 / 3)
    assert scores["false_action_rate"] == pytest.approx(1 / 3) and scores["false_actions"] == 1
    assert scores["fallback_rate"] == pytest.approx(1 / 6)
    pairs = {(c["true"], c["predicted"]): c["count"] for c in scores["confusions"]}
    assert pairs == {("greet", "deny"): 1, (OUT_OF_SCOPE, "book_appointment"): 1, (OUT_OF_SCOPE, "browse_products"): 1}


def test_heldout_out_of_scope_needs_its_exact_label_and_counts_for_oos():
    examples = [ex(OUT_OF_SCOPE, set_="heldout"), ex("greet", set_="heldout")]
    scores = scoring.score_group(examples, [NLU_FALLBACK, "greet"])
    assert scores["accuracy"] == 0.5  # held-out: nlu_fallback is not out_of_scope
    assert scores["oos_accuracy"] == 1.0  # … but handles it well


def test_confusions_rank_by_count_with_two_examples():
    examples = [ex("greet", text=f"g{i}") for i in range(4)] + [ex("deny", text="d")]
    found = scoring.confusions(examples, ["thank_you", "thank_you", "thank_you", "greet", "affirm"], top=5)
    assert found[0] == {"true": "greet", "predicted": "thank_you", "count": 3, "examples": ["g0", "g1"]}
    assert found[1]["true"] == "deny" and found[1]["count"] == 1
    assert len(found) == 2


def test_with_fallback_follows_rasas_rule():
    confident = Prediction("greet", 0.9, (("greet", 0.9), ("deny", 0.05)))
    assert scoring.with_fallback(confident, 0.4, 0.1) == "greet"
    assert scoring.with_fallback(confident, 0.95, 0.1) == NLU_FALLBACK
    close = Prediction(NLU_FALLBACK, 0.6, (("greet", 0.5), ("deny", 0.45)))
    assert scoring.with_fallback(close, 0.4, 0.1) == NLU_FALLBACK  # ambiguous
    assert scoring.with_fallback(close, 0.4, None) == "greet"
    assert close.raw_intent == "greet" and close.raw_confidence == 0.5
    acting = Prediction("place_order", 0.6, (("place_order", 0.6), ("greet", 0.1)))
    assert scoring.with_fallback(acting, 0.4, 0.1) == "place_order"
    assert scoring.with_fallback(acting, 0.4, 0.1, action_threshold=0.7) == NLU_FALLBACK
    assert scoring.with_fallback(acting, 0.4, 0.1, action_threshold=0.7, action_intents=["stop_all"]) == "place_order"
    assert scoring.with_fallback(Prediction("greet", 0.6, (("greet", 0.6),)), 0.4, 0.1, action_threshold=0.7) == "greet"


def test_threshold_sweep():
    examples = [ex("greet", set_="heldout", lang="en"), ex("deny", set_="heldout", lang="sw"),
                ex(OUT_OF_SCOPE), ex(OUT_OF_SCOPE)]
    predictions = [Prediction("greet", 0.9, (("greet", 0.9), ("deny", 0.01))),
                   Prediction("deny", 0.5, (("deny", 0.5), ("greet", 0.1))),
                   Prediction("place_order", 0.45, (("place_order", 0.45), ("greet", 0.2))),
                   Prediction("small_talk", 0.7, (("small_talk", 0.7), ("greet", 0.2)))]
    low, high = scoring.threshold_sweep(examples, predictions, [0.4, 0.6], ambiguity=0.1)
    assert low["threshold"] == 0.4 and low["heldout_accuracy"] == 1.0
    assert low["public_false_action_rate"] == 0.5 and low["public_oos_accuracy"] == 0.5
    assert high["heldout_accuracy"] == 0.5 and high["heldout_by_language"] == {"en": 1.0, "sw": 0.0}
    assert high["public_false_action_rate"] == 0.0 and high["public_oos_accuracy"] == 1.0
    assert high["public_by_set"]["clinc150"]["false_action_rate"] == 0.0
    # the action threshold only holds back action intents: place_order at 0.45 here
    loose, strict = scoring.action_threshold_sweep(examples, predictions, 0.4, 0.1, [0.4, 0.5])
    assert loose["action_threshold"] == 0.4 and loose["public_false_action_rate"] == 0.5
    assert strict["public_false_action_rate"] == 0.0 and strict["heldout_accuracy"] == 1.0
    assert scoring.threshold_sweep(examples, predictions, [0.4], 0.1, action_threshold=0.5) == [strict]


def test_language_accuracy():
    result = scoring.language_accuracy(["sw", "sw", "sw", "en"], ["sw", "sheng", None, "en"])
    assert result["sw"]["n"] == 3 and result["sw"]["accuracy"] == pytest.approx(1 / 3)
    assert result["sw"]["detected"] == {"sw": 1, "sheng": 1, "None": 1}
    assert result["en"]["accuracy"] == 1.0


def test_targets_and_percentiles():
    result = {
        "selection": {"sets": ["heldout", "independent-test", "clinc150", "bitext"]},
        "sets": {
            "heldout": {"all": {"accuracy": 0.96},
                        "by_language": {"en": {"accuracy": 0.99}, "sw": {"accuracy": 0.91}}},
            "independent-test": {"all": {"accuracy": 0.95},
                                 "by_language": {"en": {"accuracy": 0.97}, "sheng": {"accuracy": 0.92}}},
            "clinc150": {"all": {"accuracy": 0.9}, "by_language": {"en": {"n_oos": 10, "false_action_rate": 0.04}}},
            "bitext": {"all": {"accuracy": 0.8}, "by_language": {"en": {"n_oos": 0, "false_action_rate": None}}},
        },
        "public_negatives": {"n_oos": 10, "false_action_rate": 0.005},
    }
    verdicts = {t["target"]: t["pass"] for t in report.targets(result)}
    assert verdicts == {"held-out accuracy, all languages": True, "held-out accuracy, en": True,
                        "held-out accuracy, sw": False, "independent-test accuracy, all languages": True,
                        "independent-test accuracy, en": True, "independent-test accuracy, sheng": False,
                        "in-scope accuracy, clinc150": True, "in-scope accuracy, bitext": False,
                        "false-action rate, all public OOS negatives": True,
                        "false-action rate, clinc150 en": False}
    missing = {"selection": {"sets": ["heldout"]}, "sets": {}, "public_negatives": {}}
    assert [t["pass"] for t in report.targets(missing)] == [False]  # nothing measured is not a pass
    assert report.percentile([1, 2, 3, 4], 50) == 2.5
    assert report.percentile([10.0] * 19 + [100.0], 95) == pytest.approx(14.5)
    assert report.percentile([], 95) is None
