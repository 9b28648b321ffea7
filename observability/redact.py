"""Masks phone numbers and secrets in anything about to leave a process (log lines, error reports).

Phones follow the one rule set of pii.masking (what the stored payloads use too); this module adds
credentials: auth schemes and token/key/secret/password parameters.

`redact` applies the masks below and then every function given to `register`: the place for a
stricter masker (e.g. the privacy module's) without touching the formatter that calls it.
"""
from __future__ import annotations

import re
from typing import Any, Callable, List

from pii.masking import mask_phones

Redactor = Callable[[str], str]

_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{4,}", re.IGNORECASE)
_SECRET_PARAM = re.compile(
    r"(?P<name>\b(?:[\w-]*token|api[_-]?key|secret|password|signature|passkey)\b[\"']?\s*[=:]\s*[\"']?)"
    r"(?P<value>[^&\s\"',;}]+)",
    re.IGNORECASE,
)
MASK = "[redacted]"
# Text with none of these cannot match the masks above: skip them (most log fields).
_MAYBE = re.compile(r"\d|bearer|basic|token|key|secret|password|signature", re.IGNORECASE)

_registered: List[Redactor] = []


def register(redactor: Redactor) -> None:
    """Add a masking function run after the built-in masks (idempotent)."""
    if redactor not in _registered:
        _registered.append(redactor)


def redact(text: str) -> str:
    """`text` with phone numbers masked as everywhere else (pii.masking: +2547****678) and tokens
    replaced by [redacted]."""
    if _MAYBE.search(text):
        text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {MASK}", text)
        text = _SECRET_PARAM.sub(lambda m: m.group("name") + MASK, text)
        text = mask_phones(text)
    for redactor in _registered:
        text = redactor(text)
    return text


def redact_value(value: Any) -> Any:
    """Redact every string inside dicts, lists and tuples (keys too); other values unchanged."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_value(k) if isinstance(k, str) else k: redact_value(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(v) for v in value)
    return value
