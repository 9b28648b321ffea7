"""The translations file: every text in the three languages, with the same placeholders."""
from __future__ import annotations

import string
from typing import Any, Dict, Iterator, Tuple

from kit import texts


def entries(node: Dict[str, Any], name: str = "") -> Iterator[Tuple[str, Dict[str, str]]]:
    """(dotted name, {language: text}) for every text under `node`."""
    if set(node) & {*texts.LANGUAGES, "all"}:
        yield name, node
        return
    for key, child in node.items():
        yield from entries(child, f"{name}.{key}" if name else str(key))


def placeholders(text: str) -> set:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def test_every_text_is_in_the_three_languages_with_the_same_placeholders():
    found = dict(entries(texts._texts()))
    assert "channel.trouble" in found and "payments.failures.1032" in found
    for name, by_language in found.items():
        if set(by_language) == {"all"}:  # one bilingual text (channel.text_only)
            continue
        assert set(by_language) == set(texts.LANGUAGES), name
        assert len({frozenset(placeholders(t)) for t in by_language.values()}) == 1, name


def test_a_language_we_do_not_write_falls_back_to_english():
    assert texts.text("channel.trouble", "fr") == texts.text("channel.trouble", "en")
    assert texts.text("channel.trouble", None).startswith("Sorry, we're having trouble")
    assert texts.word("orders.status", "paid", "sw") == "imelipwa, inaandaliwa"
    assert texts.word("orders.status", "lost", "sw") == "lost"  # unknown: the key itself
