"""The conversation id every process builds and reads, and the one table of number words."""
from __future__ import annotations

import pytest

from kit import numbers
from kit.sender import sender_id, sender_tenant, split_sender


def test_sender_id_round_trip():
    assert sender_id("demo-shop", "c_7f3a") == "demo-shop:c_7f3a"
    assert split_sender("demo-shop:c_7f3a") == ("demo-shop", "c_7f3a")
    assert split_sender("demo-shop:+254712345678") == ("demo-shop", "+254712345678")
    assert split_sender(None) == ("", "")
    assert sender_tenant("demo-shop:c_7f3a") == "demo-shop"
    assert sender_tenant("default") is None and sender_tenant(None) is None


def test_swahili_words():
    assert [numbers.swahili_word(n) for n in (1, 10, 11, 12)] == [
        "moja", "kumi", "kumi na moja", "kumi na mbili"]
    assert numbers.SWAHILI_ORDINALS["pili"] == 2 and numbers.SWAHILI_ORDINALS["tatu"] == 3
    assert numbers.up_to(numbers.ENGLISH, 10) == {
        w: n for w, n in numbers.ENGLISH.items() if w not in ("eleven", "twelve")}
    with pytest.raises(ValueError):
        numbers.swahili_word(20)
