"""pii.masking: phones masked in text, payloads and every log record; other numbers untouched."""

from __future__ import annotations

import io
import logging

import pytest

from pii.masking import PhoneMaskFilter, install, mask_payload, mask_phones


@pytest.mark.parametrize("text, expected", [
    ("from whatsapp:+254712345111", "from whatsapp:+2547****111"),
    ("sender shop:+254712345111 said hi", "sender shop:+2547****111 said hi"),
    ("nipigie 0712345111", "nipigie 07****111"),
    ("MSISDN=254712345111", "MSISDN=2547****111"),
    ("+254 712 345 111 or 0712-345-111", "+2547****111 or 07****111"),
    ("UK +447911123456", "UK +4479****456"),
    ("GET /v1/sandbox/messages?to=%2B254712345111", "GET /v1/sandbox/messages?to=+2547****111"),
])
def test_phones_are_masked_in_text(text: str, expected: str) -> None:
    assert mask_phones(text) == expected


@pytest.mark.parametrize("text", [
    "order 1042 for KES 180000", "TransactionDate 20191219102115", "receipt NLJ7RT61SV",
    "ref c0123456789abcdef01234567", "sid SM0712345111aa", "id 254712345", "2026-12-06 08:00",
])
def test_other_numbers_are_left_alone(text: str) -> None:
    assert mask_phones(text) == text


def test_daraja_callback_phones_are_masked_and_nothing_else() -> None:
    payload = {"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1", "CallbackMetadata": {
        "Item": [{"Name": "Amount", "Value": 1800.0},
                 {"Name": "TransactionDate", "Value": 20191219102115},
                 {"Name": "PhoneNumber", "Value": 254712345111}]}}},
        "MSISDN": "254712345111", "PartyA": 254712345111, "BillRefNumber": "ORD42",
        "ReceiverPartyPublicName": "254712345111 - Jane Doe", "phone": None}
    masked = mask_payload(payload)
    items = masked["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
    assert items == [{"Name": "Amount", "Value": 1800.0},
                     {"Name": "TransactionDate", "Value": 20191219102115},
                     {"Name": "PhoneNumber", "Value": "2547****111"}]
    assert (masked["MSISDN"], masked["PartyA"]) == ("2547****111", "2547****111")
    assert masked["ReceiverPartyPublicName"] == "2547****111 - Jane Doe"
    assert masked["BillRefNumber"] == "ORD42" and masked["phone"] is None
    assert payload["MSISDN"] == "254712345111"  # the input is not changed in place


def _logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger(name)
    log.handlers, log.propagate = [handler], False
    log.setLevel(logging.INFO)
    return log, stream


def test_the_filter_masks_message_arguments_and_tracebacks() -> None:
    log, stream = _logger("test.pii.filter")
    log.handlers[0].addFilter(PhoneMaskFilter())
    log.info("turn for %s failed: %r", "shop:+254712345111", {"to": "0712345111"})
    try:
        raise ValueError("bad number +254712345111")
    except ValueError:
        log.exception("send to %s", "+254712345111")
    out = stream.getvalue()
    assert "712345111" not in out
    assert "shop:+2547****111" in out and "07****111" in out and "ValueError: bad number" in out


def test_install_masks_records_of_every_logger_and_handler() -> None:
    install()
    install()  # idempotent
    log, stream = _logger("test.pii.installed")  # a handler added after install, no filter
    log.warning("payload %s", {"MSISDN": "254712345111"})
    assert "712345111" not in stream.getvalue() and "2547****111" in stream.getvalue()
