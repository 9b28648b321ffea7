"""The overlap check: no evaluation sentence (held-out, independent, FAQ or public) may be a training
sentence, nor a near copy of one.

A copy has the same normalised text. A near copy (public, independent and FAQ sets) has the same
text once digit runs are folded (Bitext's "track order 00123842" and "track order 3707955617" are
one template; SKELETON_MIN_WORDS words or more), or, with NEAR_MIN_WORDS words or more, nearly the
same words in any order (Jaccard ≥ NEAR_JACCARD: a word added or dropped in a sentence of seven or
more words, the words reordered). One word replaced in a short sentence is not one: "what pets do
you have" and "what services do you have" are a pattern every writer uses, not a copy. Shorter sentences ("asante
sana", "size 40") are only checked for copies: independent writers naturally say the same words.
The held-out split is checked for copies only (EXACT_ONLY_SETS). In the parts that are checked but
never scored, phrases of one or two words are left out (UNSCORED_PARTS, COMMON_PHRASE_WORDS).
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass

from evaluation.datasets import Example

_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")
NEAR_JACCARD = 0.85
NEAR_MIN_WORDS = 5
SKELETON_MIN_WORDS = 3
# Our held-out split was drawn from the same writing as the training data: copies only.
EXACT_ONLY_SETS = frozenset({"heldout"})
# Sentences checked but never scored (CLINC150 val, skipped labels, FAQ questions): a phrase of one
# or two words there ("hi", "absolutely not") is common wording, not a copy.
UNSCORED_PARTS = frozenset({"val", "oos_val"})
COMMON_PHRASE_WORDS = 2


def normalise(text: str) -> str:
    """Lower case, punctuation removed (every Unicode punctuation character: "don't" → "dont"),
    spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    return _SPACES.sub(" ", text).strip()


def skeleton(text: str) -> str:
    """The normalised text with every digit run folded to 0 (templates with other numbers)."""
    return _DIGITS.sub("0", normalise(text))


def words(text: str) -> frozenset[str]:
    return frozenset(skeleton(text).split())


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


@dataclass(frozen=True)
class Overlap:
    """An evaluation sentence that is also trained on (kind "copy"), or nearly (kind "near copy")."""

    normalised: str
    example: Example
    training_file: str
    training_text: str
    kind: str = "copy"
    similarity: float = 1.0


class NearIndex:
    """Training sentences indexed for the near-copy test: a Jaccard similarity join with prefix
    filtering (two word sets with Jaccard ≥ t share a word among the rarest |x|-⌈t|x|⌉+1 of each),
    so every pair is found without comparing all pairs."""

    def __init__(self, training: list[tuple[str, str]], threshold: float = NEAR_JACCARD,
                 min_words: int = NEAR_MIN_WORDS, extra_texts: list[str] = ()):
        self.threshold, self.min_words = threshold, min_words
        self.items = [(path, text, words(text)) for path, text in training]
        self.frequency: Counter = Counter(w for _, _, ws in self.items for w in ws)
        self.frequency.update(w for text in extra_texts for w in words(text))
        self.postings: dict[str, list[int]] = defaultdict(list)
        for index, (_, _, ws) in enumerate(self.items):
            if len(ws) >= min_words:
                for word in self._prefix(ws):
                    self.postings[word].append(index)

    def _prefix(self, ws: frozenset[str]) -> list[str]:
        ordered = sorted(ws, key=lambda w: (self.frequency[w], w))
        return ordered[:len(ws) - math.ceil(self.threshold * len(ws)) + 1]

    def best(self, text: str) -> tuple[str, str, float] | None:
        """The most similar training sentence at or above the threshold: (file, text, Jaccard)."""
        ws = words(text)
        if len(ws) < self.min_words:
            return None
        found = None
        for index in {i for word in self._prefix(ws) for i in self.postings.get(word, ())}:
            path, other, other_ws = self.items[index]
            score = jaccard(ws, other_ws)
            if score >= self.threshold and (found is None or score > found[2]):
                found = (path, other, score)
        return found


def is_unscored(example: Example) -> bool:
    """Checked for overlap but never scored: no label of ours (skipped, FAQ) or an unscored part."""
    return not example.label or example.part in UNSCORED_PARTS


def find_overlaps(training: list[tuple[str, str]], examples: list[Example], near: bool = True) -> list[Overlap]:
    """Every evaluation example that copies a training sentence (normalised text equal), or with
    `near`, nearly copies one (same skeleton, or word Jaccard ≥ NEAR_JACCARD)."""
    trained: dict[str, tuple[str, str]] = {}
    skeletons: dict[str, tuple[str, str]] = {}
    for path, text in training:
        key = normalise(text)
        if key:
            trained.setdefault(key, (path, text))
            skeletons.setdefault(skeleton(text), (path, text))
    index = NearIndex(training, extra_texts=[e.text for e in examples]) if near else None
    overlaps = []
    for example in examples:
        key = normalise(example.text)
        if not key or (is_unscored(example) and len(key.split()) <= COMMON_PHRASE_WORDS):
            continue
        if key in trained:
            path, text = trained[key]
            overlaps.append(Overlap(key, example, path, text))
        elif not near or example.set in EXACT_ONLY_SETS:
            continue
        elif len(words(example.text)) >= SKELETON_MIN_WORDS and skeleton(example.text) in skeletons:
            path, text = skeletons[skeleton(example.text)]
            overlaps.append(Overlap(key, example, path, text, "near copy", 1.0))
        elif index is not None and (hit := index.best(example.text)):
            overlaps.append(Overlap(key, example, hit[0], hit[1], "near copy", round(hit[2], 3)))
    return overlaps


def heldout_public_duplicates(examples: list[Example]) -> list[tuple[Example, Example]]:
    """(held-out, public) pairs with the same normalised text: a held-out sentence should be our own."""
    public: dict[str, Example] = {}
    for example in examples:
        if example.set != "heldout" and example.label:
            public.setdefault(normalise(example.text), example)
    return [(example, public[key]) for example in examples
            if example.set == "heldout" and (key := normalise(example.text)) in public]


def describe(overlaps: list[Overlap]) -> list[str]:
    """One line per overlapping sentence, for the console."""
    return [f"  [{o.example.set}/{o.example.lang} {o.example.part}] {o.example.text!r} "
            + ("==" if o.kind == "copy" else f"~= ({o.kind}, {o.similarity:.2f})")
            + f" {o.training_file}: {o.training_text!r}" for o in overlaps]
