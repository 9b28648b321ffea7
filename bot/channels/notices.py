"""What the channel itself says when a turn cannot answer, in the customer's language (the words
are in kit/texts.yml).

- TROUBLE: a process the turn needs failed (the action server, the backend, Rasa's stores) or the
  turn ran past its deadline. The message is in the backend's inbound log, where the merchant sees
  it, so "we'll get back to you" holds.
- NOT_UNDERSTOOD: the turn ran but said nothing while no person has the conversation (a safety net:
  the rules and domain are meant to answer every message).
"""
from __future__ import annotations

from typing import Dict, Optional

from kit import texts

TROUBLE: Dict[str, str] = texts.table("channel.trouble")
NOT_UNDERSTOOD: Dict[str, str] = texts.table("channel.not_understood")


def language_for(text: str, conversation_language: Optional[str], tenant_language: str) -> str:
    """The conversation's reply language when known, else the language the text is written in,
    else the merchant's primary language."""
    from bot.channels import merchant_status  # rasa side only; e2e tests import the texts

    if conversation_language in TROUBLE:
        return str(conversation_language)
    return merchant_status.reply_language(text, tenant_language)
