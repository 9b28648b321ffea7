"""Rasa NLU component that tags each message as English, Swahili, Sheng or mixed."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components import language_lexicon as lex
from bot.components.rule_extractor import RuleExtractor

LANGUAGE_ENTITY = "language"
DETECTION_KEY = "language_detection"
CLEAR_LANGUAGES = ("en", "sw", "sheng")
MIXED = "mixed"

# Tokens containing a digit (2k, 0712345678, 42) are language-neutral and skipped.
_TOKEN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_HAS_DIGIT = re.compile(r"\d")
_SW_SYLLABLE = (
    r"(?:(?:ch|sh|th|dh|gh|ny|ng|mb|nd|nj|nz|mv|[bcdfghjklmnprstvwyz])w?y?)?[aeiou]"
    r"|m(?=[bcdfghjklnprstvwyz])|n(?=[dgjz])"
)
_SW_WORD = re.compile(rf"^(?:{_SW_SYLLABLE})+$")
_SUBJECT_TENSE = (
    rf"(?:{'|'.join(lex.SUBJECT_PREFIXES)})(?:{'|'.join(lex.TENSE_MARKERS)})"
)
_SW_VERB = re.compile(rf"^(?:{_SUBJECT_TENSE}|na|ku)[a-z]{{3,}}$")
# Swahili prefixes (infinitive ku-, subject+tense, bare subject) with an optional object
# marker, as they wrap English stems in Sheng: kubuy, nimepay, unicheki, nitakucancel.
_SHENG_PREFIX = re.compile(
    rf"(?:ku|{_SUBJECT_TENSE}|na|ni|tu|m|u|a|wa)(?:{'|'.join(lex.OBJECT_MARKERS)})?"
)
_EN_SUFFIX = re.compile(r"^[a-z]{2,}(?:ing|ed|tion|ly|ness|ful)$")

# Thresholds of the decision rule (see `decide`).
DOMINANT_SHARE = 0.67
SHENG_SHARE = 0.3
SHENG_VS_ENGLISH = 0.25


@dataclass(frozen=True)
class Detection:
    """Result for one text: language code (None when nothing is recognisable)."""

    language: Optional[str]
    scores: Dict[str, float]
    confidence: float


def normalise(text: str) -> List[str]:
    """Lower-cases, strips accents, apostrophes and hyphens; drops tokens with digits."""
    text = unicodedata.normalize("NFKD", text.lower().replace("\u2019", "'"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return [
        token.replace("'", "").replace("-", "")
        for token in _TOKEN.findall(text)
        if not _HAS_DIGIT.search(token)
    ]


def _is_english_stem(rest: str) -> bool:
    return any(
        rest.endswith(suffix) and rest[: len(rest) - len(suffix)] in lex.SHENG_VERB_STEMS
        for suffix in lex.SHENG_VERB_SUFFIXES
    )


def _is_sheng_verb(token: str) -> bool:
    return any(
        _SHENG_PREFIX.fullmatch(token[:cut]) and _is_english_stem(token[cut:])
        for cut in range(1, len(token) - 2)
    )


def _is_sheng_form(token: str) -> bool:
    """ku-order, nimepay, tucheki, mashoes, ka-jacket: Swahili grammar round English."""
    if token[:2] in lex.SHENG_NOUN_PREFIXES and token[2:] in lex.SHENG_NOUNS:
        return True
    return _is_sheng_verb(token)


def _is_sasa_greeting(tokens: List[str], index: int) -> bool:
    """'sasa' opening a short message is the Sheng greeting, not 'now'."""
    return index == 0 and len(tokens) <= 3


def token_evidence(tokens: List[str], index: int) -> Optional[Tuple[str, float]]:
    """Returns (language, weight) for one token, or None when it is neutral."""
    token = tokens[index]
    if len(token) == 1 and token not in ("i", "u", "a"):
        return None
    if token in lex.NEUTRAL_WORDS:
        return None
    if token == "sasa":
        return ("sheng", 1.0) if _is_sasa_greeting(tokens, index) else ("sw", 1.0)
    if token in lex.SHENG_WORDS:
        return "sheng", 1.0
    if token in lex.SHENG_WEAK:
        return "sheng", lex.SHENG_WEAK[token]
    if token in lex.ENGLISH_WEAK:
        return "en", lex.ENGLISH_WEAK[token]
    if token in lex.ENGLISH_WORDS:
        return "en", 1.0
    if token in lex.SWAHILI_WORDS:
        return "sw", 1.0
    if _is_sheng_form(token):
        return "sheng", 1.0
    if _SW_VERB.match(token) and _SW_WORD.match(token):
        return "sw", 0.75
    if _EN_SUFFIX.match(token) and not _SW_WORD.match(token):
        return "en", 0.5
    return None


def score(text: str) -> Dict[str, float]:
    """Sums the evidence of every token per language."""
    scores = {"en": 0.0, "sw": 0.0, "sheng": 0.0}
    tokens = normalise(text)
    for index in range(len(tokens)):
        evidence = token_evidence(tokens, index)
        if evidence:
            scores[evidence[0]] += evidence[1]
    return {code: round(value, 3) for code, value in scores.items()}


def decide(scores: Dict[str, float]) -> Detection:
    """Sheng markers win unless drowned in English; else the dominant language or mixed.

    Sheng: one strong marker (niaje, msee, ndula, ku-order ...) that is not outweighed
    four to one by English, or weak markers (mambo, boda ...) making up 30 % of the
    evidence. Otherwise English or Swahili when it holds two thirds of the evidence.
    """
    en, sw, sheng = scores["en"], scores["sw"], scores["sheng"]
    total = en + sw + sheng
    if total == 0:
        return Detection(None, scores, 0.0)
    strong_sheng = sheng >= 1 and sheng >= SHENG_VS_ENGLISH * en
    if strong_sheng or (sheng > 0 and sheng / total >= SHENG_SHARE):
        return Detection("sheng", scores, round(min(0.99, 0.5 + 0.25 * sheng), 3))
    share_en = en / (en + sw)
    evidence = min(1.0, 0.6 + 0.2 * (en + sw))
    if share_en >= DOMINANT_SHARE:
        return Detection("en", scores, round(share_en * evidence, 3))
    if share_en <= 1 - DOMINANT_SHARE:
        return Detection("sw", scores, round((1 - share_en) * evidence, 3))
    return Detection("mixed", scores, round(evidence / 2, 3))


def detect(text: str) -> Detection:
    """Detects the language of one message text."""
    return decide(score(text or ""))


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class LanguageDetector(RuleExtractor):
    """Adds a `language` entity (en, sw, sheng or mixed) and `language_detection` to messages.

    A message with no language evidence at all ("2", "0712345678", an emoji) gets no entity: the
    conversation keeps its language. "mixed" is reported for analytics; the assistant's language slot
    keeps its last clear value on mixed messages (actions/language.py).
    """

    def process_message(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        detection = detect(text)
        message.set(
            DETECTION_KEY,
            {"language": detection.language, "scores": detection.scores},
            add_to_output=True,
        )
        if detection.language not in (*CLEAR_LANGUAGES, MIXED):
            return  # nothing recognisable: no evidence either way
        self.add_entity(message, language_entity(text, detection))


def language_entity(text: str, detection: Detection) -> Dict[str, Any]:
    """The entity dict for a detection.

    Zero-width span at the end of the text: Rasa's entity evaluation and story writer
    need `start`/`end`, and a span there never overlaps or shares a start position with
    a real entity (which would make Rasa's training-data writer raise).
    """
    return {
        "entity": LANGUAGE_ENTITY,
        "value": detection.language,
        "start": len(text),
        "end": len(text),
        "confidence": detection.confidence,
        "confidence_entity": detection.confidence,
    }
