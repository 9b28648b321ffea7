"""Number words in English and Swahili: the one table the counts, amounts, dates and menu
references read ("mbili tu", "elfu mbili na mia tano", "saa tatu", "ya pili")."""
from __future__ import annotations

from typing import Dict

ENGLISH: Dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}
SWAHILI: Dict[str, int] = {
    "moja": 1, "mbili": 2, "tatu": 3, "nne": 4, "tano": 5, "sita": 6, "saba": 7, "nane": 8,
    "tisa": 9, "kumi": 10,
}
SWAHILI_TENS: Dict[str, int] = {
    "ishirini": 20, "thelathini": 30, "arobaini": 40, "hamsini": 50, "sitini": 60, "sabini": 70,
    "themanini": 80, "tisini": 90,
}
# Counting people takes the m-/wa- class: mtu mmoja, watu wawili.
SWAHILI_PEOPLE: Dict[str, int] = {"mmoja": 1, "wawili": 2, "watatu": 3}
# "ya kwanza", "ya pili"; from three on the ordinal is the cardinal (ya tatu, ya kumi).
SWAHILI_ORDINALS: Dict[str, int] = {
    "kwanza": 1, "pili": 2, **{word: n for word, n in SWAHILI.items() if n >= 3}}


def up_to(table: Dict[str, int], highest: int) -> Dict[str, int]:
    """The words of `table` for numbers no higher than `highest`."""
    return {word: n for word, n in table.items() if n <= highest}


def swahili_word(number: int) -> str:
    """1 → "moja", 12 → "kumi na mbili" (1 to 19)."""
    units = {n: word for word, n in SWAHILI.items()}
    if not 1 <= number <= 19:
        raise ValueError(f"no Swahili word for {number} here")
    return units[number] if number <= 10 else f"kumi na {units[number - 10]}"
