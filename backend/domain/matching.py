"""Fuzzy matching of what a customer wrote to products ("the black boots", "viatu nyeusi") and to
bookable services ("box braidz", "kunyoa", "nataka kusuka kesho")."""

from __future__ import annotations

import re
import unicodedata
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


# --- services ------------------------------------------------------------------------------
# A service is named by a few words a customer may misspell, pluralise or say in Swahili or
# Sheng; a name fitting several services equally ("braids") is ambiguous and gives them all.

SERVICE_THRESHOLD = 0.6
# Scores this close to the best one are a tie: the name is ambiguous.
SERVICE_TIE = 0.05
# Swahili and Sheng words customers use for services, as the English words of service names.
SERVICE_WORDS = {
    "kusuka": "braids", "kusukwa": "braids", "msuko": "braids", "misuko": "braids",
    "kusuka nywele": "braids", "braid": "braids", "braiding": "braids", "mabraids": "braids",
    "kunyoa": "haircut", "kunyolewa": "haircut", "kunyoa nywele": "haircut", "kinyozi": "haircut",
    "kukata nywele": "haircut", "kunyoa ndevu": "haircut", "shave": "haircut",
    "hair cut": "haircut",
    "cut": "haircut", "kukata": "haircut",
    "kuosha nywele": "wash blowdry", "kuosha": "wash", "blow dry": "blowdry",
    "kublowdry": "blowdry",
    "kucha za miguu": "pedicure", "miguu": "pedicure", "kucha": "manicure",
    "kupaka kucha": "manicure", "nails": "manicure", "nail": "manicure",
    "wigi": "wig", "kuweka wig": "wig installation", "kuweka wigi": "wig installation",
    "make up": "makeup", "urembo": "makeup", "kupakwa makeup": "makeup",
    "rasta": "locs", "dreadlocks": "locs", "dreads": "locs", "kusokota": "locs retwist",
    "skrini": "screen", "kioo": "screen", "betri": "battery", "chaji": "charging",
    "kuflash": "flashing", "flash": "flashing", "kufungua simu": "unlocking", "unlock": "unlocking",
    "kushona": "tailoring", "suruali": "trouser", "viatu": "shoe", "kiatu": "shoe",
    "kupiga rangi viatu": "shoe shine", "zipu": "zip",
}
SERVICE_STOP_WORDS = frozenset(
    """a an the and for my me of to na ya za wa la cha kwa do you how much long is it
    service services appointment booking book nataka kubook natafuta nadai""".split())


@dataclass(frozen=True)
class ServiceCandidate:
    """A bookable service as the matcher sees it: name, category and variants' names."""

    service_id: int
    name: str
    category: str = ""
    variants: tuple[tuple[int, str], ...] = ()  # (variant id, name)


@dataclass(frozen=True)
class ServiceMatch:
    service_id: int
    name: str
    score: float  # 0..1
    variant_id: int | None  # the only variant, or the one the text names


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"(?<=\w)-(?=\w)", "", text)  # make-up → makeup, blow-dry → blowdry
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def service_words(text: str) -> list[str]:
    """The words of a service as customers name it, Swahili and Sheng mapped to English."""
    folded = f" {_fold(text)} "
    for phrase in sorted(SERVICE_WORDS, key=len, reverse=True):
        folded = folded.replace(f" {phrase} ", f" {SERVICE_WORDS[phrase]} ")
    return [w for w in folded.split() if w not in SERVICE_STOP_WORDS]


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def _word_score(word: str, others: Iterable[str]) -> float:
    best = 0.0
    for other in others:
        if _singular(word) == _singular(other):
            return 1.0
        ratio = SequenceMatcher(None, word, other).ratio()
        if ratio >= 0.75:
            best = max(best, ratio)
    return best


def service_score(words_: list[str], candidate: ServiceCandidate) -> float:
    """0..1: how well the customer's words name this service (typos and plurals tolerated)."""
    if not words_:
        return 0.0
    name = service_words(candidate.name)
    extra = service_words(candidate.category) + [
        w for _, variant in candidate.variants for w in service_words(variant)]
    if not name:
        return 0.0
    asked = sum(max(_word_score(w, name), 0.8 * _word_score(w, extra))
                for w in words_) / len(words_)
    covered = sum(_word_score(w, words_) for w in name) / len(name)
    whole = SequenceMatcher(None, "".join(words_), "".join(name)).ratio()
    # A variant or category named alone ("bridal", "gel") still points at its service.
    by_extra = 0.75 * sum(_word_score(w, extra) for w in words_) / len(words_)
    return max(0.7 * asked + 0.3 * covered, whole, by_extra)


def variant_named(candidate: ServiceCandidate, text: str) -> int | None:
    """The only variant, or the one whose name the text contains ("waist length", "gel")."""
    if len(candidate.variants) == 1:
        return candidate.variants[0][0]
    words_ = service_words(text)
    named = [variant_id for variant_id, name in candidate.variants
             if service_words(name) and all(_word_score(w, words_) >= 0.85
                                            for w in service_words(name))]
    return named[0] if len(named) == 1 else None


def _match(candidate: ServiceCandidate, score_: float, text: str) -> ServiceMatch:
    return ServiceMatch(candidate.service_id, candidate.name, round(score_, 4),
                        variant_named(candidate, text))


def rate_service(text: str, candidate: ServiceCandidate) -> ServiceMatch:
    """One service's score for a name, whatever it is, and the variant the text names."""
    return _match(candidate, service_score(service_words(text), candidate), text)


def match_service_name(text: str, candidates: Iterable[ServiceCandidate]) -> list[ServiceMatch]:
    """The services a name as typed points at, best first: one when clear, several when it is
    ambiguous ("braids": box or knotless), none below the threshold."""
    words_ = service_words(text)
    scored = sorted(((service_score(words_, c), c) for c in candidates), key=lambda p: -p[0])
    if not scored or scored[0][0] < SERVICE_THRESHOLD:
        return []
    best = scored[0][0]
    return [_match(c, score_, text) for score_, c in scored
            if score_ >= SERVICE_THRESHOLD and best - score_ < SERVICE_TIE]


def services_in_message(text: str, candidates: Iterable[ServiceCandidate]) -> list[ServiceMatch]:
    """The services a whole message names among other words ("nataka kunyoa kesho"): those
    whose every name word is in it, else those with the most ("kusuka": both braids); the
    score is the share of the name's words found."""
    words_ = service_words(text)
    if not words_:
        return []
    scored = []
    for candidate in candidates:
        name = service_words(candidate.name)
        if name:
            scored.append((sum(_word_score(w, words_) >= 0.85 for w in name) / len(name),
                           candidate))
    full = [(covered, c) for covered, c in scored if covered >= 0.99]
    if not full:
        best = max((covered for covered, _ in scored), default=0.0)
        full = [(covered, c) for covered, c in scored if covered == best] if best >= 0.5 else []
    return [_match(c, covered, text) for covered, c in full]
