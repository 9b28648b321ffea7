"""Words the actions put inside responses, per language: catalog categories and budgets."""
from __future__ import annotations

from typing import Optional

from actions.money import format_money

CATEGORY = {
    "shoes": {"en": "shoes", "sw": "viatu", "sheng": "viatu"},
    "clothing": {"en": "clothes", "sw": "nguo", "sheng": "nguo"},
    "accessories": {"en": "accessories", "sw": "vifaa vya urembo", "sheng": "accessories"},
}
UNDER = {"en": "under", "sw": "chini ya", "sheng": "chini ya"}


def filter_label(language: Optional[str], category: Optional[str], query: Optional[str],
                 max_price: Optional[int]) -> str:
    """"shoes under KES 2,000" / "viatu chini ya KES 2,000" for the menu heading."""
    language = language if language in UNDER else "en"
    what = CATEGORY.get(category or "", {}).get(language) or query or ""
    if max_price is None:
        return what
    return f"{what} {UNDER[language]} {format_money(max_price)}".strip()
