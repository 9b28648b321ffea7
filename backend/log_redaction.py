"""Secrets that travel in URLs never reach a log line.

Payment providers call back on URLs whose path carries the tenant's secret token (M-Pesa's
callbacks are not signed: the token is what names the tenant). Access logs, error logs and the
app's own messages print request paths, so every log record and access-log atom goes through
`redact`, and credential headers never appear at all.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"
# /webhooks/mpesa/<token>/…, /webhooks/mpesa/payouts/<token>/…, /webhooks/<card provider>/<token>
CALLBACK_TOKEN = re.compile(
    r"(/webhooks/(?:mpesa/payouts|mpesa|paystack|stripe|pesapal)/)[^/?#\s\"'<>]+")
SECRET_HEADERS = ("authorization", "proxy-authorization", "x-tenant-api-key", "cookie")


def redact(text: str) -> str:
    """The text with every callback token in a URL or path replaced by [redacted]."""
    return CALLBACK_TOKEN.sub(rf"\g<1>{REDACTED}", text) if "/webhooks/" in text else text


def _redact_arg(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactingFilter(logging.Filter):
    """Redacts a record's message and string arguments before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, dict):  # in place: gunicorn's atoms are a dict subclass
            for key, value in record.args.items():
                if isinstance(value, str):
                    record.args[key] = redact(value)
        elif isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(value) for value in record.args)
        return True


REDACTING_FILTER = RedactingFilter()


def redact_logger(logger: logging.Logger) -> None:
    """Filter a logger's own records (filters do not apply to records of child loggers)."""
    if REDACTING_FILTER not in logger.filters:
        logger.addFilter(REDACTING_FILTER)
