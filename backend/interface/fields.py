"""Marshmallow fields the contract needs beyond the built-in ones.

Every integer of the API is a BoundedInt: a value the database cannot hold (an id of 2**63, a
page of 10**20, a price of 1e30) is a 422 naming the field, never an OverflowError. Path ids go
through BoundedIntConverter, so /v1/orders/18446744073709551616 is a plain 404.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import fields, validate
from werkzeug.routing import IntegerConverter, Map

from backend.domain.money import MAX_MINOR

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1  # PostgreSQL INTEGER columns (stock, quantities)
MAX_ID = 2**63 - 1  # BIGINT ids on PostgreSQL, 64-bit integers on SQLite
MAX_STOCK = 10**9  # below INT32_MAX, so restoring a cancelled order's stock cannot overflow
MAX_PAGE = 10**6  # (page - 1) * page_size stays a small OFFSET


class UtcDateTime(fields.DateTime):
    """ISO 8601 in UTC, always with microseconds: 2026-01-31T08:15:02.123456+00:00."""

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        return value.astimezone(UTC).isoformat(timespec="microseconds")


class BoundedInt(fields.Integer):
    """An integer that always has a finite range (default: PostgreSQL's INTEGER), documented in
    OpenAPI as minimum/maximum; a `validate` given too is checked as well."""

    def __init__(self, *, minimum: int = INT32_MIN, maximum: int = INT32_MAX,
                 **kwargs: Any) -> None:
        given = kwargs.pop("validate", None)
        validators = [] if given is None else list(given) if isinstance(given, list | tuple) \
            else [given]
        self.minimum, self.maximum = minimum, maximum
        super().__init__(validate=[validate.Range(min=minimum, max=maximum), *validators],
                         **kwargs)


def Id(**kwargs: Any) -> BoundedInt:  # noqa: N802 — reads as a field type
    """A row id (BIGINT)."""
    return BoundedInt(minimum=1, maximum=MAX_ID, **kwargs)


def Minor(**kwargs: Any) -> BoundedInt:  # noqa: N802
    """An amount of money in integer minor units (signed: ledger entries can be negative)."""
    return BoundedInt(minimum=-MAX_MINOR, maximum=MAX_MINOR, **kwargs)


def Count(**kwargs: Any) -> BoundedInt:  # noqa: N802
    """A count or total the server reports (BIGINT range)."""
    return BoundedInt(minimum=-MAX_ID - 1, maximum=MAX_ID, **kwargs)


class BoundedIntConverter(IntegerConverter):
    """Flask's `int` path converter, refusing ids no row can have (the route does not match)."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = MAX_ID, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits, min, max, signed)
