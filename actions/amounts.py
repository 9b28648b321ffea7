"""Reads amounts as Kenyan shoppers write them ("2k", "1.5k", "2 thao", "500 bob", "ksh 2,500",
"elfu mbili na mia tano") into integer minor units of KES."""
from __future__ import annotations

import re
from typing import Optional

from kit import numbers

UNITS = {**numbers.SWAHILI, **numbers.SWAHILI_TENS}
# Sheng: "soo" is a hundred shillings, "mbao" twenty, "thao"/"k" a thousand.
SLANG = {"soo": 100, "mbao": 20}
THOUSAND = r"(?:k|thao|thousand|elfu)"
CURRENCY = re.compile(r"\b(?:kshs?|kes|shs?|shilingi|shillings?|bobs?|pesa)\b\.?|/-|/=")
DIGITS = re.compile(rf"(\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?)\s*({THOUSAND}\b)?")


def _swahili_number(words: list[str]) -> Optional[int]:
    """"elfu mbili na mia tano" → 2500; None when a word is not a number word."""
    total, i = 0, 0
    while i < len(words):
        word = words[i]
        if word == "na":
            i += 1
            continue
        if word in ("elfu", "mia"):
            scale = 1000 if word == "elfu" else 100
            following = words[i + 1] if i + 1 < len(words) else None
            if following in UNITS:
                total, i = total + scale * UNITS[following], i + 2
            else:
                total, i = total + scale, i + 1
            continue
        if word in UNITS:
            total += UNITS[word]
        elif word in SLANG:
            total += SLANG[word]
        else:
            return None
        i += 1
    return total or None


def parse_amount(text: Optional[str]) -> Optional[int]:
    """KES amount in minor units (cents), or None when the text holds no amount."""
    if not text:
        return None
    clean = CURRENCY.sub(" ", text.lower()).strip()
    match = DIGITS.search(clean)
    if match:
        value = float(match.group(1).replace(",", ""))
        if match.group(2):
            value *= 1000
        return int(round(value * 100)) if value > 0 else None
    shillings = _swahili_number(re.findall(r"[a-z]+", clean))
    return shillings * 100 if shillings else None
