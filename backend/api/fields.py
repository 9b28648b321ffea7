"""Marshmallow fields the contract needs beyond the built-in ones."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import fields


class UtcDateTime(fields.DateTime):
    """ISO 8601 in UTC, always with microseconds: 2026-01-31T08:15:02.123456+00:00."""

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        return value.astimezone(UTC).isoformat(timespec="microseconds")
