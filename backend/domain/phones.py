"""Phone numbers: every spelling customers and Twilio use, normalised to E.164 (KE default)."""

from __future__ import annotations

import phonenumbers

from backend.domain.errors import InvalidInput

DEFAULT_REGION = "KE"
WHATSAPP_SCHEME = "whatsapp:"


class InvalidPhoneNumber(InvalidInput):
    """A value that is not a valid phone number."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(
            f"{field} is not a valid phone number: {value!r}",
            {field: ["Not a valid phone number."]},
        )


def to_e164(raw: str, field: str = "number", region: str = DEFAULT_REGION) -> str:
    """'0712…', '254712…', '+254712…' and 'whatsapp:+254712…' all give '+254712…'."""
    value = raw.strip()
    if value.lower().startswith(WHATSAPP_SCHEME):
        value = value[len(WHATSAPP_SCHEME) :].strip()
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(field, raw) from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(field, raw)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_whatsapp_address(raw: str) -> bool:
    return raw.strip().lower().startswith(WHATSAPP_SCHEME)


def whatsapp_address(e164: str) -> str:
    """The Twilio address of a WhatsApp user: 'whatsapp:+254712345678'."""
    return f"{WHATSAPP_SCHEME}{e164}"
