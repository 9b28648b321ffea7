"""The overlap check: no evaluation sentence (held-out or public) may be a training sentence."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from evaluation.datasets import Example

_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower case, punctuation removed (every Unicode punctuation character: "don't" → "dont"),
    spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    return _SPACES.sub(" ", text).strip()


@dataclass(frozen=True)
class Overlap:
    """An evaluation sentence that is also trained on."""

    normalised: str
    example: Example
    training_file: str
    training_text: str


def find_overlaps(training: list[tuple[str, str]], examples: list[Example]) -> list[Overlap]:
    """Every evaluation example whose normalised text equals a normalised training sentence."""
    trained: dict[str, tuple[str, str]] = {}
    for path, text in training:
        key = normalise(text)
        if key:
            trained.setdefault(key, (path, text))
    overlaps = []
    for example in examples:
        key = normalise(example.text)
        if key in trained:
            path, text = trained[key]
            overlaps.append(Overlap(key, example, path, text))
    return overlaps


def heldout_public_duplicates(examples: list[Example]) -> list[tuple[Example, Example]]:
    """(held-out, public) pairs with the same normalised text: a held-out sentence should be our own."""
    public: dict[str, Example] = {}
    for example in examples:
        if example.set != "heldout":
            public.setdefault(normalise(example.text), example)
    return [(example, public[key]) for example in examples
            if example.set == "heldout" and (key := normalise(example.text)) in public]


def describe(overlaps: list[Overlap]) -> list[str]:
    """One line per overlapping sentence, for the console."""
    return [f"  [{o.example.set}/{o.example.lang} {o.example.part}] {o.example.text!r} "
            f"== {o.training_file}: {o.training_text!r}" for o in overlaps]
