"""What the channel itself says when a turn cannot answer: in the customer's language.

- TROUBLE: a process the turn needs failed (the action server, the backend, Rasa's stores) or the
  turn ran past its deadline. The message is in the backend's inbound log, where the merchant sees
  it, so "we'll get back to you" holds.
- NOT_UNDERSTOOD: the turn ran but said nothing while no person has the conversation (a safety net:
  the rules and domain are meant to answer every message).
"""
from __future__ import annotations

from typing import Dict, Optional

TROUBLE: Dict[str, str] = {
    "en": "Sorry, we're having trouble on our side right now. We have your message and will get "
          "back to you soon.",
    "sw": "Samahani, tuna tatizo kwa upande wetu kwa sasa. Tumepokea ujumbe wako na tutakujibu "
          "hivi karibuni.",
    "sheng": "Pole, tuko na shida upande wetu sa hii. Tumepata message yako na tutakujibu soon.",
}
NOT_UNDERSTOOD: Dict[str, str] = {  # worded unlike domain's utter_default, to tell them apart
    "en": "Sorry, I couldn't answer that one. Could you say it another way?",
    "sw": "Samahani, sikuweza kujibu hilo. Unaweza kusema kwa njia nyingine?",
    "sheng": "Pole, sikuweza kujibu hiyo. Unaeza sema kwa njia ingine?",
}


def language_for(text: str, conversation_language: Optional[str], tenant_language: str) -> str:
    """The conversation's reply language when known, else the language the text is written in,
    else the merchant's primary language."""
    from bot.channels import availability  # rasa's side only: the texts above are shared with tests

    if conversation_language in TROUBLE:
        return str(conversation_language)
    return availability.reply_language(text, tenant_language)
