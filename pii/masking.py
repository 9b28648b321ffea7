"""Phone numbers out of logs and stored payloads: `+254712345111` becomes `+2547****111`.

Standard library only, so the backend (Python 3.11), the rasa channel and the action server
(Python 3.10) import the same rules. `install()` masks every log record of the process, whatever
logger or handler writes it (a record factory, so handlers added later are covered too);
`PhoneMaskFilter` is the same thing as a `logging.Filter` for a handler or a JSON formatter.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Callable, Optional

MASK = "****"
# A run of digits, optionally with a leading "+" (or "%2B" in a URL) and single spaces or dashes between digits
# ("+254 712 345 111"), not glued to letters or other digits (ids and hex tokens stay whole).
_CANDIDATE = re.compile(r"(?<![\w+])(?:\+|%2[Bb])?\d(?:[ \-]?\d){7,14}(?!\w)")
# Without a "+", only the spellings of East African mobiles count as phones, so that amounts,
# dates (20261206093000) and order numbers are left alone.
_NATIONAL = re.compile(r"^0[17]\d{8}$")
_INTERNATIONAL = re.compile(r"^25[4-6][17]\d{8}$")
# Payload keys whose value is a phone whatever it looks like (Daraja, Paystack, Pesapal, ours).
PHONE_KEYS = frozenset({
    "msisdn", "phonenumber", "phone", "phone_number", "partya", "mobile", "mobilenumber",
    "customer_phone", "from_number", "to_number", "receiverpartypublicname",
})


def _is_phone(digits: str, plus: bool) -> bool:
    if plus:
        return 8 <= len(digits) <= 15
    return bool(_NATIONAL.match(digits) or _INTERNATIONAL.match(digits))


def mask_digits(digits: str, plus: bool = False) -> str:
    """`254712345111` → `2547****111`, `0712345111` → `07****111`; the country code and the
    last three digits stay, enough to tell numbers apart without revealing one."""
    keep = 2 if digits.startswith("0") else 4
    return ("+" if plus else "") + digits[:keep] + MASK + digits[-3:]


def _replace(match: "re.Match[str]", mask: Callable[[str, bool], str]) -> str:
    text = match.group(0)
    plus = text.startswith(("+", "%2B", "%2b"))  # "%2B": a "+" in a logged URL's query
    digits = re.sub(r"\D", "", text[3:] if text.startswith("%") else text)
    return mask(digits, plus) if _is_phone(digits, plus) else text


def mask_phones(text: str, mask: Optional[Callable[[str, bool], str]] = None) -> str:
    """`text` with every phone number masked (or replaced by `mask(digits, has_plus)`)."""
    if not text or not any(ch.isdigit() for ch in text):
        return text
    chosen = mask or mask_digits
    return _CANDIDATE.sub(lambda match: _replace(match, chosen), text)


def _mask_value(value: Any) -> Any:
    """A value stored under a phone key: masked whatever its spelling or type."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, str)):
        text = str(value).strip()
        masked = mask_phones(text)
        if masked != text:
            return masked  # "254712345111 - Jane Doe" keeps the name
        digits = re.sub(r"\D", "", text)
        if len(digits) >= 8 and not re.search(r"[^\d+ \-()]", text):
            return mask_digits(digits, text.startswith("+"))
        return value
    return mask_payload(value)


def mask_payload(value: Any) -> Any:
    """A JSON-like value with phones masked: values of phone keys (`MSISDN`, `PhoneNumber`,
    Daraja's `{"Name": "PhoneNumber", "Value": 2547…}` items) and phones inside any string."""
    if isinstance(value, dict):
        named = str(value.get("Name") or value.get("name") or value.get("Key") or ""
                    ).replace(" ", "").lower()
        out = {}
        for key, item in value.items():
            if str(key).replace(" ", "").lower() in PHONE_KEYS or (
                    named in PHONE_KEYS and str(key).lower() == "value"):
                out[key] = _mask_value(item)
            else:
                out[key] = mask_payload(item)
        return out
    if isinstance(value, list):
        return [mask_payload(item) for item in value]
    if isinstance(value, str):
        return mask_phones(value)
    return value


class PhoneMaskFilter(logging.Filter):
    """Masks phones in a record's message, arguments and traceback; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Render the message once, masked, so no formatter or handler sees the raw arguments."""
    if getattr(record, "_phones_masked", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 — a bad format string stays as logging would show it
        message = str(record.msg)
    record.msg, record.args = mask_phones(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_phones(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_phones(record.stack_info)
    record._phones_masked = True
    return record


_installed = False


def install() -> None:
    """Mask every log record this process creates from now on (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return mask_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True
