"""The contract's marshmallow fields live in backend/interface/fields.py (shared with the web
app); the API's modules import them from here as before."""

from backend.interface.fields import (
    INT32_MAX,
    INT32_MIN,
    MAX_ID,
    MAX_PAGE,
    MAX_STOCK,
    BoundedInt,
    BoundedIntConverter,
    Count,
    Id,
    Minor,
    UtcDateTime,
)

__all__ = ["INT32_MAX", "INT32_MIN", "MAX_ID", "MAX_PAGE", "MAX_STOCK", "BoundedInt",
           "BoundedIntConverter", "Count", "Id", "Minor", "UtcDateTime"]
