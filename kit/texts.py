"""The customer-facing words that live outside Rasa's responses, read from kit/texts.yml.

Conversation designers edit that one file; the channel, the actions and the backend (which has no
Rasa domain to render from) all read it here.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Optional

import yaml

LANGUAGES = ("en", "sw", "sheng")
DEFAULT_LANGUAGE = "en"
TEXTS_FILE = Path(__file__).with_name("texts.yml")


@lru_cache(maxsize=1)
def _texts() -> Dict[str, Any]:
    with TEXTS_FILE.open(encoding="utf-8") as file:
        return yaml.safe_load(file)


def table(name: str) -> Dict[str, Any]:
    """The entry a dotted name picks ("channel.trouble" → {"en": …, "sw": …, "sheng": …})."""
    entry: Any = _texts()
    for key in name.split("."):
        entry = entry[key]
    return entry


def reply_language(language: Optional[str]) -> str:
    """`language` when the texts carry it, else English."""
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def text(name: str, language: Optional[str]) -> str:
    """One text in the customer's language (English when the language is not one of ours)."""
    return str(table(name)[reply_language(language)])


def word(name: str, key: str, language: Optional[str]) -> str:
    """The `key` entry of a table of words ("orders.status", "paid") in a language; the key itself
    when the table has no such entry."""
    entry = table(name).get(key)
    return str(entry[reply_language(language)]) if entry else key
