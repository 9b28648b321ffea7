"""What leaves a process (log lines, error reports) carries no phone and no credential, and phones
are masked by the same rules as the stored payloads (pii.masking)."""
from __future__ import annotations

import pytest

from observability.redact import redact, redact_value
from pii.masking import mask_phones


@pytest.mark.parametrize("text, expected", [
    ("Authorization: Bearer s3cr3t-token-value", "Authorization: Bearer [redacted]"),
    ("GET /cb?token=abc123&x=1", "GET /cb?token=[redacted]&x=1"),
    ('{"api_key": "k-123456"}', '{"api_key": "[redacted]"}'),
    ("password=hunter22 ok", "password=[redacted] ok"),
    ("order 12345678901 of 20261206093000", "order 12345678901 of 20261206093000"),
])
def test_credentials_are_replaced_and_plain_numbers_kept(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "shop:+254712345678 wrote", "nipigie 0712345678", "to=%2B254712345678", "+254 712 345 678"])
def test_phones_are_masked_as_the_stored_payloads_are(text):
    assert redact(text) == mask_phones(text) != text
    assert "345678" not in redact(text)


def test_nested_values_are_redacted_keys_included():
    event = {"+254712345678": ["Bearer abcdefgh", ("token=zzzz",)], "n": 3}
    assert redact_value(event) == {"+2547****678": ["Bearer [redacted]", ("token=[redacted]",)],
                                   "n": 3}
