"""The merchant's status as the channel applies it: an inactive subscription replaces the turn with
a notice; quiet hours only change what a handoff promises (the assistant answers at any hour).

A suspended tenant's customers are told the shop cannot take messages here (the message is still
logged for the merchant). During quiet hours the turn carries `quiet_until` in its metadata
(kit/clock.py), so a request for a person is answered with when the team is back.
"""
from __future__ import annotations

from bot.components.language import detect
from kit import texts


def reply_language(text: str, fallback: str) -> str:
    """The language the customer wrote in, else the merchant's primary language, else English."""
    detected = detect(text).language
    if detected in texts.LANGUAGES:
        return detected
    return texts.reply_language(fallback)


def inactive_notice(text: str, merchant_language: str, merchant_name: str) -> str:
    """What a suspended merchant's customer reads instead of an answer."""
    return texts.text("channel.inactive", reply_language(text, merchant_language)).format(
        name=merchant_name)
