"""Scores: in-scope accuracy and macro-F1, out-of-scope accuracy and false actions, confusions,
per-intent precision/recall/F1, a fallback-threshold sweep and language detection accuracy."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

from evaluation.datasets import INTENT, NEGATIVE, OUT_OF_SCOPE, Example

NLU_FALLBACK = "nlu_fallback"
# An out-of-scope sentence is handled well when the bot says it does not know or answers from
# the knowledge base.
OOS_CORRECT = frozenset({OUT_OF_SCOPE, NLU_FALLBACK, "small_talk", "ask_faq"})
# Predicting one of these on an out-of-scope sentence makes the bot act: the error that matters most.
ACTION_INTENTS = frozenset({
    "place_order", "add_to_cart", "cancel_order", "book_appointment", "cancel_appointment",
    "request_human", "opt_out_promotions", "opt_in_promotions", "stop_all", "start_all"})


@dataclass(frozen=True)
class Prediction:
    """What the model said about one sentence.

    `intent`/`confidence` are as served (nlu_fallback when the FallbackClassifier stepped in);
    `ranking` is the classifier's own ranking without nlu_fallback, best first.
    """

    intent: str | None
    confidence: float
    ranking: tuple[tuple[str, float], ...] = ()
    language: str | None = None

    @property
    def raw_intent(self) -> str | None:
        return self.ranking[0][0] if self.ranking else self.intent

    @property
    def raw_confidence(self) -> float:
        return self.ranking[0][1] if self.ranking else self.confidence


# ---------------------------------------------------------------- primitive scores

def ratio(count: int, total: int) -> float | None:
    return count / total if total else None


def accuracy(gold: Sequence[str], predicted: Sequence[str | None]) -> float | None:
    """Share of exact matches; None for no examples."""
    return ratio(sum(g == p for g, p in zip(gold, predicted, strict=True)), len(gold))


def per_label(gold: Sequence[str], predicted: Sequence[str | None],
              labels: Iterable[str] | None = None) -> dict[str, dict]:
    """Precision, recall, F1 and support of each label (default: the labels present in `gold`).

    Precision counts every prediction of the label among these pairs; a label never predicted
    has precision 0, and F1 is 0 when precision and recall are both 0.
    """
    labels = sorted(set(gold)) if labels is None else list(labels)
    tp: Counter = Counter()
    fp: Counter = Counter()
    fn: Counter = Counter()
    for g, p in zip(gold, predicted, strict=True):
        if g == p:
            tp[g] += 1
        else:
            fn[g] += 1
            fp[p] += 1
    result = {}
    for label in labels:
        precision = ratio(tp[label], tp[label] + fp[label]) or 0.0
        recall = ratio(tp[label], tp[label] + fn[label]) or 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result[label] = {"precision": precision, "recall": recall, "f1": f1,
                         "support": tp[label] + fn[label], "predicted": tp[label] + fp[label]}
    return result


def macro_f1(gold: Sequence[str], predicted: Sequence[str | None]) -> float | None:
    """Unweighted mean F1 over the labels present in `gold`; None for no examples."""
    if not gold:
        return None
    scores = per_label(gold, predicted)
    return sum(s["f1"] for s in scores.values()) / len(scores)


def oos_accuracy(predicted: Sequence[str | None]) -> float | None:
    """Share of out-of-scope sentences answered with out_of_scope, nlu_fallback, small_talk or ask_faq."""
    return ratio(sum(p in OOS_CORRECT for p in predicted), len(predicted))


def false_action_rate(predicted: Sequence[str | None]) -> float | None:
    """Share of out-of-scope sentences predicted as an action intent."""
    return ratio(sum(p in ACTION_INTENTS for p in predicted), len(predicted))


def is_correct(example: Example, predicted: str | None) -> bool:
    """A negative is right under the out-of-scope rule; every other example needs its exact label."""
    if example.kind == NEGATIVE:
        return predicted in OOS_CORRECT
    return predicted == example.label


# ---------------------------------------------------------------- groups of examples

def confusions(examples: Sequence[Example], predicted: Sequence[str | None], top: int = 10,
               samples: int = 2) -> list[dict]:
    """The most frequent errors as (true → predicted, count, first example sentences)."""
    pairs: dict[tuple[str, str], list[str]] = defaultdict(list)
    for example, p in zip(examples, predicted, strict=True):
        if not is_correct(example, p):
            pairs[(example.label, str(p))].append(example.text)
    ranked = sorted(pairs.items(), key=lambda item: (-len(item[1]), item[0]))
    return [{"true": true, "predicted": pred, "count": len(texts), "examples": texts[:samples]}
            for (true, pred), texts in ranked[:top]]


def score_group(examples: Sequence[Example], predicted: Sequence[str | None], top: int = 10) -> dict:
    """Every score of one group (a set and language, a set, a language …).

    accuracy and macro_f1 cover the examples that need their exact label (the in-scope examples;
    for the held-out split every example, out_of_scope included); oos_accuracy and
    false_action_rate cover the examples labelled out_of_scope (public negatives and held-out).
    """
    exact = [(e.label, p) for e, p in zip(examples, predicted, strict=True) if e.kind == INTENT]
    oos = [p for e, p in zip(examples, predicted, strict=True) if e.label == OUT_OF_SCOPE]
    gold = [g for g, _ in exact]
    pred = [p for _, p in exact]
    return {
        "n": len(examples),
        "n_in_scope": len(exact),
        "n_oos": len(oos),
        "accuracy": accuracy(gold, pred),
        "macro_f1": macro_f1(gold, pred),
        "oos_accuracy": oos_accuracy(oos),
        "false_action_rate": false_action_rate(oos),
        "false_actions": sum(p in ACTION_INTENTS for p in oos),
        "fallback_rate": ratio(sum(p == NLU_FALLBACK for p in predicted), len(predicted)),
        "confusions": confusions(examples, predicted, top=top),
    }


def group_by(examples: Sequence[Example], key) -> dict:
    groups: dict = defaultdict(list)
    for index, example in enumerate(examples):
        groups[key(example)].append(index)
    return dict(groups)


# ---------------------------------------------------------------- fallback threshold sweep

def with_fallback(prediction: Prediction, threshold: float, ambiguity: float | None,
                  action_threshold: float | None = None,
                  action_intents: Iterable[str] = ACTION_INTENTS) -> str | None:
    """The intent the fallback classifier would serve at these thresholds. Rasa's rule: below
    `threshold`, or the top two closer than `ambiguity` → nlu_fallback; with an action threshold
    (bot.components.action_guard) an action intent must also reach `action_threshold`."""
    if not prediction.ranking:
        return prediction.intent
    top, confidence = prediction.ranking[0]
    if confidence < threshold:
        return NLU_FALLBACK
    if ambiguity is not None and len(prediction.ranking) >= 2 and confidence - prediction.ranking[1][1] < ambiguity:
        return NLU_FALLBACK
    if action_threshold is not None and top in action_intents and confidence < action_threshold:
        return NLU_FALLBACK
    return top


def sweep_point(examples: Sequence[Example], predictions: Sequence[Prediction], threshold: float,
                ambiguity: float | None, action_threshold: float | None = None,
                action_intents: Iterable[str] = ACTION_INTENTS) -> dict:
    """Held-out accuracy (overall, per language) against public in-scope accuracy, OOS accuracy and
    false-action rate (overall, per set) if the fallback classifier had these thresholds."""
    action_intents = frozenset(action_intents)
    served = [with_fallback(p, threshold, ambiguity, action_threshold, action_intents) for p in predictions]
    held = [(e, s) for e, s in zip(examples, served) if e.set == "heldout"]
    public = [(e, s) for e, s in zip(examples, served) if e.set != "heldout"]

    def public_scores(pairs) -> dict:
        return {"in_scope_accuracy": accuracy([e.label for e, _ in pairs if e.kind == INTENT],
                                              [s for e, s in pairs if e.kind == INTENT]),
                "oos_accuracy": oos_accuracy([s for e, s in pairs if e.kind == NEGATIVE]),
                "false_action_rate": false_action_rate([s for e, s in pairs if e.kind == NEGATIVE])}

    overall = public_scores(public)
    by_language = {}
    for lang in sorted({e.lang for e, _ in held}):
        pairs = [(e.label, s) for e, s in held if e.lang == lang]
        by_language[lang] = accuracy([g for g, _ in pairs], [s for _, s in pairs])
    return {
        "threshold": round(threshold, 4),
        "action_threshold": None if action_threshold is None else round(action_threshold, 4),
        "heldout_accuracy": accuracy([e.label for e, _ in held], [s for _, s in held]),
        "heldout_by_language": by_language,
        "public_in_scope_accuracy": overall["in_scope_accuracy"],
        "public_oos_accuracy": overall["oos_accuracy"],
        "public_false_action_rate": overall["false_action_rate"],
        "public_by_set": {name: public_scores([(e, s) for e, s in public if e.set == name])
                          for name in sorted({e.set for e, _ in public})},
    }


def threshold_sweep(examples: Sequence[Example], predictions: Sequence[Prediction],
                    thresholds: Iterable[float], ambiguity: float | None, action_threshold: float | None = None,
                    action_intents: Iterable[str] = ACTION_INTENTS) -> list[dict]:
    """`sweep_point` for each fallback threshold (ambiguity and action thresholds kept)."""
    return [sweep_point(examples, predictions, t, ambiguity, action_threshold, action_intents) for t in thresholds]


def action_threshold_sweep(examples: Sequence[Example], predictions: Sequence[Prediction], threshold: float,
                           ambiguity: float | None, action_thresholds: Iterable[float],
                           action_intents: Iterable[str] = ACTION_INTENTS) -> list[dict]:
    """`sweep_point` for each action threshold (fallback and ambiguity thresholds kept)."""
    return [sweep_point(examples, predictions, threshold, ambiguity, a, action_intents) for a in action_thresholds]


# ---------------------------------------------------------------- language detection

def language_accuracy(truth: Sequence[str], detected: Sequence[str | None]) -> dict[str, dict]:
    """Per true language: n, accuracy of the detected `language` entity and what was detected."""
    result = {}
    for lang in sorted(set(truth)):
        got = [d for t, d in zip(truth, detected, strict=True) if t == lang]
        result[lang] = {"n": len(got), "accuracy": accuracy([lang] * len(got), got),
                        "detected": dict(Counter(str(d) for d in got).most_common())}
    return result
