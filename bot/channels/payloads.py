"""What a customer's message may mean to Rasa: words only, unless it is a payload we issued.

Rasa parses any text starting with `/` as an intent with entities (`/EXTERNAL_payment_received
{"payment_id":1}`). A customer's typed text is therefore never handed to Rasa starting with `/`.
Only the payload of an interactive reply (Twilio's `ButtonPayload` of a button, `ListId` of a list
row) may carry an intent, and only when it carries a tag that the channel computed when it issued
the button or row: an HMAC over the tenant, the customer, the payload and when it was issued.
A payload older than its time to live is stale. Anything else is the customer's text.

Signed rather than kept in a server-side map: every rasa replica checks a payload with the shared
key alone (no store to reach while answering, nothing lost when Redis restarts), and the signed
id fits the 200 characters a list row's id may have.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Optional

# Rasa's INTENT_MESSAGE_PREFIX.
COMMAND_PREFIX = "/"
# Shown instead of a leading "/": FULLWIDTH SOLIDUS looks alike to a reader, means nothing to Rasa,
# and the tokenizer drops it like any leading punctuation, so the NLU reads the words that follow.
NEUTRAL_PREFIX = "\uff0f"
# Between the payload, its issue time and its tag; a list row's id allows 200 characters.
TAG_SEPARATOR = "~"
TAG_CHARS = 22  # 132 bits of HMAC-SHA256, base64url
MAX_PAYLOAD = 200
# A tap on a button or row issued longer ago than this is stale (a menu pick is valid for 15
# minutes: actions/menu.py MENU_TTL_SECONDS).
DEFAULT_TTL_SECONDS = 900
CLOCK_SKEW_SECONDS = 60  # replicas' clocks may differ a little


def neutralise(text: str) -> str:
    """The customer's words with any command prefix made inert (never an intent for Rasa)."""
    if text.startswith(COMMAND_PREFIX):
        return NEUTRAL_PREFIX + text[len(COMMAND_PREFIX):]
    return text


class PayloadSigner:
    """Tags the payloads of buttons and list rows the channel issues and recognises them when
    tapped.

    The key is derived from the service token every rasa replica shares, so a payload issued by one
    replica is accepted by any other; a tag binds the payload to one tenant, one customer and the
    moment it was issued.
    """

    def __init__(self, secret: str, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> None:
        self._key = hmac.new(secret.encode(), b"whatsapp-button-payload-v1", hashlib.sha256).digest()
        self.ttl_seconds = ttl_seconds

    def _tag(self, tenant_id: str, customer: str, payload: str, issued: str) -> str:
        message = "\x1f".join((tenant_id, customer, payload, issued)).encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode()[:TAG_CHARS]

    def sign(self, tenant_id: str, customer: str, payload: str,
             now: Optional[float] = None) -> str:
        """The button or row id to send: the payload, when it was issued, and its tag."""
        issued = _base36(int(time.time() if now is None else now))
        signed = (f"{payload}{TAG_SEPARATOR}{issued}{TAG_SEPARATOR}"
                  f"{self._tag(tenant_id, customer, payload, issued)}")
        if len(signed) > MAX_PAYLOAD:
            raise ValueError(f"a button payload is limited to {MAX_PAYLOAD} characters")
        return signed

    def verify(self, tenant_id: str, customer: str, signed: str,
               now: Optional[float] = None) -> Optional[str]:
        """The payload when `signed` is one we issued to this customer of this tenant within the
        time to live, else None (forged, foreign or stale)."""
        rest, separator, tag = signed.rpartition(TAG_SEPARATOR)
        payload, separator2, issued = rest.rpartition(TAG_SEPARATOR)
        if not (separator and separator2) or len(tag) != TAG_CHARS:
            return None
        if not hmac.compare_digest(tag, self._tag(tenant_id, customer, payload, issued)):
            return None
        try:
            age = (time.time() if now is None else now) - int(issued, 36)
        except ValueError:
            return None
        if not -CLOCK_SKEW_SECONDS <= age <= self.ttl_seconds:
            return None
        return payload


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, digit = divmod(number, 36)
        out = digits[digit] + out
        if number == 0:
            return out
