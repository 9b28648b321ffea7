"""Rasa NLU component that turns "2", "the second one", "ya pili" into an `option` entity."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.rule_extractor import RuleExtractor
from kit import numbers

OPTION_ENTITY = "option"
LAST = "last"
MAX_OPTION = 10

EN_ORDINALS = {
    **dict.fromkeys(["first", "frist", "fisrt", "firts", "frst"], "1"),
    **dict.fromkeys(["second", "secnd", "seccond", "secound", "scond", "sekond"], "2"),
    **dict.fromkeys(["third", "thrid", "thid", "therd"], "3"),
    **dict.fromkeys(["fourth", "forth", "foth", "fouth"], "4"),
    **dict.fromkeys(["fifth", "fith", "fifht"], "5"),
    **dict.fromkeys(["sixth", "sixt"], "6"),
    **dict.fromkeys(["seventh", "sevnth"], "7"),
    **dict.fromkeys(["eighth", "eigth", "eightth"], "8"),
    **dict.fromkeys(["ninth", "nineth"], "9"),
    **dict.fromkeys(["tenth"], "10"),
    **dict.fromkeys(["last", "lst", "final"], LAST),
}
SW_ORDINALS = {
    **{word: str(n) for word, n in numbers.SWAHILI_ORDINALS.items()},
    "mwisho": LAST, "mwisyo": LAST,
}
CARDINALS = {word: str(n) for word, n in {**numbers.up_to(numbers.ENGLISH, MAX_OPTION),
                                          **numbers.SWAHILI}.items()}
ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})

# Swahili noun-class connectors: ya pili, la tatu, wa mwisho, cha kwanza, ile ya 2.
CONNECTORS = frozenset({"ya", "la", "wa", "cha", "vya", "za", "pa"})
# Words that announce a menu number: no 3, number 4, #2, option 2, namba mbili.
MARKERS = frozenset(
    """
    no nu num numb number nmbr nbr namba nambari option opt choice chaguo item pick
    choose select
    """.split()
)
# Nouns after which "ya pili" / "the first" is not a menu pick: mara ya kwanza (first
# time), mwezi wa tatu (March), bei ya 2 (price of two), the first time, my last order.
SW_BLOCKING_NOUNS = frozenset(
    """
    mara siku wiki mwezi mwaka saa tarehe dakika oda order bei size awamu kipindi
    """.split()
)
EN_BLOCKING_NEXT = frozenset(
    """
    time times day days week weeks month months year years night hand half order orders
    delivery payment visit purchase message minute minutes second seconds hour hours
    name place floor class chance thing of price prices deal offer discount
    """.split()
)
EN_BLOCKING_PREV = frozenset({"my", "our", "your", "his", "her", "their", "a", "at"})
ORDINAL_TRIGGERS_PREV = frozenset(
    {"the", "ile", "hiyo", "hio", "hii", "that", "this"} | CONNECTORS | MARKERS
)
ORDINAL_TRIGGERS_NEXT = frozenset({"one", "ones", "option", "item", "choice", "pick"})
# After a number: units, money, times and quantities ("2 pairs", "2 of those").
UNITS_AFTER = frozenset(
    """
    k bob bobs ksh kes sh shs thao thousand elfu pairs pair pcs pc pieces piece items
    units unit x kg g cm mm ml l litres liters am pm hrs hr hours hour days day weeks
    week months years year yrs miaka min mins minutes of dozen sizes size percent
    """.split()
)
# Before a number: sizes, money, times, dates and quantities.
BLOCKING_BEFORE = frozenset(
    """
    size sizes saa kes ksh kshs sh shs usd x qty quantity at by on before after from
    until tarehe elfu mia add ongeza mara
    """.split()
)
MONTHS = frozenset(
    """
    jan january feb february mar march apr april may jun june jul july aug august sep
    sept september oct october nov november dec december
    """.split()
)
# Words that may surround a bare pick without making it something else: "2 please".
FILLERS = frozenset(
    """
    please pls plz pliz plez tafadhali tafadhari ok okay k sawa poa thanks thank you
    thx asante sir madam maam boss msee bro sis yes yeah ndio ndiyo
    """.split()
)
DEMONSTRATIVES = frozenset({"the", "one", "ones", "ile", "hiyo", "hio", "hii", "that", "this"})
# Tokens that belong to a reference without adding meaning: "the second one", "ile ya 2".
_JOINERS = DEMONSTRATIVES | MARKERS | CONNECTORS | {".", "#"}

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+|\S", re.UNICODE)


@dataclass(frozen=True)
class Token:
    text: str  # lower-cased
    start: int
    end: int

    @property
    def is_word(self) -> bool:
        return self.text.isalpha()


@dataclass(frozen=True)
class OptionMatch:
    """A menu reference found in a text: normalised value and character span."""

    value: str
    start: int
    end: int
    confidence: float


def tokenize(text: str) -> List[Token]:
    return [Token(m.group().lower(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


class _Context:
    """Neighbour look-ups over the token list of one message."""

    def __init__(self, tokens: List[Token]) -> None:
        self.tokens = tokens

    def word_before(self, i: int, skip_dots: bool = False) -> Optional[Token]:
        j = i - 1
        while skip_dots and j >= 0 and self.tokens[j].text in (".", "#"):
            j -= 1
        return self.tokens[j] if j >= 0 and self.tokens[j].is_word else None

    def word_after(self, i: int) -> Optional[Token]:
        j = i + 1
        return self.tokens[j] if j < len(self.tokens) and self.tokens[j].is_word else None

    def text_before(self, i: int) -> str:
        return self.tokens[i - 1].text if i > 0 else ""

    def glued_after(self, i: int) -> Optional[Token]:
        """The token right after i with no space between (the 'k' of '2k')."""
        j = i + 1
        if j < len(self.tokens) and self.tokens[j].start == self.tokens[i].end:
            return self.tokens[j]
        return None

    def glued_before(self, i: int) -> Optional[Token]:
        j = i - 1
        if j >= 0 and self.tokens[j].end == self.tokens[i].start:
            return self.tokens[j]
        return None

    def is_bare(self, used: range) -> bool:
        """True when every token outside `used` is filler, punctuation or emoji."""
        return all(
            k in used or not tok.text.isalnum() or tok.text in FILLERS
            for k, tok in enumerate(self.tokens)
        )

    def extent(self, i: int) -> range:
        """Index range of token i plus adjoining demonstratives/markers ('the second one')."""
        lo, hi = i, i
        while lo > 0 and self.tokens[lo - 1].text in _JOINERS:
            lo -= 1
        while hi + 1 < len(self.tokens) and self.tokens[hi + 1].text in _JOINERS:
            hi += 1
        return range(lo, hi + 1)


def _connector_blocked(ctx: _Context, i: int) -> bool:
    """'mara ya kwanza', 'bei ya 2': the noun before the connector is not a menu."""
    before = ctx.word_before(i)
    if before is None or before.text not in CONNECTORS:
        return False
    noun = ctx.word_before(i - 1)
    return noun is not None and noun.text in SW_BLOCKING_NOUNS


def _digit_option(ctx: _Context, i: int) -> Optional[OptionMatch]:
    tok = ctx.tokens[i]
    if not tok.text.isdigit() or len(tok.text) > 2:
        return None
    value = int(tok.text)
    if not 1 <= value <= MAX_OPTION:
        return None
    glued_after, glued_before = ctx.glued_after(i), ctx.glued_before(i)
    if glued_after is not None and glued_after.text in ORDINAL_SUFFIXES:
        return _numeric_ordinal(ctx, i, value)
    if glued_after is not None and glued_after.text.isalnum():
        return None  # 2k, 10am, 2x, 42kg
    if glued_before is not None and glued_before.text in ("+", "$", "x"):
        return None
    after = ctx.word_after(i)
    if after is not None and after.text in UNITS_AFTER:
        return None
    before = ctx.word_before(i, skip_dots=True)
    if before is not None and before.text in BLOCKING_BEFORE:
        return None
    if _connector_blocked(ctx, i):
        return None
    marked = ctx.text_before(i) == "#" or (
        before is not None and (before.text in MARKERS or before.text in CONNECTORS)
    )
    if marked:
        return OptionMatch(str(value), tok.start, tok.end, 1.0)
    if ctx.is_bare(ctx.extent(i)):
        return OptionMatch(str(value), tok.start, tok.end, 0.9)
    return None


def _numeric_ordinal(ctx: _Context, i: int, value: int) -> Optional[OptionMatch]:
    """1st, 2nd, 3rd ... unless it is a date ('on the 3rd', '2nd May')."""
    tok, suffix = ctx.tokens[i], ctx.tokens[i + 1]
    after = ctx.word_after(i + 1)
    if after is not None and (after.text in MONTHS or after.text in EN_BLOCKING_NEXT):
        return None
    previous = {t.text for t in ctx.tokens[max(0, i - 2) : i]}
    if previous & {"on", "by", "tarehe", "before", "after", "from", "until", "size"}:
        return None
    return OptionMatch(str(value), tok.start, suffix.end, 1.0)


def _en_ordinal(ctx: _Context, i: int) -> Optional[OptionMatch]:
    tok = ctx.tokens[i]
    value = EN_ORDINALS.get(tok.text)
    if value is None:
        return None
    before, after = ctx.word_before(i), ctx.word_after(i)
    if before is not None and before.text in EN_BLOCKING_PREV:
        return None
    if after is not None and after.text in EN_BLOCKING_NEXT:
        return None
    if _connector_blocked(ctx, i):
        return None
    triggered = (
        (before is not None and before.text in ORDINAL_TRIGGERS_PREV)
        or (after is not None and after.text in ORDINAL_TRIGGERS_NEXT)
        or ctx.is_bare(ctx.extent(i))
    )
    return OptionMatch(value, tok.start, tok.end, 1.0) if triggered else None


def _sw_ordinal(ctx: _Context, i: int) -> Optional[OptionMatch]:
    tok = ctx.tokens[i]
    value = SW_ORDINALS.get(tok.text)
    if value is None:
        return None
    before, after = ctx.word_before(i), ctx.word_after(i)
    if after is not None and after.text == "na":
        return None  # ya kumi na mbili: beyond the menu
    if _connector_blocked(ctx, i):
        return None
    if before is not None and before.text in CONNECTORS:
        return OptionMatch(value, tok.start, tok.end, 1.0)
    if tok.text in ("pili", "kwanza", "mwisho") and ctx.is_bare(ctx.extent(i)):
        return OptionMatch(value, tok.start, tok.end, 0.9)
    return None


def _cardinal_word(ctx: _Context, i: int) -> Optional[OptionMatch]:
    """'namba mbili', 'number two', or a bare 'mbili' / 'three please'."""
    tok = ctx.tokens[i]
    value = CARDINALS.get(tok.text)
    if value is None:
        return None
    before = ctx.word_before(i, skip_dots=True)
    if before is not None and before.text in MARKERS:
        return OptionMatch(value, tok.start, tok.end, 1.0)
    if ctx.is_bare(range(i, i + 1)):
        return OptionMatch(value, tok.start, tok.end, 0.8)
    return None


_FINDERS = (_digit_option, _en_ordinal, _sw_ordinal, _cardinal_word)


def find_option(text: str) -> Optional[OptionMatch]:
    """The first menu reference in `text`, or None."""
    ctx = _Context(tokenize(text or ""))
    for i in range(len(ctx.tokens)):
        for finder in _FINDERS:
            match = finder(ctx, i)
            if match is not None:
                return match
    return None


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class MenuReferenceExtractor(RuleExtractor):
    """Adds an `option` entity ("1".."10" or "last") when a message picks a menu item."""

    def process_message(self, message: Message) -> None:
        match = find_option(message.get(TEXT) or "")
        if match is not None:
            self.add_entity(message, {
                "entity": OPTION_ENTITY, "value": match.value, "start": match.start,
                "end": match.end, "confidence": match.confidence,
                "confidence_entity": match.confidence})
