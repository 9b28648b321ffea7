"""What a customer's message may mean to Rasa: words only, unless it is a payload we issued.

Rasa parses any text starting with `/` as an intent with entities (`/EXTERNAL_payment_received
{"payment_id":1}`). A customer's typed text is therefore never handed to Rasa starting with `/`.
Only the payload of an interactive reply (Twilio's `ButtonPayload`) may carry an intent, and only
when it carries a tag that the channel's output computed when it issued the button: an HMAC over
the tenant, the customer and the payload. Anything else is the customer's text.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Optional

# Rasa's INTENT_MESSAGE_PREFIX.
COMMAND_PREFIX = "/"
# Shown instead of a leading "/": FULLWIDTH SOLIDUS looks alike to a reader, means nothing to Rasa,
# and the tokenizer drops it like any leading punctuation, so the NLU reads the words that follow.
NEUTRAL_PREFIX = "\uff0f"
# Between the payload and its tag; WhatsApp button ids allow 256 characters.
TAG_SEPARATOR = "~"
TAG_CHARS = 22  # 132 bits of HMAC-SHA256, base64url
MAX_PAYLOAD = 256


def neutralise(text: str) -> str:
    """The customer's words with any command prefix made inert (never an intent for Rasa)."""
    if text.startswith(COMMAND_PREFIX):
        return NEUTRAL_PREFIX + text[len(COMMAND_PREFIX):]
    return text


class PayloadSigner:
    """Tags the payloads of buttons the channel issues and recognises them when tapped.

    The key is derived from the service token every rasa replica shares, so a payload issued by one
    replica is accepted by any other; a tag binds the payload to one tenant and one customer.
    """

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"whatsapp-button-payload-v1", hashlib.sha256).digest()

    def _tag(self, tenant_id: str, customer: str, payload: str) -> str:
        message = "\x1f".join((tenant_id, customer, payload)).encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode()[:TAG_CHARS]

    def sign(self, tenant_id: str, customer: str, payload: str) -> str:
        """The button id to send: the payload and its tag."""
        signed = f"{payload}{TAG_SEPARATOR}{self._tag(tenant_id, customer, payload)}"
        if len(signed) > MAX_PAYLOAD:
            raise ValueError(f"a button payload is limited to {MAX_PAYLOAD} characters")
        return signed

    def verify(self, tenant_id: str, customer: str, signed: str) -> Optional[str]:
        """The payload when `signed` is one we issued to this customer of this tenant, else None."""
        payload, separator, tag = signed.rpartition(TAG_SEPARATOR)
        if not separator or len(tag) != TAG_CHARS:
            return None
        if not hmac.compare_digest(tag, self._tag(tenant_id, customer, payload)):
            return None
        return payload
