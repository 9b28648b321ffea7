"""The web app speaks English and Swahili everywhere: both catalogues hold the same keys (a key
in one only shows English to a Swahili reader), and every placeholder of a text is in its
translation."""
from __future__ import annotations

import string

from backend.web import i18n


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_every_key() -> None:
    assert sorted(set(i18n.EN) - set(i18n.SW)) == []
    assert sorted(set(i18n.SW) - set(i18n.EN)) == []


def test_translations_keep_the_placeholders() -> None:
    differ = {key: (_fields(i18n.EN[key]), _fields(i18n.SW[key])) for key in i18n.EN
              if key in i18n.SW and _fields(i18n.EN[key]) != _fields(i18n.SW[key])}
    assert differ == {}
