"""Fuzzy matching of what a customer wrote ("the black boots", "viatu nyeusi") to products."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

WORD = re.compile(r"[^\W_]+")
# Words that say nothing about which product: English, Swahili and Sheng fillers.
STOP_WORDS = frozenset(
    "the a an i want need please some one ones that this those these of for with in size "
    "colour color nataka ile hii hizo zile za ya wa la na kwa ni nipe naomba niko moja "
    "pair pairs the".split()
)
MIN_WORD_SIMILARITY = 0.75


@dataclass(frozen=True)
class Candidate:
    """A product as the matcher sees it: its words, and each variant's attribute words."""

    product_id: int
    title: str
    words: tuple[str, ...]  # title and category
    variants: tuple[tuple[int, tuple[str, ...]], ...]  # (variant id, attribute values)


@dataclass(frozen=True)
class Match:
    product_id: int
    title: str
    score: float  # 0..1
    variant_id: int | None  # the variant whose attributes matched best, if any did


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text) if w.lower() not in STOP_WORDS]


@lru_cache(maxsize=65_536)  # a catalog's vocabulary is small: most pairs repeat across products
def _similarity(word: str, other: str) -> float:
    if word == other:
        return 1.0
    if len(word) >= 3 and other.startswith(word) or len(other) >= 3 and word.startswith(other):
        return 0.9  # "boot" / "boots", "sneak" / "sneakers"
    return SequenceMatcher(None, word, other).ratio()


def _best(word: str, pool: Iterable[str]) -> float:
    best = max((_similarity(word, other) for other in pool), default=0.0)
    return best if best >= MIN_WORD_SIMILARITY else 0.0


def score(query: list[str], candidate: Candidate) -> Match:
    """Mean over the query's words of their best likeness to a word of the product (titles
    and categories) or of one variant (colours, sizes); the variant adding most is reported."""
    title_scores = [_best(word, candidate.words) for word in query]
    best_total, best_variant = sum(title_scores), None
    for variant_id, attributes in candidate.variants:
        total = sum(max(t, _best(word, attributes))
                    for word, t in zip(query, title_scores, strict=True))
        if total > best_total:
            best_total, best_variant = total, variant_id
    # A match on attributes alone ("black") is no product match.
    if not any(title_scores):
        return Match(candidate.product_id, candidate.title, 0.0, None)
    return Match(candidate.product_id, candidate.title, round(best_total / len(query), 4),
                 best_variant)


def rank(text: str, candidates: Iterable[Candidate], limit: int = 5,
         threshold: float = 0.3) -> list[Match]:
    """The best `limit` matches scoring at least `threshold`, best first (ties: lower id)."""
    query = words(text)
    if not query:
        return []
    matches = [m for m in (score(query, c) for c in candidates) if m.score >= threshold]
    matches.sort(key=lambda m: (-m.score, m.product_id))
    return matches[:limit]
